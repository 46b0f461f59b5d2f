// Package server is mesosgate's HTTP side: the routes of SPEC section 7 in
// front of the cluster, the streaming reverse proxy that reaches members and
// framework UIs the way each can be reached, the gateway's own pages, the
// front listener and graceful shutdown. It wires the other packages together:
// upstream says where a request goes and how to get there, rewrite keeps
// the pages navigable, web draws the gateway's pages, tlsx makes the
// listener, config says how.
//
// A request passes, in order: the middleware (request id, recording, gzip
// toward the browser, metrics, access log, panics; middleware.go,
// metrics.go), the gate that
// refuses what the gateway never serves (absolute-form targets, CONNECT,
// dot segments; guard.go), the router (routes.go), and for members the
// proxy (proxy.go): httputil.ReverseProxy with Rewrite, upstream's
// per-member transport, and the rewriter in ModifyResponse. Errors become
// statuses in one place (errors.go).
//
// Nothing is buffered whole on the proxy path: bodies stream both ways, each
// write is flushed (event streams and pages reach the browser as the member
// sends them), and a download costs one 64 KiB buffer whatever its size. A
// member that dies mid-response breaks the client's transfer at once
// (http.ErrAbortHandler), so a truncated file never looks complete.
//
// The gateway is never an open proxy: it forwards only to the members and
// framework UIs discovery found and to the masters it was configured with.
//
// Run is the whole daemon for `mesosgate serve` and `mesosgate demo`; New,
// Listen and Gateway.Serve are its parts, for tests and other wiring.
package server
