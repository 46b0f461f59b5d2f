package access

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"time"
)

// MaxCookieSize bounds a cookie's name and value together: browsers keep
// at least 4096 bytes per cookie (RFC 6265 section 6.1), and the rest of
// the Set-Cookie line's attributes fit in the margin.
const MaxCookieSize = 4000

// loginLifetime is how long a sign-in may take at the OpenID Provider.
const loginLifetime = 10 * time.Minute

// session is what the session cookie seals. Field names are short to keep
// the cookie small; times are Unix seconds.
type session struct {
	Subject string   `json:"s"`
	Email   string   `json:"e,omitempty"`
	Name    string   `json:"n,omitempty"`
	Groups  []string `json:"g,omitempty"`
	// Expiry is when the identity must be checked again with the
	// provider: the ID token's expiry.
	Expiry int64 `json:"x"`
	// Start is when the browser signed in; the session ends a lifetime
	// after it, refreshed or not.
	Start int64 `json:"t"`
	// Refresh is the refresh token, when the provider gave one.
	Refresh string `json:"r,omitempty"`
	// IDToken is the raw ID token, sent as id_token_hint at logout when
	// it fits.
	IDToken string `json:"i,omitempty"`
	// Host is the framework UI host the session was handed over to
	// (hosts.go), "" for the gateway's own session: each is valid on its
	// own hosts only.
	Host string `json:"h,omitempty"`
}

// String hides the tokens a session holds.
func (s *session) String() string {
	return fmt.Sprintf("session(%s, expires %s)", s.Subject, time.Unix(s.Expiry, 0).UTC().Format(time.RFC3339))
}

// identity is the session's Identity.
func (s *session) identity() Identity {
	return Identity{
		Kind: Session, Subject: s.Subject, Email: s.Email, Name: s.Name,
		Groups: s.Groups, Expiry: time.Unix(s.Expiry, 0),
	}
}

// login is what the login cookie seals.
type login struct {
	State    string `json:"s"`
	Nonce    string `json:"n"`
	Verifier string `json:"v"`
	Next     string `json:"u"`
	Expiry   int64  `json:"x"`
}

// errCookieTooLarge is a session that does not fit a cookie even without
// its optional parts.
var errCookieTooLarge = errors.New("the session does not fit in a cookie")

// sealSession seals s into a cookie value of at most MaxCookieSize bytes
// with the name. What does not fit is dropped, least needed first, and
// named in dropped: the ID token (only a hint for the provider at logout),
// then the groups no grant names (they grant nothing), then the refresh
// token (the browser signs in again at expiry instead).
func (a *Access) sealSession(s session) (value string, dropped []string, err error) {
	fits := func() (string, bool) {
		b, _ := json.Marshal(s)
		if len(SessionCookie)+1+sealedLen(len(b)) > MaxCookieSize {
			return "", false
		}
		return a.sessionKeys.seal(b, a.sessionAD), true
	}
	steps := []struct {
		what string
		drop func()
	}{
		{"", func() {}},
		{"the ID token kept for logout at the identity provider", func() { s.IDToken = "" }},
		{"the groups that no --viewers or --operators entry names", func() { s.Groups = a.grantedGroups(s.Groups) }},
		{"the refresh token (the browser will sign in again when the session expires)", func() { s.Refresh = "" }},
	}
	for _, st := range steps {
		st.drop()
		if st.what != "" {
			dropped = append(dropped, st.what)
		}
		if v, ok := fits(); ok {
			return v, dropped, nil
		}
	}
	return "", dropped, errCookieTooLarge
}

// grantedGroups keeps the groups some grant names.
func (a *Access) grantedGroups(groups []string) []string {
	var out []string
	for _, g := range groups {
		if slices.Contains(a.namedGroups, g) {
			out = append(out, g)
		}
	}
	return out
}

// openSession opens a session cookie's value.
func (a *Access) openSession(value string) (session, error) {
	var s session
	b, err := a.sessionKeys.open(value, a.sessionAD)
	if err != nil {
		return s, err
	}
	if err := json.Unmarshal(b, &s); err != nil || s.Subject == "" {
		return s, errUnsealable
	}
	return s, nil
}

// cookie makes one of the gateway's cookies; maxAge < 0 deletes it.
func cookie(name, value string, maxAge int) *http.Cookie {
	return &http.Cookie{
		Name: name, Value: value, Path: "/", MaxAge: maxAge,
		Secure: true, HttpOnly: true, SameSite: http.SameSiteLaxMode,
	}
}
