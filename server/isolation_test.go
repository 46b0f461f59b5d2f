package server

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/mesosgate/mesosgate/upstream"
)

// TestCrossContext: what a framework page in path mode may reach outside
// its prefix, as the browser describes the request.
func TestCrossContext(t *testing.T) {
	const page = "https://gw.example.com/service/a/index.html"
	for _, tt := range []struct {
		name, method, path, referer, site, mode, worker string
		own                                             bool
		redirect                                        string
		refused                                         bool
	}{
		{name: "own prefix", method: "GET", path: "/service/a/api", referer: page, site: "same-origin", mode: "cors"},
		{name: "another framework UI, fetched", method: "GET", path: "/service/b/secret", referer: page, site: "same-origin", mode: "cors", refused: true},
		{name: "another framework UI, followed", method: "GET", path: "/service/b/", referer: page, site: "same-origin", mode: "navigate"},
		{name: "a write to the master", method: "POST", path: "/mesos/api/v1", referer: page, site: "same-origin", mode: "cors", refused: true},
		{name: "a form posted to the master", method: "POST", path: "/mesos/master/teardown", referer: page, site: "same-origin", mode: "navigate", refused: true},
		{name: "an agent's state, fetched", method: "GET", path: "/agent/S1/slave(1)/state", referer: page, site: "same-origin", mode: "cors", refused: true},
		{name: "the gateway's API, fetched", method: "GET", path: "/gateway/api/cluster", referer: page, site: "same-origin", mode: "cors", own: true, refused: true},
		{name: "a root-relative leak", method: "GET", path: "/graph?g0.expr=up", referer: page, site: "same-origin", mode: "navigate", redirect: "/service/a/graph?g0.expr=up"},
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
			for k, v := range map[string]string{"Referer": tt.referer, "Sec-Fetch-Site": tt.site, "Sec-Fetch-Mode": tt.mode, "Service-Worker": tt.worker} {
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
