// Package upstream is mesosgate's knowledge of the Mesos cluster behind it:
// who leads, which agents and framework UIs exist, and how each member can
// be reached right now.
//
// A Cluster discovers the cluster from the configured masters (following
// standbys' redirects itself, polling the state every refresh and following
// the v1 SUBSCRIBE stream where the leader offers it), probes every master
// and agent for TLS and plain HTTP (SPEC section 6), and hands out
// http.RoundTrippers that reach a member the way it can be reached: TLS
// when it speaks TLS, plain HTTP otherwise, re-probing and retrying an
// idempotent request once when a connection fails, so a member restarted
// from plain to SSL between two requests costs the caller nothing.
//
// The typical use, by the gateway's server:
//
//	c, err := upstream.New(upstream.Config{Masters: masters, TLS: tlsContext})
//	go c.Run(ctx)
//	...
//	if err := c.Wait(r.Context()); err != nil { ... } // first discovery
//	t, err := c.Target(upstream.KindAgent, agentID)
//	// errors.Is(err, upstream.ErrUnknown) -> 404, ErrStale/ErrNoLeader -> 503
//	proxy := &httputil.ReverseProxy{Transport: t.Transport, ...}
//
// Snapshot returns an immutable view for pages and link rewriting, with a
// Generation that changes whenever anything a gateway maps changes; Report
// is the `mesosgate probe --json` shape.
package upstream
