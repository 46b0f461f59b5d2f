package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"sync/atomic"
	"time"

	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/rewrite"
	"github.com/mesosgate/mesosgate/web"
	"github.com/mesosgate/mesosgate/webui"
)

// Defaults for Options' zero fields.
const (
	// DefaultResponseHeaderTimeout bounds the wait for a member's response
	// header. Mesos answers even /master/state of a large cluster within
	// seconds; a member that accepted a connection and says nothing for a
	// minute is stuck. Framework UIs are not bounded (their long polls
	// may hold the header for minutes), nor the v1 calls an agent answers
	// when a container exits (access.Operation.Holds).
	DefaultResponseHeaderTimeout = time.Minute
	// DefaultStallTimeout bounds one write to a client that stopped
	// reading. Downloads and event streams last as long as they last;
	// a client that takes nothing for this long is cut.
	DefaultStallTimeout = time.Minute
	// DefaultBodyIdleTimeout is how long a request body may go without
	// bytes: a browser uploading sends continuously; a body that stops
	// for this long is cut (408).
	DefaultBodyIdleTimeout = 30 * time.Second
)

// Options configure a Gateway. Cluster is required; every other zero field
// means the default its comment names.
type Options struct {
	// Cluster is the cluster behind the gateway: upstream's *Cluster.
	Cluster Cluster
	// Links is how pages link to members: rewrite.Proxy (zero) through
	// the gateway, rewrite.Direct to the members themselves.
	Links rewrite.Mode
	// NoRuntime leaves proxied pages without the rewriter's browser
	// runtime (links are still rewritten in HTML and headers).
	NoRuntime bool
	// WebUIDir, if set, is a Mesos WebUI directory (src/webui of a Mesos
	// source tree) served in place of the leader's WebUI (webui.go).
	WebUIDir string
	// TrustedProxies are the networks whose forwarding headers
	// (X-Forwarded-For/Proto/Host, Forwarded, X-Request-Id) are believed.
	// Empty means none.
	TrustedProxies []netip.Prefix
	// HSTS sends Strict-Transport-Security on every response: for a front
	// that speaks TLS without downgrade, as Listen reports (Run passes it
	// on). False sends none.
	HSTS bool
	// ResponseHeaderTimeout bounds the wait for a master's or agent's
	// response header (never a framework UI's, nor an answer a v1 call
	// holds by design); zero means
	// DefaultResponseHeaderTimeout, negative none.
	ResponseHeaderTimeout time.Duration
	// StallTimeout bounds one write to a client that stopped reading; zero
	// means DefaultStallTimeout, negative none.
	StallTimeout time.Duration
	// BodyIdleTimeout bounds the wait for a request body's next bytes;
	// zero means DefaultBodyIdleTimeout, negative none.
	BodyIdleTimeout time.Duration

	// Dashboard adds what only the caller knows to the dashboard: the
	// front certificate, the version. Nil adds nothing.
	Dashboard func(*web.Dashboard)
	// Observe, if set, wraps every request's handling after the gateway's
	// own middleware (ids, recording, metrics). The ResponseWriter it
	// sees answers http.ResponseController.
	Observe func(http.Handler) http.Handler
	// Metrics, if set, counts every request (NewMetrics) and is served at
	// /gateway/metrics. Nil counts nothing and serves no metrics.
	Metrics *Metrics
	// ServiceDomain, if set, serves framework UIs on origins of their own,
	// <label>.ServiceDomain (the cluster's snapshot names them); ""
	// serves them under /service/ on the gateway's origin. PublicPort is
	// the port browsers reach those origins and the gateway on ("" for
	// 443), and GatewayHost the gateway's own name as they know it, for
	// links from a framework UI back into the gateway.
	ServiceDomain, PublicPort, GatewayHost string
	// Access decides who may read and who may change the cluster (and
	// serves the sign-in pages). Nil means a gateway without
	// authentication where everyone is a viewer: writes are refused.
	Access *access.Access

	// Logger receives the access log (debug), failures (warn, error) and
	// the cluster's changes as the gateway sees them. Nil discards.
	Logger *slog.Logger
	// Now is the clock for the dashboard; nil means time.Now.
	Now func() time.Time
}

// Gateway is mesosgate's HTTP handler: the routes of SPEC section 7 in
// front of the cluster, and the gateway's own pages. Make it with New; it
// is safe for concurrent use.
type Gateway struct {
	opts    Options
	log     *slog.Logger
	metrics *Metrics // nil: none
	pages   *web.Pages
	router  http.Handler
	reverse *httputil.ReverseProxy
	buffers buffers
	links   linkTable
	streams streams
	access  *access.Access
	webui   *webui.Tree // nil: the leader's own WebUI
	via     string      // this instance's Via pseudonym
	// unguarded skips access control on the routes into the cluster. It
	// is set by one benchmark only (BenchmarkAccessJSONP, its baseline);
	// New never sets it, and nothing else may.
	unguarded bool

	// closing is set when shutdown cuts the requests still running
	// (Serve): their access lines say so.
	closing atomic.Bool

	hsts          bool
	stall         time.Duration
	bodyIdle      time.Duration
	headerTimeout time.Duration
}

var _ http.Handler = (*Gateway)(nil)

// New provisions a Gateway: defaults applied, pages parsed, routes built.
func New(o Options) (*Gateway, error) {
	if o.Cluster == nil {
		return nil, fmt.Errorf("server: Options.Cluster is required")
	}
	g := &Gateway{
		opts:          o,
		log:           o.Logger,
		metrics:       o.Metrics,
		hsts:          o.HSTS,
		stall:         orDefault(o.StallTimeout, DefaultStallTimeout),
		bodyIdle:      orDefault(o.BodyIdleTimeout, DefaultBodyIdleTimeout),
		headerTimeout: orDefault(o.ResponseHeaderTimeout, DefaultResponseHeaderTimeout),
		via:           viaEntry(),
	}
	if g.log == nil {
		g.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if o.Now == nil {
		g.opts.Now = time.Now
	}
	g.links = linkTable{mode: o.Links, noRuntime: o.NoRuntime, log: g.log}
	if o.ServiceDomain != "" {
		g.links.origin = g.serviceOrigin
		if g.opts.GatewayHost == "" {
			g.opts.GatewayHost = "localhost"
		}
	}
	if o.WebUIDir != "" {
		tree, err := webui.Open(o.WebUIDir)
		if err != nil {
			return nil, fmt.Errorf("server: --webui-dir: %w", err)
		}
		g.webui = tree
	}
	if g.access = o.Access; g.access == nil {
		a, err := access.New(context.Background(), access.Config{Logger: g.log})
		if err != nil {
			return nil, fmt.Errorf("server: default access control: %w", err)
		}
		g.access = a
	}
	pages, err := web.New(web.Options{
		Prefix:  gatewayPrefix,
		Data:    g.dashboard,
		APIPath: apiClusterPath,
		Logger:  g.log,
		Now:     g.opts.Now,
	})
	if err != nil {
		return nil, fmt.Errorf("server: make the gateway's pages: %w", err)
	}
	g.pages = pages
	g.reverse = g.newProxy()
	var routes http.Handler = g.routes()
	if o.Observe != nil {
		routes = o.Observe(routes)
	}
	g.router = g.middleware(routes)
	return g, nil
}

// ServeHTTP serves one request.
func (g *Gateway) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	g.router.ServeHTTP(w, r)
}

// orDefault returns d for zero, 0 (none) for negative, v otherwise.
func orDefault(v, d time.Duration) time.Duration {
	switch {
	case v == 0:
		return d
	case v < 0:
		return 0
	}
	return v
}
