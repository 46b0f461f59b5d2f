package access

import (
	"net/http"
	"net/url"
	"slices"
	"strings"
)

// Decision is the answer for one request: who, which role, and whether
// the request may go on. A refusal says what the client can do about it;
// rendering it (a problem page, JSON, the redirect) is the caller's.
type Decision struct {
	// Allowed is true when the request may go to the member.
	Allowed bool
	// Identity is who the client is (anonymous when it proved nothing).
	Identity Identity
	// Role is the identity's role.
	Role Role
	// Status is a refusal's HTTP status: 401 when the client must
	// authenticate, 403 when it did and may not. Zero when allowed.
	Status int
	// Login is where to send a browser that must sign in (a document GET
	// on a gateway with OIDC): the login path with the page to come back
	// to. Empty otherwise.
	Login string
	// Challenge is the WWW-Authenticate value a 401 carries.
	Challenge string
	// Need is the role the request needs, and Setting the setting that
	// grants it ("--operators"), for a refusal; Need is NoRole otherwise.
	Need    Role
	Setting string
	// Reason is one sentence for the person: what was refused and how to
	// get it, e.g. "operator role needed to change the cluster (the
	// operator call TEARDOWN changes the cluster): add alice@example.com to
	// --operators". Empty when allowed.
	Reason string
	// Err is the detail behind a refused credential, for the log only:
	// never show it to the client.
	Err error
}

// Decide identifies the client of r and decides whether it may perform
// op. It may set or clear the session cookie on w (a refreshed session, a
// cookie no key opens) and so must run before anything is written.
//
// The identity is, in order: a bearer token in Authorization (with OIDC;
// a bad one is refused, never passed over), the session cookie, the
// client certificate the front verified (with ClientCertificates), or
// anonymous. A write from a browser must also come from the gateway's own
// origin (SameOrigin).
func (a *Access) Decide(w http.ResponseWriter, r *http.Request, op Operation) Decision {
	id, d, ok := a.identify(w, r)
	if !ok {
		return d
	}
	d = Decision{Identity: id, Role: a.role(id)}
	if !d.Role.Allows(op) {
		return a.refuse(r, d, op)
	}
	if !op.Read && !SameOrigin(r, a.origins(r)) {
		d.Status, d.Need = http.StatusForbidden, d.Role
		d.Reason = "the write came from a page of another site (Origin " + strings.Join(r.Header.Values("Origin"), ", ") +
			"): the gateway accepts writes from its own pages only; open the page through the gateway"
		return d
	}
	d.Allowed = true
	return d
}

// role is the role of id.
func (a *Access) role(id Identity) Role {
	switch {
	case !a.authenticated() && a.cfg.AllowWrites:
		return Operator
	case !a.authenticated():
		return Viewer
	case a.operators.Match(id):
		return Operator
	case a.viewers.Match(id):
		return Viewer
	}
	return NoRole
}

// refuse fills a refusal of op for d's identity and role.
func (a *Access) refuse(r *http.Request, d Decision, op Operation) Decision {
	d.Need, d.Setting = Viewer, "--viewers"
	what := "to read the cluster"
	if !op.Read {
		d.Need, d.Setting = Operator, "--operators"
		what = "to change the cluster (" + op.Reason + ")"
	}
	switch {
	case !a.authenticated():
		d.Status, d.Setting = http.StatusForbidden, "--allow-writes"
		d.Reason = "this gateway refuses every write, and this request would change the cluster (" + op.Reason + "): start the gateway with --allow-writes, or with authentication (--oidc-issuer, or --client-ca for client certificates) and --operators"
	case d.Identity.Kind == Anonymous && a.cfg.OIDC.Issuer != "":
		d.Status = http.StatusUnauthorized
		d.Challenge = `Bearer realm="mesosgate"`
		d.Reason = "sign in " + what + ": browsers sign in at " + a.cfg.LoginPath + ", API clients send an ID token as Authorization: Bearer"
		if isNavigation(r) {
			d.Login = a.cfg.LoginPath + "?next=" + url.QueryEscape(r.URL.RequestURI())
			if _, onUI := a.serviceHost(r.Host); onUI {
				d.Login = a.enterURL(r)
			}
		}
	case d.Identity.Kind == Anonymous:
		d.Status = http.StatusForbidden
		d.Reason = "present a client certificate " + what + ": this gateway identifies clients by certificate"
	case d.Role == NoRole && d.Need == Viewer:
		d.Reason = "signed in as " + d.Identity.String() + ", which has no role: add " + entryFor(d.Identity) + " to --viewers or --operators"
		d.Status = http.StatusForbidden
	default:
		d.Status = http.StatusForbidden
		d.Reason = "operator role needed " + what + ": add " + entryFor(d.Identity) + " to --operators"
	}
	return d
}

// entryFor is the grant entry that would name id.
func entryFor(id Identity) string {
	switch {
	case id.Email != "":
		return id.Email
	case id.Kind == Certificate && id.CommonName != "":
		return "cn:" + id.CommonName
	case len(id.Emails) > 0:
		return id.Emails[0]
	case len(id.DNSNames) > 0:
		return "dns:" + id.DNSNames[0]
	case id.Subject != "":
		return "sub:" + id.Subject
	}
	return "an entry naming you"
}

// isNavigation reports whether r is a browser loading a page, which a
// redirect to the sign-in can answer (an XHR or a script cannot follow
// one to another site).
func isNavigation(r *http.Request) bool {
	if r.Method != http.MethodGet {
		return false
	}
	if mode := r.Header.Get("Sec-Fetch-Mode"); mode != "" {
		return mode == "navigate"
	}
	return strings.Contains(r.Header.Get("Accept"), "text/html")
}

// identify finds who the client is. It returns false with a refusal when
// the client sent a credential that is refused.
func (a *Access) identify(w http.ResponseWriter, r *http.Request) (Identity, Decision, bool) {
	if a.provider != nil {
		if token, ok := bearerToken(r.Header); ok {
			id, err := a.verifyBearer(r, token)
			if err != nil {
				a.log.Info("bearer token refused", "remote", r.RemoteAddr, "error", err)
				return id, Decision{
					Status: http.StatusUnauthorized, Challenge: `Bearer realm="mesosgate", error="invalid_token"`,
					Reason: "the bearer token was refused: it is expired, for another audience or issuer, or not signed by the issuer; get a new ID token from the identity provider",
					Err:    err,
				}, false
			}
			return id, Decision{}, true
		}
		if id, ok := a.sessionIdentity(w, r); ok {
			return id, Decision{}, true
		}
	}
	if a.cfg.ClientCertificates {
		if id, ok := CertificateIdentity(r.TLS); ok {
			return id, Decision{}, true
		}
	}
	return Identity{}, Decision{}, true
}

// origins are the origins writes from r may come from.
func (a *Access) origins(r *http.Request) []string {
	if a.cfg.Origin == nil {
		return a.cfg.Origins
	}
	return append(slices.Clip(a.cfg.Origins), a.cfg.Origin(r))
}
