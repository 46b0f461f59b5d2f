package server

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/web"
)

// This file keeps framework UIs served under /service/<name>/ (path mode)
// to their own prefix as far as a server can. They share the gateway's
// origin, so the browser alone cannot keep one from the others, from the
// members or from the gateway's pages; the gateway looks at what the
// browser says about each request (Fetch Metadata: Sec-Fetch-Site,
// Sec-Fetch-Mode, Sec-Fetch-Dest, the Referer, Service-Worker) and:
//   - serves a service worker's script only to a page of its own prefix,
//     and never on a member's route (a JSONP endpoint is script enough to
//     register a worker over a member's pages);
//   - sends a request that a framework page made to the leader's catch-all
//     route (a root-relative URL the rewriter could not see: a script
//     assigning location, a URL built in a worker) back into the page's
//     prefix, with a redirect, so it goes nowhere the page could not go;
//   - refuses a framework page's requests into another prefix (another
//     framework UI, a member, the gateway's pages), but for the user's
//     own navigations that read (a link followed): no write, no fetch, no
//     frame.
//
// A script can name another same-origin page as its referrer (fetch's
// referrer option) or send none, and a pop-up it opens on another prefix
// (a navigation, as the user's) holds a page of its own origin, which it
// reads; so these rules stop what a framework page does by default, not
// everything a hostile one can try (e2e TestPathModeHostileUI logs what
// gets through): only a framework UI on an origin of its own
// (--service-domain) is isolated by the browser. The dashboard says so.

// crossContext decides whether a request that a framework page made
// leaves its prefix. It returns a redirect back into the prefix, or a
// refusal; both empty when the request may go on.
func crossContext(r *http.Request, route upstream.Route, own bool) (redirect string, refuse *web.Problem) {
	if r.Header.Get("Service-Worker") == "script" {
		if from, ok := framePrefix(r); !ok || route.Prefix == "" || !strings.HasPrefix(route.Prefix, from) || !isFramework(route) {
			p := web.CrossContext("a service worker's script is served only to a page of its own framework UI")
			return "", &p
		}
		return "", nil
	}
	if r.Header.Get("Sec-Fetch-Site") != "same-origin" {
		return "", nil // no browser, or another site: the CSRF rule applies
	}
	from, ok := framePrefix(r)
	if !ok || !own && route.Prefix == from {
		return "", nil
	}
	if !own && route.Kind == upstream.KindLeader && route.Prefix == "" {
		u := from + r.URL.EscapedPath()
		if r.URL.RawQuery != "" {
			u += "?" + r.URL.RawQuery
		}
		return u, nil
	}
	if safeMethod(r.Method) && r.Header.Get("Sec-Fetch-Mode") == "navigate" && r.Header.Get("Sec-Fetch-Dest") == "document" {
		// The user followed a link. A frame navigates too, but the page
		// that framed another prefix's answer reads it: a page of the
		// same origin.
		return "", nil
	}
	p := web.CrossContext("a framework UI's page (" + from + "/) may not read or change what lies outside its prefix")
	return "", &p
}

// framePrefix is the prefix of the framework UI whose page made the
// request, from its Referer; false when no framework page did.
func framePrefix(r *http.Request) (string, bool) {
	ref := r.Header.Get("Referer")
	if ref == "" {
		return "", false
	}
	u, err := url.Parse(ref)
	if err != nil {
		return "", false
	}
	from := upstream.ParseRoute(u.EscapedPath())
	if !isFramework(from) {
		return "", false
	}
	return from.Prefix, true
}

// isFramework reports a route to a framework UI.
func isFramework(r upstream.Route) bool { return r.IsFramework() }

// isolate applies crossContext, answering the request itself (a redirect
// or a refusal) when it may not go on.
func (g *Gateway) isolate(w http.ResponseWriter, r *http.Request, route upstream.Route, own bool) bool {
	redirect, refuse := crossContext(r, route, own)
	switch {
	case redirect != "":
		g.log.Debug("a framework page's request left its prefix; sent back", "request_id", requestOf(r).id, "path", r.URL.Path, "to", redirect)
		w.Header().Set("Location", redirect)
		w.WriteHeader(http.StatusTemporaryRedirect)
		return false
	case refuse != nil:
		q := requestOf(r)
		g.log.Info("request refused", "request_id", q.id, "method", r.Method, "path", r.URL.Path,
			"referer", r.Header.Get("Referer"), "problem", refuse.Detail)
		g.pages.WriteProblem(w, r, *refuse)
		return false
	}
	return true
}
