package server

import (
	"net/http"
	"strings"

	"github.com/go-chi/chi/v5"
	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/webui"
)

// This file serves a Mesos WebUI directory of the operator's choosing
// (--webui-dir: src/webui of a Mesos source tree of any release) in place
// of the leader's own, at the paths a master of that release serves it
// (webui.Tree's mounts: "/" and "/static/..." up to Mesos 1.5, "/",
// "/app/..." and "/assets/..." from 1.6), and the same under /mesos.
// Everything else still goes to the leader, so the WebUI's API requests
// reach the cluster.
//
// The files pass through the same proxy as members' pages, with the tree
// as the transport: the link rewriter injects its runtime into index.html
// and the log viewer's pailer.html, which the WebUI's JSONP requests to
// agents need, and a directory is never listed.

// mountWebUI adds the routes of tree to r.
func (g *Gateway) mountWebUI(r chi.Router, tree *webui.Tree) {
	serve := func(w http.ResponseWriter, r *http.Request) {
		route := upstream.ParseRoute(r.URL.EscapedPath()) // the leader's, at / or /mesos/
		q := requestOf(r)
		q.target, q.class = "webui", classWebUI
		if !g.isolate(w, r, route, false) || !g.authorize(w, r, access.Operation{Read: true}) {
			return
		}
		d := &upstream.Destination{Route: route, Scheme: "http", Address: "--webui-dir", Host: "webui", Path: route.Tail}
		g.proxy(w, r, d, tree)
	}
	for _, prefix := range []string{"", upstream.LeaderAlias} {
		for _, m := range tree.Mounts() {
			pattern := prefix + m.Path
			if strings.HasSuffix(m.Path, "/") && m.Path != "/" {
				pattern += "*"
			}
			get(r, pattern, serve)
		}
	}
}
