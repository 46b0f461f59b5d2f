// Package web renders the gateway's own pages: the SSL migration dashboard,
// the partial the open dashboard refreshes itself from, the embedded
// stylesheet, script and icon, and the error pages ("problems") in HTML for
// browsers and JSON for API clients (SPEC section 9).
//
// web imports no other package of mesosgate. server converts upstream's
// cluster snapshot into the view types of view.go and hands them over
// through Options.Data, so web never learns how the cluster is discovered;
// server also maps its errors to the Problem constructors of problem.go.
//
// Every page is server-rendered with html/template (contextual escaping:
// member ids, hostnames and probe errors come from the network and are
// treated as hostile) and works without JavaScript; the one script only
// refreshes the live part of the dashboard, and it is a separate asset so
// the strict Content-Security-Policy of headers.go holds.
package web

import (
	"bytes"
	"fmt"
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Options configure Pages. The zero value serves an empty dashboard under
// /gateway/.
type Options struct {
	// Prefix is the path the pages live under, with leading and trailing
	// slashes. Empty means "/gateway/". The dashboard is the prefix itself,
	// its partial is Prefix+"live" and the assets are under
	// Prefix+"assets/".
	Prefix string
	// Data returns the dashboard for one request; it is called once per
	// dashboard or partial request, from the request's goroutine. Nil shows
	// a dashboard waiting for the cluster.
	Data func(*http.Request) Dashboard
	// Refresh is how often an open dashboard fetches fresh data. Zero means
	// 5 seconds; negative turns self-refreshing off. The page slows down by
	// itself when a fetch takes longer than a tenth of the interval (large
	// clusters, slow links) and while the gateway does not answer.
	Refresh time.Duration
	// APIPath is the path of the JSON view of the cluster
	// (/gateway/api/cluster), linked from the dashboard's footer. Empty
	// shows no link.
	APIPath string
	// Logger receives rendering failures. Nil discards.
	Logger *slog.Logger
	// Now is the clock for views whose Dashboard.Now is zero. Nil means
	// time.Now.
	Now func() time.Time
}

// Pages serves the gateway's own pages. Create it with New; it is safe for
// concurrent use and holds no mutable state.
type Pages struct {
	prefix  string
	data    func(*http.Request) Dashboard
	refresh time.Duration
	apiPath string
	log     *slog.Logger
	now     func() time.Time
	tmpl    *template.Template
	assets  *assetSet
}

var _ http.Handler = (*Pages)(nil)

// New parses the embedded templates and fingerprints the embedded assets.
// It fails only on a bad Prefix (or a broken build).
func New(o Options) (*Pages, error) {
	p := &Pages{prefix: o.Prefix, data: o.Data, refresh: o.Refresh, apiPath: o.APIPath, log: o.Logger, now: o.Now}
	if p.prefix == "" {
		p.prefix = "/gateway/"
	}
	if !strings.HasPrefix(p.prefix, "/") || !strings.HasSuffix(p.prefix, "/") || strings.Contains(p.prefix, "//") {
		return nil, fmt.Errorf("web prefix %q: it must start and end with one slash, like /gateway/", o.Prefix)
	}
	if p.data == nil {
		p.data = func(*http.Request) Dashboard { return Dashboard{} }
	}
	if p.refresh == 0 {
		p.refresh = 5 * time.Second
	}
	if p.log == nil {
		p.log = slog.New(slog.DiscardHandler)
	}
	if p.now == nil {
		p.now = time.Now
	}
	var err error
	if p.assets, err = loadAssets(embedded, "assets", p.AssetsPath()); err != nil {
		return nil, err
	}
	if p.tmpl, err = parseTemplates(p.assets); err != nil {
		return nil, err
	}
	return p, nil
}

// DashboardPath is the dashboard's path: the prefix.
func (p *Pages) DashboardPath() string { return p.prefix }

// LivePath is the path of the dashboard's partial, the part an open
// dashboard fetches and swaps in.
func (p *Pages) LivePath() string { return p.prefix + "live" }

// AssetsPath is the path the assets are served under, with a trailing
// slash.
func (p *Pages) AssetsPath() string { return p.prefix + "assets/" }

// ServeHTTP routes among the dashboard, its partial and the assets by path;
// any other path gets a 404 problem. server mounts it at DashboardPath,
// LivePath and everything under AssetsPath (with chi: r.Handle(prefix, p),
// r.Handle(prefix+"live", p), r.Handle(prefix+"assets/*", p)).
func (p *Pages) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch {
	case r.URL.Path == p.DashboardPath():
		p.ServeDashboard(w, r)
	case r.URL.Path == p.LivePath():
		p.ServeLive(w, r)
	case strings.HasPrefix(r.URL.Path, p.AssetsPath()):
		p.ServeAsset(w, r)
	default:
		p.WriteProblem(w, r, NotFound())
	}
}

// ServeDashboard writes the whole dashboard page.
func (p *Pages) ServeDashboard(w http.ResponseWriter, r *http.Request) {
	if !p.allowRead(w, r) {
		return
	}
	p.render(w, r, "dashboard", p.dashboardPage(r))
}

// ServeLive writes the dashboard's live part alone (the element with id
// "live"), for the dashboard's script to swap in.
func (p *Pages) ServeLive(w http.ResponseWriter, r *http.Request) {
	if !p.allowRead(w, r) {
		return
	}
	p.render(w, r, "live-region", p.dashboardPage(r))
}

// ServeAsset writes the asset the path names, or a 404 problem.
func (p *Pages) ServeAsset(w http.ResponseWriter, r *http.Request) {
	if !p.allowRead(w, r) {
		return
	}
	a, fingerprinted := p.assets.lookup(r.URL.Path)
	if a == nil {
		p.WriteProblem(w, r, NotFound())
		return
	}
	SetSecurityHeaders(w.Header())
	p.assets.serve(w, r, a, fingerprinted)
}

// allowRead answers anything but GET and HEAD with a 405 problem.
func (p *Pages) allowRead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	p.WriteProblem(w, r, MethodNotAllowed(r.Method))
	return false
}

// render executes a template into a buffer first, so that a failing
// template becomes a clean 500 problem instead of half a page; the pages
// are small. Pages are never cached: they show live state.
func (p *Pages) render(w http.ResponseWriter, r *http.Request, name string, data any) {
	var buf bytes.Buffer
	if err := p.tmpl.ExecuteTemplate(&buf, name, data); err != nil {
		p.log.Error("render gateway page", "template", name, "path", r.URL.Path, "err", err)
		p.WriteProblem(w, r, Internal())
		return
	}
	h := w.Header()
	SetSecurityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Cache-Control", "no-store")
	h.Del("Content-Length")
	if r.Method == http.MethodHead {
		w.WriteHeader(http.StatusOK)
		return
	}
	_, _ = io.Copy(w, &buf)
}
