package server

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/upstream"
)

// TestCrossContext: what a framework page in path mode may reach outside
// its prefix, as the browser describes the request.
func TestCrossContext(t *testing.T) {
	const page = "https://gw.example.com/service/a/index.html"
	for _, tt := range []struct {
		name, method, path, referer, site, mode, dest, worker string
		own                                                   bool
		redirect                                              string
		refused                                               bool
	}{
		{name: "own prefix", method: "GET", path: "/service/a/api", referer: page, site: "same-origin", mode: "cors"},
		{name: "another framework UI, fetched", method: "GET", path: "/service/b/secret", referer: page, site: "same-origin", mode: "cors", refused: true},
		{name: "another framework UI, followed", method: "GET", path: "/service/b/", referer: page, site: "same-origin", mode: "navigate", dest: "document"},
		{name: "another framework UI, framed", method: "GET", path: "/service/b/secret", referer: page, site: "same-origin", mode: "navigate", dest: "iframe", refused: true},
		{name: "a write to the master", method: "POST", path: "/mesos/api/v1", referer: page, site: "same-origin", mode: "cors", refused: true},
		{name: "a form posted to the master", method: "POST", path: "/mesos/master/teardown", referer: page, site: "same-origin", mode: "navigate", refused: true},
		{name: "an agent's state, fetched", method: "GET", path: "/agent/S1/slave(1)/state", referer: page, site: "same-origin", mode: "cors", refused: true},
		{name: "the gateway's API, fetched", method: "GET", path: "/gateway/api/cluster", referer: page, site: "same-origin", mode: "cors", own: true, refused: true},
		{name: "a root-relative leak", method: "GET", path: "/graph?g0.expr=up", referer: page, site: "same-origin", mode: "navigate", dest: "document", redirect: "/service/a/graph?g0.expr=up"},
		{name: "a root-relative fetch", method: "GET", path: "/api/v1/query", referer: page, site: "same-origin", mode: "cors", redirect: "/service/a/api/v1/query"},
		{name: "the WebUI's own requests", method: "GET", path: "/master/state", referer: "https://gw.example.com/", site: "same-origin", mode: "no-cors"},
		{name: "no browser", method: "POST", path: "/api/v1"},
		{name: "another site", method: "GET", path: "/service/b/", referer: "https://evil.example/service/a/", site: "cross-site", mode: "cors"},
		{name: "worker script of its own", method: "GET", path: "/service/a/sw.js", referer: page, site: "same-origin", mode: "same-origin", worker: "script"},
		{name: "worker script on the leader (JSONP)", method: "GET", path: "/master/state", referer: page, site: "same-origin", mode: "same-origin", worker: "script", refused: true},
		{name: "worker script of another framework", method: "GET", path: "/service/b/sw.js", referer: page, site: "same-origin", mode: "same-origin", worker: "script", refused: true},
		{name: "worker script from the WebUI", method: "GET", path: "/sw.js", referer: "https://gw.example.com/", site: "same-origin", mode: "same-origin", worker: "script", refused: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(tt.method, tt.path, nil)
			for k, v := range map[string]string{"Referer": tt.referer, "Sec-Fetch-Site": tt.site, "Sec-Fetch-Mode": tt.mode, "Sec-Fetch-Dest": tt.dest, "Service-Worker": tt.worker} {
				if v != "" {
					r.Header.Set(k, v)
				}
			}
			route := upstream.Route{}
			if !tt.own {
				route = upstream.ParseRoute(r.URL.EscapedPath())
			}
			redirect, refuse := crossContext(r, route, tt.own)
			if redirect != tt.redirect || (refuse != nil) != tt.refused {
				t.Errorf("redirect %q, refused %v; want %q, %v", redirect, refuse != nil, tt.redirect, tt.refused)
			}
			if refuse != nil && refuse.Status != http.StatusForbidden {
				t.Errorf("status %d", refuse.Status)
			}
		})
	}
}

// TestServiceDomain: with --service-domain each framework UI is served on
// its own host, its whole path space; /service/<name>/ redirects there;
// its pages link into the gateway with the gateway's origin; and a write
// from a framework UI's origin to the gateway is refused even where
// everyone may write (the CSRF rule), while the UI's own writes reach it.
func TestServiceDomain(t *testing.T) {
	a, err := access.New(context.Background(), access.Config{AllowWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTester(t, testerOptions{
		sim: sim.Options{Modes: []sim.Mode{sim.Plain}},
		gateway: func(o *Options) {
			o.Access, o.ServiceDomain, o.GatewayHost = a, "localhost", "gw.localhost"
		},
		upstream: func(c *upstream.Config) { c.ServiceDomain = "localhost" },
	})
	_, port, _ := net.SplitHostPort(ts.addr)
	ts.gw.opts.PublicPort = port
	fw := ts.sim.Frameworks()[0]
	host := fw.Name() + ".localhost:" + port
	on := func(method, host, path string, headers ...string) (*http.Response, string) {
		req, _ := http.NewRequest(method, ts.url+path, nil)
		req.Host = host
		for i := 0; i+1 < len(headers); i += 2 {
			req.Header.Set(headers[i], headers[i+1])
		}
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp, string(b)
	}
	resp, body := on("GET", host, "/")
	if resp.StatusCode != 200 || !strings.Contains(body, "<h1>"+fw.Name()+"</h1>") || !strings.Contains(body, `href="/jobs"`) {
		t.Fatalf("the UI on its own host: %d\n%.600s", resp.StatusCode, body)
	}
	// The runtime learns the page is on an origin of its own and where
	// the gateway is; a page on the gateway's origin is told nothing.
	if _, body := on("GET", host, "/", "Sec-Fetch-Dest", "document"); !strings.Contains(body, `{"page":{"prefix":"","scheme":"http","gateway":"https://gw.localhost:`+port+`"}`) {
		t.Errorf("the runtime's page on the UI's host:\n%.600s", body)
	}
	if _, body := on("GET", "localhost:"+port, "/", "Sec-Fetch-Dest", "document"); !strings.Contains(body, `{"page":{"prefix":"","scheme":"http"},`) {
		t.Errorf("the runtime's page on the gateway's host:\n%.600s", body)
	}
	if resp, _ := on("GET", host, "/api/info"); resp.StatusCode != 200 {
		t.Errorf("the UI's API on its own host: %d", resp.StatusCode)
	}
	resp, _ = ts.get("/service/" + fw.Name() + "/jobs?x=1")
	if loc := resp.Header.Get("Location"); resp.StatusCode != http.StatusPermanentRedirect || loc != "https://"+host+"/jobs?x=1" {
		t.Errorf("/service/ redirect: %d %q", resp.StatusCode, loc)
	}
	if resp, body := on("GET", "nosuch.localhost:"+port, "/"); resp.StatusCode != 404 || !strings.Contains(body, "unknown-framework") {
		t.Errorf("an unknown framework host: %d %s", resp.StatusCode, body)
	}
	// A write from the UI's origin to the gateway's: refused.
	resp, body = on("POST", "localhost:"+port, "/api/v1", "Origin", "https://"+host, "Content-Type", "application/json")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "another site") {
		t.Errorf("a write from the framework's origin: %d %s", resp.StatusCode, body)
	}
	// The UI's own write, from its own origin, reaches it (the simulated
	// UI answers 405 to a POST there: its own answer).
	if resp, body := on("POST", host, "/api/info", "Origin", "https://"+host); resp.StatusCode != http.StatusMethodNotAllowed || strings.Contains(body, "mesosgate") {
		t.Errorf("the UI's own write: %d %s", resp.StatusCode, body)
	}
}
