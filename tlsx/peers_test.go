package tlsx

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// This file drives the real peers of the interoperability tests: the
// openssl and curl binaries. A missing binary skips the test with a
// message, except under CI=true, where it fails: CI must never pass by not
// looking (as e2e/browser does for Chromium).

// run executes a peer binary with a deadline and returns its combined
// output and exit error.
func run(t testing.TB, stdin []byte, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, testsupport.Command(t, name, name), args...)
	cmd.Stdin = bytes.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	if ctx.Err() != nil {
		t.Fatalf("%s %s: timed out; output:\n%s", name, strings.Join(args, " "), out)
	}
	return string(out), err
}

// mustRun is run for commands that must succeed (preparing files).
func mustRun(t testing.TB, name string, args ...string) string {
	t.Helper()
	out, err := run(t, nil, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\n%s", name, strings.Join(args, " "), err, out)
	}
	return out
}

// servedToken is what serveTLS writes after a completed handshake: seeing
// it in a client's output means the connection was served.
const servedToken = "ok tlsx served"

// sClientResult is what openssl s_client reported.
type sClientResult struct {
	served   bool   // the server completed the handshake and answered
	protocol string // "TLSv1.2", or "" when none was negotiated
	cipher   string // OpenSSL's name of the negotiated suite
	output   string
}

// s_client's session summary. (The "New, TLSv1.0, Cipher is" line names
// the version that introduced the cipher, not the one negotiated.)
var (
	sClientProtocol = regexp.MustCompile(`(?m)^\s+Protocol\s+: (\S+)`)
	sClientCipher   = regexp.MustCompile(`(?m)^\s+Cipher\s+: (\S+)`)
)

// sClient connects openssl s_client to addr with extra arguments, sends an
// HTTP/1.0 request (which serveTLS ignores and openssl s_server -www
// answers), waits for the server to answer and close, and reports what was
// negotiated.
func sClient(t testing.TB, addr string, args ...string) sClientResult {
	t.Helper()
	args = append([]string{"s_client", "-connect", addr, "-servername", "localhost", "-ign_eof"}, args...)
	out, _ := run(t, []byte("GET / HTTP/1.0\r\n\r\n"), "openssl", args...)
	r := sClientResult{served: strings.Contains(out, servedToken), output: out}
	p, c := sClientProtocol.FindStringSubmatch(out), sClientCipher.FindStringSubmatch(out)
	if p != nil && c != nil && c[1] != "0000" && c[1] != "(NONE)" {
		r.protocol, r.cipher = p[1], c[1]
	}
	return r
}

// sServer runs openssl s_server -www on a free loopback port with the
// given arguments until the test ends, and returns its address.
func sServer(t testing.TB, args ...string) string {
	t.Helper()
	bin := testsupport.Command(t, "openssl", "openssl")
	args = append([]string{"s_server", "-accept", "127.0.0.1:0", "-www"}, args...)
	cmd := exec.Command(bin, args...)
	out := &acceptWatcher{ready: make(chan string, 1)}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start openssl s_server: %v", err)
	}
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	select {
	case addr := <-out.ready:
		return addr
	case <-time.After(10 * time.Second):
		t.Fatalf("openssl %s did not start listening:\n%s", strings.Join(args, " "), out.String())
	}
	return ""
}

// acceptWatcher collects s_server's output and reports the address of its
// "ACCEPT 127.0.0.1:port" line.
type acceptWatcher struct {
	mu    sync.Mutex
	buf   bytes.Buffer
	ready chan string
	sent  bool
}

func (w *acceptWatcher) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.buf.Write(p)
	if !w.sent {
		sc := bufio.NewScanner(bytes.NewReader(w.buf.Bytes()))
		for sc.Scan() {
			if addr, ok := strings.CutPrefix(sc.Text(), "ACCEPT "); ok {
				w.ready <- addr
				w.sent = true
				break
			}
		}
	}
	return len(p), nil
}

func (w *acceptWatcher) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// dialMember connects to an openssl s_server -www with cfg, asks for its
// status page and returns the negotiated state. Reading the answer makes a
// refusal after the client's side of a TLS 1.3 handshake visible.
func dialMember(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	conn, err := tls.DialWithDialer(&net.Dialer{Timeout: 5 * time.Second}, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(conn, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		return tls.ConnectionState{}, err
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil {
		return tls.ConnectionState{}, fmt.Errorf("read the member's answer: %w", err)
	}
	if !strings.HasPrefix(line, "HTTP/1.0 200") {
		return tls.ConnectionState{}, errors.New("member answered " + line)
	}
	return conn.ConnectionState(), nil
}

// curl runs curl with a deadline and returns what it printed and its
// error.
func curl(t testing.TB, args ...string) (string, error) {
	t.Helper()
	return run(t, nil, "curl", append([]string{"-sS", "--max-time", "10"}, args...)...)
}
