package server

import (
	"net"
	"net/http"
	"net/http/httputil"
	"net/netip"
	"strings"
)

// This file decides what a member learns about the client: the
// X-Forwarded-For/Proto/Host headers, which a member (a framework UI
// building absolute links, an access log) believes. A client can write
// them too, so those a client sent are dropped unless the client is a
// proxy the operator configured as trusted (--trusted-proxy), in which
// case the gateway appends to them as one more proxy in the chain.

// spoofable are request headers that claim something about the client or
// the original request and that proxies set. httputil.ReverseProxy drops
// Forwarded and X-Forwarded-For/Host/Proto before Rewrite; these are the
// other common ones, which members or frameworks may read the same way.
var spoofable = []string{
	"X-Real-Ip",
	"X-Forwarded-Port",
	"X-Forwarded-Prefix",
	"X-Forwarded-Server",
	"X-Forwarded-Ssl",
	"X-Forwarded-Scheme",
	"X-Original-Url",
	"X-Rewrite-Url",
	"X-Client-Ip",
	"True-Client-Ip",
	"Front-End-Https",
}

// trusts reports whether the peer at remoteAddr is a configured proxy.
func trusts(proxies []netip.Prefix, remoteAddr string) bool {
	if len(proxies) == 0 {
		return false
	}
	host, _, err := net.SplitHostPort(remoteAddr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	if err != nil {
		return false
	}
	ip = ip.Unmap()
	for _, p := range proxies {
		if p.Contains(ip) {
			return true
		}
	}
	return false
}

// setForwarded sets the forwarding headers of the outgoing request.
// prefix is the route's gateway prefix ("" for the leader at the root),
// sent as X-Forwarded-Prefix so an application that honours it builds its
// links under the prefix itself.
func setForwarded(pr *httputil.ProxyRequest, trusted bool, prefix string) {
	in, out := pr.In, pr.Out
	for _, h := range spoofable {
		out.Header.Del(h)
	}
	pr.SetXForwarded()
	out.Header.Set("X-Forwarded-Host", validatedHost(in))
	if trusted {
		// One more proxy in a chain: keep what the trusted proxy says about
		// the client and the original request, adding the proxy itself.
		if prior := in.Header.Values("X-Forwarded-For"); len(prior) > 0 {
			out.Header.Set("X-Forwarded-For", strings.Join(prior, ", ")+", "+out.Header.Get("X-Forwarded-For"))
		}
		if v := in.Header.Get("X-Forwarded-Host"); v != "" {
			out.Header.Set("X-Forwarded-Host", v)
		}
		if v := in.Header.Get("X-Forwarded-Proto"); v == "http" || v == "https" {
			out.Header.Set("X-Forwarded-Proto", v)
		}
		if v := in.Header.Get("Forwarded"); v != "" {
			out.Header.Set("Forwarded", v)
		}
	}
	if prefix != "" {
		out.Header.Set("X-Forwarded-Prefix", prefix)
	}
}

// validatedHost is the gateway's name as the request reached it, from
// what the connection proved rather than from the Host header a client
// writes: over TLS the name the certificate was chosen for (SNI, which
// the certificate source accepts only for the gateway's names), otherwise
// the local address the connection came in on. The listener's port is
// added unless it is 443 or 80.
func validatedHost(r *http.Request) string {
	local, _ := r.Context().Value(http.LocalAddrContextKey).(net.Addr)
	host, port := "", ""
	if local != nil {
		host, port, _ = net.SplitHostPort(local.String())
	}
	if r.TLS != nil && r.TLS.ServerName != "" {
		host = r.TLS.ServerName
	}
	if host == "" {
		return "localhost"
	}
	if port == "" || port == "443" && r.TLS != nil || port == "80" && r.TLS == nil {
		if strings.Contains(host, ":") {
			return "[" + host + "]"
		}
		return host
	}
	return net.JoinHostPort(host, port)
}

// clientIP is the address the gateway logs for a request: the peer's, or
// with a trusted proxy the first address it forwarded for.
func clientIP(r *http.Request, trusted bool) string {
	if trusted {
		if v := r.Header.Get("X-Forwarded-For"); v != "" {
			first, _, _ := strings.Cut(v, ",")
			return strings.TrimSpace(first)
		}
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}
