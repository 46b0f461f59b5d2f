package access

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"
)

// testClock is the one clock of the OpenID Provider and the gateways in
// these tests: mockoidc reads the package variable mockoidc.NowFunc, set
// once in init below to read this offset, so a test moves both sides' time
// together. Tests that move it do not run in parallel and reset it.
var testClock atomic.Int64

func init() {
	mockoidc.NowFunc = testNow
}

// testNow is the real time plus the test clock's offset.
func testNow() time.Time { return time.Now().Add(time.Duration(testClock.Load())) }

// advance moves the test clock for the rest of the test.
func advance(t *testing.T, d time.Duration) {
	t.Helper()
	testClock.Add(int64(d))
	t.Cleanup(func() { testClock.Store(0) })
}

// provider is a real OpenID Provider (mockoidc) on loopback. It signs in
// whichever user is queued (jane.doe@example.com, groups engineering and
// design, when none is) without a login page, and records the query of
// every authorization request.
type provider struct {
	*mockoidc.MockOIDC
	mu        sync.Mutex
	authorize []url.Values
}

func startProvider(t *testing.T) *provider {
	t.Helper()
	p := &provider{}
	p.MockOIDC = testsupport.StartOIDC(t, func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.URL.Path == mockoidc.AuthorizationEndpoint {
				p.mu.Lock()
				p.authorize = append(p.authorize, r.URL.Query())
				p.mu.Unlock()
			}
			next.ServeHTTP(w, r)
		})
	})
	return p
}

// lastAuthorize is the query of the latest authorization request.
func (p *provider) lastAuthorize() url.Values {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.authorize[len(p.authorize)-1]
}

// token signs claims with the provider's key, filling the standard claims
// a valid ID token has unless claims sets them.
func (p *provider) token(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := p.Keypair.SignJWT(p.claims(claims))
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

func (p *provider) claims(claims jwt.MapClaims) jwt.MapClaims {
	now := testNow()
	c := jwt.MapClaims{
		"iss": p.Issuer(), "aud": p.ClientID, "sub": "api-client-1",
		"email": "ci@example.com", "groups": []string{"ci"},
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range claims {
		c[k] = v
	}
	return c
}

// gateway is an Access behind an HTTPS test server, with a handler in
// front of a pretend master: it classifies, decides, and answers with the
// decision as the server would render it.
type gateway struct {
	*Access
	op     *provider
	srv    *httptest.Server
	url    string
	client *http.Client
	logs   *testsupport.Buffer
}

// keyFile writes a session key file of n random-looking bytes.
func keyFile(t *testing.T, seed byte, n int) string {
	t.Helper()
	b := bytes.Repeat([]byte{seed}, n)
	for i := range b {
		b[i] ^= byte(i * 7)
	}
	f := filepath.Join(t.TempDir(), "session.key")
	if err := os.WriteFile(f, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return f
}

// newGateway starts a gateway signing in at op; edit changes its settings.
func newGateway(t *testing.T, op *provider, edit func(*Config)) *gateway {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	g := &gateway{op: op, url: "https://" + ln.Addr().String(), logs: &testsupport.Buffer{}}
	cfg := Config{
		OIDC: OIDC{
			Issuer: op.Issuer(), ClientID: op.ClientID, ClientSecret: Secret(op.ClientSecret),
			Scopes: []string{"openid", "email", "profile", "groups"},
		},
		SessionKeyFiles: []string{keyFile(t, 1, 32)},
		Viewers:         []string{"*"},
		Operators:       []string{"group:ops"},
		Origins:         []string{g.url},
		Logger:          slog.New(slog.NewTextHandler(g.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Now:             testNow,
	}
	if edit != nil {
		edit(&cfg)
	}
	a, err := New(context.Background(), cfg)
	if err != nil {
		ln.Close()
		t.Fatal(err)
	}
	g.Access = a
	g.srv = httptest.NewUnstartedServer(g.handler())
	g.srv.Listener.Close()
	g.srv.Listener = ln
	g.srv.StartTLS()
	t.Cleanup(g.srv.Close)
	g.client = g.newClient(t)
	return g
}

// handler is the server's use of the package, reduced to its core.
func (g *gateway) handler() http.Handler {
	mux := http.NewServeMux()
	for _, p := range g.Paths() {
		mux.Handle(p, g.Handler())
	}
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		op, body := Classifier{}.Classify(r.Context(), Request{
			Method: r.Method, Path: r.URL.EscapedPath(), Header: r.Header, Body: r.Body, Member: Master,
		})
		r.Body = body
		d := g.Decide(w, r, op)
		switch {
		case d.Login != "":
			http.Redirect(w, r, d.Login, http.StatusFound)
		case !d.Allowed:
			if d.Challenge != "" {
				w.Header().Set("WWW-Authenticate", d.Challenge)
			}
			http.Error(w, d.Reason, d.Status)
		default:
			StripCredentials(r.Header)
			fmt.Fprintf(w, "%s as %s; member sees Authorization=%q Cookie=%q",
				d.Identity, d.Role, r.Header.Get("Authorization"), r.Header.Get("Cookie"))
		}
	})
	return mux
}

// newClient is a browser: a cookie jar, redirects followed, the test
// server's certificate trusted.
func (g *gateway) newClient(t *testing.T) *http.Client {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	tr := g.srv.Client().Transport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr, Jar: jar}
}

// do sends a request with the client and returns status and body.
func do(t *testing.T, c *http.Client, method, u string, h http.Header) (int, string, *http.Response) {
	t.Helper()
	req, err := http.NewRequest(method, u, nil)
	if err != nil {
		t.Fatal(err)
	}
	for k, v := range h {
		req.Header[k] = v
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b), resp
}

// browser headers for a page load and for a same-origin POST.
func navigate() http.Header {
	return header("Sec-Fetch-Mode", "navigate", "Sec-Fetch-Site", "none", "Accept", "text/html")
}

func (g *gateway) sameOrigin() http.Header {
	return header("Origin", g.url, "Sec-Fetch-Site", "same-origin")
}

// signIn loads a page with the browser, which is sent through the
// sign-in and back, and checks it arrived signed in.
func (g *gateway) signIn(t *testing.T, c *http.Client) {
	t.Helper()
	status, body, resp := do(t, c, "GET", g.url+"/master/state?x=1", navigate())
	if status != 200 || !strings.Contains(body, "(session)") {
		t.Fatalf("after sign-in: %d %q", status, body)
	}
	if resp.Request.URL.RequestURI() != "/master/state?x=1" {
		t.Fatalf("came back to %s, not the page the sign-in started from", resp.Request.URL)
	}
}

// sessionCookie is the browser's session cookie value.
func (g *gateway) sessionCookie(c *http.Client) string {
	u, _ := url.Parse(g.url)
	for _, ck := range c.Jar.Cookies(u) {
		if ck.Name == SessionCookie {
			return ck.Value
		}
	}
	return ""
}

// TestSignIn runs the whole authorization code flow with a real provider
// and checks what it sent and what it set.
func TestSignIn(t *testing.T) {
	op := startProvider(t)
	g := newGateway(t, op, nil)

	var setCookies []string
	c := g.client
	c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
		setCookies = append(setCookies, req.Response.Header.Values("Set-Cookie")...)
		return nil
	}
	g.signIn(t, c)

	q := op.lastAuthorize()
	if q.Get("code_challenge_method") != "S256" || len(q.Get("code_challenge")) != 43 {
		t.Errorf("no S256 PKCE challenge in the authorization request: %v", q)
	}
	if len(q.Get("state")) < 20 || len(q.Get("nonce")) < 20 || q.Get("state") == q.Get("nonce") {
		t.Errorf("weak or missing state/nonce: %v", q)
	}
	if q.Get("redirect_uri") != g.url+DefaultCallbackPath {
		t.Errorf("redirect_uri %q", q.Get("redirect_uri"))
	}
	var session string
	for _, sc := range setCookies {
		if strings.HasPrefix(sc, SessionCookie+"=") && !strings.Contains(sc, "Max-Age=0") {
			session = sc
		}
	}
	for _, attr := range []string{"Path=/", "HttpOnly", "Secure", "SameSite=Lax", "Max-Age="} {
		if !strings.Contains(session, attr) {
			t.Errorf("session cookie %q lacks %s", session, attr)
		}
	}
	if strings.Contains(strings.ToLower(session), "domain=") {
		t.Errorf("session cookie %q has a Domain", session)
	}
	if len(session) > MaxCookieSize+200 {
		t.Errorf("session cookie is %d bytes", len(session))
	}
	t.Logf("session cookie: %d bytes of value", len(g.sessionCookie(c)))

	// Signed in as jane (a viewer through "*"): reads pass and the
	// member sees neither the session cookie nor a bearer token.
	status, body, _ := do(t, c, "GET", g.url+"/master/state", nil)
	if status != 200 || !strings.Contains(body, "jane.doe@example.com (session) as viewer") || !strings.Contains(body, `Cookie=""`) {
		t.Fatalf("read: %d %q", status, body)
	}
	// A write needs the operator role, and the refusal says how to get it.
	status, body, _ = do(t, c, "POST", g.url+"/master/teardown", g.sameOrigin())
	if status != 403 || !strings.Contains(body, "operator role needed") || !strings.Contains(body, "add jane.doe@example.com to --operators") {
		t.Fatalf("viewer's write: %d %q", status, body)
	}
	if !strings.Contains(g.logs.String(), "signed in") {
		t.Errorf("sign-in not logged: %s", g.logs)
	}
	if strings.Contains(g.logs.String(), op.ClientSecret) || strings.Contains(g.logs.String(), g.sessionCookie(c)) {
		t.Errorf("a secret reached the log: %s", g.logs)
	}
}

// TestOperatorWrites signs in a member of group ops: writes from the
// gateway's pages pass, writes from another site do not.
func TestOperatorWrites(t *testing.T) {
	op := startProvider(t)
	g := newGateway(t, op, nil)
	op.QueueUser(&mockoidc.MockUser{Subject: "u-ops", Email: "ops@example.com", EmailVerified: true, Groups: []string{"ops"}})
	g.signIn(t, g.client)

	tests := []struct {
		name   string
		h      http.Header
		status int
	}{
		{"same_origin", g.sameOrigin(), 200},
		{"foreign_origin", header("Origin", "https://evil.example", "Sec-Fetch-Site", "cross-site"), 403},
		{"null_origin", header("Origin", "null"), 403},
		{"no_browser_headers", header(), 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, body, _ := do(t, g.client, "POST", g.url+"/master/teardown", tt.h)
			if status != tt.status {
				t.Fatalf("%d %q, want %d", status, body, tt.status)
			}
		})
	}
}

// TestUnverifiedEmailIgnored checks that an email the provider has not
// verified grants nothing.
func TestUnverifiedEmailIgnored(t *testing.T) {
	op := startProvider(t)
	g := newGateway(t, op, func(c *Config) { c.Viewers = []string{"boss@example.com"}; c.Operators = nil })
	op.QueueUser(unverifiedUser{&mockoidc.MockUser{Subject: "u-x", Email: "boss@example.com"}})
	status, body, _ := do(t, g.client, "GET", g.url+"/master/state", navigate())
	if status != 403 || !strings.Contains(body, "no role") || !strings.Contains(body, "sub:u-x") {
		t.Fatalf("unverified email: %d %q", status, body)
	}
}

// unverifiedUser is a user whose ID token says email_verified: false
// (mockoidc's own user leaves a false out).
type unverifiedUser struct{ *mockoidc.MockUser }

func (u unverifiedUser) Claims(scope []string, base *mockoidc.IDTokenClaims) (jwt.Claims, error) {
	return jwt.MapClaims{
		"iss": base.Issuer, "aud": base.Audience, "sub": base.Subject, "exp": base.ExpiresAt.Unix(),
		"iat": base.IssuedAt.Unix(), "nonce": base.Nonce, "email": u.Email, "email_verified": false,
	}, nil
}

// TestAnonymous sends a browser to sign in and tells an API client to
// authenticate.
func TestAnonymous(t *testing.T) {
	op := startProvider(t)
	g := newGateway(t, op, nil)
	c := g.newClient(t)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	status, _, resp := do(t, c, "GET", g.url+"/agent/S1/files/browse?path=/x", navigate())
	if status != 302 || resp.Header.Get("Location") != DefaultLoginPath+"?next=%2Fagent%2FS1%2Ffiles%2Fbrowse%3Fpath%3D%2Fx" {
		t.Fatalf("page load: %d Location %q", status, resp.Header.Get("Location"))
	}
	status, body, resp := do(t, c, "GET", g.url+"/master/state", header("Accept", "application/json"))
	if status != 401 || !strings.HasPrefix(resp.Header.Get("WWW-Authenticate"), "Bearer") || !strings.Contains(body, "sign in") {
		t.Fatalf("API client: %d %q %q", status, body, resp.Header.Get("WWW-Authenticate"))
	}
}

// TestLoginNext keeps the page to come back to only when it is a path of
// the gateway.
func TestLoginNext(t *testing.T) {
	tests := []struct {
		name, next, want string
	}{
		{"path", "/agent/S1/?a=b", "/agent/S1/?a=b"},
		{"empty", "", "/"},
		{"absolute", "https://evil.example/x", "/"},
		{"protocol_relative", "//evil.example/x", "/"},
		{"backslash", "/\\evil.example", "/"},
		{"scheme_only", "javascript:alert(1)", "/"},
		{"relative", "x/y", "/"},
		{"newline", "/x\r\nSet-Cookie: a=b", "/"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := localPath(tt.next); got != tt.want {
				t.Fatalf("localPath(%q) = %q, want %q", tt.next, got, tt.want)
			}
		})
	}
}

// TestCallbackRefusals replays, forges and drops the state.
func TestCallbackRefusals(t *testing.T) {
	op := startProvider(t)
	g := newGateway(t, op, nil)

	// start runs the sign-in up to the provider's redirect back to the
	// gateway, and returns the callback URL and the login cookie.
	start := func(t *testing.T, c *http.Client) (string, *http.Cookie) {
		t.Helper()
		var callback string
		c.CheckRedirect = func(req *http.Request, via []*http.Request) error {
			if req.URL.Path == DefaultCallbackPath {
				callback = req.URL.String()
				return http.ErrUseLastResponse
			}
			return nil
		}
		do(t, c, "GET", g.url+DefaultLoginPath+"?next=/master/state", nil)
		c.CheckRedirect = nil
		u, _ := url.Parse(g.url)
		for _, ck := range c.Jar.Cookies(u) {
			if ck.Name == LoginCookie {
				return callback, ck
			}
		}
		t.Fatal("no login cookie")
		return "", nil
	}
	withState := func(callback, state string) string {
		u, _ := url.Parse(callback)
		q := u.Query()
		if state == "" {
			q.Del("state")
		} else {
			q.Set("state", state)
		}
		u.RawQuery = q.Encode()
		return u.String()
	}

	t.Run("replayed_callback", func(t *testing.T) {
		c := g.newClient(t)
		callback, login := start(t, c)
		if status, body, _ := do(t, c, "GET", callback, nil); status != 200 {
			t.Fatalf("first callback: %d %q", status, body)
		}
		// The same browser again: its login cookie is gone.
		if status, _, _ := do(t, c, "GET", callback, nil); status != 400 {
			t.Fatalf("replay in the same browser: %d", status)
		}
		// With the login cookie put back: the provider refuses the code.
		other := g.newClient(t)
		u, _ := url.Parse(g.url)
		other.Jar.SetCookies(u, []*http.Cookie{{Name: login.Name, Value: login.Value}})
		if status, _, _ := do(t, other, "GET", callback, nil); status == 200 {
			t.Fatal("a replayed code signed in")
		}
	})
	t.Run("forged_state", func(t *testing.T) {
		c := g.newClient(t)
		callback, _ := start(t, c)
		if status, _, _ := do(t, c, "GET", withState(callback, "forged"), nil); status != 400 {
			t.Fatalf("forged state: %d", status)
		}
	})
	t.Run("missing_state", func(t *testing.T) {
		c := g.newClient(t)
		callback, _ := start(t, c)
		if status, _, _ := do(t, c, "GET", withState(callback, ""), nil); status != 400 {
			t.Fatalf("missing state: %d", status)
		}
	})
	t.Run("no_login_cookie", func(t *testing.T) {
		c := g.newClient(t)
		callback, _ := start(t, c)
		if status, _, _ := do(t, g.newClient(t), "GET", callback, nil); status != 400 {
			t.Fatalf("callback in another browser: %d", status)
		}
	})
	t.Run("tampered_login_cookie", func(t *testing.T) {
		c := g.newClient(t)
		callback, login := start(t, c)
		u, _ := url.Parse(g.url)
		c.Jar.SetCookies(u, []*http.Cookie{{Name: login.Name, Value: testsupport.Flip(login.Value)}})
		if status, _, _ := do(t, c, "GET", callback, nil); status != 400 {
			t.Fatalf("tampered login cookie: %d", status)
		}
	})
	t.Run("expired_login", func(t *testing.T) {
		c := g.newClient(t)
		callback, _ := start(t, c)
		advance(t, loginLifetime+time.Second)
		if status, _, _ := do(t, c, "GET", callback, nil); status != 400 {
			t.Fatalf("expired login: %d", status)
		}
	})
	t.Run("provider_error", func(t *testing.T) {
		c := g.newClient(t)
		callback, _ := start(t, c)
		u, _ := url.Parse(callback)
		q := u.Query()
		q.Del("code")
		q.Set("error", "access_denied")
		u.RawQuery = q.Encode()
		if status, body, _ := do(t, c, "GET", u.String(), nil); status != 403 || !strings.Contains(body, "access_denied") {
			t.Fatalf("provider error: %d %q", status, body)
		}
	})
}

// TestRefreshAndExpiry lets the session expire: it is refreshed with the
// refresh token while the provider accepts it, and the browser must sign
// in again once it does not.
func TestRefreshAndExpiry(t *testing.T) {
	op := startProvider(t)
	g := newGateway(t, op, nil)
	g.signIn(t, g.client)
	before := g.sessionCookie(g.client)

	advance(t, op.AccessTTL+time.Minute) // the ID token expired
	status, body, _ := do(t, g.client, "GET", g.url+"/master/state", nil)
	if status != 200 || !strings.Contains(body, "(session)") {
		t.Fatalf("after expiry with a refresh token: %d %q", status, body)
	}
	if after := g.sessionCookie(g.client); after == before || after == "" {
		t.Fatal("the refreshed session was not stored")
	}

	advance(t, op.RefreshTTL+time.Minute) // the refresh token expired too
	c := g.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	status, _, resp := do(t, c, "GET", g.url+"/master/state", navigate())
	if status != 302 || !strings.HasPrefix(resp.Header.Get("Location"), DefaultLoginPath) {
		t.Fatalf("after the refresh token expired: %d %q", status, resp.Header.Get("Location"))
	}
	if g.sessionCookie(c) != "" {
		t.Fatal("the dead session's cookie was kept")
	}
	if !strings.Contains(g.logs.String(), "session refresh failed") {
		t.Errorf("failed refresh not logged: %s", g.logs)
	}
}

// TestExpiryWithoutRefreshToken sends a browser whose session expired and
// has no refresh token to sign in again; the session lifetime ends even a
// refreshable session.
func TestExpiryWithoutRefreshToken(t *testing.T) {
	op := startProvider(t)
	g := newGateway(t, op, nil)
	now := testNow()
	tests := []struct {
		name string
		s    session
	}{
		{"expired_no_refresh", session{Subject: "u1", Email: "a@example.com", Start: now.Unix(), Expiry: now.Add(-time.Second).Unix()}},
		{"lifetime_over", session{Subject: "u1", Start: now.Add(-DefaultSessionLifetime - time.Minute).Unix(), Expiry: now.Add(time.Hour).Unix(), Refresh: "r"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v, _, err := g.sealSession(tt.s)
			if err != nil {
				t.Fatal(err)
			}
			r := httptest.NewRequest("GET", "/master/state", nil)
			r.AddCookie(&http.Cookie{Name: SessionCookie, Value: v})
			w := httptest.NewRecorder()
			d := g.Decide(w, r, Operation{Read: true})
			if d.Allowed || d.Status != 401 || !strings.Contains(w.Header().Get("Set-Cookie"), "Max-Age=0") {
				t.Fatalf("got %+v, Set-Cookie %q", d, w.Header().Get("Set-Cookie"))
			}
		})
	}
}

// TestLogout ends the session on a POST from the gateway's pages, and
// refuses a logout another site triggers.
func TestLogout(t *testing.T) {
	op := startProvider(t)
	g := newGateway(t, op, nil)
	g.signIn(t, g.client)
	c := g.client
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }

	status, _, _ := do(t, c, "POST", g.url+DefaultLogoutPath, header("Origin", "https://evil.example"))
	if status != 403 || g.sessionCookie(c) == "" {
		t.Fatalf("cross-site logout: %d", status)
	}
	status, _, _ = do(t, c, "GET", g.url+DefaultLogoutPath, header("Sec-Fetch-Site", "cross-site"))
	if status != 403 || g.sessionCookie(c) == "" {
		t.Fatalf("cross-site GET logout: %d", status)
	}
	// A page that refreshes to "/", not a redirect: the browser would
	// stop a form submission's redirects at the provider's origin.
	status, body, resp := do(t, c, "POST", g.url+DefaultLogoutPath, g.sameOrigin())
	if status != 200 || resp.Header.Get("Refresh") != "0; url=/" || !strings.Contains(body, `<a href="/">`) || g.sessionCookie(c) != "" {
		t.Fatalf("logout: %d Refresh %q %q, cookie %q", status, resp.Header.Get("Refresh"), body, g.sessionCookie(c))
	}
	status, _, _ = do(t, c, "GET", g.url+"/master/state", nil)
	if status != 401 {
		t.Fatalf("after logout: %d", status)
	}
	// A GET the user made on the gateway (a link on its pages) signs out too.
	c.CheckRedirect = nil
	g.signIn(t, c)
	c.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	if status, _, _ := do(t, c, "GET", g.url+DefaultLogoutPath, header("Sec-Fetch-Site", "same-origin")); status != 200 || g.sessionCookie(c) != "" {
		t.Fatalf("same-origin GET logout: %d", status)
	}
}

// TestEndSessionURL sends the browser to the provider's end_session_endpoint
// with the ID token as hint when EndSession is set.
func TestEndSessionURL(t *testing.T) {
	a := &Access{cfg: Config{OIDC: OIDC{ClientID: "gw", RedirectURL: "https://gw.example.com/gateway/callback", EndSession: true}},
		endSession: "https://idp.example.com/logout?x=1"}
	u, err := url.Parse(a.afterLogout("id.token.hint"))
	if err != nil {
		t.Fatal(err)
	}
	q := u.Query()
	if u.Host != "idp.example.com" || q.Get("x") != "1" || q.Get("id_token_hint") != "id.token.hint" ||
		q.Get("client_id") != "gw" || q.Get("post_logout_redirect_uri") != "https://gw.example.com/" {
		t.Fatalf("end session URL %s", u)
	}
	a.cfg.OIDC.EndSession = false
	if got := a.afterLogout("x"); got != "/" {
		t.Fatalf("without EndSession: %s", got)
	}
}

// TestBearerTokens sends API clients' tokens: only a valid one passes, and
// it never reaches the member.
func TestBearerTokens(t *testing.T) {
	op := startProvider(t)
	g := newGateway(t, op, func(c *Config) { c.Operators = []string{"group:ci"} })
	other, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		t.Fatal(err)
	}
	opKid, _ := op.Keypair.KeyID()
	signed := func(k *mockoidc.Keypair, kid string, claims jwt.MapClaims) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, op.claims(claims))
		tok.Header["kid"] = kid
		s, err := tok.SignedString(k.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	otherKid, _ := other.KeyID()
	unsigned := func() string {
		body, _ := jwt.NewWithClaims(jwt.SigningMethodNone, op.claims(nil)).SigningString()
		return body + "."
	}
	tests := []struct {
		name  string
		token string
		ok    bool
	}{
		{"valid", op.token(t, nil), true},
		{"expired", op.token(t, jwt.MapClaims{"exp": testNow().Add(-time.Minute).Unix()}), false},
		{"wrong_audience", op.token(t, jwt.MapClaims{"aud": "another-client"}), false},
		{"wrong_issuer", op.token(t, jwt.MapClaims{"iss": "https://evil.example"}), false},
		{"alg_none", unsigned(), false},
		{"other_key", signed(other, otherKid, nil), false},
		{"other_key_posing_as_the_provider", signed(other, opKid, nil), false},
		{"garbage", "not-a-jwt", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := header("Authorization", "Bearer "+tt.token, "Content-Type", "application/json")
			status, body, resp := do(t, g.newClient(t), "POST", g.url+"/master/teardown", h)
			if tt.ok {
				if status != 200 || !strings.Contains(body, "ci@example.com (bearer token) as operator") || !strings.Contains(body, `Authorization=""`) {
					t.Fatalf("valid token: %d %q", status, body)
				}
				return
			}
			if status != 401 || !strings.Contains(resp.Header.Get("WWW-Authenticate"), `error="invalid_token"`) || strings.Contains(body, tt.token) {
				t.Fatalf("%s: %d %q %q", tt.name, status, body, resp.Header.Get("WWW-Authenticate"))
			}
		})
	}
	if strings.Contains(g.logs.String(), op.token(t, nil)[:40]) {
		t.Error("a token reached the log")
	}
}
