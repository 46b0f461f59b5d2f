package tlsx

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"go.uber.org/goleak"
)

func TestClassify(t *testing.T) {
	tests := []struct {
		name string
		in   []byte
		want Kind
	}{
		{"empty", nil, Plain},
		{"two bytes", []byte{0x16, 0x03}, Plain},
		{"http get", []byte("GET / HTTP/1.1\r\n"), Plain},
		{"tls 1.2 client hello", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01}, TLS},
		{"tls record but not a client hello", []byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x02}, Plain},
		{"alert record", []byte{0x15, 0x03, 0x01, 0x00, 0x02, 0x01}, Plain},
		{"sslv2 client hello", []byte{0x80, 0x2e, 0x01, 0x03, 0x01}, TLS},
		{"high bit without hello", []byte{0x80, 0x2e, 0x02}, Plain},
		{"short tls prefix", []byte{0x16, 0x03, 0x01}, Plain},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := Classify(tt.in); got != tt.want {
				t.Errorf("Classify(%x) = %v, want %v", tt.in, got, tt.want)
			}
		})
	}
}

func FuzzClassify(f *testing.F) {
	f.Add([]byte("GET / HTTP/1.1\r\n"))
	f.Add([]byte{0x16, 0x03, 0x01, 0x02, 0x00, 0x01})
	f.Add([]byte{0x80, 0x2e, 0x01})
	f.Fuzz(func(t *testing.T, b []byte) {
		k := Classify(b)
		// The rule only ever looks at the first six bytes.
		if len(b) > peekLen && Classify(b[:peekLen]) != k {
			t.Fatalf("Classify depends on bytes past the sixth: %x", b)
		}
		// Whatever decided() needed to see must agree with the whole.
		for n := 0; n <= min(len(b), peekLen); n++ {
			if decided(b[:n]) && Classify(b[:n]) != Classify(b[:min(len(b), peekLen)]) {
				t.Fatalf("decided after %d bytes of %x but the verdict changes later", n, b)
			}
		}
	})
}

// httpServer is net/http behind a Context's listener, with what clients
// need to trust it.
type httpServer struct {
	addr   string
	roots  *x509.CertPool
	caFile string
}

// downgradeServer runs net/http behind the Context's listener, with a
// certificate for localhost and 127.0.0.1. The handler answers with the
// protocol it saw.
func downgradeServer(t *testing.T, s Settings, timeout time.Duration) httpServer {
	t.Helper()
	return downgradeServerWith(t, s, timeout, 5*time.Second)
}

// downgradeServerWith is downgradeServer with the http.Server's
// ReadHeaderTimeout, which also bounds its TLS handshakes.
func downgradeServerWith(t *testing.T, s Settings, timeout, readHeader time.Duration) httpServer {
	t.Helper()
	p := newTestPKI(t)
	s.CertFile, s.KeyFile = p.leaf(t, p.ca, "member", LeafRequest{DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
	s.Enabled = On
	c := mustContext(t, s, Options{HandshakeTimeout: timeout})
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := c.NewListener(inner, c.ServerConfig("h2", "http/1.1"))
	srv := &http.Server{
		Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			fmt.Fprintf(w, "app says %s tls=%v", r.Proto, r.TLS != nil)
		}),
		ReadHeaderTimeout: readHeader,
	}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	roots := x509.NewCertPool()
	roots.AddCert(p.ca.Cert)
	return httpServer{addr: inner.Addr().String(), roots: roots, caFile: p.caFile}
}

func get(t *testing.T, client *http.Client, url string) (string, error) {
	t.Helper()
	resp, err := client.Get(url)
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	return string(b), err
}

// TestDowngradeListener: with downgrade, plain HTTP/1.1 and HTTPS (HTTP/2
// through ALPN) are served on one port; without it, a plain request gets
// nothing from the application.
func TestDowngradeListener(t *testing.T) {
	srv := downgradeServer(t, Settings{SupportDowngrade: true}, time.Second)
	addr, roots := srv.addr, srv.roots
	plain, err := get(t, &http.Client{Timeout: 5 * time.Second}, "http://"+addr+"/")
	if err != nil || plain != "app says HTTP/1.1 tls=false" {
		t.Errorf("plain request: %q, %v", plain, err)
	}
	h2 := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true}}
	secure, err := get(t, h2, "https://"+addr+"/")
	if err != nil || secure != "app says HTTP/2.0 tls=true" {
		t.Errorf("TLS request: %q, %v", secure, err)
	}

	addr = downgradeServer(t, Settings{}, time.Second).addr
	body, err := get(t, &http.Client{Timeout: 5 * time.Second}, "http://"+addr+"/")
	if strings.Contains(body, "app says") {
		t.Errorf("without downgrade a plain request reached the application: %q", body)
	}
	if err == nil && body == "" {
		t.Errorf("plain request to a TLS-only port got an empty success")
	}
}

// TestDowngradeSilenceAndGarbage: a client that sends nothing is closed at
// the deadline without blocking others; garbage is served as plain and
// gets an HTTP error, not a hang.
func TestDowngradeSilenceAndGarbage(t *testing.T) {
	addr := downgradeServer(t, Settings{SupportDowngrade: true}, 300*time.Millisecond).addr
	silent, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	// While the silent connection waits, another client is served.
	if body, err := get(t, &http.Client{Timeout: 5 * time.Second}, "http://"+addr+"/"); err != nil || !strings.Contains(body, "app says") {
		t.Fatalf("request during a silent connection: %q, %v", body, err)
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := silent.Read(make([]byte, 1))
	if n != 0 || err == nil {
		t.Fatalf("silent connection: read %d bytes, err %v; want closed", n, err)
	}
	var ne net.Error
	if errorsAs(err, &ne) && ne.Timeout() {
		t.Fatal("silent connection was not closed by the listener's deadline")
	}

	garbage, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer garbage.Close()
	garbage.Write([]byte{0xff, 0x00, 0x13, 0x37, 0x00, 0x00, '\r', '\n', '\r', '\n'})
	garbage.SetReadDeadline(time.Now().Add(5 * time.Second))
	reply, _ := io.ReadAll(garbage)
	if !strings.HasPrefix(string(reply), "HTTP/1.1 400") {
		t.Errorf("garbage got %q, want an HTTP 400", reply)
	}
}

func errorsAs(err error, target *net.Error) bool {
	ne, ok := err.(net.Error)
	if ok {
		*target = ne
	}
	return ok
}

// TestDowngradeListenerClose: Close ends a classification waiting on a
// silent client at once (not at its deadline), closes that client, and
// leaves no goroutine behind.
func TestDowngradeListenerClose(t *testing.T) {
	defer goleak.VerifyNone(t, goleak.IgnoreCurrent())
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewDowngradeListener(inner, &tls.Config{}, time.Hour).(*downgradeListener)
	silent, err := net.Dial("tcp", inner.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer silent.Close()
	testsupport.Eventually(t, "the silent connection to be classifying", 10*time.Second, func() bool {
		l.mu.Lock()
		defer l.mu.Unlock()
		return len(l.pending) == 1
	})
	accepted := make(chan error, 1)
	go func() {
		_, err := l.Accept()
		accepted <- err
	}()
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	if err := <-accepted; !errors.Is(err, net.ErrClosed) {
		t.Errorf("Accept after Close: %v, want net.ErrClosed", err)
	}
	silent.SetReadDeadline(time.Now().Add(5 * time.Second))
	if n, err := silent.Read(make([]byte, 1)); n != 0 || !errors.Is(err, io.EOF) {
		t.Errorf("silent client after Close: read %d, %v; want EOF", n, err)
	}
}

// TestRetryableAccept: running out of descriptors is a passing condition
// the listener waits out; a closed listener is not.
func TestRetryableAccept(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"emfile", &net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.EMFILE)}, true},
		{"enfile", &net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ENFILE)}, true},
		{"aborted", &net.OpError{Op: "accept", Err: os.NewSyscallError("accept4", syscall.ECONNABORTED)}, true},
		{"closed", net.ErrClosed, false},
		{"other", errors.New("boom"), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := retryableAccept(tt.err); got != tt.want {
				t.Errorf("retryableAccept(%v) = %v, want %v", tt.err, got, tt.want)
			}
		})
	}
}

// flakyListener fails its first n Accepts with EMFILE, as a process out of
// file descriptors sees.
type flakyListener struct {
	net.Listener
	mu sync.Mutex
	n  int
}

func (l *flakyListener) Accept() (net.Conn, error) {
	l.mu.Lock()
	if l.n > 0 {
		l.n--
		l.mu.Unlock()
		return nil, &net.OpError{Op: "accept", Net: "tcp", Err: os.NewSyscallError("accept4", syscall.EMFILE)}
	}
	l.mu.Unlock()
	return l.Listener.Accept()
}

// TestDowngradeListenerSurvivesEMFILE: a burst of descriptor exhaustion
// delays accepting; it does not close the listener for good.
func TestDowngradeListenerSurvivesEMFILE(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	l := NewDowngradeListener(&flakyListener{Listener: inner, n: 3}, &tls.Config{}, time.Second)
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "served") }), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	body, err := get(t, &http.Client{Timeout: 10 * time.Second}, "http://"+inner.Addr().String()+"/")
	if err != nil || body != "served" {
		t.Fatalf("after three EMFILE accepts: %q, %v", body, err)
	}
}
