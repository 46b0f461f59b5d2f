package e2e

import (
	"io"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
)

// BenchmarkLoginRoundTrip is a browser's sign-in through the real
// gateway at a real OpenID Provider (mockoidc, which signs its default
// user in at once) on loopback: from the first request for a page, which
// the gateway redirects to its sign-in, through the provider's
// authorization endpoint, the callback (code exchange with PKCE at the
// token endpoint, ID token verification, the sealed cookie) to the
// signed-in page. Each sign-in starts with an empty cookie jar; the
// connections to the gateway and the provider are kept alive, as a
// browser's are.
//
//	go test -run '^$' -bench LoginRoundTrip -benchtime 200x ./e2e/
func BenchmarkLoginRoundTrip(b *testing.B) {
	f := startOIDCFront(b)
	tr := f.gw.client.Transport.(*http.Transport).Clone()
	b.Cleanup(tr.CloseIdleConnections)
	page := f.gw.url + "/gateway/"
	signIn := func() {
		jar, _ := cookiejar.New(nil)
		c := &http.Client{Transport: tr, Jar: jar}
		req, _ := http.NewRequest("GET", page, nil)
		req.Header.Set("Accept", "text/html")
		req.Header.Set("Sec-Fetch-Mode", "navigate")
		resp, err := c.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK || resp.Request.URL.String() != page || !strings.Contains(string(body), "jane.doe@example.com") {
			b.Fatalf("the sign-in ended at %s with %d", resp.Request.URL, resp.StatusCode)
		}
	}
	signIn() // warm: connections, the provider's keys
	b.ReportAllocs()
	for b.Loop() {
		signIn()
	}
}
