package server

import (
	"crypto/rand"
	"encoding/hex"
	"net/http"
	"strings"

	"github.com/mesosgate/mesosgate/web"
)

// This file is the gate every request passes before routing: the gateway
// is a reverse proxy for the members discovery found, never a forward
// proxy, so requests that name another server or try to climb out of the
// route they were sent to are refused here, before anything is resolved.

// refusal says why a request is refused before routing, as the problem
// the client gets; ok is false when the request may pass.
func refusal(r *http.Request) (web.Problem, bool) {
	// CONNECT asks for a tunnel (to anywhere): never. An absolute-form
	// target (GET http://host/x HTTP/1.1) is how clients talk to a forward
	// proxy; a server must accept it (RFC 9112 3.2.2), but a gateway that
	// honoured its host would be an open proxy, and one that ignored it
	// would serve the wrong site under the right name. HTTP/2 requests
	// carry :path, which is always origin-form here.
	if r.Method == http.MethodConnect {
		return web.AbsoluteTarget(), true
	}
	if !strings.HasPrefix(r.RequestURI, "/") {
		// "*" (OPTIONS *) never reaches a handler: net/http answers it.
		return web.AbsoluteTarget(), true
	}
	if strings.HasPrefix(r.URL.Path, "//") {
		// "//host/x" in origin form is a path, but every browser and most
		// clients would read it as a URL naming another host when it comes
		// back in a Location or a link.
		return web.BadRequest("The path starts with \"//\", which clients read as another host's address."), true
	}
	if hasDotSegment(r.URL.Path) {
		return web.PathEscape(r.URL.Path), true
	}
	return web.Problem{}, false
}

// hasDotSegment reports whether a decoded path holds a "." or ".."
// segment. Browsers resolve dot segments before sending a request, so only
// hand-made requests carry them, and they are the way out of a route's
// prefix (/agent/S1/../S2/x, /service/a/%2e%2e/b/, /service/a/..;/b). The
// path is decoded: "%2e%2e" and "..%2f" arrive here as ".." and "../".
// Backslashes separate segments too, as many servers behind a proxy read
// them, and a segment's path parameters (after ';') do not count.
//
// Refusing every dot segment is stricter than cleaning and checking the
// result, and simpler to be sure of: no request a browser sends is refused.
func hasDotSegment(p string) bool {
	for len(p) > 0 {
		i := strings.IndexAny(p, `/\`)
		seg := p
		if i >= 0 {
			seg, p = p[:i], p[i+1:]
		} else {
			p = ""
		}
		// Tomcat and Jetty drop a segment's ";parameters" before resolving
		// it: "..;x" (or "..;") climbs like "..".
		seg, _, _ = strings.Cut(seg, ";")
		if seg == "." || seg == ".." {
			return true
		}
	}
	return false
}

// looped reports a request that this gateway sent itself: its Via names
// the gateway's instance. It happens when a framework's webui_url leads
// back to the gateway (a framework configured with its public URL behind
// it): each pass would send the request on again, a chain of requests
// and file descriptors without end. Several instances behind one name
// each add their own entry, so a loop through another instance ends at
// this one's second pass.
func (g *Gateway) looped(r *http.Request) bool {
	for _, v := range r.Header.Values("Via") {
		if strings.Contains(v, g.via) {
			return true
		}
	}
	return false
}

// viaEntry is the Via entry of a gateway instance: the protocol and a
// pseudonym unique to the process (RFC 9110 7.6.3), random so a client
// cannot predict it and make the gateway refuse its own requests.
func viaEntry() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return "mesosgate-" + hex.EncodeToString(b[:])
}
