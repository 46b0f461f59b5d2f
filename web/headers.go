package web

import "net/http"

// ContentSecurityPolicy is the policy of the gateway's own pages (SPEC
// section 13). Everything comes from the gateway itself: no inline script
// or style (the dashboard's script and stylesheet are separate assets), no
// plugins, no <base> tricks, forms only to the gateway, and no framing by
// anyone (clickjacking). connect-src 'self' lets the dashboard fetch its
// own partial.
const ContentSecurityPolicy = "default-src 'self'; " +
	"script-src 'self'; " +
	"style-src 'self'; " +
	"img-src 'self'; " +
	"connect-src 'self'; " +
	"object-src 'none'; " +
	"base-uri 'none'; " +
	"form-action 'self'; " +
	"frame-ancestors 'none'"

// SetSecurityHeaders sets the headers every page of the gateway's own
// carries: the CSP above; nosniff, so a browser never runs a response as a
// type it was not labelled with; no Referer leaving the gateway (paths name
// members and sandboxes); X-Frame-Options for browsers that predate
// frame-ancestors; and a cross-origin opener policy so no other site keeps
// a handle on a dashboard window. HSTS is left to server, which knows
// whether downgrade is on.
//
// They are not for proxied member pages: those carry their own headers and
// the rewriter's runtime.
func SetSecurityHeaders(h http.Header) {
	h.Set("Content-Security-Policy", ContentSecurityPolicy)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
}

// SecurityHeaders is middleware that sets SetSecurityHeaders' headers on
// every response of next, for server to wrap its own gateway routes
// (/gateway/api/..., health) in. Pages' handlers and WriteProblem set them
// already.
func SecurityHeaders(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		SetSecurityHeaders(w.Header())
		next.ServeHTTP(w, r)
	})
}
