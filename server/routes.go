package server

import (
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/web"
)

// This file is the routes of SPEC section 7: the gateway's own pages under
// /gateway/, and every other path to the cluster. Where a path leads in
// the cluster is upstream's decision (upstream.ParseRoute, Resolve); the
// router only tells the gateway's own pages from the rest. A prefix
// without its trailing slash redirects to the prefix with one, so the
// page's relative links resolve under it. Routes match the escaped path as
// the browser sent it, so "%2F" inside an id stays inside the id.

// routes builds the router.
func (g *Gateway) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(g.gate, g.serviceHosts)
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		g.pages.WriteProblem(w, r, web.MethodNotAllowed(r.Method))
	})
	r.NotFound(g.member)

	// Open to load balancers and to people who are not signed in yet.
	get(r, "/gateway/healthz", g.healthz)
	get(r, "/gateway/readyz", g.readyz)
	for _, p := range g.access.Paths() {
		r.Handle(p, g.access.Handler())
	}

	// The gateway's own pages: viewers.
	r.Group(func(r chi.Router) {
		r.Use(g.requireViewer)
		get(r, "/gateway", addSlash)
		get(r, g.pages.DashboardPath(), g.pages.ServeHTTP)
		get(r, g.pages.LivePath(), g.pages.ServeHTTP)
		get(r, g.pages.AssetsPath()+"*", g.pages.ServeHTTP)
		get(r, apiClusterPath, g.apiCluster)
		if g.metrics != nil {
			get(r, "/gateway/metrics", g.metrics.ServeHTTP)
		}
	})
	r.Handle("/gateway/masters/*", http.HandlerFunc(g.member))
	r.Handle("/gateway/*", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.pages.WriteProblem(w, r, web.NotFound())
	}))
	if g.webui != nil {
		g.mountWebUI(r, g.webui)
	}
	return r
}

// get routes GET and HEAD of pattern to h.
func get(r chi.Router, pattern string, h http.HandlerFunc) {
	r.Get(pattern, h)
	r.Head(pattern, h)
}

// gate refuses what the gateway never serves (see guard.go) and makes chi
// route on the escaped path.
func (g *Gateway) gate(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if g.looped(r) {
			requestOf(r).class = classRefused
			g.log.Warn("request loop: a request the gateway sent came back to it; check the webui_url of the framework it was for",
				"request_id", requestOf(r).id, "path", r.URL.Path, "via", r.Header.Values("Via"))
			g.pages.WriteProblem(w, r, web.LoopDetected())
			return
		}
		if p, refused := refusal(r); refused {
			requestOf(r).class = classRefused
			g.log.Info("request refused", "request_id", requestOf(r).id, "method", r.Method,
				"target", r.RequestURI, "client", clientIP(r, requestOf(r).trusted), "problem", p.Title)
			if r.Method == http.MethodConnect || r.ProtoMajor == 1 && !strings.HasPrefix(r.RequestURI, "/") {
				// The client treats the gateway as a forward proxy: do not
				// keep the connection for its next request.
				w.Header().Set("Connection", "close")
			}
			g.pages.WriteProblem(w, r, p)
			return
		}
		if rctx := chi.RouteContext(r.Context()); rctx != nil {
			rctx.RoutePath = r.URL.EscapedPath()
		}
		next.ServeHTTP(w, r)
	})
}

// addSlash redirects a route's bare prefix to the prefix with a slash,
// keeping the query: /agent/S1 -> /agent/S1/.
var addSlash = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	u := r.URL.EscapedPath() + "/"
	if r.URL.RawQuery != "" {
		u += "?" + r.URL.RawQuery
	}
	w.Header().Set("Location", u)
	status := http.StatusMovedPermanently
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		status = http.StatusPermanentRedirect // keeps the method and body
	}
	w.WriteHeader(status)
})

// member serves a path that leads into the cluster: upstream resolves it
// to its destination, and the proxy sends it there.
func (g *Gateway) member(w http.ResponseWriter, r *http.Request) {
	route := upstream.ParseRoute(r.URL.EscapedPath())
	q := requestOf(r)
	q.class = classOf(route.Kind)
	q.target = describeRoute(route)
	switch {
	case route.Bare():
		addSlash(w, r)
		return
	case route.Kind == upstream.KindLeader && route.Prefix == "" && strings.HasPrefix(route.Tail, gatewayPrefix):
		g.pages.WriteProblem(w, r, web.NotFound()) // /gateway/masters/ without a master
		return
	}
	// Who may go there is decided before where it is: an unknown agent is
	// no news to someone who may not read the cluster.
	if !g.isolate(w, r, route, false) || !g.unguarded && !g.authorize(w, r, g.operation(r, route)) {
		return
	}
	d, err := g.opts.Cluster.Resolve(r.Context(), route)
	if err != nil {
		g.fail(w, r, err)
		return
	}
	if g.toServiceHost(w, r, d) {
		return
	}
	g.proxy(w, r, d, g.opts.Cluster.Transport())
}

// describeRoute names what a route asked for, for the log.
func describeRoute(r upstream.Route) string {
	if r.Kind == upstream.KindLeader {
		return "leader"
	}
	return r.Kind.String() + " " + r.Key
}

// apiCluster serves upstream's report: the `probe --json` shape.
func (g *Gateway) apiCluster(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	web.SetSecurityHeaders(h)
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(g.opts.Cluster.Report()); err != nil {
		g.log.Debug("write the cluster report", "request_id", requestOf(r).id, "err", err)
	}
}

// healthz answers while the process serves: liveness.
func (g *Gateway) healthz(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	web.SetSecurityHeaders(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	_, _ = w.Write([]byte("ok\n"))
}

// zkUnreadable reports whether the masters are found in ZooKeeper and its
// group cannot be read now.
func zkUnreadable(s *upstream.Snapshot) bool { return s.ZooKeeper != nil && s.ZooKeeper.Error != "" }

// readyz answers 200 once a discovery has found the cluster (the first
// that succeeded; the map then stays, ageing, whatever happens to the
// masters), 503 before: readiness, for a load balancer in front of several
// gateways or an orchestrator's readiness probe.
func (g *Gateway) readyz(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	web.SetSecurityHeaders(h)
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	// A ready cluster answers Wait at once; the bound only keeps an
	// unready one from holding the probe.
	ctx, cancel := context.WithTimeout(r.Context(), 100*time.Millisecond)
	defer cancel()
	switch err := g.opts.Cluster.Wait(ctx); {
	case err == nil:
	case ctx.Err() != nil:
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: the first discovery has not finished\n"))
		return
	case zkUnreadable(g.opts.Cluster.Snapshot()):
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: the masters' ZooKeeper group cannot be read; the dashboard (/gateway/) and the log say why\n"))
		return
	default:
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: no master has answered yet; the dashboard (/gateway/) and the log say what each answered\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
