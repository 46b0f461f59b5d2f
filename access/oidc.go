package access

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/coreos/go-oidc/v3/oidc"
	"golang.org/x/oauth2"
)

// This file turns the provider's tokens into identities: bearer tokens,
// ID tokens at sign-in, and the session cookie with its refresh.

// claims are the standard claims an identity is made of.
type claims struct {
	Email         string `json:"email"`
	EmailVerified *bool  `json:"email_verified"`
	Name          string `json:"name"`
	Username      string `json:"preferred_username"`
}

// tokenIdentity builds an identity from a verified token. An email the
// provider says is unverified is left out: a user who could set any
// address must not match an email grant.
func (a *Access) tokenIdentity(kind Kind, tok *oidc.IDToken) (Identity, error) {
	var c claims
	if err := tok.Claims(&c); err != nil {
		return Identity{}, fmt.Errorf("read the token's claims: %w", err)
	}
	id := Identity{Kind: kind, Subject: tok.Subject, Name: c.Name, Expiry: tok.Expiry}
	if id.Name == "" {
		id.Name = c.Username
	}
	if c.EmailVerified == nil || *c.EmailVerified {
		id.Email = c.Email
	}
	groups, err := a.groups(tok)
	if err != nil {
		return Identity{}, err
	}
	id.Groups = groups
	return id, nil
}

// groups reads the groups claim: a list of strings, or one string.
func (a *Access) groups(tok *oidc.IDToken) ([]string, error) {
	var all map[string]json.RawMessage
	if err := tok.Claims(&all); err != nil {
		return nil, fmt.Errorf("read the token's claims: %w", err)
	}
	raw, ok := all[a.cfg.OIDC.GroupsClaim]
	if !ok || string(raw) == "null" {
		return nil, nil
	}
	var list []string
	if err := json.Unmarshal(raw, &list); err == nil {
		return list, nil
	}
	var one string
	if err := json.Unmarshal(raw, &one); err == nil {
		return []string{one}, nil
	}
	return nil, fmt.Errorf("the %q claim is neither a string nor a list of strings: set --oidc-groups-claim to the claim that lists groups", a.cfg.OIDC.GroupsClaim)
}

// verifyBearer verifies a bearer token: signed by a key of the issuer's
// key set with an algorithm the issuer announces (never "none"), from the
// issuer, for the audience, unexpired.
func (a *Access) verifyBearer(r *http.Request, token string) (Identity, error) {
	tok, err := a.bearers.Verify(oidc.ClientContext(r.Context(), a.client), token)
	if err != nil {
		return Identity{}, fmt.Errorf("verify the bearer token: %w", err)
	}
	return a.tokenIdentity(Bearer, tok)
}

// sessionIdentity opens the session cookie, refreshing an expired session
// when it has a refresh token. A cookie that no key opens, or a session
// that ended, is deleted and counts as none.
func (a *Access) sessionIdentity(w http.ResponseWriter, r *http.Request) (Identity, bool) {
	c, err := r.Cookie(SessionCookie)
	if err != nil {
		return Identity{}, false
	}
	s, err := a.openSession(c.Value)
	if err != nil {
		a.log.Debug("session cookie refused", "remote", r.RemoteAddr, "error", err)
		http.SetCookie(w, cookie(SessionCookie, "", -1))
		return Identity{}, false
	}
	host, _ := a.serviceHost(r.Host)
	if s.Host != host {
		// A framework UI's session elsewhere, or the gateway's on a UI's
		// host: neither counts (browsers keep them apart anyway).
		return Identity{}, false
	}
	now := a.now()
	if s.Host != "" && !now.Before(time.Unix(s.Expiry, 0)) {
		// A UI's session is not refreshed there: the browser is handed
		// over again, and the gateway's session refreshes on the way.
		http.SetCookie(w, cookie(SessionCookie, "", -1))
		return Identity{}, false
	}
	if now.After(time.Unix(s.Start, 0).Add(a.cfg.SessionLifetime)) {
		http.SetCookie(w, cookie(SessionCookie, "", -1))
		return Identity{}, false
	}
	if now.Before(time.Unix(s.Expiry, 0)) {
		return s.identity(), true
	}
	if s.Refresh == "" {
		http.SetCookie(w, cookie(SessionCookie, "", -1))
		return Identity{}, false
	}
	s, err = a.refresh(r.Context(), s)
	if err != nil {
		a.log.Info("session refresh failed; the browser must sign in again", "subject", s.Subject, "error", err)
		http.SetCookie(w, cookie(SessionCookie, "", -1))
		return Identity{}, false
	}
	if !a.setSession(w, s) {
		return Identity{}, false
	}
	return s.identity(), true
}

// refresh renews an expired session with its refresh token. A new ID
// token, when the provider sends one, must be valid and for the same
// subject (OpenID Connect Core 12.2); without one the session lasts as
// long as the new access token.
func (a *Access) refresh(ctx context.Context, s session) (session, error) {
	ctx = oidc.ClientContext(ctx, a.client)
	old := &oauth2.Token{RefreshToken: s.Refresh, Expiry: time.Unix(1, 0)}
	tok, err := a.oauth.TokenSource(ctx, old).Token()
	if err != nil {
		return s, fmt.Errorf("refresh the session: %w", err)
	}
	if tok.RefreshToken != "" {
		s.Refresh = tok.RefreshToken
	}
	raw, _ := tok.Extra("id_token").(string)
	if raw == "" {
		if tok.Expiry.IsZero() || !tok.Expiry.After(a.now()) {
			return s, errors.New("refresh the session: the provider sent neither an ID token nor an access token expiry")
		}
		s.Expiry = tok.Expiry.Unix()
		return s, nil
	}
	idt, err := a.idTokens.Verify(ctx, raw)
	if err != nil {
		return s, fmt.Errorf("verify the refreshed ID token: %w", err)
	}
	if idt.Subject != s.Subject {
		return s, errors.New("the refreshed ID token is for another subject")
	}
	id, err := a.tokenIdentity(Session, idt)
	if err != nil {
		return s, err
	}
	s.Email, s.Name, s.Groups, s.Expiry, s.IDToken = id.Email, id.Name, id.Groups, idt.Expiry.Unix(), raw
	return s, nil
}

// setSession seals s into the session cookie, logging what had to be
// left out; false when it does not fit at all.
func (a *Access) setSession(w http.ResponseWriter, s session) bool {
	v, dropped, err := a.sealSession(s)
	for _, d := range dropped {
		a.log.Warn("session cookie too large: left out "+d, "subject", s.Subject, "groups", len(s.Groups))
	}
	if err != nil {
		a.log.Error("session not set: it does not fit a cookie even without tokens; shorten the groups claim (--oidc-groups-claim) or the names it lists", "subject", s.Subject)
		return false
	}
	maxAge := int(time.Unix(s.Start, 0).Add(a.cfg.SessionLifetime).Sub(a.now()) / time.Second)
	if maxAge <= 0 {
		maxAge = -1
	}
	http.SetCookie(w, cookie(SessionCookie, v, maxAge))
	return true
}
