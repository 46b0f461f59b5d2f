package tlsx

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"
)

// testPKI is a CA with files on disk for tests.
type testPKI struct {
	dir    string
	ca     *CA
	caFile string
}

func newTestPKI(t testing.TB) *testPKI {
	t.Helper()
	ca, err := NewCA("mesosgate test CA", time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	p := &testPKI{dir: dir, ca: ca, caFile: filepath.Join(dir, "ca.pem")}
	if err := os.WriteFile(p.caFile, ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// leaf issues a certificate from ca and writes it as name.crt/name.key.
func (p *testPKI) leaf(t testing.TB, ca *CA, name string, req LeafRequest) (certFile, keyFile string) {
	t.Helper()
	l, err := ca.Issue(req)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(p.dir, name+".crt"), filepath.Join(p.dir, name+".key")
	if err := l.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	return certFile, keyFile
}

func mustContext(t testing.TB, s Settings, o Options) *Context {
	t.Helper()
	if o.ReloadInterval == 0 {
		o.ReloadInterval = -1
	}
	c, err := NewContext(s, o)
	if err != nil {
		t.Fatalf("NewContext: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// serveTLS accepts TLS connections with cfg on loopback, completes each
// handshake and answers servedToken. It returns the address. The test's
// cleanup waits for every connection to end, so their logs stay within the
// test.
func serveTLS(t testing.TB, c *Context, cfg *tls.Config) string {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := c.NewListener(inner, cfg)
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				if tc, ok := conn.(*tls.Conn); ok {
					if err := tc.Handshake(); err != nil {
						t.Logf("server handshake: %v", err)
						return
					}
				}
				io.WriteString(conn, servedToken+"\n")
			}()
		}
	}()
	return inner.Addr().String()
}

// dial connects with cfg and reads the server's answer, returning the
// handshake's error or the connection state.
func dial(addr string, cfg *tls.Config) (tls.ConnectionState, error) {
	d := &net.Dialer{Timeout: 5 * time.Second}
	conn, err := tls.DialWithDialer(d, "tcp", addr, cfg)
	if err != nil {
		return tls.ConnectionState{}, err
	}
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, len(servedToken))
	if _, err := io.ReadFull(conn, buf); err != nil {
		return tls.ConnectionState{}, err
	}
	if string(buf) != servedToken {
		return tls.ConnectionState{}, errors.New("unexpected answer " + string(buf))
	}
	return conn.ConnectionState(), nil
}

var loopback = netip.MustParseAddr("127.0.0.1")

// lookupAs returns a LookupAddr that answers name for every address.
func lookupAs(name string) func(context.Context, string) ([]string, error) {
	return func(context.Context, string) ([]string, error) { return []string{name + "."}, nil }
}

// lookupFails is a LookupAddr for a peer without reverse DNS.
func lookupFails(context.Context, string) ([]string, error) {
	return nil, errors.New("no PTR record")
}
