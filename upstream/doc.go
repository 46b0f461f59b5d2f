// Package upstream is mesosgate's knowledge of the Mesos cluster behind it:
// who leads, which agents and framework UIs exist, and how each member can
// be reached right now.
//
// A Cluster discovers the cluster from the configured masters (following
// standbys' redirects itself, polling the state every refresh and following
// the v1 SUBSCRIBE stream where the leader offers it) or from the ZooKeeper
// group the masters join (every member a master, the lowest sequence
// leading, a leader change seen through a watch), probes every master
// and agent for TLS and plain HTTP (SPEC section 6), and decides once per
// request where it goes (Resolve: a Destination) and how it gets there
// (the Transport): TLS when the member speaks TLS, plain HTTP otherwise,
// re-probing and retrying an idempotent request once when a connection
// fails, so a member restarted from plain to SSL between two requests
// costs the caller nothing.
//
// The typical use, by the gateway's server:
//
//	c, err := upstream.New(upstream.Config{Masters: masters, TLS: tlsContext})
//	go c.Run(ctx)
//	...
//	d, err := c.Resolve(r.Context(), upstream.ParseRoute(r.URL.EscapedPath()))
//	// err is an *upstream.Error: its Reason says 404, 503, 502 or 504
//	proxy := &httputil.ReverseProxy{
//		Rewrite:   func(pr *httputil.ProxyRequest) { d.Rewrite(pr.Out) },
//		Transport: c.Transport(), // reads d from the request's context
//	}
//	proxy.ServeHTTP(w, r.WithContext(upstream.WithDestination(r.Context(), d)))
//
// Snapshot returns an immutable view for pages and link rewriting, with a
// Generation that changes whenever anything a gateway maps changes; Report
// is the `mesosgate probe --json` shape.
package upstream
