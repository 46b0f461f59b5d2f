// Package rewrite keeps the pages mesosgate serves navigable: it maps the URLs
// that name Mesos masters, agents and framework UIs onto the gateway's own
// paths (or, with direct links, onto the scheme each member speaks), in
// response headers, in HTML as it streams through, and in the browser through
// a small runtime script injected into every HTML page.
//
// The mapping is one algorithm implemented twice, in mapping.go and in
// runtime.js, fed the same table; testdata/mapping.json holds the cases both
// must agree on. The runtime applies it to what leaves the page and leaves
// what the page reads back about its own origin as the page wrote it: links
// and forms keep a root-relative URL until they are followed (the rules are
// at the top of runtime.js), so a router that resolves its routes through
// an anchor, as AngularJS 1.2 does, works under a prefix. A Mapper is built once per Table (the table changes only
// when the cluster does) and is safe for concurrent use.
//
// The server calls one entry point, Mapper.RewriteResponse, from
// httputil.ReverseProxy.ModifyResponse. It rewrites the headers and, for
// HTML, replaces the body with a reader that rewrites as it is read: no
// goroutine, no whole-page buffering, output returned as soon as it is ready.
//
// This package imports no other package of mesosgate.
package rewrite
