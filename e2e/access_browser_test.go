package e2e

import (
	"context"
	"crypto/x509"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/network"
	"github.com/chromedp/chromedp"

	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/e2e/browser"
	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// This file is the browser side of access control (issue 13): headless
// Chromium through the real gateway binary, signing in at a real OpenID
// Provider that shows a sign-in page of its own.

// The predicates the journeys wait for.
const (
	onProvider = `document.title === '` + idpSignInPage + `'`
	onHome     = `location.pathname === '/' && document.querySelector('h1') && document.querySelector('h1').textContent.indexOf('Master') === 0 && document.querySelectorAll('a.webui').length === 3`
)

// TestAccessBrowserJourneys walks Chromium through an OIDC gateway:
//   - opening the WebUI sends the browser to the provider, whose sign-in
//     brings it back to the page it asked for, signed in as a viewer;
//   - the viewer browses the WebUI and a sandbox, and the dashboard names
//     them, their role and offers a sign-out button;
//   - the viewer's writes (a v1 TEARDOWN fetched from the page, a form
//     POST to /master/teardown) are refused with the 403 page naming the
//     operator role and --operators, and reach no member;
//   - signing out ends the session: the next page goes to the provider;
//   - an operator's v1 TEARDOWN reaches the master (its 501) and is one
//     audit line naming identity, role, method, route, member, call,
//     status and request id;
//   - a tampered session cookie counts as none (deleted, sent to sign in);
//   - a session whose ID token expired is refreshed without the browser
//     noticing, and once the provider refuses the refresh, the browser is
//     sent to sign in again;
//   - a forged callback is a page saying so;
//   - no member ever saw the session cookie, and the browser never talked
//     to a member.
func TestAccessBrowserJourneys(t *testing.T) {
	browser.Require(t)
	f := startOIDCFront(t)
	f.idp.interactive.Store(true)
	b := browser.New(t, browser.Options{Trust: []*x509.Certificate{f.gw.cert}})
	gw := f.gw.url
	agent := f.cluster.Agents()[0]

	// Sign in as a viewer, from the WebUI's home page.
	f.idp.QueueUser(viewerUser())
	b.Navigate(gw + "/")
	b.WaitFor("the provider's sign-in page", onProvider, 30*time.Second)
	b.Screenshot("access-provider-sign-in")
	click(t, b, "#signin", "the WebUI's home page, signed in", onHome)
	assertVisited(t, b, "GET "+gw+"/gateway/login?next=%2F", "GET "+f.idp.AuthorizationEndpoint()+"?", "GET "+gw+"/gateway/callback?code=", "GET "+gw+"/")
	b.Screenshot("access-viewer-home")

	// Browse the WebUI and a sandbox.
	browser.Eval[bool](b, `location.hash = '#/agents/`+agent.ID()+`'; true`)
	b.WaitFor("the agent's executors", `document.querySelectorAll('a.sandbox').length > 0`, 30*time.Second)
	browser.Eval[bool](b, `document.querySelector('a.sandbox').click(); true`)
	b.WaitFor("the sandbox listing", `Array.from(document.querySelectorAll('a.file')).some(a => a.textContent === 'stdout')`, 30*time.Second)
	b.Screenshot("access-viewer-sandbox")
	if got := browser.Eval[string](b, `(async () => {
		const a = Array.from(document.querySelectorAll('a.download')).find(a => a.getAttribute('href').indexOf('stdout') > 0);
		const r = await fetch(a.href);
		return r.status + ' ' + (await r.text()).indexOf('Starting task');
	})()`); !strings.HasPrefix(got, "200 ") || strings.HasSuffix(got, " -1") {
		t.Errorf("a viewer's download of stdout: %s", got)
	}

	// The dashboard says who is signed in, the role, and offers sign-out.
	b.Navigate(gw + "/gateway/")
	assertViewer(t, b, "viewer@example.com", "viewer")
	b.Screenshot("access-viewer-dashboard")

	// A viewer's writes are refused, and reach no member.
	refused := fetchTeardown(t, b)
	if refused["status"] != "403" || !strings.HasPrefix(refused["type"], "application/problem+json") ||
		!strings.Contains(refused["body"], "operator role needed") || !strings.Contains(refused["body"], "add viewer@example.com to --operators") {
		t.Errorf("a viewer's v1 TEARDOWN: %v", refused)
	}
	browser.Eval[bool](b, `(() => {
		const f = document.createElement('form');
		f.method = 'post'; f.action = '/master/teardown';
		const i = document.createElement('input');
		i.name = 'frameworkId'; i.value = 'F1'; f.appendChild(i);
		document.body.appendChild(f); f.submit(); return true;
	})()`)
	b.WaitAcross("the 403 page", `location.pathname === '/master/teardown' && document.getElementById('problem-title') !== null`, 30*time.Second)
	page := browser.Eval[string](b, `document.querySelector('main').innerText`)
	shot := b.Screenshot("access-viewer-write-refused")
	for _, want := range []string{"403", "Not allowed", "operator role needed to change the cluster", "add viewer@example.com to --operators", "The operator role is needed; whoever runs the gateway grants it with --operators.", "Request id"} {
		if !strings.Contains(page, want) {
			t.Errorf("the 403 page (%s) does not say %q:\n%s", shot, want, page)
		}
	}
	if got := append(f.members.find("POST", "/master/teardown"), f.members.find("POST", "/api/v1")...); len(got) > 0 {
		t.Errorf("a viewer's write reached a member: %+v", got)
	}
	if logs := f.gw.stderr.String(); !strings.Contains(logs, `msg="write refused"`) || !strings.Contains(logs, `identity="viewer@example.com (session)" role=viewer method=POST`) {
		t.Errorf("the refused writes are not audited")
	}

	// Sign out: the next page needs a new sign-in.
	b.Navigate(gw + "/gateway/")
	click(t, b, "form.signout button", "the provider's sign-in page after signing out", onProvider)
	if c := sessionCookie(t, b, gw); c != nil {
		t.Errorf("the session cookie outlived the sign-out: %+v", c)
	}
	assertVisited(t, b, "POST "+gw+"/gateway/logout", "GET "+gw+"/gateway/login?next=%2F", "GET "+f.idp.AuthorizationEndpoint()+"?")

	// An operator's write reaches the master and is audited.
	f.idp.QueueUser(operatorUser())
	click(t, b, "#signin", "the WebUI's home page, signed in as an operator", onHome)
	allowed := fetchTeardown(t, b)
	if allowed["status"] != "501" || !strings.Contains(allowed["body"], "does not implement TEARDOWN") {
		t.Fatalf("an operator's v1 TEARDOWN did not reach the master: %v", allowed)
	}
	assertAudited(t, f, allowed["id"], map[string]string{
		"msg": `"write allowed"`, "identity": `"ops@example.com (session)"`, "role": "operator", "method": "POST",
		"route": "leader", "member": `"leader ` + f.cluster.Leader().ID() + ` (` + f.cluster.Leader().Addr() + `)"`,
		"call": "TEARDOWN", "status": "501",
	})
	if got := f.members.find("POST", "/api/v1"); len(got) != 1 || got[0].Authorization != "" {
		t.Errorf("the master received %+v, want one TEARDOWN without Authorization", got)
	}
	b.Navigate(gw + "/gateway/")
	assertViewer(t, b, "ops@example.com", "operator")
	b.Screenshot("access-operator-dashboard")

	// A tampered session cookie is no session: deleted, and the browser
	// is sent to sign in.
	c := sessionCookie(t, b, gw)
	if c == nil {
		t.Fatal("no session cookie after signing in")
	}
	tampered := testsupport.Flip(c.Value)
	setSessionCookie(t, b, gw, tampered)
	b.Navigate(gw + "/gateway/")
	b.WaitFor("the provider's sign-in page after the cookie was tampered with", onProvider, 30*time.Second)
	if c := sessionCookie(t, b, gw); c != nil {
		t.Errorf("the gateway kept the tampered cookie: %+v", c)
	}
	if !strings.Contains(f.gw.stderr.String(), `msg="session cookie refused"`) {
		t.Errorf("the tampered cookie is not in the log")
	}
	if status := apiStatus(t, f.gw, "/master/state", &http.Cookie{Name: access.SessionCookie, Value: tampered}); status != 401 {
		t.Errorf("an API client with the tampered cookie: %d, want 401", status)
	}

	// Sessions expire: sign in with ID tokens that live 3 s. The first
	// expiry is refreshed with the refresh token, silently; once the
	// provider refuses the refresh (its clock past the refresh token's
	// life), the browser is sent to sign in again.
	f.idp.QueueUser(operatorUser())
	shiftIDPClock(t, -(f.idp.AccessTTL - 3*time.Second))
	click(t, b, "#signin", "the dashboard, signed in for 3 s", `location.pathname === '/gateway/' && document.querySelector('.viewer-name') !== null`)
	awaitExpiry(t, b) // the token was issued before now: it expires before now+3s
	before := sessionCookie(t, b, gw)
	b.Network().Reset()
	b.Navigate(gw + "/gateway/")
	assertViewer(t, b, "ops@example.com", "operator")
	if after := sessionCookie(t, b, gw); before == nil || after == nil || after.Value == before.Value {
		t.Errorf("the expired session was not refreshed into a new cookie")
	}
	for _, r := range b.Network().Requests() {
		if strings.HasPrefix(r.URL, f.idp.Issuer()) {
			t.Errorf("the refresh went through the browser: %s %s", r.Method, r.URL)
		}
	}
	shiftIDPClock(t, f.idp.RefreshTTL+time.Minute)
	awaitExpiry(t, b)
	b.Navigate(gw + "/gateway/")
	b.WaitFor("the provider's sign-in page after the session expired", onProvider, 30*time.Second)
	if !strings.Contains(f.gw.stderr.String(), "session refresh failed; the browser must sign in again") {
		t.Errorf("the failed refresh is not in the log")
	}
	shiftIDPClock(t, 0)

	// A forged callback is a page saying what happened.
	b.Navigate(gw + "/gateway/callback?state=forged&code=forged")
	page = browser.Eval[string](b, `document.querySelector('main').innerText`)
	shot = b.Screenshot("access-forged-callback")
	if !strings.Contains(page, "Sign-in failed") || !strings.Contains(page, "this sign-in expired, was already used or was started in another browser") {
		t.Errorf("the forged callback's page (%s):\n%s", shot, page)
	}

	f.members.assertNoGatewayCredentials(t)
	members := []*sim.Member{f.cluster.Leader().Member}
	for _, a := range f.cluster.Agents() {
		members = append(members, a.Member)
	}
	for _, m := range members {
		if d := m.DirectRequests(); len(d) > 0 {
			t.Errorf("the browser talked to %s directly: %+v", m.Addr(), d)
		}
	}
}

// awaitExpiry leaves the gateway's pages (none polls meanwhile) and waits
// until an ID token issued before the call and living 3 s has expired.
func awaitExpiry(t *testing.T, b *browser.Browser) {
	t.Helper()
	expired := time.Now().Add(3*time.Second + 200*time.Millisecond)
	b.Navigate("about:blank")
	testsupport.Eventually(t, "the session's ID token to expire", 10*time.Second, func() bool { return time.Now().After(expired) })
}

// click clicks the element sel and waits, across the navigation it
// starts, for predicate.
func click(t *testing.T, b *browser.Browser, sel, what, predicate string) {
	t.Helper()
	browser.Eval[bool](b, `document.querySelector('`+sel+`').click(); true`)
	b.WaitAcross(what, predicate, 30*time.Second)
}

// assertVisited checks that the browser loaded a page at each of the
// URLs (each a prefix) since the log's last reset, then resets it. (The
// log keeps a redirect chain's hops, but not in the order they were
// made.)
func assertVisited(t *testing.T, b *browser.Browser, prefixes ...string) {
	t.Helper()
	reqs := b.Network().Requests()
	b.Network().Reset()
	var pages []string
	for _, r := range reqs {
		if r.Type == "Document" {
			pages = append(pages, r.Method+" "+r.URL)
		}
	}
	for _, p := range prefixes {
		if !slices.ContainsFunc(pages, func(s string) bool { return strings.HasPrefix(s, p) }) {
			t.Errorf("the browser loaded no page at %s; it loaded:\n%s", p, strings.Join(pages, "\n"))
		}
	}
}

// assertViewer checks the dashboard's header: who, which role, and the
// sign-out button.
func assertViewer(t *testing.T, b *browser.Browser, name, role string) {
	t.Helper()
	b.WaitFor("the signed-in user on the dashboard", `document.querySelector('.viewer-name') !== null`, 30*time.Second)
	got := browser.Eval[[]string](b, `[document.querySelector('.viewer-name').textContent, document.querySelector('.viewer-role').textContent.trim(),
		document.querySelector('form.signout') ? document.querySelector('form.signout').getAttribute('action') + ' ' + document.querySelector('form.signout').method + ' ' + document.querySelector('form.signout button').textContent : '']`)
	if got[0] != name || got[1] != role || got[2] != "/gateway/logout post Sign out" {
		t.Errorf("the dashboard shows %q, want %s, %s and a sign-out button", got, name, role)
	}
}

// fetchTeardown makes the page send a v1 TEARDOWN as a script would, and
// returns status, content type, body and request id.
func fetchTeardown(t *testing.T, b *browser.Browser) map[string]string {
	t.Helper()
	return browser.Eval[map[string]string](b, `fetch('/api/v1', {method: 'POST',
		headers: {'Content-Type': 'application/json', 'Accept': 'application/json'},
		body: JSON.stringify({type: 'TEARDOWN', teardown: {framework_id: {value: 'F1'}}})})
		.then(async r => ({status: String(r.status), type: r.headers.get('content-type') || '', id: r.headers.get('x-request-id') || '', body: await r.text()}))`)
}

// assertAudited finds the audit line of request id in the gateway's log
// and checks its fields.
func assertAudited(t *testing.T, f *oidcFront, id string, fields map[string]string) {
	t.Helper()
	var line string
	for _, l := range strings.Split(f.gw.stderr.String(), "\n") {
		if strings.Contains(l, "request_id="+id+" ") && strings.Contains(l, `msg="write `) {
			line = l
		}
	}
	if id == "" || line == "" {
		t.Fatalf("no audit line for request %q", id)
	}
	for k, v := range fields {
		if !regexp.MustCompile(`(^| )` + regexp.QuoteMeta(k+"="+v) + `( |$)`).MatchString(line) {
			t.Errorf("the audit line lacks %s=%s:\n%s", k, v, line)
		}
	}
	t.Logf("audit line: %s", line)
}

// sessionCookie returns the browser's session cookie for the gateway, nil
// when there is none.
func sessionCookie(t *testing.T, b *browser.Browser, gw string) *network.Cookie {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Second)
	defer cancel()
	res, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (network.GetCookiesResult, error) {
		return cdp.Call(ctx, tg, network.GetCookies, network.GetCookiesParams{URLs: []string{gw + "/"}})
	})
	if err != nil {
		t.Fatalf("read the browser's cookies: %v", err)
	}
	for _, c := range res.Cookies {
		if c.Name == access.SessionCookie {
			return c
		}
	}
	return nil
}

// setSessionCookie replaces the browser's session cookie for the gateway.
func setSessionCookie(t *testing.T, b *browser.Browser, gw, value string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.Context(), 10*time.Second)
	defer cancel()
	yes := true
	_, err := chromedp.Run(ctx, func(ctx context.Context, tg *chromedp.Target) (cdp.Empty, error) {
		return cdp.Call(ctx, tg, network.SetCookie, network.SetCookieParams{
			Name: access.SessionCookie, Value: value, URL: gw + "/", Path: "/",
			Secure: &yes, HTTPOnly: &yes, SameSite: network.CookieSameSiteLax,
		})
	})
	if err != nil {
		t.Fatalf("set the session cookie: %v", err)
	}
}

// apiStatus is the status an API client gets for path with cookie.
func apiStatus(t *testing.T, g *gateway, path string, cookie *http.Cookie) int {
	t.Helper()
	req, _ := http.NewRequest("GET", g.url+path, nil)
	req.Header.Set("Accept", "application/json")
	req.AddCookie(cookie)
	resp, err := g.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}
