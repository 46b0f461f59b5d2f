package server

import (
	"encoding/json"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/rewrite"
	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/web"
)

// TestRoutes walks every route of SPEC section 7 through the gateway to a
// cluster whose agents speak every mode.
func TestRoutes(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{Masters: 2, Modes: sim.AllModes()}})
	leader := ts.sim.Leader()
	standby := ts.sim.Masters()[1]
	fw := ts.sim.Frameworks()[0]

	type check struct {
		name, path string
		status     int
		contains   string // in the body
		location   string // the Location header, when set
	}
	checks := []check{
		{"leader at the root", "/master/state", 200, `"leader_info"`, ""},
		{"leader's WebUI", "/", 200, "<html", ""},
		{"leader alias", "/mesos/master/state", 200, `"leader_info"`, ""},
		{"leader alias bare", "/mesos", 301, "", "/mesos/"},
		{"standby by address", "/gateway/masters/" + standby.Addr() + "/version", 200, `"version"`, ""},
		{"standby redirect rewritten", "/gateway/masters/" + standby.Addr() + "/master/state", 307, "", "/mesos/master/state"},
		{"unknown master", "/gateway/masters/127.0.0.1:1/version", 404, "unknown-master", ""},
		{"master bare", "/gateway/masters/" + standby.Addr(), 301, "", "/gateway/masters/" + standby.Addr() + "/"},
		{"framework by name", "/service/" + fw.Name() + "/api/info", 200, `"framework": "` + fw.Name() + `"`, ""},
		{"framework by id", "/framework/" + fw.ID() + "/api/info", 200, `"id": "` + fw.ID() + `"`, ""},
		{"framework bare", "/service/" + fw.Name() + "?x=1", 301, "", "/service/" + fw.Name() + "/?x=1"},
		{"unknown framework", "/service/nope/", 404, "unknown-framework", ""},
		{"unknown framework id", "/framework/nope/", 404, "unknown-framework", ""},
		{"unknown agent", "/agent/nope/slave(1)/state", 404, "unknown-agent", ""},
		{"unknown slave", "/slave/nope/slave(1)/state", 404, "unknown-agent", ""},
		{"dashboard", "/gateway/", 200, "<html", ""},
		{"dashboard bare", "/gateway", 301, "", "/gateway/"},
		{"gateway 404", "/gateway/nothing", 404, "not-found", ""},
		{"api", "/gateway/api/cluster", 200, `"phase"`, ""},
		{"healthz", "/gateway/healthz", 200, "ok", ""},
		{"readyz", "/gateway/readyz", 200, "ready", ""},
	}
	for i, a := range ts.sim.Agents() {
		checks = append(checks,
			check{"agent " + a.Mode().String(), "/agent/" + a.ID() + "/slave(1)/state", 200, `"id": "` + a.ID() + `"`, ""},
			check{"slave alias " + a.Mode().String(), "/slave/" + a.ID() + "/slave(1)/state", 200, `"id": "` + a.ID() + `"`, ""},
		)
		if i == 0 {
			checks = append(checks, check{"agent bare", "/agent/" + a.ID() + "?q", 301, "", "/agent/" + a.ID() + "/?q"})
		}
	}
	for _, c := range checks {
		t.Run(c.name, func(t *testing.T) {
			resp, body := ts.get(c.path, "Accept", "application/json")
			if resp.StatusCode != c.status {
				t.Fatalf("GET %s: status %d, want %d; body:\n%.500s", c.path, resp.StatusCode, c.status, body)
			}
			if c.contains != "" && !strings.Contains(compactJSON(body), compactJSON(c.contains)) {
				t.Errorf("GET %s: body lacks %q:\n%.500s", c.path, c.contains, body)
			}
			if loc := resp.Header.Get("Location"); loc != c.location {
				t.Errorf("GET %s: Location %q, want %q", c.path, loc, c.location)
			}
			if resp.Header.Get("X-Request-Id") == "" {
				t.Errorf("GET %s: no X-Request-Id", c.path)
			}
		})
	}
	_ = leader
}

// compactJSON drops the spaces after colons so checks do not depend on a
// member's indentation.
func compactJSON(s string) string { return strings.ReplaceAll(s, `": `, `":`) }

// TestUnknownIsAProblemPage checks the 404 of an unknown agent and
// framework as a browser and as an API client see it.
func TestUnknownIsAProblemPage(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{Modes: []sim.Mode{sim.Plain}}})
	for _, path := range []string{"/agent/S-missing/files/browse", "/service/missing/", "/framework/missing-0000/"} {
		t.Run(path, func(t *testing.T) {
			resp, body := ts.get(path, "Accept", "text/html,application/xhtml+xml")
			if resp.StatusCode != 404 || !strings.HasPrefix(resp.Header.Get("Content-Type"), "text/html") {
				t.Fatalf("browser: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if !strings.Contains(body, "missing") || !strings.Contains(body, resp.Header.Get("X-Request-Id")) {
				t.Errorf("the page names neither what was asked nor the request id:\n%s", body)
			}
			resp, body = ts.get(path, "Accept", "application/json")
			var p struct {
				Status    int    `json:"status"`
				Type      string `json:"type"`
				Detail    string `json:"detail"`
				RequestID string `json:"request_id"`
			}
			if err := json.Unmarshal([]byte(body), &p); err != nil || resp.Header.Get("Content-Type") != "application/problem+json" {
				t.Fatalf("API client: %s %v\n%s", resp.Header.Get("Content-Type"), err, body)
			}
			if p.Status != 404 || !strings.Contains(p.Detail, "missing") || p.RequestID != resp.Header.Get("X-Request-Id") {
				t.Errorf("problem %+v", p)
			}
		})
	}
}

// TestRefused sends what a forward proxy client or an attacker sends: the
// gateway answers 400 and forwards nothing.
func TestRefused(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{Modes: []sim.Mode{sim.Plain}}})
	agent := ts.sim.Agents()[0]
	for _, c := range []struct{ name, request, want string }{
		{"absolute-form", "GET http://" + agent.Addr() + "/slave(1)/state HTTP/1.1\r\nHost: " + agent.Addr() + "\r\n\r\n", "absolute-target"},
		{"absolute-form to the gateway itself", "GET https://localhost/master/state HTTP/1.1\r\nHost: localhost\r\n\r\n", "absolute-target"},
		{"connect", "CONNECT " + agent.Addr() + " HTTP/1.1\r\nHost: " + agent.Addr() + "\r\n\r\n", "absolute-target"},
		// The gateway closes the connection of a client that takes it
		// for a forward proxy; the others ask for it.
		{"dot dot", "GET /agent/" + agent.ID() + "/../../master/state HTTP/1.1\r\nHost: localhost\r\n\r\n", "path-escape"},
		{"encoded dot dot", "GET /agent/" + agent.ID() + "/%2e%2e/%2E%2E/master/state HTTP/1.1\r\nHost: localhost\r\n\r\n", "path-escape"},
		{"encoded slash", "GET /agent/" + agent.ID() + "/..%2f..%2fmaster/state HTTP/1.1\r\nHost: localhost\r\n\r\n", "path-escape"},
		{"backslash", "GET /service/x/..\\..\\master/state HTTP/1.1\r\nHost: localhost\r\n\r\n", "path-escape"},
		{"single dot", "GET /agent/" + agent.ID() + "/./x HTTP/1.1\r\nHost: localhost\r\n\r\n", "path-escape"},
		{"leader dot dot", "GET /../etc/passwd HTTP/1.1\r\nHost: localhost\r\n\r\n", "path-escape"},
		{"double slash", "GET //" + agent.Addr() + "/x HTTP/1.1\r\nHost: localhost\r\n\r\n", "bad-request"},
	} {
		t.Run(c.name, func(t *testing.T) {
			req := c.request
			if !strings.HasPrefix(c.name, "absolute") && c.name != "connect" {
				req = strings.TrimSuffix(req, "\r\n") + "Connection: close\r\n\r\n"
			}
			got := ts.raw(req)
			if !strings.HasPrefix(got, "HTTP/1.1 400 ") || !strings.Contains(got, c.want) {
				t.Errorf("got:\n%.600s", got)
			}
		})
	}
	if d := agent.DirectRequests(); len(d) > 0 {
		t.Errorf("requests reached the agent: %v", d)
	}
	// An encoded slash inside an id stays in the id: no such agent.
	resp, _ := ts.get("/agent/" + url.PathEscape(agent.ID()+"/x") + "/slave(1)/state")
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("agent id with an encoded slash: %d", resp.StatusCode)
	}
}

// TestOversizedHeader is refused with 431 before any routing.
func TestOversizedHeader(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{}, serve: ServeOptions{MaxHeaderBytes: 4096}})
	got := ts.raw("GET /master/state HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\nCookie: " + strings.Repeat("a", 16<<10) + "\r\n\r\n")
	if !strings.HasPrefix(got, "HTTP/1.1 431 ") {
		t.Errorf("got:\n%.300s", got)
	}
}

// TestWebUIDir serves a WebUI directory of either layout in place of the
// leader's, at the paths a master of that release serves it, with the
// runtime injected, while the API still reaches the leader.
func TestWebUIDir(t *testing.T) {
	write := func(dir, name, body string) {
		os.MkdirAll(filepath.Dir(filepath.Join(dir, name)), 0o755)
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	const index = `<!doctype html><html><head><meta charset="utf-8"><title>Mesos</title></head><body><script src="app/app.js"></script></body></html>`
	app := t.TempDir() // Mesos 1.6 and later
	write(app, "index.html", index)
	write(app, "app/app.js", `var mesos = 1;`)
	write(app, "app/shared/pailer.html", `<html><head></head><body>pailer</body></html>`)
	static := t.TempDir() // Mesos 0.23 to 1.5
	write(static, "master/static/index.html", index)
	write(static, "master/static/js/app.js", `var mesos = 0;`)
	write(static, "master/static/pailer.html", `<html><head></head><body>pailer</body></html>`)
	for _, c := range []struct {
		dir   string
		found map[string]string // path: what its 200 shows
		not   []string          // paths the tree never answers 200 (no listing, no escape)
	}{
		{app, map[string]string{
			"/": "data-mesosgate", "/mesos/": "data-mesosgate", "/app/shared/pailer.html": "data-mesosgate",
			"/app/app.js": "var mesos = 1;", "/mesos/app/app.js": "var mesos = 1;", "/master/state": `"leader_info"`,
		}, []string{"/app/", "/app/shared/", "/app/../index.html", "/index.html"}},
		{static, map[string]string{
			"/": "data-mesosgate", "/mesos/": "data-mesosgate", "/static/pailer.html": "data-mesosgate",
			"/static/js/app.js": "var mesos = 0;", "/mesos/static/js/app.js": "var mesos = 0;", "/master/state": `"leader_info"`,
		}, []string{"/static/", "/static/js/", "/static/../index.html", "/master/static/index.html"}},
	} {
		ts := newTester(t, testerOptions{sim: sim.Options{}, gateway: func(o *Options) { o.WebUIDir = c.dir }})
		for path, want := range c.found {
			resp, body := ts.get(path)
			if resp.StatusCode != 200 || !strings.Contains(body, want) {
				t.Errorf("%s: GET %s: %d\n%.300s", c.dir, path, resp.StatusCode, body)
			}
		}
		for _, path := range c.not {
			if resp, body := ts.get(path); resp.StatusCode == 200 {
				t.Errorf("%s: GET %s: 200, want none\n%.300s", c.dir, path, body)
			}
		}
		if resp, _ := ts.do(ts.client, http.MethodHead, "/gateway/healthz"); resp.StatusCode != 200 {
			t.Errorf("HEAD /gateway/healthz: %d", resp.StatusCode)
		}
	}
}

// TestObserveHook: Options.Observe sees every request with a
// ResponseWriter that reaches the connection; without Options.Metrics
// there is no /gateway/metrics.
func TestObserveHook(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]int{}
	ts := newTester(t, testerOptions{sim: sim.Options{}, gateway: func(o *Options) {
		o.Observe = func(next http.Handler) http.Handler {
			return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				next.ServeHTTP(w, r)
				if err := http.NewResponseController(w).Flush(); err != nil {
					t.Errorf("the observed ResponseWriter cannot flush: %v", err)
				}
				mu.Lock()
				seen[r.URL.Path]++
				mu.Unlock()
			})
		}
	}})
	ts.get("/master/state")
	if resp, body := ts.get("/gateway/metrics"); resp.StatusCode != 404 {
		t.Errorf("/gateway/metrics without Options.Metrics: %d %.200q", resp.StatusCode, body)
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["/master/state"] != 1 || seen["/gateway/metrics"] != 1 {
		t.Errorf("observed %v", seen)
	}
}

// TestVocabulary: every value of upstream's roles, speaks and phases, and
// of the link modes, has its own web value (a value added upstream that
// the conversion misses shows as web's zero value here).
func TestVocabulary(t *testing.T) {
	seen := map[web.Role]bool{}
	for _, r := range upstream.Roles() {
		w := webRole(r)
		if w == "" || seen[w] || string(w) != string(r) {
			t.Errorf("role %q -> %q", r, w)
		}
		seen[w] = true
	}
	speaks := map[web.Speaks]bool{}
	for _, s := range upstream.AllSpeaks() {
		w := webSpeaks(s)
		if w == web.SpeaksUnknown || speaks[w] || w.Label() != string(s) {
			t.Errorf("speaks %q -> %q", s, w)
		}
		speaks[w] = true
	}
	if webSpeaks("") != web.SpeaksUnknown {
		t.Error("a member not probed yet must show as not probed")
	}
	phases := map[web.Phase]bool{}
	for _, p := range upstream.Phases() {
		w := webPhase(p)
		if phases[w] || (w == web.PhaseUnknown) != (p == upstream.PhaseUnknown) || strings.HasPrefix(w.Title(), "Unknown phase") {
			t.Errorf("phase %q -> %q", p, w)
		}
		phases[w] = true
	}
	if webLinks(rewrite.Proxy) != web.LinksProxy || webLinks(rewrite.Direct) != web.LinksDirect {
		t.Error("link modes")
	}
	for in, want := range map[config.LinkMode]rewrite.Mode{"": rewrite.Proxy, config.LinksProxy: rewrite.Proxy, config.LinksDirect: rewrite.Direct} {
		if got := linkMode(in); got != want {
			t.Errorf("--links %q -> %v", in, got)
		}
	}
	for in, want := range map[config.UpstreamTLS]upstream.TLSPolicy{"": upstream.TLSAuto, config.UpstreamAuto: upstream.TLSAuto, config.UpstreamRequired: upstream.TLSRequired} {
		if got := upstreamTLS(in); got != want {
			t.Errorf("--upstream-tls %q -> %q", in, got)
		}
	}
	for _, k := range upstream.Kinds() {
		if c := classOf(k); c == classGateway || c.String() != k.String() {
			t.Errorf("route kind %s -> class %s", k, c)
		}
	}
}
