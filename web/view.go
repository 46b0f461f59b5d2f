package web

import (
	"fmt"
	"time"
)

// The view types below are what the dashboard shows. They are plain data:
// server fills them from upstream's snapshot on every request (web imports
// no other package of mesosgate), and web decides only how they look. Every
// field's zero value is valid and says what it means.

// Dashboard is the cluster at a glance, as of one moment.
type Dashboard struct {
	// Now is the moment the view was taken; ages ("12 s ago") and days left
	// are counted from it. Zero means the time of rendering.
	Now time.Time
	// Phase is where the migration stands (SPEC section 6). Zero means
	// discovery has not finished yet.
	Phase Phase
	// NextSteps are what the operator should do next, in order, as upstream
	// computed them from the phase. Nil shows no steps.
	NextSteps []Step
	// Problems are cluster-wide findings that need attention, such as a
	// member that speaks ssl-only while others still speak plain-only, or no
	// elected leader. Nil shows none.
	Problems []Alert
	// Members are the masters and agents, in the order to show them
	// (leader, standbys, agents is the natural one).
	Members []Member
	// Frameworks are the framework UIs discovery found.
	Frameworks []Framework
	// Staleness says how old the cluster map is.
	Staleness Staleness
	// Gateway describes the certificate the gateway presents to browsers.
	// A zero value (no Subject and no NotAfter) means the front speaks plain
	// HTTP, and the section says so.
	Gateway GatewayCert
	// Links is how links to members are built; zero means LinksProxy.
	Links LinksMode
	// Version is the gateway's version for the footer; empty shows none.
	Version string
	// Viewer is who is looking at the page, and what they may do; the
	// zero value shows nothing.
	Viewer Viewer
	// OwnOrigins says framework UIs are served on origins of their own
	// (--service-domain); false: under /service/ on the gateway's, which
	// the dashboard says suits only frameworks you trust.
	OwnOrigins bool
}

// Viewer is the person looking at a gateway page, as access control saw
// them.
type Viewer struct {
	// Name is who signed in ("alice@example.com"), or "" when nobody did.
	Name string
	// Role is the role they have ("viewer", "operator"); "" shows none.
	Role string
	// SignOut is the path a POST to signs out; "" offers no sign-out.
	SignOut string
	// ReadOnly says that writes are refused to everyone (a gateway
	// without authentication nor --allow-writes).
	ReadOnly bool
}

// Phase is where the whole cluster stands in the SSL migration, as upstream
// decides it from every member's probe (SPEC section 6).
type Phase string

// The phases of the migration. The Mesos SSL guide's upgrade runs in two
// rounds of restarts: first every member with SSL and downgrade support,
// then every member without downgrade.
const (
	// PhaseUnknown: discovery has not finished, so there is nothing to
	// judge yet.
	PhaseUnknown Phase = ""
	// PhaseNotStarted: every member speaks plain-only.
	PhaseNotStarted Phase = "not-started"
	// PhaseOne: some members still speak plain-only; they are to be
	// restarted with SSL and downgrade support.
	PhaseOne Phase = "phase-1"
	// PhaseTwo: no member speaks plain-only any more, some still accept
	// plain connections (ssl-downgrade); they are to be restarted without
	// downgrade.
	PhaseTwo Phase = "phase-2"
	// PhaseComplete: every member speaks ssl-only.
	PhaseComplete Phase = "complete"
)

// Title is the phase's heading on the dashboard.
func (p Phase) Title() string {
	switch p {
	case PhaseUnknown:
		return "Waiting for the cluster"
	case PhaseNotStarted:
		return "SSL migration not started"
	case PhaseOne:
		return "Phase 1 of 2: enable SSL with downgrade"
	case PhaseTwo:
		return "Phase 2 of 2: turn downgrade off"
	case PhaseComplete:
		return "SSL migration complete"
	}
	return fmt.Sprintf("Unknown phase %q", string(p))
}

// Explanation says in two or three sentences what the phase means for the
// cluster and what the round of restarts it belongs to achieves.
func (p Phase) Explanation() string {
	switch p {
	case PhaseUnknown:
		return "The gateway has not finished discovering the cluster's masters and agents yet. " +
			"This page fills in as soon as the first discovery and probe sweep are done."
	case PhaseNotStarted:
		return "Every member speaks plain HTTP only: nothing between masters, agents and frameworks is encrypted. " +
			"To start, restart the members one at a time, in any order, with SSL enabled and downgrade support on; " +
			"each keeps accepting plain connections from the members not yet restarted."
	case PhaseOne:
		return "Some members speak TLS and still accept plain connections; the rest speak plain HTTP only. " +
			"Restart each remaining plain-only member with SSL enabled and downgrade support on, at your own pace. " +
			"Do not turn downgrade off anywhere yet: plain-only members could no longer reach that member."
	case PhaseTwo:
		return "Every member speaks TLS; some still accept plain connections too (downgrade). " +
			"Restart each of them with downgrade support off, so that they refuse unencrypted connections. " +
			"Tools that talk to the cluster must speak TLS from then on."
	case PhaseComplete:
		return "Every member speaks TLS only and refuses plain connections. " +
			"The cluster's traffic is encrypted; keep an eye on certificate expiry and the warnings below."
	}
	return "The gateway reported a phase this page does not know. See the members below for what each one speaks."
}

// Index is the phase's position on the migration's track: 0 not started,
// 1 phase 1, 2 phase 2, 3 complete, -1 unknown.
func (p Phase) Index() int {
	switch p {
	case PhaseNotStarted:
		return 0
	case PhaseOne:
		return 1
	case PhaseTwo:
		return 2
	case PhaseComplete:
		return 3
	}
	return -1
}

// Step is one thing the operator should do next: usually "restart these
// members with these settings".
type Step struct {
	// Text says what to do in one sentence, e.g. "Restart these agents with
	// SSL enabled and downgrade support on."
	Text string
	// Members are the members the step is about; nil names none.
	Members []Ref
	// Settings are the environment to restart them with, in order
	// (LIBPROCESS_SSL_ENABLED=true, ...); nil shows no settings block.
	Settings []Setting
}

// Ref names a member from a step or an alert; the dashboard links it to the
// member's row.
type Ref struct {
	// Role is the member's role; zero shows none.
	Role Role
	// ID is the master or agent id; empty shows the address only.
	ID string
	// Address is the member's host:port, the key that finds its row.
	Address string
}

// Setting is one environment variable assignment, shown as NAME=value.
type Setting struct {
	Name  string
	Value string
}

// String returns the assignment as a shell would take it.
func (s Setting) String() string { return s.Name + "=" + s.Value }

// Alert is a cluster-wide finding, shown above the next steps.
type Alert struct {
	// Severity is how bad it is; zero means SeverityWarning.
	Severity Severity
	// Text says what is wrong.
	Text string
	// Action says what to do about it; empty shows none.
	Action string
	// Members are the members concerned; nil names none.
	Members []Ref
}

// Severity ranks an Alert.
type Severity string

// Severities of alerts.
const (
	SeverityError   Severity = "error"
	SeverityWarning Severity = "warning"
	SeverityInfo    Severity = "info"
)

// Role is a member's role in the cluster.
type Role string

// Roles of members.
const (
	RoleLeader  Role = "leader"
	RoleStandby Role = "standby"
	RoleAgent   Role = "agent"
	// RoleFrameworkUI names a framework's web UI in problems.
	RoleFrameworkUI Role = "framework UI"
)

// Speaks is what a member accepts, found by probing (SPEC section 1).
type Speaks string

// What a member speaks.
const (
	// SpeaksUnknown: not probed yet.
	SpeaksUnknown      Speaks = ""
	SpeaksSSLOnly      Speaks = "ssl-only"
	SpeaksSSLDowngrade Speaks = "ssl-downgrade"
	SpeaksPlainOnly    Speaks = "plain-only"
	SpeaksUnreachable  Speaks = "unreachable"
)

// Label is the badge's text: the same words `mesosgate probe` prints.
func (s Speaks) Label() string {
	if s == SpeaksUnknown {
		return "not probed"
	}
	return string(s)
}

// Meaning explains the badge in a sentence (its tooltip and the text for
// screen readers).
func (s Speaks) Meaning() string {
	switch s {
	case SpeaksUnknown:
		return "Not probed yet."
	case SpeaksSSLOnly:
		return "Accepts TLS only; plain connections are refused."
	case SpeaksSSLDowngrade:
		return "Accepts TLS and, on the same port, plain connections (SSL with downgrade)."
	case SpeaksPlainOnly:
		return "Accepts plain HTTP only; no TLS."
	case SpeaksUnreachable:
		return "Answered neither TLS nor plain HTTP at the last probe."
	}
	return "Unknown probe result."
}

// Member is one master or agent as the last probe saw it.
type Member struct {
	// Role is leader, standby or agent.
	Role Role
	// ID is the master's or agent's id; empty when unknown (a configured
	// master that never answered).
	ID string
	// Address is the host:port the gateway connects to.
	Address string
	// Hostname is the name the member's certificate is checked against;
	// empty when it is the address's host.
	Hostname string
	// Speaks is what the member accepts.
	Speaks Speaks
	// TLS is the negotiated connection; nil when no TLS handshake completed.
	TLS *TLS
	// Cert is the certificate the member presented; nil when none was seen.
	Cert *Cert
	// ClientCertRequired reports that the member demanded a client
	// certificate during the handshake (LIBPROCESS_SSL_REQUIRE_CLIENT_CERT).
	ClientCertRequired bool
	// Warnings are the member's findings, one sentence each: certificate
	// expiring within 30 days, hostname or IP not covered, untrusted chain,
	// RSA key under 2048 bits, TLS below 1.2, ssl-only too early.
	Warnings []string
	// LastProbe is when the member was last probed; zero means never.
	LastProbe time.Time
	// ProbeError is why the last probe failed on one or both schemes
	// ("tls: connection refused; plain: timeout"); empty when it did not.
	ProbeError string
	// BrowseURL is where to browse the member: its gateway path in proxy
	// mode, the member's own URL in direct mode. Empty shows no link.
	BrowseURL string
}

// TLS is the outcome of a completed handshake with a member.
type TLS struct {
	// Version is the protocol version as people write it ("TLS 1.2").
	Version string
	// Cipher is the negotiated suite's name; empty shows none.
	Cipher string
}

// Cert is what a member's certificate says.
type Cert struct {
	// Subject and Issuer are distinguished names as text.
	Subject string
	Issuer  string
	// Names are the subject alternative names (DNS names and IPs).
	Names []string
	// NotAfter is when the certificate expires.
	NotAfter time.Time
	// Verified reports that the chain verified against the gateway's roots,
	// depth and hostname rules.
	Verified bool
	// VerifyError is why verification failed; empty when Verified or when
	// verification was not attempted.
	VerifyError string
}

// DaysLeft is the number of whole days from now until the certificate
// expires; negative once it has.
func (c Cert) DaysLeft(now time.Time) int {
	return daysUntil(now, c.NotAfter)
}

// daysUntil counts whole days from now to t, rounding toward minus
// infinity so that a certificate expiring in 3 hours has 0 days left and
// one that expired an hour ago has -1.
func daysUntil(now, t time.Time) int {
	d := t.Sub(now)
	days := int(d / (24 * time.Hour))
	if d < 0 && d%(24*time.Hour) != 0 {
		days--
	}
	return days
}

// Framework is a framework's web UI.
type Framework struct {
	// Name is the name the framework registered with (names may repeat).
	Name string
	// ID is the framework id.
	ID string
	// URL is the gateway link to its UI (/service/{name}/ or
	// /framework/{id}/); empty shows no link.
	URL string
	// WebUIURL is the webui_url the framework registered; empty when it
	// registered none.
	WebUIURL string
	// Host is the UI's own host name (--service-domain), "" when it is
	// served under the gateway's origin.
	Host string
}

// Staleness says how old the cluster map is and whether the gateway still
// trusts it.
type Staleness struct {
	// UpdatedAt is when discovery last succeeded; zero means never.
	UpdatedAt time.Time
	// Age is how long ago that was.
	Age time.Duration
	// SoftLimit and HardLimit are the configured limits; zero shows none.
	SoftLimit, HardLimit time.Duration
	// PastSoftLimit reports that the map is stale: the gateway keeps
	// serving it, with a warning.
	PastSoftLimit bool
	// PastHardLimit reports that the map is too old to use: routes to
	// members answer 503.
	PastHardLimit bool
	// Error is why the last discovery failed; empty when it did not.
	Error string
}

// GatewayCert is the certificate the gateway presents to browsers.
type GatewayCert struct {
	// Subject and Issuer are distinguished names as text.
	Subject string
	Issuer  string
	// Names are the subject alternative names browsers check.
	Names []string
	// NotAfter is when the certificate expires.
	NotAfter time.Time
	// Source is where it comes from: "files", "internal" (the gateway's own
	// CA) or "acme"; empty shows none.
	Source string
}

// Present reports whether there is a certificate to show: false when the
// gateway's front speaks plain HTTP.
func (g GatewayCert) Present() bool { return g.Subject != "" || !g.NotAfter.IsZero() }

// LinksMode is how the gateway builds links to members (--links).
type LinksMode string

// Link modes.
const (
	// LinksProxy: every member is browsed through the gateway (the default).
	LinksProxy LinksMode = "proxy"
	// LinksDirect: links point at the members themselves, with the scheme
	// each speaks.
	LinksDirect LinksMode = "direct"
)
