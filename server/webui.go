package server

import (
	"net/http"
	"net/url"

	"github.com/go-chi/chi/v5"

	"github.com/mesosgate/mesosgate/web"
)

// This file serves a Mesos WebUI directory of the operator's choosing
// (--webui-dir: src/webui of a Mesos source tree) in place of the leader's
// own, at the paths a master serves it: "/" (index.html), "/app/..." and
// "/assets/..." (src/master/master.cpp provides "", "app" and "assets" from
// --webui_dir), and the same under /mesos. Everything else still goes to
// the leader, so the WebUI's API requests reach the cluster.
//
// The files pass through the same proxy as members' pages: the link
// rewriter injects its runtime into index.html and the log viewer's
// pailer.html, which the WebUI's JSONP requests to agents need.

// mountWebUI adds the WebUI's routes to r.
func (g *Gateway) mountWebUI(r chi.Router) {
	files := backend{
		url:       &url.URL{Scheme: "http", Host: "webui"},
		transport: http.NewFileTransport(http.Dir(g.opts.WebUIDir)),
		ref:       web.Ref{Role: web.RoleLeader, Address: "--webui-dir"},
	}
	serve := func(segments int) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			prefix, tail := splitSegments(r.URL.EscapedPath(), segments)
			q := requestOf(r)
			q.target, q.class = "webui", classWebUI
			g.proxy(w, r, &exchange{backend: files, prefix: prefix, path: tail, links: g.links.mappers(g.opts.Cluster)})
		}
	}
	for _, p := range []string{"", leaderAlias} {
		n := 0
		if p != "" {
			n = 1
		}
		get(r, p+"/", serve(n))
		get(r, p+"/index.html", serve(n))
		get(r, p+"/app/*", serve(n))
		get(r, p+"/assets/*", serve(n))
	}
}
