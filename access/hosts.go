package access

import (
	"encoding/json"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// This file signs browsers in on framework UIs' own origins
// (--service-domain). The gateway's session cookie is host-only: a
// framework UI's origin never receives it, which is the point. A browser
// signed in to the gateway is handed over instead:
//
//  1. A page of https://marathon.apps.example.com without a session there
//     is sent to the gateway's EnterPath with the host and the page.
//  2. There, with the gateway's session (after signing in if needed), the
//     gateway seals a ticket for that host alone, valid a minute, and sends
//     the browser to the UI's origin at HostEnterPath.
//  3. The UI's origin opens the ticket, sets a session cookie of its own
//     (host-only, bound to that host, without the refresh token) and goes
//     on to the page.
//
// A UI session is valid on its host only, and the gateway's only on hosts
// that are not a framework UI's; when a UI session expires, the browser
// is handed over again, and the gateway's session refreshes on the way.

// EnterPath is where, on the gateway's origin, a framework UI's origin
// sends a browser to be signed in there; HostEnterPath is where the
// gateway sends it back on the UI's origin, with its ticket.
const (
	EnterPath     = "/gateway/enter"
	HostEnterPath = "/.well-known/mesosgate/enter"
)

// ticketLifetime is how long a handover ticket is good for: one redirect.
const ticketLifetime = time.Minute

// ticket is what a handover seals: the session for one host.
type ticket struct {
	Host    string  `json:"h"`
	Session session `json:"s"`
	Expiry  int64   `json:"x"`
}

// serviceHost reports whether host (a Host header, a port allowed) is a
// framework UI's own: one label followed by the service domain.
func (a *Access) serviceHost(host string) (string, bool) {
	d := a.cfg.ServiceDomain
	if d == "" {
		return "", false
	}
	if h, _, err := net.SplitHostPort(host); err == nil {
		host = h
	}
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	label, ok := strings.CutSuffix(host, "."+d)
	if !ok || label == "" || strings.Contains(label, ".") {
		return "", false
	}
	return host, true
}

// enterURL is where a browser without a session on a framework UI's host
// goes to get one: the gateway's EnterPath, naming the host and the page.
func (a *Access) enterURL(r *http.Request) string {
	q := url.Values{"host": {r.Host}, "next": {r.URL.RequestURI()}}
	return strings.TrimSuffix(a.cfg.GatewayOrigin, "/") + EnterPath + "?" + q.Encode()
}

// enter is EnterPath, on the gateway's origin: with the gateway's
// session, a ticket for the named framework UI host; without, a sign-in
// first.
func (a *Access) enter(w http.ResponseWriter, r *http.Request) {
	host := r.URL.Query().Get("host")
	hostname, ok := a.serviceHost(host)
	if !ok {
		a.problem(w, r, http.StatusBadRequest, "host "+clip(host)+" is not a framework UI's: open the framework UI from the gateway's dashboard")
		return
	}
	if _, isUI := a.serviceHost(r.Host); isUI {
		a.problem(w, r, http.StatusBadRequest, "sign-in hands over from the gateway's own origin only")
		return
	}
	c, err := r.Cookie(SessionCookie)
	s, serr := session{}, err
	if err == nil {
		s, serr = a.openSession(c.Value)
	}
	if serr != nil || s.Host != "" || a.now().After(time.Unix(s.Expiry, 0)) {
		// Sign in (or refresh) on the gateway first, then come back.
		if _, ok := a.sessionIdentity(w, r); !ok {
			http.Redirect(w, r, a.cfg.LoginPath+"?next="+url.QueryEscape(r.URL.RequestURI()), http.StatusFound)
			return
		}
		// sessionIdentity refreshed it: the new cookie reaches us on the
		// redirect to the same place.
		http.Redirect(w, r, r.URL.RequestURI(), http.StatusFound)
		return
	}
	s.Refresh, s.IDToken, s.Host = "", "", hostname
	t := ticket{Host: hostname, Session: s, Expiry: a.now().Add(ticketLifetime).Unix()}
	b, _ := json.Marshal(t)
	q := url.Values{"ticket": {a.sessionKeys.seal(b, a.ticketAD)}, "next": {localPath(r.URL.Query().Get("next"))}}
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, "https://"+host+HostEnterPath+"?"+q.Encode(), http.StatusFound)
}

// hostEnter is HostEnterPath, on a framework UI's origin: the ticket,
// for this host and still good, becomes the host's session cookie.
func (a *Access) hostEnter(w http.ResponseWriter, r *http.Request) {
	hostname, _ := a.serviceHost(r.Host)
	var t ticket
	b, err := a.sessionKeys.open(r.URL.Query().Get("ticket"), a.ticketAD)
	if err == nil {
		err = json.Unmarshal(b, &t)
	}
	if err != nil || t.Host != hostname || a.now().After(time.Unix(t.Expiry, 0)) {
		a.problem(w, r, http.StatusBadRequest, "this sign-in hand-over expired or was meant for another host: open the page again")
		return
	}
	if !a.setSession(w, t.Session) {
		a.problem(w, r, http.StatusInternalServerError, "the session could not be set: sign in again")
		return
	}
	w.Header().Set("Referrer-Policy", "no-referrer")
	http.Redirect(w, r, localPath(r.URL.Query().Get("next")), http.StatusFound)
}
