package upstream

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// connsServer is a plain member that counts the connections it accepts.
func connsServer(t *testing.T, h http.HandlerFunc) (*httptest.Server, *atomic.Int64) {
	t.Helper()
	var accepted atomic.Int64
	srv := httptest.NewUnstartedServer(h)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			accepted.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	return srv, &accepted
}

func testConns(fallback http.RoundTripper) *memberConns {
	return &memberConns{
		dial: func(ctx context.Context, _, addr string) (net.Conn, error) {
			var d net.Dialer
			return d.DialContext(ctx, "tcp", addr)
		},
		fallback:     fallback,
		maxIdle:      4,
		maxIdleTotal: 6,
		idleTimeout:  time.Minute,
		maxHeader:    1 << 10,
	}
}

func get(t *testing.T, p *memberConns, method, url string, body io.Reader) (*http.Response, string, error) {
	t.Helper()
	req, _ := http.NewRequest(method, url, body)
	resp, err := p.RoundTrip(req)
	if err != nil {
		return nil, "", err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	return resp, string(b), err
}

func TestMemberConns(t *testing.T) {
	srv, accepted := connsServer(t, func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/chunked":
			w.Write([]byte("one "))
			w.(http.Flusher).Flush()
			w.Write([]byte("two"))
		case "/empty":
			w.WriteHeader(http.StatusNoContent)
		case "/close":
			w.Header().Set("Connection", "close")
			w.Write([]byte("bye"))
		case "/big-header":
			w.Header().Set("X-Big", strings.Repeat("a", 2<<10))
		case "/early-hints":
			w.Header().Set("Link", "</a.css>; rel=preload")
			w.WriteHeader(http.StatusEarlyHints)
			w.Write([]byte("final"))
		default:
			io.WriteString(w, r.Method+" "+r.URL.RequestURI())
		}
	})
	t.Run("reuses_one_connection", func(t *testing.T) {
		p := testConns(http.DefaultTransport)
		accepted.Store(0)
		for _, path := range []string{"/a?x=1", "/chunked", "/empty", "/b"} {
			resp, body, err := get(t, p, http.MethodGet, srv.URL+path, nil)
			if err != nil || resp.StatusCode >= 300 {
				t.Fatalf("%s: %v %v", path, resp, err)
			}
			if path == "/chunked" && body != "one two" || path == "/a?x=1" && body != "GET /a?x=1" {
				t.Errorf("%s: body %q", path, body)
			}
		}
		if resp, _, _ := get(t, p, http.MethodHead, srv.URL+"/a", nil); resp.StatusCode != 200 {
			t.Errorf("HEAD: %d", resp.StatusCode)
		}
		if n := accepted.Load(); n != 1 {
			t.Errorf("%d connections for 5 requests, want 1", n)
		}
	})
	t.Run("connection_close_is_not_reused", func(t *testing.T) {
		p := testConns(http.DefaultTransport)
		accepted.Store(0)
		for range 2 {
			if _, body, err := get(t, p, http.MethodGet, srv.URL+"/close", nil); err != nil || body != "bye" {
				t.Fatalf("%q %v", body, err)
			}
		}
		if n := accepted.Load(); n != 2 {
			t.Errorf("%d connections, want 2", n)
		}
	})
	t.Run("stale_idle_connection_retried", func(t *testing.T) {
		p := testConns(http.DefaultTransport)
		if _, _, err := get(t, p, http.MethodGet, srv.URL+"/a", nil); err != nil {
			t.Fatal(err)
		}
		srv.CloseClientConnections() // the member's idle timeout
		if _, body, err := get(t, p, http.MethodGet, srv.URL+"/b", nil); err != nil || body != "GET /b" {
			t.Fatalf("after the member closed the idle connection: %q %v", body, err)
		}
	})
	t.Run("body_left_unread_closes_the_connection", func(t *testing.T) {
		p := testConns(http.DefaultTransport)
		req, _ := http.NewRequest(http.MethodGet, srv.URL+"/chunked", nil)
		resp, err := p.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if mc, _ := p.get(connKey{"http", req.URL.Host}); mc != nil {
			t.Error("a connection with an unread body went back to the pool")
		}
	})
	t.Run("header_too_large", func(t *testing.T) {
		p := testConns(http.DefaultTransport)
		if _, _, err := get(t, p, http.MethodGet, srv.URL+"/big-header", nil); err == nil || !strings.Contains(err.Error(), "too large") {
			t.Errorf("err = %v, want the header refused", err)
		}
	})
	t.Run("informational_answers_skipped", func(t *testing.T) {
		p := testConns(http.DefaultTransport)
		if resp, body, err := get(t, p, http.MethodGet, srv.URL+"/early-hints", nil); err != nil || resp.StatusCode != 200 || body != "final" {
			t.Errorf("%v %q %v", resp, body, err)
		}
	})
	t.Run("bodies_go_to_the_fallback", func(t *testing.T) {
		var fell atomic.Int64
		p := testConns(roundTripFunc(func(r *http.Request) (*http.Response, error) {
			fell.Add(1)
			return http.DefaultTransport.RoundTrip(r)
		}))
		if _, body, err := get(t, p, http.MethodPost, srv.URL+"/p", strings.NewReader("x")); err != nil || body != "POST /p" {
			t.Fatalf("%q %v", body, err)
		}
		if fell.Load() != 1 {
			t.Error("a POST with a body did not go through the fallback Transport")
		}
	})
	t.Run("cancel_cuts_the_wait", func(t *testing.T) {
		slow, _ := connsServer(t, func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-r.Context().Done():
			case <-time.After(10 * time.Second):
			}
		})
		p := testConns(http.DefaultTransport)
		ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, slow.URL, nil)
		start := time.Now()
		if _, err := p.RoundTrip(req); err == nil || time.Since(start) > 5*time.Second {
			t.Errorf("err %v after %s", err, time.Since(start))
		}
	})
	t.Run("idle_bounded_and_expired", func(t *testing.T) {
		p := testConns(http.DefaultTransport)
		p.idleTimeout = 100 * time.Millisecond
		defer p.CloseIdleConnections()
		// Eight requests in flight at once leave eight connections;
		// four are kept for the address.
		var bodies []io.ReadCloser
		for range 8 {
			req, _ := http.NewRequest(http.MethodGet, srv.URL+"/a", nil)
			resp, err := p.RoundTrip(req)
			if err != nil {
				t.Fatal(err)
			}
			bodies = append(bodies, resp.Body)
		}
		for _, b := range bodies {
			io.Copy(io.Discard, b)
			b.Close()
		}
		p.mu.Lock()
		n := p.nidle
		p.mu.Unlock()
		if n != 4 {
			t.Errorf("%d idle connections, want 4 (the bound per address)", n)
		}
		testsupport.Eventually(t, "the idle connections closed after the idle timeout", 5*time.Second, func() bool {
			p.mu.Lock()
			defer p.mu.Unlock()
			return p.nidle == 0 && len(p.idle) == 0
		})
	})
	t.Run("invalid_header_refused", func(t *testing.T) {
		p := testConns(http.DefaultTransport)
		req, _ := http.NewRequest(http.MethodGet, srv.URL, nil)
		req.Header.Set("X-Evil", "a\r\nInjected: 1")
		if _, err := p.RoundTrip(req); err == nil {
			t.Error("a header value with CRLF was sent")
		}
	})
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
