package access

import (
	"context"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"strings"
	"testing"
)

// TestServiceHostHandover: a browser signed in to the gateway opens a
// framework UI on its own origin: it is handed over through the gateway
// (EnterPath) and back (HostEnterPath) and is then signed in there too,
// with a session of that host's own; neither session counts on the other
// host, and a ticket for one host opens nothing on another.
func TestServiceHostHandover(t *testing.T) {
	op := startProvider(t)
	g := newGateway(t, op, func(c *Config) { c.ServiceDomain = "localhost" })
	_, port, _ := net.SplitHostPort(strings.TrimPrefix(g.url, "https://"))
	g.cfg.GatewayOrigin = g.url
	ui := "https://marathon.localhost:" + port
	// A browser that reaches every host at the test server (it resolves
	// *.localhost to loopback, as browsers do).
	jar, _ := cookiejar.New(nil)
	tr := g.srv.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig.InsecureSkipVerify = true // the test certificate names 127.0.0.1 only
	addr := strings.TrimPrefix(g.url, "https://")
	tr.DialContext = func(ctx context.Context, network, a string) (net.Conn, error) {
		if host, _, _ := net.SplitHostPort(a); strings.HasSuffix(host, ".localhost") {
			a = addr
		}
		return (&net.Dialer{}).DialContext(ctx, network, a)
	}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr, Jar: jar}
	g.signIn(t, c)

	status, body, resp := do(t, c, "GET", ui+"/v2/apps?x=1", navigate())
	if status != 200 || !strings.Contains(body, "(session)") || resp.Request.URL.String() != ui+"/v2/apps?x=1" {
		t.Fatalf("on the UI's host: %d %q at %s", status, body, resp.Request.URL)
	}
	if strings.Contains(body, `Cookie="__Host`) {
		t.Errorf("a session cookie reached the member: %s", body)
	}
	uiURL, _ := url.Parse(ui)
	var uiSession string
	for _, ck := range jar.Cookies(uiURL) {
		if ck.Name == SessionCookie {
			uiSession = ck.Value
		}
	}
	if uiSession == "" || uiSession == g.sessionCookie(c) {
		t.Fatalf("the UI's host has no session of its own")
	}
	// The UI's session, sent to the gateway's host, is no session there:
	// the browser is sent to sign in.
	fresh := func() *http.Client {
		j, _ := cookiejar.New(nil)
		return noRedirects(&http.Client{Transport: tr, Jar: j})
	}
	h := navigate()
	h.Set("Cookie", SessionCookie+"="+uiSession)
	if status, body, resp := do(t, fresh(), "GET", g.url+"/master/state", h); status != http.StatusFound || !strings.HasPrefix(resp.Header.Get("Location"), "/gateway/login") {
		t.Errorf("a UI's session on the gateway's host: %d %s", status, body)
	}
	// A ticket for another host opens nothing here.
	_, _, resp = do(t, noRedirects(c), "GET", g.url+EnterPath+"?host="+url.QueryEscape("chronos.localhost:"+port)+"&next=/", navigate())
	loc, _ := url.Parse(resp.Header.Get("Location"))
	if resp.StatusCode != http.StatusFound || loc.Host != "chronos.localhost:"+port {
		t.Fatalf("enter for chronos: %d %s", resp.StatusCode, loc)
	}
	stolen := ui + HostEnterPath + "?" + loc.RawQuery
	if status, body, _ := do(t, fresh(), "GET", stolen, navigate()); status != http.StatusBadRequest {
		t.Errorf("chronos's ticket on marathon's host: %d %s", status, body)
	}
	// Only hosts of the service domain get tickets.
	if status, _, _ := do(t, noRedirects(c), "GET", g.url+EnterPath+"?host=evil.example.com&next=/", navigate()); status != http.StatusBadRequest {
		t.Errorf("enter for another site: %d", status)
	}
}

// noRedirects is c without following redirects.
func noRedirects(c *http.Client) *http.Client {
	n := *c
	n.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &n
}
