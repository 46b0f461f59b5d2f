package access

import (
	"net/http"
	"net/url"
	"strings"
)

// SameOrigin reports whether a state-changing request comes from the
// gateway's own pages, so a page of another site (or a framework UI served
// on a sibling origin) cannot make a browser change the cluster with the
// browser's cookies or cached Basic credentials:
//   - an Origin header must be one of origins; "null" is the gateway's
//     own only with Sec-Fetch-Site: same-origin (below);
//   - without Origin, Sec-Fetch-Site must be "same-origin";
//   - with neither header the client is no browser (browsers send Origin
//     on every POST, and Sec-Fetch-Site on every request, since 2020-2023)
//     and is allowed: CSRF needs a browser.
//
// origins are the gateway's origins as browsers name them
// ("https://gateway.example.com", "https://10.0.0.5:8443"); when empty, the
// request's own Host (with https when it came over TLS) is the one origin.
func SameOrigin(r *http.Request, origins []string) bool {
	if o := r.Header.Values("Origin"); len(o) > 0 {
		if len(o) != 1 {
			return false
		}
		if o[0] == "null" {
			// Browsers send "null" for a form POST from a page whose
			// Referrer-Policy is no-referrer, as the gateway's own pages'
			// is (Fetch, "append a request Origin header"), and for
			// sandboxed frames and redirects through another origin.
			// Sec-Fetch-Site tells them apart: an opaque origin is never
			// same-origin, and a redirect through another site makes the
			// request cross-site.
			s := r.Header.Values("Sec-Fetch-Site")
			return len(s) == 1 && s[0] == "same-origin"
		}
		return originIn(o[0], origins, r)
	}
	if s := r.Header.Values("Sec-Fetch-Site"); len(s) > 0 {
		return len(s) == 1 && s[0] == "same-origin"
	}
	return true
}

// originIn reports whether origin is one of origins, or the request's own
// when origins is empty.
func originIn(origin string, origins []string, r *http.Request) bool {
	o, ok := canonicalOrigin(origin)
	if !ok {
		return false
	}
	if len(origins) == 0 {
		scheme := "http"
		if r.TLS != nil {
			scheme = "https"
		}
		own, ok := canonicalOrigin(scheme + "://" + r.Host)
		return ok && o == own
	}
	for _, want := range origins {
		if w, ok := canonicalOrigin(want); ok && o == w {
			return true
		}
	}
	return false
}

// canonicalOrigin returns scheme://host[:port] in lower case, without the
// scheme's default port; false when s is not an origin.
func canonicalOrigin(s string) (string, bool) {
	u, err := url.Parse(s)
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") || u.User != nil {
		return "", false
	}
	if u.Path != "" && u.Path != "/" || u.RawQuery != "" || u.Fragment != "" {
		return "", false
	}
	host := strings.ToLower(u.Host)
	if p := u.Port(); (u.Scheme == "https" && p == "443") || (u.Scheme == "http" && p == "80") {
		host = strings.TrimSuffix(host, ":"+p)
	}
	return u.Scheme + "://" + host, true
}
