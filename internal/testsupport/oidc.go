package testsupport

import (
	"net"
	"net/http"
	"testing"

	"github.com/oauth2-proxy/mockoidc"
)

// StartOIDC starts a real OpenID Provider (mockoidc: discovery, JWKS,
// authorization code flow, RS256 tokens) on a loopback port until the
// test ends, with middleware wrapped around its handlers in order.
// mockoidc computes its key id on first use and caches it unsynchronised;
// it is computed here, before the server's goroutines can, so tokens made
// by the test and its JWKS handler only read it.
func StartOIDC(tb testing.TB, middleware ...func(http.Handler) http.Handler) *mockoidc.MockOIDC {
	tb.Helper()
	m, err := mockoidc.NewServer(nil)
	if err != nil {
		tb.Fatal(err)
	}
	if _, err := m.Keypair.KeyID(); err != nil {
		tb.Fatal(err)
	}
	for _, mw := range middleware {
		m.AddMiddleware(mw)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	if err := m.Start(ln, nil); err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { m.Shutdown() })
	return m
}

// Flip changes one character in the middle of a sealed value (a session
// cookie, a state parameter), so that it no longer opens.
func Flip(v string) string {
	b := []byte(v)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}
