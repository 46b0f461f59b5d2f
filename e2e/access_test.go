package e2e

import (
	"context"
	"crypto/tls"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"html"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/oauth2-proxy/mockoidc"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/internal/testsupport"
	"github.com/mesosgate/mesosgate/tlsx"
)

// This file holds the access-control tests of issue 13 that need no
// browser, run against the real gateway binary with real peers: a real
// OpenID Provider (oauth2-proxy's mockoidc) for bearer tokens and the
// sign-in's callback, curl and openssl s_client for client-certificate
// identities, and the binary's start with bad settings. The fixtures the
// browser journeys share are here too.

// idpClock shifts the provider's clock (mockoidc reads the package
// variable mockoidc.NowFunc, set once below): a test that makes the
// provider issue tokens that expire soon, or find a refresh token
// expired, moves it and puts it back. The gateway keeps the real time.
var idpClock atomic.Int64

func init() {
	mockoidc.NowFunc = func() time.Time { return time.Now().Add(time.Duration(idpClock.Load())) }
}

// shiftIDPClock moves the provider's clock by d from the real time until
// the test ends or the next shift.
func shiftIDPClock(tb testing.TB, d time.Duration) {
	idpClock.Store(int64(d))
	tb.Cleanup(func() { idpClock.Store(0) })
}

// idp is a real OpenID Provider on loopback (mockoidc): discovery, keys,
// authorization code flow with PKCE, refresh, signed tokens. It signs in
// whichever user is queued (mockoidc.DefaultUser, jane.doe@example.com in
// groups engineering and design, when none is).
type idp struct {
	*mockoidc.MockOIDC
	// interactive makes the authorization endpoint show a page with a
	// "Sign in" link, as a real provider's login page, instead of
	// redirecting back at once: a browser test can see that it was sent
	// to sign in.
	interactive atomic.Bool
}

// idpSignInPage is the title of the provider's page in interactive mode.
const idpSignInPage = "Mock identity provider: sign in"

func startIDP(tb testing.TB) *idp {
	tb.Helper()
	p := &idp{}
	p.MockOIDC = testsupport.StartOIDC(tb, p.signInPage)
	return p
}

// signInPage answers an authorization request in interactive mode with a
// page whose link repeats it with confirm=1 (which mockoidc ignores).
func (p *idp) signInPage(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		q := r.URL.Query()
		if r.URL.Path != mockoidc.AuthorizationEndpoint || !p.interactive.Load() || q.Get("confirm") != "" {
			next.ServeHTTP(w, r)
			return
		}
		q.Set("confirm", "1")
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		w.Header().Set("Cache-Control", "no-store")
		fmt.Fprintf(w, `<!doctype html><title>%s</title><h1>%[1]s</h1><p>Client %s asks who you are.</p><p><a id="signin" href="%s">Sign in</a></p>`,
			idpSignInPage, html.EscapeString(q.Get("client_id")), html.EscapeString(r.URL.Path+"?"+q.Encode()))
	})
}

// token signs claims with the provider's key after filling the standard
// claims of a valid ID token for the gateway (issuer, audience, subject,
// five minutes of validity) that claims does not set; a nil value removes
// a claim.
func (p *idp) token(tb testing.TB, claims jwt.MapClaims) string {
	tb.Helper()
	tok, err := p.Keypair.SignJWT(p.claims(claims))
	if err != nil {
		tb.Fatal(err)
	}
	return tok
}

func (p *idp) claims(claims jwt.MapClaims) jwt.MapClaims {
	now := time.Now()
	c := jwt.MapClaims{
		"iss": p.Issuer(), "aud": p.ClientID, "sub": "ci-robot",
		"email": "ci@example.com", "email_verified": true, "groups": []string{"engineering"},
		"iat": now.Unix(), "exp": now.Add(5 * time.Minute).Unix(),
	}
	for k, v := range claims {
		if v == nil {
			delete(c, k)
		} else {
			c[k] = v
		}
	}
	return c
}

// The users of the OIDC tests: a viewer (group engineering) and an
// operator (group ops).
func viewerUser() *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: "u-viewer", Email: "viewer@example.com", EmailVerified: true, PreferredUsername: "viewer", Groups: []string{"engineering"}}
}

func operatorUser() *mockoidc.MockUser {
	return &mockoidc.MockUser{Subject: "u-ops", Email: "ops@example.com", EmailVerified: true, PreferredUsername: "ops", Groups: []string{"ops"}}
}

// memberRequest is what a member received, as sim.Options.Observe saw it.
type memberRequest struct {
	Role          sim.Role
	Member        string
	Method, URI   string
	Authorization string
	Cookie        string
	// Proxied is whether a gateway sent it on for a client (it carries
	// X-Forwarded-For), not on its own account (discovery, probes).
	Proxied bool
}

// memberLog records every request the simulated members receive.
type memberLog struct {
	mu   sync.Mutex
	reqs []memberRequest
}

func (l *memberLog) observe(m *sim.Member, r *http.Request) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.reqs = append(l.reqs, memberRequest{
		Role: m.Role(), Member: m.Addr(), Method: r.Method, URI: r.RequestURI,
		Authorization: strings.Join(r.Header.Values("Authorization"), ", "),
		Cookie:        strings.Join(r.Header.Values("Cookie"), "; "),
		Proxied:       r.Header.Get("X-Forwarded-For") != "",
	})
}

// all returns what was received so far.
func (l *memberLog) all() []memberRequest {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]memberRequest(nil), l.reqs...)
}

// find returns the requests whose method and request target match.
func (l *memberLog) find(method, uriPrefix string) []memberRequest {
	var out []memberRequest
	for _, r := range l.all() {
		if r.Method == method && strings.HasPrefix(r.URI, uriPrefix) {
			out = append(out, r)
		}
	}
	return out
}

// assertNoGatewayCredentials fails the test when a member received a
// bearer token or one of the gateway's cookies: the gateway consumes
// them.
func (l *memberLog) assertNoGatewayCredentials(t *testing.T) {
	t.Helper()
	for _, r := range l.all() {
		if strings.Contains(strings.ToLower(r.Authorization), "bearer") || strings.Contains(r.Cookie, "__Host-mesosgate") {
			t.Errorf("the %s %s received the gateway's credential: %s %s Authorization=%q Cookie=%q", r.Role, r.Member, r.Method, r.URI, r.Authorization, r.Cookie)
		}
	}
}

// oidcFront is the real gateway signing browsers in at a real provider,
// in front of a simulated cluster (a master, one agent) whose members'
// requests are recorded: --viewers group:engineering, --operators
// group:ops.
type oidcFront struct {
	cluster *sim.Cluster
	idp     *idp
	gw      *gateway
	members *memberLog
}

func startOIDCFront(tb testing.TB, extra ...string) *oidcFront {
	tb.Helper()
	f := &oidcFront{members: &memberLog{}, idp: startIDP(tb)}
	f.cluster = startCluster(tb, sim.Options{Modes: []sim.Mode{sim.Plain}, Observe: f.members.observe})
	dir := tb.TempDir()
	secret, key := filepath.Join(dir, "client-secret"), filepath.Join(dir, "session.key")
	writeFile(tb, secret, f.idp.ClientSecret+"\n")
	writeFile(tb, key, string(randomBytes(tb, 32)))
	port := strconv.Itoa(freePort(tb))
	f.gw = startGatewayWith(tb, f.cluster, gatewayOptions{
		Listen: "127.0.0.1:" + port,
		Args: append([]string{
			"--oidc-issuer", f.idp.Issuer(),
			"--oidc-client-id", f.idp.ClientID,
			"--oidc-client-secret-file", secret,
			"--oidc-redirect-url", "https://localhost:" + port + "/gateway/callback",
			"--oidc-scopes", "openid,email,profile,groups",
			"--session-key-file", key,
			"--viewers", "group:engineering",
			"--operators", "group:ops",
			"--log-level", "debug",
		}, extra...),
	})
	return f
}

// writeFile writes a test's file, failing the test when it cannot.
func writeFile(tb testing.TB, path, content string) {
	tb.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		tb.Fatal(err)
	}
}

// randomBytes returns n random bytes.
func randomBytes(tb testing.TB, n int) []byte {
	tb.Helper()
	b := make([]byte, n)
	f, err := os.Open("/dev/urandom")
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	if _, err := f.Read(b); err != nil {
		tb.Fatal(err)
	}
	return b
}

// curlResult is what one curl run got.
type curlResult struct {
	status  int    // 0 when no response came (curl's %{http_code} 000)
	header  string // the response's header lines
	body    string
	exit    int    // curl's exit status
	stderr  string // curl's error message
	command string // for failure messages
}

// curl runs curl against a gateway of the package, trusting the cluster's
// CA, with args (which end with the URL), and returns what it got.
func curl(t *testing.T, args ...string) curlResult {
	t.Helper()
	bin := testsupport.Command(t, "curl", "curl")
	dir := t.TempDir()
	head, body := filepath.Join(dir, "head"), filepath.Join(dir, "body")
	full := append([]string{"-sS", "--max-time", "20", "--cacert", pki.CAFile, "-D", head, "-o", body, "-w", "%{http_code}"}, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, full...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	r := curlResult{stderr: strings.TrimSpace(stderr.String()), command: "curl " + strings.Join(args, " ")}
	if ee, ok := err.(*exec.ExitError); ok {
		r.exit = ee.ExitCode()
	} else if err != nil {
		t.Fatalf("%s: %v", r.command, err)
	}
	r.status, _ = strconv.Atoi(strings.TrimSpace(string(out)))
	h, _ := os.ReadFile(head)
	b, _ := os.ReadFile(body)
	r.header, r.body = string(h), string(b)
	return r
}

// String describes the result for failure messages.
func (r curlResult) String() string {
	return fmt.Sprintf("%s: status %d, exit %d %s\n%s%.600s", r.command, r.status, r.exit, r.stderr, r.header, r.body)
}

// TestBearerTokens sends API clients' tokens to the real gateway with
// curl: a valid ID token of the issuer reads (200) and, for group ops,
// writes (the simulated master's 501 for TEARDOWN shows the call reached
// it); an expired one, one for another audience, from another issuer,
// unsigned (alg none), signed by another key (with its own key id, and
// posing under the provider's) are each 401 with error="invalid_token".
// The members' side shows that no bearer token ever reached them.
func TestBearerTokens(t *testing.T) {
	testsupport.Command(t, "curl", "curl")
	f := startOIDCFront(t)
	other, err := mockoidc.RandomKeypair(2048)
	if err != nil {
		t.Fatal(err)
	}
	idpKid, _ := f.idp.Keypair.KeyID()
	otherKid, _ := other.KeyID()
	signedBy := func(k *mockoidc.Keypair, kid string) string {
		tok := jwt.NewWithClaims(jwt.SigningMethodRS256, f.idp.claims(nil))
		tok.Header["kid"] = kid
		s, err := tok.SignedString(k.PrivateKey)
		if err != nil {
			t.Fatal(err)
		}
		return s
	}
	unsigned, err := jwt.NewWithClaims(jwt.SigningMethodNone, f.idp.claims(nil)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	if err != nil {
		t.Fatal(err)
	}
	state := f.gw.url + "/master/state"

	t.Run("valid", func(t *testing.T) {
		r := curl(t, "-H", "Authorization: Bearer "+f.idp.token(t, nil), state)
		if r.status != 200 || !strings.Contains(r.body, `"leader_info"`) {
			t.Fatalf("a valid token's read: %s", r)
		}
		tok := f.idp.token(t, jwt.MapClaims{"email": "deploy@example.com", "groups": []string{"ops"}})
		r = curl(t, "-H", "Authorization: Bearer "+tok, "-H", "Content-Type: application/json",
			"--data", `{"type":"TEARDOWN","teardown":{"framework_id":{"value":"F1"}}}`, f.gw.url+"/api/v1")
		if r.status != 501 || !strings.Contains(r.body, "does not implement TEARDOWN") {
			t.Fatalf("an operator token's write did not reach the master: %s", r)
		}
		if got := f.members.find("POST", "/api/v1"); len(got) != 1 || got[0].Authorization != "" {
			t.Fatalf("the master received %+v, want one TEARDOWN without Authorization", got)
		}
	})
	refused := []struct{ name, token string }{
		{"expired", f.idp.token(t, jwt.MapClaims{"iat": time.Now().Add(-time.Hour).Unix(), "exp": time.Now().Add(-time.Minute).Unix()})},
		{"wrong_audience", f.idp.token(t, jwt.MapClaims{"aud": "another-client"})},
		{"wrong_issuer", f.idp.token(t, jwt.MapClaims{"iss": "https://evil.example"})},
		{"unsigned_alg_none", unsigned},
		{"signed_by_another_key", signedBy(other, otherKid)},
		{"another_key_under_the_providers_kid", signedBy(other, idpKid)},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			r := curl(t, "-H", "Authorization: Bearer "+tt.token, "-H", "Accept: application/json", state)
			if r.status != 401 || !strings.Contains(r.header, `error="invalid_token"`) || !strings.Contains(r.body, "bearer token was refused") {
				t.Fatalf("%s", r)
			}
			if strings.Contains(r.body, tt.token) || strings.Contains(f.gw.stderr.String(), tt.token) {
				t.Errorf("the token was echoed to the client or the log")
			}
		})
	}
	f.members.assertNoGatewayCredentials(t)
}

// clientCerts are the client certificates of the client-certificate
// tests, with the CA that issued them (--client-ca).
type clientCerts struct {
	caFile string
	// operator is named by its CN in --operators (cn:deploy-robot);
	// viewer by its DNS SAN in --viewers (dns:dash.example.com); stranger
	// by neither; foreign has the operator's CN from another CA.
	operator, viewer, stranger, foreign certFiles
}

// certFiles are a certificate's PEM files and the pair.
type certFiles struct {
	cert, key string
	pair      tls.Certificate
}

func newClientCerts(tb testing.TB) *clientCerts {
	tb.Helper()
	dir := tb.TempDir()
	ca, err := tlsx.NewCA("mesosgate e2e client CA", time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	other, err := tlsx.NewCA("another client CA", time.Hour)
	if err != nil {
		tb.Fatal(err)
	}
	cc := &clientCerts{caFile: filepath.Join(dir, "client-ca.pem")}
	writeFile(tb, cc.caFile, string(ca.CertPEM()))
	issue := func(ca *tlsx.CA, name string, req tlsx.LeafRequest) certFiles {
		req.Usage = tlsx.ClientOnly
		leaf, err := ca.Issue(req)
		if err != nil {
			tb.Fatal(err)
		}
		f := certFiles{cert: filepath.Join(dir, name+".pem"), key: filepath.Join(dir, name+"-key.pem"), pair: leaf.TLSCertificate()}
		if err := leaf.WriteFiles(f.cert, f.key); err != nil {
			tb.Fatal(err)
		}
		return f
	}
	cc.operator = issue(ca, "operator", tlsx.LeafRequest{CommonName: "deploy-robot"})
	cc.viewer = issue(ca, "viewer", tlsx.LeafRequest{CommonName: "Dashboard", DNSNames: []string{"dash.example.com"}})
	cc.stranger = issue(ca, "stranger", tlsx.LeafRequest{CommonName: "stranger"})
	cc.foreign = issue(other, "foreign", tlsx.LeafRequest{CommonName: "deploy-robot"})
	return cc
}

// curlArgs are curl's arguments presenting f.
func (f certFiles) curlArgs() []string { return []string{"--cert", f.cert, "--key", f.key} }

// TestClientCertIdentities identifies clients by the certificate the
// front verified against --client-ca, with curl and openssl s_client, in
// front of members that demand Mesos's Basic credentials (which pass
// through to them): a certificate whose CN is in --operators writes, one
// whose DNS SAN is in --viewers reads but may not write (403 naming the
// operator role and --operators), a verified one named nowhere is 403
// "no role", no certificate is anonymous (403: present one), and one from
// another CA fails the handshake. With REQUIRE_CLIENT_CERT, a client
// without a certificate is refused at the handshake.
func TestClientCertIdentities(t *testing.T) {
	testsupport.Command(t, "curl", "curl")
	openssl := testsupport.Command(t, "openssl", "openssl")
	cc := newClientCerts(t)
	members := &memberLog{}
	creds := &sim.Credentials{Principal: "mesos-ui", Secret: "s3cret"}
	c := startCluster(t, sim.Options{Modes: []sim.Mode{sim.Plain}, Auth: creds, Observe: members.observe})
	credFile := filepath.Join(t.TempDir(), "credentials.json")
	b, _ := json.Marshal(map[string]string{"principal": creds.Principal, "secret": creds.Secret})
	writeFile(t, credFile, string(b))
	roles := []string{"--client-ca", cc.caFile, "--operators", "cn:deploy-robot", "--viewers", "dns:dash.example.com", "--master-credentials", credFile}
	gw := startGatewayWith(t, c, gatewayOptions{Args: roles})
	basic := []string{"-u", creds.Principal + ":" + creds.Secret}
	agent := c.Agents()[0]
	teardown := []string{"-H", "Content-Type: application/json", "--data", `{"type":"TEARDOWN","teardown":{"framework_id":{"value":"F1"}}}`}

	t.Run("operator_cn_writes", func(t *testing.T) {
		args := append(append(cc.operator.curlArgs(), basic...), teardown...)
		r := curl(t, append(args, gw.url+"/api/v1")...)
		if r.status != 501 || !strings.Contains(r.body, "does not implement TEARDOWN") {
			t.Fatalf("%s", r)
		}
		got := members.find("POST", "/api/v1")
		if len(got) != 1 || !strings.HasPrefix(got[0].Authorization, "Basic ") {
			t.Fatalf("the master received %+v, want the TEARDOWN with the client's Basic credentials", got)
		}
		// Without Basic credentials the master itself refuses: the
		// gateway's role check is no substitute for Mesos's own.
		r = curl(t, append(append(cc.operator.curlArgs(), teardown...), gw.url+"/api/v1")...)
		if r.status != 401 || !strings.Contains(r.header, "mesos-master-readwrite") {
			t.Fatalf("without Basic credentials: %s", r)
		}
	})
	t.Run("viewer_dns_san_reads", func(t *testing.T) {
		for _, path := range []string{"/master/state", "/agent/" + agent.ID() + "/slave(1)/state"} {
			r := curl(t, append(append(cc.viewer.curlArgs(), basic...), gw.url+path)...)
			if r.status != 200 {
				t.Fatalf("%s", r)
			}
		}
		if got := members.find("GET", "/slave(1)/state"); len(got) == 0 || !strings.HasPrefix(got[len(got)-1].Authorization, "Basic ") {
			t.Fatalf("the agent received %+v, want the client's Basic credentials", got)
		}
		r := curl(t, append(append(append(cc.viewer.curlArgs(), basic...), teardown...), "-H", "Accept: application/json", gw.url+"/api/v1")...)
		if r.status != 403 || !strings.Contains(r.header, "application/problem+json") ||
			!strings.Contains(r.body, "operator role needed") || !strings.Contains(r.body, "add cn:Dashboard to --operators") {
			t.Fatalf("a viewer's write: %s", r)
		}
	})
	t.Run("verified_but_unnamed", func(t *testing.T) {
		r := curl(t, append(cc.stranger.curlArgs(), "-H", "Accept: application/json", gw.url+"/master/state")...)
		if r.status != 403 || !strings.Contains(r.body, "stranger") || !strings.Contains(r.body, "no role") {
			t.Fatalf("%s", r)
		}
	})
	t.Run("no_certificate_is_anonymous", func(t *testing.T) {
		r := curl(t, "-H", "Accept: application/json", gw.url+"/master/state")
		if r.status != 403 || !strings.Contains(r.body, "present a client certificate") {
			t.Fatalf("%s", r)
		}
		if r := curl(t, gw.url+"/gateway/healthz"); r.status != 200 {
			t.Fatalf("healthz is for load balancers: %s", r)
		}
	})
	t.Run("another_CA_fails_the_handshake", func(t *testing.T) {
		r := curl(t, append(cc.foreign.curlArgs(), gw.url+"/master/state")...)
		if r.status != 0 || r.exit == 0 {
			t.Fatalf("a certificate of another CA was accepted: %s", r)
		}
	})
	t.Run("openssl_s_client", func(t *testing.T) {
		req := "GET /master/state HTTP/1.1\r\nHost: localhost\r\nAuthorization: Basic " + basicValue(creds) + "\r\nConnection: close\r\n\r\n"
		if out := sClient(t, openssl, gw, req, cc.operator); !strings.HasPrefix(out, "HTTP/1.1 200") {
			t.Fatalf("with the operator's certificate: %.300s", out)
		}
		if out := sClient(t, openssl, gw, req, certFiles{}); !strings.HasPrefix(out, "HTTP/1.1 403") || !strings.Contains(out, "present a client certificate") {
			t.Fatalf("without a certificate: %.600s", out)
		}
	})
	members.assertNoGatewayCredentials(t)

	t.Run("REQUIRE_CLIENT_CERT", func(t *testing.T) {
		strict := startGatewayWith(t, c, gatewayOptions{
			Env:        []string{"LIBPROCESS_SSL_REQUIRE_CLIENT_CERT=true", "LIBPROCESS_SSL_CA_FILE=" + pki.CAFile},
			Args:       roles,
			ClientCert: &cc.viewer.pair,
		})
		// TLS 1.3: the client finishes its side of the handshake and
		// meets the server's alert at its first read (or its write
		// fails first, whichever curl does first): no response either way.
		if r := curl(t, strict.url+"/master/state"); r.status != 0 || r.exit == 0 {
			t.Fatalf("a client without a certificate got an answer: %s", r)
		}
		// TLS 1.2: the handshake itself fails.
		if r := curl(t, "--tls-max", "1.2", strict.url+"/master/state"); r.status != 0 || r.exit != 35 || !strings.Contains(r.stderr, "alert handshake failure") {
			t.Fatalf("TLS 1.2 without a certificate: %s", r)
		}
		out := sClient(t, openssl, strict, "GET /gateway/healthz HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n", certFiles{})
		if strings.Contains(out, "HTTP/1.1") || !strings.Contains(out, "alert certificate required") {
			t.Fatalf("openssl s_client without a certificate: %.600s", out)
		}
		if r := curl(t, append(append(cc.viewer.curlArgs(), basic...), strict.url+"/master/state")...); r.status != 200 {
			t.Fatalf("with a certificate: %s", r)
		}
	})
}

// basicValue is the value of Basic credentials' Authorization header
// after "Basic ".
func basicValue(c *sim.Credentials) string {
	return base64.StdEncoding.EncodeToString([]byte(c.Principal + ":" + c.Secret))
}

// sClient sends one raw HTTP/1.1 request through openssl s_client to the
// gateway, presenting cert (none when its files are empty), and returns
// s_client's output: the response, or the handshake's failure.
func sClient(t *testing.T, openssl string, gw *gateway, request string, cert certFiles) string {
	t.Helper()
	addr := strings.TrimPrefix(gw.url, "https://")
	_, port, _ := net.SplitHostPort(addr)
	args := []string{"s_client", "-quiet", "-connect", "127.0.0.1:" + port, "-servername", "localhost", "-CAfile", pki.CAFile, "-verify_return_error"}
	if cert.cert != "" {
		args = append(args, "-cert", cert.cert, "-key", cert.key)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, openssl, args...)
	cmd.Stdin = strings.NewReader(request)
	out, _ := cmd.CombinedOutput()
	// -quiet still prints the verification of the chain first.
	s := string(out)
	if i := strings.Index(s, "HTTP/1.1 "); i >= 0 {
		return s[i:]
	}
	return s
}

// TestAccessBadStart starts the real binary with bad access settings:
// each is one clear line on stderr naming the setting, exit status 2, and
// nothing written (the internal CA's data directory stays empty), never a
// stack trace. An issuer that accepts connections and never answers is
// given up on within a bound, not waited for forever.
func TestAccessBadStart(t *testing.T) {
	dir := t.TempDir()
	good, short := filepath.Join(dir, "good.key"), filepath.Join(dir, "short.key")
	writeFile(t, good, string(randomBytes(t, 32)))
	writeFile(t, short, string(randomBytes(t, 16)))
	cc := newClientCerts(t)
	refused := closedPort(t)
	silent := silentListener(t)
	redirect := "https://localhost:8443/gateway/callback"
	oidc := func(issuer string, more ...string) []string {
		return append([]string{"--oidc-issuer", issuer, "--oidc-client-id", "gw", "--oidc-redirect-url", redirect}, more...)
	}
	tests := []struct {
		name string
		args []string
		want string // in the one line
		also string // in it too, if set
	}{
		{"issuer_refuses_connections", oidc("http://"+refused+"/oidc", "--session-key-file", good, "--viewers", "*"), `--oidc-issuer "http://` + refused + `/oidc": cannot read the provider's discovery document`, ""},
		{"issuer_never_answers", oidc("http://"+silent+"/oidc", "--session-key-file", good, "--viewers", "*"), `--oidc-issuer "http://` + silent + `/oidc": cannot read the provider's discovery document`, "(no answer within 10s)"},
		{"issuer_without_client_id", []string{"--oidc-issuer", "http://" + refused + "/oidc", "--oidc-redirect-url", redirect, "--session-key-file", good, "--viewers", "*"}, "--oidc-issuer is set but --oidc-client-id is not", ""},
		{"client_id_without_issuer", []string{"--oidc-client-id", "gw"}, "--oidc-client-id is set but --oidc-issuer is not", ""},
		{"issuer_without_redirect", []string{"--oidc-issuer", "http://" + refused + "/oidc", "--oidc-client-id", "gw", "--session-key-file", good, "--viewers", "*"}, "--oidc-redirect-url", ""},
		{"no_session_key_file", oidc("http://"+refused+"/oidc", "--viewers", "*"), `--oidc-issuer "http://` + refused + `/oidc": cannot read the provider's discovery document`, ""}, // the key made in the storage, only once the provider answered
		{"missing_session_key_file", oidc("http://"+refused+"/oidc", "--session-key-file", filepath.Join(dir, "none.key"), "--viewers", "*"), "--session-key-file=" + strconv.Quote(filepath.Join(dir, "none.key")) + ": does not exist", ""},
		{"short_session_key_file", oidc("http://"+refused+"/oidc", "--session-key-file", short, "--viewers", "*"), "holds 16 bytes, fewer than the 32", ""},
		{"roles_name_nothing", []string{"--client-ca", cc.caFile, "--viewers", ""}, "no one has a role", ""},
		{"roles_unknown_prefix", []string{"--client-ca", cc.caFile, "--viewers", "role:admin"}, `--viewers="role:admin": entry "role:admin" has an unknown prefix`, ""},
		{"roles_unknown_entry", []string{"--client-ca", cc.caFile, "--operators", "bob"}, `--operators="bob": entry "bob" is neither an email nor a prefixed name`, ""},
		{"roles_without_authentication", []string{"--viewers", "*"}, "--viewers and --operators need a way to identify clients", ""},
		{"allow_writes_with_authentication", []string{"--client-ca", cc.caFile, "--viewers", "*", "--allow-writes"}, "--allow-writes makes everyone an operator", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assertBadStart(t, append([]string{"--master", refused}, tt.args...), nil, tt.want, tt.also)
		})
	}
}

// assertBadStart runs `mesosgate serve` with args (and the environment
// entries env) and a new data directory, and checks that it exits with
// status 2 after one line on stderr naming the problem (holding want and
// also), never a stack trace, within a minute, with nothing written to
// the data directory.
func assertBadStart(t *testing.T, args, env []string, want, also string) {
	t.Helper()
	data := filepath.Join(t.TempDir(), "data")
	if err := os.Mkdir(data, 0o700); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, binary, append([]string{"serve", "--listen", "127.0.0.1:0", "--data-dir", data}, args...)...)
	cmd.Env = append([]string{"HOME=" + t.TempDir(), "PATH=" + os.Getenv("PATH")}, env...)
	var stdout, stderr strings.Builder
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	start := time.Now()
	err := cmd.Run()
	took := time.Since(start)
	if ctx.Err() != nil {
		t.Fatalf("still running after %s: the gateway waits forever\n%s", took.Round(time.Second), stderr.String())
	}
	code := -1
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	}
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if code != 2 || len(lines) != 1 || !strings.HasPrefix(lines[0], "mesosgate serve: ") || !strings.Contains(lines[0], want) || !strings.Contains(lines[0], also) {
		t.Errorf("exit %d after %s, stderr:\n%s\nwant exit 2 and one line with %q", code, took.Round(time.Millisecond), stderr.String(), want)
	}
	// A consequence is no second problem: "SSL is enabled but has no
	// certificate" after a certificate that did not load was one.
	for _, bad := range []string{"goroutine ", "panic", ".go:", "has no certificate"} {
		if strings.Contains(stderr.String(), bad) {
			t.Errorf("stderr holds %q", bad)
		}
	}
	if entries, _ := os.ReadDir(data); len(entries) > 0 {
		t.Errorf("the data directory is not empty: %v", entries)
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	return "127.0.0.1:" + strconv.Itoa(freePort(t))
}

// silentListener is a loopback address that accepts connections (the
// kernel completes the handshake) and never answers: a provider behind a
// stuck proxy.
func silentListener(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	return ln.Addr().String()
}

// browserClient is a browser as far as cookies and redirects go: a cookie
// jar, the gateway's certificate trusted, redirects followed except to
// the gateway's sign-in callback, whose URL it records.
type browserClient struct {
	*http.Client
	callback string
}

func newBrowserClient(t testing.TB, gw *gateway) *browserClient {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	tr := gw.client.Transport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	bc := &browserClient{}
	bc.Client = &http.Client{Transport: tr, Jar: jar, CheckRedirect: func(req *http.Request, _ []*http.Request) error {
		if req.URL.Path == "/gateway/callback" {
			bc.callback = req.URL.String()
			return http.ErrUseLastResponse
		}
		return nil
	}}
	return bc
}

// get loads a page as a browser does (Accept: text/html, a navigation)
// and returns status and body.
func (bc *browserClient) get(t testing.TB, u string) (int, string) {
	t.Helper()
	req, err := http.NewRequest("GET", u, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "text/html")
	req.Header.Set("Sec-Fetch-Mode", "navigate")
	resp, err := bc.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", u, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// startSignIn runs a sign-in in bc up to the provider's redirect back to
// the gateway, and returns the callback URL and the login cookie.
func (bc *browserClient) startSignIn(t testing.TB, gw *gateway) (string, *http.Cookie) {
	t.Helper()
	bc.callback = ""
	if status, body := bc.get(t, gw.url+"/gateway/login?next=/master/state"); status != http.StatusFound || bc.callback == "" {
		t.Fatalf("the sign-in did not reach the callback: %d %.300s", status, body)
	}
	u, _ := url.Parse(gw.url)
	for _, c := range bc.Jar.Cookies(u) {
		if c.Name == "__Host-mesosgate-login" {
			return bc.callback, c
		}
	}
	t.Fatal("no login cookie")
	return "", nil
}

// TestLoginCallbackRefusals brings the real gateway forged, replayed and
// stray callbacks of a sign-in with a real provider: each is refused with
// the gateway's HTML page saying what happened and to sign in again (400
// for a state that is not this browser's sign-in, 502 for a code the
// provider refuses), never a stack trace, and none signs anyone in.
func TestLoginCallbackRefusals(t *testing.T) {
	f := startOIDCFront(t)
	withState := func(callback, state string) string {
		u, _ := url.Parse(callback)
		q := u.Query()
		q.Set("state", state)
		u.RawQuery = q.Encode()
		return u.String()
	}
	assertPage := func(t *testing.T, status int, body string, wantStatus int, want string) {
		t.Helper()
		if status != wantStatus || !strings.Contains(body, "<title>") || !strings.Contains(body, "Sign-in failed") || !strings.Contains(html.UnescapeString(body), want) {
			t.Fatalf("status %d, want %d with a page saying %q:\n%.1500s", status, wantStatus, want, body)
		}
		for _, bad := range []string{"goroutine ", "panic", ".go:"} {
			if strings.Contains(body, bad) {
				t.Errorf("the page holds %q", bad)
			}
		}
	}
	const notThisSignIn = "this sign-in expired, was already used or was started in another browser"
	t.Run("forged_state", func(t *testing.T) {
		bc := newBrowserClient(t, f.gw)
		callback, _ := bc.startSignIn(t, f.gw)
		status, body := bc.get(t, withState(callback, "forged-"+strconv.Itoa(int(time.Now().UnixNano()))))
		assertPage(t, status, body, 400, notThisSignIn)
	})
	t.Run("another_browser", func(t *testing.T) {
		callback, _ := newBrowserClient(t, f.gw).startSignIn(t, f.gw)
		status, body := newBrowserClient(t, f.gw).get(t, callback)
		assertPage(t, status, body, 400, notThisSignIn)
	})
	t.Run("replayed_callback", func(t *testing.T) {
		bc := newBrowserClient(t, f.gw)
		callback, login := bc.startSignIn(t, f.gw)
		if status, body := bc.get(t, callback); status != 200 || !strings.Contains(body, `"leader_info"`) {
			t.Fatalf("the first callback: %d %.300s", status, body)
		}
		// The same browser again: its sign-in is used up.
		status, body := bc.get(t, callback)
		assertPage(t, status, body, 400, notThisSignIn)
		// Another browser given the login cookie too: the provider
		// refuses a code used twice.
		other := newBrowserClient(t, f.gw)
		u, _ := url.Parse(f.gw.url)
		other.Jar.SetCookies(u, []*http.Cookie{{Name: login.Name, Value: login.Value, Path: "/", Secure: true}})
		status, body = other.get(t, callback)
		assertPage(t, status, body, 502, "the identity provider did not accept the sign-in")
		if status, _ := other.get(t, f.gw.url+"/master/state?jsonp=x"); status == 200 {
			t.Fatal("a replayed callback signed a browser in")
		}
	})
}
