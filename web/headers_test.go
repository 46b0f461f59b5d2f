package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

// TestSecurityHeaders checks that every kind of response of the gateway's
// own pages carries the CSP and its companions, and that the CSP is the
// strict one: no inline script or style, no framing.
func TestSecurityHeaders(t *testing.T) {
	p := newPages(t, fixture(PhaseOne))
	css, _ := p.assets.URL("gateway.css")
	tests := []struct {
		name, method, target string
		status               int
	}{
		{"dashboard", "GET", "/gateway/", 200},
		{"live", "GET", "/gateway/live", 200},
		{"asset", "GET", css, 200},
		{"not_found", "GET", "/gateway/nope", 404},
		{"method", "POST", "/gateway/", 405},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			w := get(t, p, tt.method, tt.target, acceptChrome)
			if w.Code != tt.status {
				t.Fatalf("status %d, want %d", w.Code, tt.status)
			}
			assertSecurityHeaders(t, w.Header())
		})
	}
	t.Run("middleware", func(t *testing.T) {
		h := SecurityHeaders(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write([]byte("{}")) }))
		assertSecurityHeaders(t, get(t, h, "GET", "/gateway/api/cluster", "").Header())
	})
}

func assertSecurityHeaders(t *testing.T, h http.Header) {
	t.Helper()
	csp := h.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "object-src 'none'", "base-uri 'none'", "frame-ancestors 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("CSP %q lacks %q", csp, want)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "data:", "http:"} {
		if strings.Contains(csp, bad) {
			t.Errorf("CSP %q allows %q", csp, bad)
		}
	}
	for name, want := range map[string]string{
		"X-Content-Type-Options": "nosniff",
		"Referrer-Policy":        "no-referrer",
		"X-Frame-Options":        "DENY",
	} {
		if got := h.Get(name); got != want {
			t.Errorf("%s %q, want %q", name, got, want)
		}
	}
	if h.Get("Strict-Transport-Security") != "" {
		t.Error("web set HSTS, which is server's decision")
	}
}

// TestNoInlineScriptOrStyle checks the rendered pages need nothing the CSP
// forbids: the browser test proves it in Chromium, this finds the culprit.
func TestNoInlineScriptOrStyle(t *testing.T) {
	p := newPages(t, fixture(PhaseOne))
	for _, target := range []string{"/gateway/", "/gateway/live", "/gateway/missing"} {
		w := httptest.NewRecorder()
		r := httptest.NewRequest("GET", target, nil)
		r.Header.Set("Accept", acceptChrome)
		p.ServeHTTP(w, r)
		assertNoInjectedMarkup(t, parse(t, w.Body.String()))
	}
}
