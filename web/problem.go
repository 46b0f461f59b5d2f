package web

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Problem is an error answer of the gateway: what happened, what the
// operator can do about it, and the request id that finds the details in
// the gateway's log. It never carries internal error text; server logs that
// and picks the Problem.
//
// WriteProblem renders it as an HTML page for browsers and as RFC 9457
// problem details for API clients:
//
//	HTTP/1.1 404 Not Found
//	Content-Type: application/problem+json
//
//	{
//	  "type": "tag:mesosgate.github.io,2025:unknown-agent",
//	  "status": 404,
//	  "title": "Unknown agent",
//	  "detail": "The cluster has no agent with id \"S7\".",
//	  "action": "The agent may have left the cluster or ...",
//	  "request_id": "01HV..."
//	}
//
// "type" identifies the kind of problem (a tag: URI, not meant to be
// dereferenced; see the constructors below for the list); "action" and
// "request_id" are extension members. Members that are empty are left out.
type Problem struct {
	// Status is the HTTP status; zero or anything below 400 means 500.
	Status int `json:"status"`
	// Type is a URI naming the kind of problem; empty means "about:blank".
	Type string `json:"type"`
	// Title says what happened, in a few words, the same for every
	// occurrence of the kind.
	Title string `json:"title"`
	// Detail says what happened this time, naming what was asked for.
	Detail string `json:"detail,omitempty"`
	// Action says what the operator can do.
	Action string `json:"action,omitempty"`
	// RequestID finds the request in the gateway's log. Empty means the
	// response's X-Request-Id header, else the request's.
	RequestID string `json:"request_id,omitempty"`
	// Retry offers a "try again" link on the HTML page: the request may
	// succeed unchanged later.
	Retry bool `json:"-"`
	// RetryAfter, when positive, is sent as a Retry-After header in whole
	// seconds.
	RetryAfter time.Duration `json:"-"`
}

// problemType names the kinds of problem of the constructors below.
func problemType(kind string) string { return "tag:mesosgate.github.io,2025:" + kind }

// UnknownAgent is the 404 for /agent/{id}/... naming an agent discovery
// does not know.
func UnknownAgent(id string) Problem {
	return Problem{
		Status: http.StatusNotFound,
		Type:   problemType("unknown-agent"),
		Title:  "Unknown agent",
		Detail: fmt.Sprintf("The cluster has no agent with id %q.", id),
		Action: "The agent may have left the cluster, or re-registered under a new id after a restart. " +
			"Open the gateway's dashboard for the agents the cluster has now, and browse from there.",
	}
}

// UnknownFramework is the 404 for /service/{name}/... or
// /framework/{id}/... naming no framework with a web UI.
func UnknownFramework(nameOrID string) Problem {
	return Problem{
		Status: http.StatusNotFound,
		Type:   problemType("unknown-framework"),
		Title:  "Unknown framework",
		Detail: fmt.Sprintf("No framework named or with id %q has registered a web UI with the leading master.", nameOrID),
		Action: "The framework may have finished or may not have registered a webui_url. " +
			"Open the gateway's dashboard for the framework UIs the gateway can serve.",
	}
}

// UnknownMaster is the 404 for /gateway/masters/{host:port}/... naming a
// master that was neither configured nor discovered: the gateway is never
// an open proxy.
func UnknownMaster(hostport string) Problem {
	return Problem{
		Status: http.StatusNotFound,
		Type:   problemType("unknown-master"),
		Title:  "Unknown master",
		Detail: fmt.Sprintf("%q is not a master of this cluster. The gateway only forwards to members it was configured with or discovered.", hostport),
		Action: "Check the address against the masters on the gateway's dashboard, or add the master to --master.",
	}
}

// Unreachable is the 502 for a member that answered neither TLS nor plain
// HTTP; reason is the probe's, such as "tls: connection refused; plain:
// connection refused".
func Unreachable(m Ref, reason string) Problem {
	detail := fmt.Sprintf("The gateway could not reach %s over TLS or plain HTTP.", describeRef(m))
	if reason != "" {
		detail += " The probe says: " + reason + "."
	}
	return Problem{
		Status: http.StatusBadGateway,
		Type:   problemType("member-unreachable"),
		Title:  "Member unreachable",
		Detail: detail,
		Action: "Check that the member is running and listening on that address, and that the gateway's host can reach it (firewall, routing). " +
			"A member being restarted comes back within seconds: try again, the gateway probes it anew on every failed request.",
		Retry: true,
	}
}

// AccessRefused is the 401 or 403 of a request its client may not make:
// reason says what was refused and how to get it, in the client's own
// terms ("operator role needed to change the cluster (...): add
// alice@example.com to --operators"); need is the role it takes and
// setting the setting that grants it.
func AccessRefused(status int, reason, need, setting string) Problem {
	p := Problem{
		Status: status,
		Type:   problemType("forbidden"),
		Title:  "Not allowed",
		Detail: reason,
		Action: fmt.Sprintf("The %s role is needed; whoever runs the gateway grants it with %s.", need, setting),
	}
	if status == http.StatusUnauthorized {
		p.Type, p.Title = problemType("unauthenticated"), "Sign-in required"
		p.Action = "Sign in, or send an ID token from the identity provider as Authorization: Bearer."
	}
	return p
}

// SignInFailed is the answer to a sign-in that did not complete (a state
// that does not match, a provider that refused); message says why, in
// words for the person.
func SignInFailed(status int, message string) Problem {
	return Problem{
		Status: status,
		Type:   problemType("sign-in-failed"),
		Title:  "Sign-in failed",
		Detail: message,
		Action: "Start again from the page you wanted: the gateway sends you to sign in.",
	}
}

// AddressRefused is the 403 for a destination at an address the gateway
// never connects to (reason says which rule): the master's state named it,
// and the gateway does not take the state's word for where it may go.
func AddressRefused(m Ref, reason string) Problem {
	return Problem{
		Status: http.StatusForbidden,
		Type:   problemType("address-refused"),
		Title:  "Address not allowed",
		Detail: fmt.Sprintf("The gateway does not connect to %s: %s.", describeRef(m), reason),
		Action: "A framework UI must run on a host of the cluster; to allow another host or network, whoever runs the gateway adds it to --service-allow. " +
			"Link-local and cloud metadata addresses, and the gateway's own, are never allowed.",
	}
}

// Busy is the 503 for a member that already has as many requests in
// flight as the gateway allows it.
func Busy(m Ref) Problem {
	return Problem{
		Status:     http.StatusServiceUnavailable,
		Type:       problemType("member-busy"),
		Title:      "Member busy",
		Detail:     fmt.Sprintf("%s already has as many requests in flight through the gateway as it allows, and none ended in time.", capitalize(describeRef(m))),
		Action:     "Try again shortly. If it lasts, something holds many requests open (long polls, slow uploads): the gateway's log names them.",
		Retry:      true,
		RetryAfter: 2 * time.Second,
	}
}

// CrossContext is the 403 for a request a framework UI's page made outside
// its own prefix (detail says what), where the gateway serves framework
// UIs on its own origin (path mode).
func CrossContext(detail string) Problem {
	return Problem{
		Status: http.StatusForbidden,
		Type:   problemType("cross-context"),
		Title:  "Outside the framework UI",
		Detail: "The gateway refused this request: " + detail + ".",
		Action: "Open the page you want from the gateway's dashboard. Framework UIs served under /service/ share the gateway's origin; " +
			"whoever runs the gateway can give each its own origin with --service-domain.",
	}
}

// RequestTimeout is the 408 for a request whose body stopped coming.
func RequestTimeout() Problem {
	return Problem{
		Status: http.StatusRequestTimeout,
		Type:   problemType("body-timeout"),
		Title:  "Request body stalled",
		Detail: "The request's body stopped arriving before it was complete, and the gateway gave up waiting.",
		Action: "Send the request again over a working connection.",
	}
}

// LoopDetected is the 508 for a request the gateway sent and got back: a
// framework's webui_url that leads to the gateway itself.
func LoopDetected() Problem {
	return Problem{
		Status: http.StatusLoopDetected,
		Type:   problemType("loop"),
		Title:  "Request loop",
		Detail: "The gateway received a request it had sent itself: a framework's web UI address leads back to the gateway.",
		Action: "Register the framework's own address as its webui_url (the host and port its web UI listens on), not the gateway's.",
	}
}

// NotDiscovered is the 503 while no master has answered the gateway yet.
func NotDiscovered() Problem {
	return Problem{
		Status: http.StatusServiceUnavailable,
		Type:   problemType("not-discovered"),
		Title:  "Cluster not discovered yet",
		Detail: "The gateway has not yet learned the cluster's members from its masters.",
		Action: "Check that the masters given with --master are running and reachable from the gateway (its dashboard and log say what each answered). " +
			"Pages are served as soon as one answers.",
		Retry: true,
	}
}

// NoLeader is the 503 while no master is leading.
func NoLeader() Problem {
	return Problem{
		Status: http.StatusServiceUnavailable,
		Type:   problemType("no-leader"),
		Title:  "No leading master",
		Detail: "None of the masters the gateway knows is leading the cluster right now.",
		Action: "A leader election usually takes a few seconds: try again shortly. " +
			"If it lasts, check the masters and their ZooKeeper quorum, and that the gateway's --master list names them.",
		Retry: true,
	}
}

// Stale is the 503 when the cluster map is older than its hard limit, so
// the gateway cannot tell where members are; reason is why the last
// discovery failed, if known.
func Stale(age, limit time.Duration, reason string) Problem {
	detail := fmt.Sprintf("The gateway last learned the cluster's members %s ago, longer than its %s limit, so it cannot tell where members are.", duration(age), duration(limit))
	if reason != "" {
		detail += " The last discovery failed: " + reason + "."
	}
	return Problem{
		Status: http.StatusServiceUnavailable,
		Type:   problemType("stale-cluster-map"),
		Title:  "Cluster map out of date",
		Detail: detail,
		Action: "Check that the gateway can reach the masters given with --master and that a leader is elected (the dashboard and the gateway's log say more). " +
			"Pages are served again as soon as a discovery succeeds.",
		Retry: true,
	}
}

// UpstreamTimeout is the 504 for a member that accepted the request but
// did not answer within after.
func UpstreamTimeout(m Ref, after time.Duration) Problem {
	return Problem{
		Status: http.StatusGatewayTimeout,
		Type:   problemType("upstream-timeout"),
		Title:  "Member did not answer in time",
		Detail: fmt.Sprintf("%s did not answer within %s.", capitalize(describeRef(m)), duration(after)),
		Action: "The member may be overloaded or stuck in a long operation: try again. " +
			"If it keeps happening, check the member's load and log.",
		Retry: true,
	}
}

// AbsoluteTarget is the 400 for a request whose target is a full URL
// (GET http://host/ HTTP/1.1) or a CONNECT: the gateway is not a forward
// proxy.
func AbsoluteTarget() Problem {
	return Problem{
		Status: http.StatusBadRequest,
		Type:   problemType("absolute-target"),
		Title:  "Not a forward proxy",
		Detail: "The request named a full URL or asked for a tunnel; this gateway only serves paths of its own, such as /agent/{id}/.",
		Action: "Open the gateway's address in the browser (or give it to your client as the server, not as a proxy).",
	}
}

// PathEscape is the 400 for a path that leaves its route's prefix once
// cleaned (/agent/S1/../../x).
func PathEscape(path string) Problem {
	return Problem{
		Status: http.StatusBadRequest,
		Type:   problemType("path-escape"),
		Title:  "Path leaves its route",
		Detail: fmt.Sprintf("After resolving its dot segments, the path %q no longer lies under the route it was sent to.", path),
		Action: "Remove the \"..\" segments from the address; to reach another member, follow its link on the dashboard.",
	}
}

// BadRequest is a 400 for other malformed requests; detail says what was
// wrong in words fit for the client.
func BadRequest(detail string) Problem {
	return Problem{
		Status: http.StatusBadRequest,
		Type:   problemType("bad-request"),
		Title:  "Bad request",
		Detail: detail,
		Action: "Correct the request and send it again.",
	}
}

// NotFound is the 404 for a path of the gateway's own that does not exist.
func NotFound() Problem {
	return Problem{
		Status: http.StatusNotFound,
		Type:   problemType("not-found"),
		Title:  "Page not found",
		Detail: "The gateway has no page at this address.",
		Action: "Start from the gateway's dashboard.",
	}
}

// MethodNotAllowed is the 405 for a method a gateway page does not take.
// The caller sets the Allow header.
func MethodNotAllowed(method string) Problem {
	return Problem{
		Status: http.StatusMethodNotAllowed,
		Type:   problemType("method-not-allowed"),
		Title:  "Method not allowed",
		Detail: fmt.Sprintf("This address does not accept %s requests.", method),
		Action: "Use GET.",
	}
}

// Internal is the 500 for anything that went wrong inside the gateway. It
// says nothing of what: the log has that, under the request id.
func Internal() Problem {
	return Problem{
		Status: http.StatusInternalServerError,
		Type:   problemType("internal"),
		Title:  "Internal error",
		Detail: "The gateway failed while handling this request.",
		Action: "Try again. If it keeps happening, give the request id below to whoever runs the gateway: its log has the details under that id.",
		Retry:  true,
	}
}

// describeRef names a member in a sentence: "agent S1 (10.0.0.5:5051)".
func describeRef(m Ref) string {
	role := string(m.Role)
	if role == "" {
		role = "member"
	}
	switch {
	case m.ID != "" && m.Address != "":
		return fmt.Sprintf("%s %s (%s)", role, m.ID, m.Address)
	case m.Address != "":
		return fmt.Sprintf("%s %s", role, m.Address)
	case m.ID != "":
		return fmt.Sprintf("%s %s", role, m.ID)
	}
	return "the " + role
}

// capitalize upper-cases an ASCII first letter.
func capitalize(s string) string {
	if s != "" && s[0] >= 'a' && s[0] <= 'z' {
		return string(s[0]-'a'+'A') + s[1:]
	}
	return s
}

// problemPage is what the problem template receives.
type problemPage struct {
	Head       head
	P          Problem
	StatusLine string
	RetryURL   string
}

// WriteProblem writes pr as the response: an HTML page when the client
// prefers HTML (browsers), RFC 9457 JSON otherwise (API clients, curl).
// It sets the security headers, Cache-Control: no-store and Vary: Accept,
// and never writes a body for HEAD.
func (p *Pages) WriteProblem(w http.ResponseWriter, r *http.Request, pr Problem) {
	if pr.Status < 400 || pr.Status > 599 {
		pr.Status = http.StatusInternalServerError
	}
	if pr.Type == "" {
		pr.Type = "about:blank"
	}
	if pr.Title == "" {
		pr.Title = http.StatusText(pr.Status)
	}
	if pr.RequestID == "" {
		pr.RequestID = requestID(w, r)
	}
	h := w.Header()
	SetSecurityHeaders(h)
	h.Set("Cache-Control", "no-store")
	h.Add("Vary", "Accept")
	h.Del("Content-Length")
	if pr.RetryAfter > 0 {
		h.Set("Retry-After", strconv.Itoa(int((pr.RetryAfter+time.Second-1)/time.Second)))
	}
	var body bytes.Buffer
	if prefersHTML(r.Header.Values("Accept")) && p.renderProblem(&body, r, pr) {
		h.Set("Content-Type", "text/html; charset=utf-8")
	} else {
		body.Reset()
		h.Set("Content-Type", "application/problem+json")
		enc := json.NewEncoder(&body)
		enc.SetIndent("", "  ")
		_ = enc.Encode(pr) // a struct of strings and ints always encodes
	}
	w.WriteHeader(pr.Status)
	if r.Method != http.MethodHead {
		_, _ = io.Copy(w, &body)
	}
}

// renderProblem renders the HTML page into buf, reporting whether it
// could; on failure the caller falls back to JSON.
func (p *Pages) renderProblem(buf *bytes.Buffer, r *http.Request, pr Problem) bool {
	page := problemPage{
		Head:       head{Title: pr.Title, Home: p.DashboardPath(), Narrow: true},
		P:          pr,
		StatusLine: fmt.Sprintf("%d %s", pr.Status, http.StatusText(pr.Status)),
	}
	if pr.Retry && r.Method == http.MethodGet {
		page.RetryURL = retryURL(r)
	}
	if err := p.tmpl.ExecuteTemplate(buf, "problem", page); err != nil {
		p.log.Error("render problem page", "status", pr.Status, "err", err)
		return false
	}
	return true
}

// retryURL is the request's own path and query, for a "try again" link; ""
// when it is not a plain origin-form path (an absolute-form target, or
// "//host" that a browser would read as another site).
func retryURL(r *http.Request) string {
	u := r.URL.RequestURI()
	if r.URL.IsAbs() || !strings.HasPrefix(u, "/") || strings.HasPrefix(u, "//") {
		return ""
	}
	return u
}

// requestID falls back to the X-Request-Id server's middleware set on the
// response, then to the one the request carried.
func requestID(w http.ResponseWriter, r *http.Request) string {
	if id := w.Header().Get("X-Request-Id"); id != "" {
		return id
	}
	return r.Header.Get("X-Request-Id")
}

// prefersHTML reports whether an Accept header asks for HTML at least as
// much as for JSON. Only an explicit text/html (or XHTML) counts: browsers
// send it when navigating, while curl's */* and scripts' application/json
// get JSON. Quality values are honoured, the more specific media range
// winning as RFC 9110 says.
func prefersHTML(accept []string) bool {
	html, json := -1.0, -1.0
	wild := -1.0 // */* or application/*: counts for JSON only
	for _, field := range accept {
		for _, item := range strings.Split(field, ",") {
			mt, params, err := mime.ParseMediaType(strings.TrimSpace(item))
			if err != nil {
				continue
			}
			q := 1.0
			if v, ok := params["q"]; ok {
				if f, err := strconv.ParseFloat(v, 64); err == nil && f >= 0 && f <= 1 {
					q = f
				}
			}
			switch mt {
			case "text/html", "application/xhtml+xml":
				html = max(html, q)
			case "application/json", "application/problem+json":
				json = max(json, q)
			case "*/*", "application/*":
				wild = max(wild, q)
			}
		}
	}
	if json < 0 {
		json = wild
	}
	return html > 0 && html >= json
}
