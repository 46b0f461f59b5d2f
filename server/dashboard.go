package server

import (
	"net/http"
	"strings"
	"time"

	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/rewrite"
	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/web"
)

// This file turns upstream's snapshot into web's view of the dashboard
// (web imports no other package of mesosgate).

// dashboard is web.Options.Data: the cluster at a glance, now.
func (g *Gateway) dashboard(r *http.Request) web.Dashboard {
	s := g.opts.Cluster.Snapshot()
	d := web.Dashboard{
		Now:   g.opts.Now(),
		Phase: webPhase(s.Phase),
		Links: webLinks(g.opts.Links),
		Staleness: web.Staleness{
			UpdatedAt:     s.Updated,
			Age:           s.Age,
			SoftLimit:     s.SoftLimit,
			HardLimit:     s.HardLimit,
			PastSoftLimit: s.Stale,
			PastHardLimit: s.Expired,
			Error:         s.Error,
		},
	}
	for _, step := range s.NextSteps {
		d.NextSteps = append(d.NextSteps, web.Step{Text: step})
	}
	for _, p := range s.Problems {
		d.Problems = append(d.Problems, web.Alert{Severity: web.SeverityError, Text: p})
	}
	d.Problems = append(d.Problems, zkAlerts(s.ZooKeeper)...)
	if s.Leader == nil && !s.Updated.IsZero() {
		d.Problems = append(d.Problems, web.Alert{Severity: web.SeverityError, Text: "No master is leading the cluster.",
			Action: "A leader election usually takes seconds; if it lasts, check the masters and their ZooKeeper quorum."})
	}
	for _, m := range s.Members() {
		d.Members = append(d.Members, g.memberView(m))
	}
	for _, f := range s.Frameworks {
		v := web.Framework{Name: f.Name, ID: f.ID, WebUIURL: f.WebUIURL}
		switch {
		case f.Host != "" && g.opts.ServiceDomain != "":
			v.URL, v.Host = g.serviceOrigin(f.Host)+"/", f.Host
		case f.Prefix != "":
			v.URL = f.Prefix + "/"
		}
		d.Frameworks = append(d.Frameworks, v)
	}
	d.Viewer = g.viewer(requestOf(r))
	d.OwnOrigins = g.opts.ServiceDomain != ""
	if g.opts.Dashboard != nil {
		g.opts.Dashboard(&d)
	}
	return d
}

// zkAlerts say what is wrong with the masters' ZooKeeper group: it cannot
// be read (the masters shown are the last read), or children of it are
// not masters' znodes.
func zkAlerts(z *upstream.ZooKeeperStatus) []web.Alert {
	if z == nil {
		return nil
	}
	var out []web.Alert
	if z.Error != "" {
		text := "The masters' ZooKeeper group cannot be read: " + z.Error
		if z.Since != nil {
			text += " (since " + z.Since.UTC().Format(time.TimeOnly) + " UTC)"
		}
		out = append(out, web.Alert{Severity: web.SeverityError, Text: text,
			Action: "The gateway keeps the masters it read last and asks them directly; the map keeps serving until its hard staleness limit. Check that ZooKeeper runs, that the gateway reaches it and the credentials of " + z.URL + "."})
	}
	for _, s := range z.Skipped {
		out = append(out, web.Alert{Severity: web.SeverityWarning, Text: "A child of the masters' ZooKeeper group is not a master's: " + s,
			Action: "Remove it from ZooKeeper: when it is the lowest, no master is known to lead (Mesos's own detector fails on it too)."})
	}
	return out
}

// memberView is one member's row.
func (g *Gateway) memberView(m *upstream.Member) web.Member {
	v := web.Member{
		Role:     webRole(m.Role),
		ID:       m.ID,
		Address:  m.Address,
		Hostname: m.Hostname,
	}
	if host, _, ok := strings.Cut(m.Address, ":"); ok && host == m.Hostname {
		v.Hostname = ""
	}
	v.BrowseURL = g.browseURL(m)
	p := m.Probe
	if p == nil {
		return v
	}
	v.Speaks = webSpeaks(p.Speaks)
	v.LastProbe = p.At
	v.Warnings = p.Warnings
	if p.TLS != nil {
		v.TLS = &web.TLS{Version: p.TLS.Version, Cipher: p.TLS.Cipher}
		v.ClientCertRequired = p.TLS.ClientCertRequested
	}
	if c := p.Cert; c != nil {
		v.Cert = &web.Cert{Subject: c.Subject, Issuer: c.Issuer, Names: c.SANs, NotAfter: c.NotAfter, Verified: c.Verified, VerifyError: c.VerifyError}
	}
	v.ProbeError = p.Problem()
	return v
}

// browseURL is where the dashboard links a member: through the gateway,
// or in direct mode to the member itself. An agent is shown in the
// leader's WebUI (agents serve no page of their own at "/").
func (g *Gateway) browseURL(m *upstream.Member) string {
	switch m.Role {
	case upstream.RoleLeader:
		return "/"
	case upstream.RoleAgent:
		return "/#/agents/" + m.ID
	}
	if g.opts.Links == rewrite.Direct {
		if s := m.Scheme(); s != "" {
			return s + "://" + m.HostPort() + "/"
		}
	}
	return m.Prefix + "/"
}

// The conversions below map upstream's and rewrite's vocabulary onto web's
// (web imports no other package of mesosgate). Each is an explicit switch,
// tested over every value, so a renamed or added value cannot slip
// through as a string cast would.

// webRole maps a member's role.
func webRole(r upstream.Role) web.Role {
	switch r {
	case upstream.RoleLeader:
		return web.RoleLeader
	case upstream.RoleStandby:
		return web.RoleStandby
	case upstream.RoleAgent:
		return web.RoleAgent
	}
	return ""
}

// webSpeaks maps what a member speaks; "" (not probed) stays unknown.
func webSpeaks(s upstream.Speaks) web.Speaks {
	switch s {
	case upstream.SSLOnly:
		return web.SpeaksSSLOnly
	case upstream.SSLDowngrade:
		return web.SpeaksSSLDowngrade
	case upstream.PlainOnly:
		return web.SpeaksPlainOnly
	case upstream.Unreachable:
		return web.SpeaksUnreachable
	}
	return web.SpeaksUnknown
}

// webPhase maps the migration's phase; "unknown" (nothing reachable yet)
// shows as discovery not finished.
func webPhase(p upstream.Phase) web.Phase {
	switch p {
	case upstream.PhaseNotStarted:
		return web.PhaseNotStarted
	case upstream.Phase1:
		return web.PhaseOne
	case upstream.Phase2:
		return web.PhaseTwo
	case upstream.PhaseComplete:
		return web.PhaseComplete
	}
	return web.PhaseUnknown
}

// webLinks maps the link mode.
func webLinks(m rewrite.Mode) web.LinksMode {
	if m == rewrite.Direct {
		return web.LinksDirect
	}
	return web.LinksProxy
}

// viewer says who looks at a page, as access control saw them.
func (g *Gateway) viewer(q *request) web.Viewer {
	v := web.Viewer{Role: q.role.String(), ReadOnly: g.access.ReadOnly()}
	if q.who.Kind != access.Anonymous {
		v.Name = q.who.Label()
	}
	if q.who.Kind == access.Session {
		v.SignOut = g.access.SignOutPath()
	}
	return v
}
