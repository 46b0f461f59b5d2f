package server

import (
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// BenchmarkAccessJSONP is what access control costs on the small JSONP
// path (an SSL-only agent's /metrics/snapshot?jsonp=cb): the gateway's
// handler without it (the unguarded baseline), with the default access
// control (no authentication: an anonymous viewer), and with OIDC for a
// signed-in browser (its sealed session cookie opened on every request)
// and for an API client's bearer token (an RS256 signature verified on
// every request). The four are interleaved request by request, in
// rotating order, on one cluster and one upstream transport, so a shared
// machine's noise falls on all of them alike; each reports its median ns
// per request and its ratio to the baseline's median.
//
//	go test -run '^$' -bench AccessJSONP -benchtime 4000x -count 5 ./server/
func BenchmarkAccessJSONP(b *testing.B) {
	ts := newTester(b, testerOptions{sim: sim.Options{Modes: []sim.Mode{sim.SSL}}})
	agent := ts.sim.Agents()[0]
	target := "https://localhost/agent/" + agent.ID() + "/metrics/snapshot?jsonp=cb"
	op := testsupport.StartOIDC(b)
	client := &http.Client{
		Transport:     &http.Transport{},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
	b.Cleanup(client.CloseIdleConnections)
	oidc, err := access.New(context.Background(), access.Config{
		OIDC: access.OIDC{
			Issuer: op.Issuer(), ClientID: op.ClientID, ClientSecret: access.Secret(op.ClientSecret),
			RedirectURL: "https://localhost/gateway/callback", Scopes: []string{"openid", "email", "groups"},
		},
		SessionKeyFiles: []string{benchKeyFile(b)},
		Viewers:         []string{"*"},
		Operators:       []string{"group:ops"},
		HTTPClient:      client,
	})
	if err != nil {
		b.Fatal(err)
	}
	gateway := func(a *access.Access) *Gateway {
		gw, err := New(Options{Cluster: ts.cluster, Access: a, Logger: slog.New(slog.DiscardHandler)})
		if err != nil {
			b.Fatal(err)
		}
		return gw
	}
	unguarded := gateway(nil)
	unguarded.unguarded = true
	signedIn := gateway(oidc)
	session := benchSignIn(b, signedIn, client)
	token, err := op.Keypair.SignJWT(jwt.MapClaims{
		"iss": op.Issuer(), "aud": op.ClientID, "sub": "ci", "email": "ci@example.com",
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	})
	if err != nil {
		b.Fatal(err)
	}
	variants := []struct {
		name string
		gw   *Gateway
		add  func(*http.Request)
	}{
		{"unguarded", unguarded, func(*http.Request) {}},
		{"anonymous", gateway(nil), func(*http.Request) {}},
		{"session", signedIn, func(r *http.Request) { r.AddCookie(session) }},
		{"bearer", signedIn, func(r *http.Request) { r.Header.Set("Authorization", "Bearer "+token) }},
	}
	serve := func(i int) time.Duration {
		v := variants[i]
		r := originForm(target)
		r.Header.Set("Accept", "*/*")
		r.Header.Set("Sec-Fetch-Dest", "script")
		v.add(r)
		w := httptest.NewRecorder()
		start := time.Now()
		v.gw.ServeHTTP(w, r)
		took := time.Since(start)
		if w.Code != http.StatusOK || w.Body.Len() == 0 || w.Body.Bytes()[0] != 'c' {
			b.Fatalf("%s: %d %.200s", v.name, w.Code, w.Body.String())
		}
		return took
	}
	for i := range variants { // warm: connections, the provider's keys
		serve(i)
	}
	took := make([][]time.Duration, len(variants))
	n := 0
	for b.Loop() {
		for j := range variants {
			i := (n + j) % len(variants)
			took[i] = append(took[i], serve(i))
		}
		n++
	}
	// Medians: a shared machine's stalls land in the tail, not the middle.
	median := make([]float64, len(variants))
	for i, v := range variants {
		slices.Sort(took[i])
		median[i] = float64(took[i][len(took[i])/2])
		b.ReportMetric(median[i], "ns/"+v.name)
		if i > 0 {
			b.ReportMetric(median[i]/median[0], v.name+"/unguarded")
		}
	}
}

// benchKeyFile writes a session key file.
func benchKeyFile(b *testing.B) string {
	b.Helper()
	f := filepath.Join(b.TempDir(), "session.key")
	if err := os.WriteFile(f, []byte("0123456789abcdef0123456789abcdef"), 0o600); err != nil {
		b.Fatal(err)
	}
	return f
}

// benchSignIn signs in through gw's handler at the provider (mockoidc
// signs its default user in at once) and returns the session cookie.
func benchSignIn(b *testing.B, gw *Gateway, client *http.Client) *http.Cookie {
	b.Helper()
	w := httptest.NewRecorder()
	gw.ServeHTTP(w, originForm("https://localhost/gateway/login?next=/"))
	login := cookieNamed(w.Result().Cookies(), access.LoginCookie)
	if w.Code != http.StatusFound || login == nil {
		b.Fatalf("login: %d %v", w.Code, w.Result().Cookies())
	}
	resp, err := client.Get(w.Header().Get("Location"))
	if err != nil {
		b.Fatal(err)
	}
	resp.Body.Close()
	callback, err := url.Parse(resp.Header.Get("Location"))
	if err != nil || callback.Path != access.DefaultCallbackPath {
		b.Fatalf("the provider sent the browser to %q", resp.Header.Get("Location"))
	}
	r := originForm("https://localhost" + callback.RequestURI())
	r.AddCookie(login)
	w = httptest.NewRecorder()
	gw.ServeHTTP(w, r)
	session := cookieNamed(w.Result().Cookies(), access.SessionCookie)
	if w.Code != http.StatusSeeOther || session == nil {
		b.Fatalf("callback: %d %s", w.Code, w.Body.String())
	}
	return session
}

// originForm is a GET of u over TLS as a server receives it: the request
// target in origin form (a full URL is an absolute-form target, which
// the gateway refuses).
func originForm(u string) *http.Request {
	r := httptest.NewRequest("GET", u, nil)
	r.RequestURI = r.URL.RequestURI()
	return r
}

// cookieNamed finds a cookie by name.
func cookieNamed(cs []*http.Cookie, name string) *http.Cookie {
	for _, c := range cs {
		if c.Name == name && c.Value != "" {
			return c
		}
	}
	return nil
}
