package server

import (
	"net/http"

	"github.com/go-chi/chi/v5"
	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/upstream"
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
	files := http.NewFileTransport(http.Dir(g.opts.WebUIDir))
	serve := func(w http.ResponseWriter, r *http.Request) {
		route := upstream.ParseRoute(r.URL.EscapedPath()) // the leader's, at / or /mesos/
		q := requestOf(r)
		q.target, q.class = "webui", classWebUI
		if !g.isolate(w, r, route, false) || !g.authorize(w, r, access.Operation{Read: true}) {
			return
		}
		d := &upstream.Destination{Route: route, Scheme: "http", Address: "--webui-dir", Host: "webui", Path: route.Tail}
		g.proxy(w, r, d, files)
	}
	for _, p := range []string{"", upstream.LeaderAlias} {
		get(r, p+"/", serve)
		get(r, p+"/index.html", serve)
		get(r, p+"/app/*", serve)
		get(r, p+"/assets/*", serve)
	}
}
