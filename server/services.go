package server

import (
	"net"
	"net/http"
	"net/url"
	"strings"

	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/upstream"
)

// This file serves framework UIs on origins of their own (--service-domain):
// a request whose Host is <label>.<domain> goes to that framework UI, its
// whole path space; the browser then keeps the UI from the gateway's
// pages, its cookies and its session, and from the other UIs, as it keeps
// two sites apart. /service/<name>/ and /framework/<id>/ on the gateway's
// origin redirect there.

// serviceHosts sends the requests for a framework UI's own origin there.
func (g *Gateway) serviceHosts(next http.Handler) http.Handler {
	if g.opts.ServiceDomain == "" {
		return next
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		route, ok := upstream.HostRoute(r.Host, g.opts.ServiceDomain, r.URL.EscapedPath())
		if !ok {
			next.ServeHTTP(w, r)
			return
		}
		q := requestOf(r)
		q.class, q.target = classOf(route.Kind), "service host "+route.Key
		if r.URL.Path == access.HostEnterPath {
			g.access.Handler().ServeHTTP(w, r) // a signed-in browser handed over
			return
		}
		op := access.Operation{Read: true}
		if !safeMethod(r.Method) {
			op = access.Operation{Reason: "the method " + r.Method + " may change the framework"}
		}
		if !g.authorize(w, r, op) {
			return
		}
		d, err := g.opts.Cluster.Resolve(r.Context(), route)
		if err != nil {
			g.fail(w, r, err)
			return
		}
		g.proxy(w, r, d, g.opts.Cluster.Transport())
	})
}

// serviceOrigin is the origin of a framework UI's host as browsers reach
// it: the gateway's scheme and public port.
func (g *Gateway) serviceOrigin(host string) string {
	if g.opts.PublicPort != "" {
		host = net.JoinHostPort(host, g.opts.PublicPort)
	}
	return "https://" + host
}

// gatewayOrigin is the gateway's own origin as framework UI pages link
// back to it.
func (g *Gateway) gatewayOrigin() string {
	host := g.opts.GatewayHost
	if g.opts.PublicPort != "" {
		host = net.JoinHostPort(host, g.opts.PublicPort)
	}
	return "https://" + host
}

// toServiceHost redirects a request for a framework UI under /service/ or
// /framework/ to the UI's own origin, keeping the method; false when the
// UI has none (no service domain).
func (g *Gateway) toServiceHost(w http.ResponseWriter, r *http.Request, d *upstream.Destination) bool {
	if g.opts.ServiceDomain == "" || d.Framework == nil {
		return false
	}
	for _, f := range g.opts.Cluster.Snapshot().Frameworks {
		if f.ID != d.Framework.ID || f.Host == "" {
			continue
		}
		u := g.serviceOrigin(f.Host) + d.Route.Tail
		if r.URL.RawQuery != "" {
			u += "?" + r.URL.RawQuery
		}
		w.Header().Set("Location", u)
		w.WriteHeader(http.StatusPermanentRedirect)
		return true
	}
	return false
}

// allowServiceHost says whether the front's certificate source may obtain
// a certificate for name: the host of a framework UI the cluster has now.
func (g *Gateway) allowServiceHost(name string) bool {
	if g.opts.ServiceDomain == "" || !strings.HasSuffix(name, "."+g.opts.ServiceDomain) {
		return false
	}
	for _, f := range g.opts.Cluster.Snapshot().Frameworks {
		if f.Host == name {
			return true
		}
	}
	return false
}

// ServiceURL is where a framework's web UI is served for the gateway whose
// settings are g and front URL is front ("https://localhost:8443"): its
// own origin with a service domain, else /service/<name>/ there. (The
// label of a name that another framework's also becomes is the cluster's
// to decide; this is the URL of the name's holder.)
func ServiceURL(g *config.Gateway, front, name string) string {
	if g.ServiceDomain == "" {
		return front + upstream.ServicePrefix(name) + "/"
	}
	host := upstream.Label(name) + "." + g.ServiceDomain
	if p := g.PublicPort(); p != "" {
		host = net.JoinHostPort(host, p)
	} else if u, err := url.Parse(front); err == nil && u.Port() != "" {
		host = net.JoinHostPort(host, u.Port())
	}
	return "https://" + host + "/"
}
