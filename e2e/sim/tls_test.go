package sim

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/mesosgate/mesosgate/tlsx"
)

// try runs a command-line peer and returns its combined output and error;
// a failure is an answer here, not a test failure.
func try(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	bin := testsupport.Command(t, name, name)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Stdin = strings.NewReader("")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// curlCode fetches url with curl and returns the HTTP status it got, or
// the error when no HTTP response came.
func curlCode(t *testing.T, url string, extra ...string) (string, error) {
	t.Helper()
	args := append([]string{"--silent", "--show-error", "--max-time", "15", "--output", "/dev/null", "--write-out", "%{http_code}", "--cacert", testPKI.CAFile}, extra...)
	out, err := try(t, "curl", append(args, url)...)
	if err != nil {
		return "", errors.New(strings.TrimSpace(out))
	}
	return strings.TrimSpace(out), nil
}

// handshake runs openssl s_client against addr with args and reports
// whether a TLS session was established, with the output.
func handshake(t *testing.T, addr string, args ...string) (bool, string) {
	t.Helper()
	base := []string{"s_client", "-connect", addr, "-servername", "localhost", "-CAfile", testPKI.CAFile, "-verify_return_error", "-brief"}
	out, err := try(t, "openssl", append(base, args...)...)
	return err == nil && strings.Contains(out, "CONNECTION ESTABLISHED"), out
}

// plainReply sends a plain HTTP request and returns what came back.
func plainReply(t *testing.T, addr string) string {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatalf("dial %s: %v", addr, err)
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	io.WriteString(conn, "GET /version HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n")
	reply, _ := io.ReadAll(conn)
	return string(reply)
}

// TestModes checks, with curl and openssl, that each mode accepts and
// refuses what a libprocess member with those settings would.
func TestModes(t *testing.T) {
	c := start(t, Options{Modes: []Mode{Plain, Downgrade, SSL, SSLClientCert}, Frameworks: []FrameworkSpec{}})
	certFile, keyFile := c.ClientCertFiles()
	foreignCert, foreignKey := foreignClientCert(t)
	tests := []struct {
		mode                  Mode
		plain, tls, tlsClient bool
	}{
		{Plain, true, false, false},
		{Downgrade, true, true, true},
		{SSL, false, true, true},
		{SSLClientCert, false, false, true},
	}
	for i, tc := range tests {
		a := c.Agents()[i]
		t.Run(string(tc.mode), func(t *testing.T) {
			if a.Mode() != tc.mode {
				t.Fatalf("agent %d runs %s, want %s", i, a.Mode(), tc.mode)
			}
			code, err := curlCode(t, "http://"+a.HostPort()+"/version")
			if tc.plain != (code == "200") {
				t.Errorf("plain HTTP: status %q (%v), want served=%v", code, err, tc.plain)
			}
			if !tc.plain {
				if reply := plainReply(t, a.Addr()); strings.Contains(reply, "HTTP/") {
					t.Errorf("plain request to a TLS-only member got an HTTP answer %q; libprocess closes without one", truncate([]byte(reply)))
				}
			}
			code, err = curlCode(t, "https://"+a.HostPort()+"/version")
			if tc.tls != (code == "200") {
				t.Errorf("HTTPS without a client certificate: status %q (%v), want served=%v", code, err, tc.tls)
			}
			code, err = curlCode(t, "https://"+a.HostPort()+"/version", "--cert", certFile, "--key", keyFile)
			if tc.tlsClient != (code == "200") {
				t.Errorf("HTTPS with the cluster's client certificate: status %q (%v), want served=%v", code, err, tc.tlsClient)
			}
			if !tc.mode.TLS() {
				return
			}
			clientArgs := []string{"-cert", certFile, "-key", keyFile}
			for _, cipher := range []string{"AES128-SHA", "AES256-SHA"} {
				ok, out := handshake(t, a.Addr(), append([]string{"-tls1_2", "-cipher", cipher}, clientArgs...)...)
				if !ok || !strings.Contains(out, cipher) {
					t.Errorf("TLS 1.2 %s: want a session with it, got:\n%s", cipher, out)
				}
			}
			refused := map[string][]string{
				"ECDHE suite":  {"-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"},
				"TLS 1.3":      {"-tls1_3"},
				"TLS 1.1":      {"-tls1_1", "-cipher", "AES128-SHA:@SECLEVEL=0"},
				"foreign cert": {"-tls1_2", "-cipher", "AES128-SHA", "-cert", foreignCert, "-key", foreignKey},
			}
			for what, args := range refused {
				if what == "foreign cert" && tc.mode != SSLClientCert {
					continue
				}
				if what != "foreign cert" {
					args = append(args, clientArgs...)
				}
				if ok, out := handshake(t, a.Addr(), args...); ok {
					t.Errorf("%s: handshake succeeded, want it refused:\n%s", what, out)
				}
			}
			if tc.mode == SSLClientCert {
				if ok, out := handshake(t, a.Addr(), "-tls1_2", "-cipher", "AES128-SHA"); ok {
					t.Errorf("no client certificate: handshake succeeded:\n%s", out)
				}
			}
		})
	}
}

// foreignClientCert makes a client certificate from a CA the cluster does
// not trust.
func foreignClientCert(t *testing.T) (certFile, keyFile string) {
	t.Helper()
	ca, err := tlsx.NewCA("someone else", 0)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := ca.Issue(tlsx.LeafRequest{DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, Usage: tlsx.ClientOnly})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	certFile, keyFile = filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem")
	if err := leaf.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

// TestRollingRestart restarts an agent plain -> downgrade -> ssl-only on
// the same port, and a master too, while another agent keeps answering.
func TestRollingRestart(t *testing.T) {
	c := start(t, Options{Agents: 2, Frameworks: []FrameworkSpec{{Name: "marathon"}}})
	a, other := c.Agents()[0], c.Agents()[1]
	addr := a.Addr()

	// A poller hits the other agent all along: the restarts must not
	// disturb it.
	ctx, cancel := context.WithCancel(context.Background())
	failures := make(chan string, 100)
	done := make(chan int)
	go func() {
		n := 0
		defer func() { done <- n }()
		cl := client(t)
		for ctx.Err() == nil {
			resp, err := cl.Get(other.URL() + "/slave(1)/health")
			if err != nil || resp.StatusCode != 200 {
				failures <- other.Addr() + ": " + errText(err, resp)
			}
			if resp != nil {
				resp.Body.Close()
			}
			n++
		}
	}()

	steps := []struct {
		mode       Mode
		plain, tls bool
	}{
		{Plain, true, false},
		{Downgrade, true, true},
		{SSL, false, true},
	}
	for _, step := range steps {
		if err := a.Restart(step.mode); err != nil {
			t.Fatalf("restart in %s: %v", step.mode, err)
		}
		if a.Addr() != addr || !a.Running() || a.Mode() != step.mode {
			t.Fatalf("after restart in %s: addr %s (was %s), running %v, mode %s", step.mode, a.Addr(), addr, a.Running(), a.Mode())
		}
		code, _ := curlCode(t, "http://"+a.HostPort()+"/slave(1)/health")
		if step.plain != (code == "200") {
			t.Errorf("%s: plain status %q, want served=%v", step.mode, code, step.plain)
		}
		code, _ = curlCode(t, "https://"+a.HostPort()+"/slave(1)/health")
		if step.tls != (code == "200") {
			t.Errorf("%s: TLS status %q, want served=%v", step.mode, code, step.tls)
		}
		if ok, out := handshake(t, addr, "-tls1_2"); ok != step.tls {
			t.Errorf("%s: openssl handshake %v, want %v:\n%s", step.mode, ok, step.tls, out)
		}
	}

	// A master too: the leader restarted in ssl serves state over TLS on
	// its port, and its sandbox-free endpoints keep their content.
	leader := c.Leader()
	leaderPort := leader.Port()
	if err := leader.Restart(SSL); err != nil {
		t.Fatal(err)
	}
	var s masterStateJSON
	getJSON(t, "https://localhost:"+strconv.Itoa(leaderPort)+"/master/state", &s)
	if len(s.Slaves) != 2 || s.LeaderInfo.Port != leaderPort {
		t.Errorf("leader after restart: %d slaves, leader_info port %d (want %d)", len(s.Slaves), s.LeaderInfo.Port, leaderPort)
	}

	// Stopped: connections are refused and the master shows the agent
	// inactive; restarted: active again.
	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if conn, err := net.DialTimeout("tcp", addr, time.Second); err == nil {
		conn.Close()
		t.Errorf("a stopped agent accepted a connection")
	}
	getJSON(t, leader.URL()+"/master/state", &s)
	if s.Slaves[0].Active || s.DeactivatedSlaves != 1 {
		t.Errorf("stopped agent: active %v, deactivated_slaves %v", s.Slaves[0].Active, s.DeactivatedSlaves)
	}
	if err := a.Restart(Plain); err != nil {
		t.Fatal(err)
	}
	getJSON(t, leader.URL()+"/master/state", &s)
	if !s.Slaves[0].Active {
		t.Errorf("restarted agent is not active")
	}

	cancel()
	if n := <-done; n == 0 {
		t.Errorf("the poller made no request")
	}
	close(failures)
	for f := range failures {
		t.Errorf("the other agent failed during the restarts: %s", f)
	}
}

// TestRestartWithSettings restarts a member with settings that are not one
// of the four modes.
func TestRestartWithSettings(t *testing.T) {
	c := start(t, Options{Agents: 1, Frameworks: []FrameworkSpec{}})
	a := c.Agents()[0]
	s := c.Settings(SSL)
	s.Ciphers = "AES256-SHA"
	if err := a.RestartWith(s); err != nil {
		t.Fatal(err)
	}
	if a.Settings() != s || a.Mode() != SSL {
		t.Errorf("Settings() = %+v, Mode() = %s", a.Settings(), a.Mode())
	}
	if ok, out := handshake(t, a.Addr(), "-tls1_2", "-cipher", "AES128-SHA"); ok {
		t.Errorf("AES128-SHA accepted with CIPHERS=AES256-SHA:\n%s", out)
	}
	if ok, out := handshake(t, a.Addr(), "-tls1_2", "-cipher", "AES256-SHA"); !ok {
		t.Errorf("AES256-SHA refused with CIPHERS=AES256-SHA:\n%s", out)
	}
	bad := s
	bad.CertFile = filepath.Join(t.TempDir(), "missing.pem")
	if err := a.RestartWith(bad); err == nil {
		t.Errorf("restart with a missing certificate file succeeded")
	}
	if a.Running() {
		t.Errorf("a member whose restart failed is running")
	}
	if _, err := os.Stat(testPKI.CAFile); err != nil {
		t.Fatal(err)
	}
}

func errText(err error, resp *http.Response) string {
	if err != nil {
		return err.Error()
	}
	return resp.Status
}
