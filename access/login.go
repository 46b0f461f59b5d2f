package access

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"html"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// This file is the OpenID Connect sign-in: the authorization code flow
// with PKCE (RFC 7636), a state bound to the browser by a sealed,
// short-lived cookie, and a nonce bound to the ID token.

// Paths returns the paths Handler answers: login, callback and logout.
func (a *Access) Paths() []string {
	return []string{a.cfg.LoginPath, a.cfg.CallbackPath, a.cfg.LogoutPath, EnterPath, HostEnterPath}
}

// Handler serves the sign-in paths (Paths); any other path, and every
// path on a gateway without OIDC, is a 404.
func (a *Access) Handler() http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Cache-Control", "no-store")
		switch {
		case a.provider == nil:
			http.NotFound(w, r)
		case r.URL.Path == a.cfg.LoginPath:
			a.login(w, r)
		case r.URL.Path == a.cfg.CallbackPath:
			a.callback(w, r)
		case r.URL.Path == a.cfg.LogoutPath:
			a.logout(w, r)
		case r.URL.Path == EnterPath:
			a.enter(w, r)
		case r.URL.Path == HostEnterPath:
			a.hostEnter(w, r)
		default:
			http.NotFound(w, r)
		}
	})
}

// problem answers a failed sign-in request.
func (a *Access) problem(w http.ResponseWriter, r *http.Request, status int, message string) {
	if a.cfg.Problem != nil {
		a.cfg.Problem(w, r, status, message)
		return
	}
	http.Error(w, message, status)
}

// login starts a sign-in: it remembers the state, nonce, PKCE verifier
// and the page to come back to in the login cookie, and sends the browser
// to the provider.
func (a *Access) login(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		a.problem(w, r, http.StatusMethodNotAllowed, "sign in with GET "+a.cfg.LoginPath)
		return
	}
	l := login{
		State: rand.Text(), Nonce: rand.Text(), Verifier: oauth2.GenerateVerifier(),
		Next: localPath(r.URL.Query().Get("next")), Expiry: a.now().Add(loginLifetime).Unix(),
	}
	b, _ := json.Marshal(l)
	http.SetCookie(w, cookie(LoginCookie, a.loginKeys.seal(b, a.loginAD), int(loginLifetime/time.Second)))
	target := a.oauth.AuthCodeURL(l.State, oidc.Nonce(l.Nonce), oauth2.S256ChallengeOption(l.Verifier))
	http.Redirect(w, r, target, http.StatusFound)
}

// localPath returns next when it is a path of this gateway, else "/": the
// login never redirects to another site (no "//host", "/\host", scheme or
// control characters), whatever the link that started it said.
func localPath(next string) string {
	if next == "" || len(next) > 2048 || next[0] != '/' || strings.HasPrefix(next, "//") || strings.ContainsAny(next, "\\\x00\r\n\t") {
		return "/"
	}
	u, err := url.Parse(next)
	if err != nil || u.Scheme != "" || u.Host != "" || u.User != nil {
		return "/"
	}
	return next
}

// callback ends a sign-in: the state must match the login cookie's, the
// code is exchanged with the PKCE verifier, the ID token is verified
// (signature, issuer, audience, expiry) and must carry the nonce; then the
// session cookie is set and the browser goes back where it started.
func (a *Access) callback(w http.ResponseWriter, r *http.Request) {
	l, ok := a.takeLogin(w, r)
	if !ok {
		a.problem(w, r, http.StatusBadRequest, "this sign-in expired, was already used or was started in another browser: sign in again at "+a.cfg.LoginPath)
		return
	}
	q := r.URL.Query()
	if e := q.Get("error"); e != "" {
		a.log.Info("sign-in refused by the identity provider", "error", e, "description", q.Get("error_description"))
		a.problem(w, r, http.StatusForbidden, "the identity provider refused the sign-in ("+clip(e)+"): sign in again, or ask its administrator for access")
		return
	}
	ctx := oidc.ClientContext(r.Context(), a.client)
	tok, err := a.oauth.Exchange(ctx, q.Get("code"), oauth2.VerifierOption(l.Verifier))
	if err != nil {
		a.log.Warn("sign-in code exchange failed", "error", err)
		a.problem(w, r, http.StatusBadGateway, "the identity provider did not accept the sign-in: sign in again at "+a.cfg.LoginPath)
		return
	}
	raw, _ := tok.Extra("id_token").(string)
	idt, err := a.idTokens.Verify(ctx, raw)
	if err == nil && subtle.ConstantTimeCompare([]byte(idt.Nonce), []byte(l.Nonce)) != 1 {
		err = errNonce
	}
	var id Identity
	if err == nil {
		id, err = a.tokenIdentity(Session, idt)
	}
	if err != nil {
		a.log.Warn("sign-in ID token refused", "error", err)
		a.problem(w, r, http.StatusBadGateway, "the identity provider's ID token was refused: sign in again; if it persists, check --oidc-issuer and --oidc-client-id")
		return
	}
	s := session{
		Subject: id.Subject, Email: id.Email, Name: id.Name, Groups: id.Groups,
		Expiry: idt.Expiry.Unix(), Start: a.now().Unix(), Refresh: tok.RefreshToken, IDToken: raw,
	}
	if !a.setSession(w, s) {
		a.problem(w, r, http.StatusInternalServerError, "the session does not fit in a cookie: ask the gateway's administrator to shorten the groups claim")
		return
	}
	a.log.Info("signed in", "identity", id.String(), "role", a.role(id).String())
	http.Redirect(w, r, l.Next, http.StatusSeeOther)
}

// errNonce is an ID token whose nonce is not the sign-in's.
var errNonce = errors.New("the ID token's nonce is not the sign-in's")

// takeLogin opens and deletes the login cookie; it is good only with the
// state it was made for and before it expires. Deleting it makes a
// replayed callback fail in this browser; the provider refuses a code
// used twice anyway.
func (a *Access) takeLogin(w http.ResponseWriter, r *http.Request) (login, bool) {
	var l login
	c, err := r.Cookie(LoginCookie)
	if err != nil {
		return l, false
	}
	http.SetCookie(w, cookie(LoginCookie, "", -1))
	b, err := a.loginKeys.open(c.Value, a.loginAD)
	if err != nil || json.Unmarshal(b, &l) != nil {
		return l, false
	}
	state := r.URL.Query().Get("state")
	if l.State == "" || subtle.ConstantTimeCompare([]byte(state), []byte(l.State)) != 1 {
		return l, false
	}
	return l, a.now().Before(time.Unix(l.Expiry, 0))
}

// logout ends the session. It takes a POST from the gateway's own pages
// (SameOrigin), or a GET the browser says the user made on this origin
// (Sec-Fetch-Site same-origin, or none: typed or bookmarked), so a page
// of another site cannot sign the user out. With OIDC.EndSession and a
// provider that has an end_session_endpoint, the browser then ends its
// session there too; otherwise it goes to "/" (see leave).
func (a *Access) logout(w http.ResponseWriter, r *http.Request) {
	site := r.Header.Get("Sec-Fetch-Site")
	switch {
	case r.Method == http.MethodPost && SameOrigin(r, a.cfg.Origins):
	case r.Method == http.MethodGet && (site == "same-origin" || site == "none"):
	default:
		a.problem(w, r, http.StatusForbidden, "sign out with the gateway's sign-out button (a POST to "+a.cfg.LogoutPath+" from the gateway's pages)")
		return
	}
	var hint string
	if c, err := r.Cookie(SessionCookie); err == nil {
		if s, err := a.openSession(c.Value); err == nil {
			hint = s.IDToken
			a.log.Info("signed out", "identity", s.identity().String())
		}
	}
	http.SetCookie(w, cookie(SessionCookie, "", -1))
	leave(w, r, a.afterLogout(hint))
}

// leave sends a browser that signed out on to next with a page that
// refreshes to it, not with a redirect. The sign-out is a form
// submission, and a page whose Content-Security-Policy has form-action
// 'self' (the gateway's own) makes the browser stop a form submission's
// redirects at the first that leads to another origin: the provider's
// end-session page, or its sign-in page where "/" leads once the session
// is gone. A refresh is a navigation of its own.
func leave(w http.ResponseWriter, r *http.Request, next string) {
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Refresh", "0; url="+next)
	w.WriteHeader(http.StatusOK)
	if r.Method != http.MethodHead {
		fmt.Fprintf(w, "<!doctype html>\n<meta charset=\"utf-8\">\n<title>Signed out</title>\n<p>You are signed out. <a href=\"%s\">Continue</a></p>\n", html.EscapeString(next))
	}
}

// afterLogout is where the browser goes once signed out.
func (a *Access) afterLogout(idTokenHint string) string {
	if !a.cfg.OIDC.EndSession || a.endSession == "" {
		return "/"
	}
	u, err := url.Parse(a.endSession)
	if err != nil {
		return "/"
	}
	q := u.Query()
	q.Set("client_id", a.cfg.OIDC.ClientID)
	if idTokenHint != "" {
		q.Set("id_token_hint", idTokenHint)
	}
	if home, err := url.Parse(a.cfg.OIDC.RedirectURL); err == nil {
		q.Set("post_logout_redirect_uri", home.Scheme+"://"+home.Host+"/")
	}
	u.RawQuery = q.Encode()
	return u.String()
}

// clip shortens a provider's error code for a page.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64]
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r > '~' {
			return '?'
		}
		return r
	}, s)
}
