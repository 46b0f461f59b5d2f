package access

import (
	"net/http"
	"strings"
)

// The gateway's cookies. The __Host- prefix makes browsers refuse them
// unless they are Secure, have Path=/ and no Domain, so no other host of
// the domain (a framework UI on a sibling name included) can set or
// overwrite them.
const (
	// SessionCookie holds a signed-in browser's sealed session.
	SessionCookie = "__Host-mesosgate-session"
	// LoginCookie holds the state, nonce and PKCE verifier of a sign-in in
	// progress, for ten minutes at most.
	LoginCookie = "__Host-mesosgate-login"
)

// IsGatewayCredential reports whether an Authorization header value is
// the gateway's to consume rather than the member's: a Bearer token is
// (the gateway verifies it, and a member must never receive it); Mesos's
// own Basic credentials, and any other scheme, are the member's and pass
// through unchanged.
func IsGatewayCredential(authorization string) bool {
	scheme, _, _ := strings.Cut(strings.TrimSpace(authorization), " ")
	return strings.EqualFold(scheme, "Bearer")
}

// StripCredentials removes from h what the gateway consumed, before a
// request goes to a member or a framework UI: Authorization values that
// are the gateway's (IsGatewayCredential) and the gateway's own cookies.
// Other cookies and Basic credentials stay.
func StripCredentials(h http.Header) {
	auth := h.Values("Authorization")
	kept := auth[:0:0]
	for _, v := range auth {
		if !IsGatewayCredential(v) {
			kept = append(kept, v)
		}
	}
	if len(kept) != len(auth) {
		h.Del("Authorization")
		for _, v := range kept {
			h.Add("Authorization", v)
		}
	}
	cookies := h.Values("Cookie")
	if len(cookies) == 0 {
		return
	}
	h.Del("Cookie")
	for _, line := range cookies {
		if v := withoutGatewayCookies(line); v != "" {
			h.Add("Cookie", v)
		}
	}
}

// withoutGatewayCookies drops the gateway's cookies from a Cookie line.
func withoutGatewayCookies(line string) string {
	var kept []string
	for _, part := range strings.Split(line, ";") {
		name, _, _ := strings.Cut(strings.TrimSpace(part), "=")
		if name == SessionCookie || name == LoginCookie {
			continue
		}
		if p := strings.TrimSpace(part); p != "" {
			kept = append(kept, p)
		}
	}
	return strings.Join(kept, "; ")
}

// bearerToken returns the token of an Authorization: Bearer header.
func bearerToken(h http.Header) (string, bool) {
	for _, v := range h.Values("Authorization") {
		scheme, token, _ := strings.Cut(strings.TrimSpace(v), " ")
		if strings.EqualFold(scheme, "Bearer") {
			return strings.TrimSpace(token), true
		}
	}
	return "", false
}
