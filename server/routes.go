package server

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/go-chi/chi/v5"

	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/web"
)

// This file is the routes of SPEC section 7:
//
//	/gateway/...                    the gateway's own pages and API
//	/gateway/masters/{host:port}/.. a configured or discovered master
//	/mesos/...                      the leader, prefix stripped
//	/agent/{id}/..., /slave/{id}/.. that agent, prefix stripped
//	/service/{name}/...             a framework's web UI by name
//	/framework/{id}/...             a framework's web UI by id
//	anything else                   the leader (its WebUI and API)
//
// A prefix without its trailing slash redirects to the prefix with one, so
// the page's relative links resolve under it. Routes match the escaped path
// as the browser sent it, so "%2F" inside an id stays inside the id.
//
// Framework names may repeat in Mesos. /service/{name} leads to the one
// upstream picks (active with a web UI first, then the most recent id),
// and pages link the others by id (/framework/{id}), which always works.
//
// A framework UI under a path (webui_url http://h:8080/jenkins/) is
// served at /service/jenkins/ from its path: /service/jenkins/jobs is
// /jenkins/jobs there. Such an app links to itself with root-relative
// URLs that carry its path (/jenkins/jobs), which the rewriter moves under
// the prefix (/service/jenkins/jenkins/jobs); a path that already starts
// with the UI's own path is therefore requested as it is.

// routes builds the router.
func (g *Gateway) routes() http.Handler {
	r := chi.NewRouter()
	r.Use(g.gate)
	r.MethodNotAllowed(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Allow", "GET, HEAD")
		g.pages.WriteProblem(w, r, web.MethodNotAllowed(r.Method))
	})
	r.NotFound(g.route(upstream.KindLeader, 0))

	// The gateway's own pages.
	get(r, "/gateway", addSlash)
	get(r, g.pages.DashboardPath(), g.pages.ServeHTTP)
	get(r, g.pages.LivePath(), g.pages.ServeHTTP)
	get(r, g.pages.AssetsPath()+"*", g.pages.ServeHTTP)
	get(r, apiClusterPath, g.apiCluster)
	get(r, "/gateway/healthz", g.healthz)
	get(r, "/gateway/readyz", g.readyz)
	if g.metrics != nil {
		get(r, "/gateway/metrics", g.metrics.ServeHTTP)
	}
	r.Handle("/gateway/masters/{key}", classed(classMaster, addSlash))
	r.Handle("/gateway/masters/{key}/*", g.route(upstream.KindMaster, 3))
	r.Handle("/gateway/*", http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		g.pages.WriteProblem(w, r, web.NotFound())
	}))

	// Members and framework UIs.
	r.Handle("/mesos", classed(classLeader, addSlash))
	r.Handle("/mesos/*", g.route(upstream.KindLeader, 1))
	for _, p := range []string{"/agent", "/slave"} {
		r.Handle(p+"/{key}", classed(classAgent, addSlash))
		r.Handle(p+"/{key}/*", g.route(upstream.KindAgent, 2))
	}
	r.Handle("/service/{key}", classed(classService, addSlash))
	r.Handle("/service/{key}/*", g.route(upstream.KindFrameworkName, 2))
	r.Handle("/framework/{key}", classed(classFramework, addSlash))
	r.Handle("/framework/{key}/*", g.route(upstream.KindFrameworkID, 2))
	if g.opts.WebUIDir != "" {
		g.mountWebUI(r)
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

// classed sets the route class of the requests h serves (the routes'
// own handlers set theirs; this is for shared ones, like addSlash).
func classed(c routeClass, h http.Handler) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		requestOf(r).class = c
		h.ServeHTTP(w, r)
	}
}

// route returns the handler of a proxied route whose prefix is the first
// segments of the escaped path (0 for the leader at the root); for every
// kind but the leader the last of them is the key.
func (g *Gateway) route(kind upstream.Kind, segments int) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		escaped := r.URL.EscapedPath()
		prefix, tail := splitSegments(escaped, segments)
		key := ""
		if kind != upstream.KindLeader {
			key = lastSegment(prefix)
		}
		q := requestOf(r)
		q.class = classOf(kind)
		q.target = describeTarget(kind, key)
		ref := refFor(kind, key)
		if err := g.waitDiscovery(r.Context()); err != nil {
			g.fail(w, r, ref, err)
			return
		}
		t, err := g.opts.Cluster.Target(kind, key)
		if err != nil {
			g.fail(w, r, ref, &lookupError{kind: kind, key: key, err: err})
			return
		}
		g.proxy(w, r, &exchange{
			backend: backend{url: t.URL, transport: t.Transport, ref: targetRef(t, ref)},
			prefix:  prefix,
			path:    targetPath(t, tail),
			links:   g.links.mappers(g.opts.Cluster),
		})
	}
}

// waitDiscovery makes a request that arrives before the first discovery
// wait for it (SPEC section 5), up to DiscoveryWait. Once a discovery has
// succeeded the answer never changes, and requests skip the timer.
func (g *Gateway) waitDiscovery(ctx context.Context) error {
	if g.discovered.Load() {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, g.discoveryWait)
	defer cancel()
	err := g.opts.Cluster.Wait(wctx)
	if err == nil {
		g.discovered.Store(true)
		return nil
	}
	if ctx.Err() != nil {
		return err
	}
	return &discoveryError{err: err}
}

// splitSegments splits an escaped path after its first n segments: the
// prefix ("" for n = 0) and the rest, which starts with "/".
func splitSegments(escaped string, n int) (prefix, tail string) {
	i := 0
	for range n {
		j := strings.IndexByte(escaped[i+1:], '/')
		if j < 0 {
			return escaped, "/"
		}
		i += 1 + j
	}
	if i == 0 && n == 0 {
		return "", escaped
	}
	return escaped[:i], escaped[i:]
}

// lastSegment returns the unescaped last segment of an escaped prefix.
func lastSegment(prefix string) string {
	seg := prefix[strings.LastIndexByte(prefix, '/')+1:]
	if s, err := url.PathUnescape(seg); err == nil {
		return s
	}
	return seg
}

// targetPath is the escaped path to request from a target, given the
// route's tail: the tail itself for a member; for a framework UI under a
// path, the tail below that path (see the file's comment).
func targetPath(t *upstream.Target, tail string) string {
	base := strings.TrimSuffix(t.URL.EscapedPath(), "/")
	if t.Framework == nil || base == "" || hasPathPrefix(tail, base) {
		return tail
	}
	return base + tail
}

// hasPathPrefix reports whether path p lies under prefix at a segment
// boundary.
func hasPathPrefix(p, prefix string) bool {
	return strings.HasPrefix(p, prefix) && (len(p) == len(prefix) || p[len(prefix)] == '/')
}

// describeTarget names what a route asked for, for the log.
func describeTarget(kind upstream.Kind, key string) string {
	switch kind {
	case upstream.KindLeader:
		return "leader"
	case upstream.KindAgent:
		return "agent " + key
	case upstream.KindMaster:
		return "master " + key
	case upstream.KindFrameworkName:
		return "service " + key
	case upstream.KindFrameworkID:
		return "framework " + key
	}
	return key
}

// refFor names what a route asked for in a problem, before it is resolved.
func refFor(kind upstream.Kind, key string) web.Ref {
	switch kind {
	case upstream.KindLeader:
		return web.Ref{Role: web.RoleLeader}
	case upstream.KindAgent:
		return web.Ref{Role: web.RoleAgent, ID: key}
	case upstream.KindMaster:
		return web.Ref{Role: web.RoleStandby, Address: key}
	}
	return web.Ref{Role: "framework UI", ID: key}
}

// targetRef names a resolved target in problems and logs.
func targetRef(t *upstream.Target, asked web.Ref) web.Ref {
	if m := t.Member; m != nil {
		return web.Ref{Role: web.Role(m.Role), ID: m.ID, Address: m.Address}
	}
	if f := t.Framework; f != nil {
		return web.Ref{Role: "framework UI", ID: f.Name, Address: t.URL.Host}
	}
	return asked
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
	default:
		w.WriteHeader(http.StatusServiceUnavailable)
		_, _ = w.Write([]byte("not ready: no master has answered yet; the dashboard (/gateway/) and the log say what each answered\n"))
		return
	}
	_, _ = w.Write([]byte("ready\n"))
}
