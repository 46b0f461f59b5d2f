package server

import (
	"net/http"
	"strings"

	"github.com/mesosgate/mesosgate/rewrite"
	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/web"
)

// This file turns upstream's snapshot into web's view of the dashboard
// (web imports no other package of mesosgate).

// dashboard is web.Options.Data: the cluster at a glance, now.
func (g *Gateway) dashboard(*http.Request) web.Dashboard {
	s := g.opts.Cluster.Snapshot()
	d := web.Dashboard{
		Now:   g.opts.Now(),
		Phase: phaseOf(s),
		Links: web.LinksProxy,
		Staleness: web.Staleness{
			UpdatedAt:     s.Updated,
			Age:           s.Age,
			HardLimit:     g.staleLimit,
			PastSoftLimit: s.Stale,
			PastHardLimit: s.Expired,
			Error:         s.Error,
		},
	}
	if g.opts.Links == rewrite.Direct {
		d.Links = web.LinksDirect
	}
	for _, step := range s.NextSteps {
		d.NextSteps = append(d.NextSteps, web.Step{Text: step})
	}
	for _, p := range s.Problems {
		d.Problems = append(d.Problems, web.Alert{Severity: web.SeverityError, Text: p})
	}
	if s.Leader == nil && !s.Updated.IsZero() {
		d.Problems = append(d.Problems, web.Alert{Severity: web.SeverityError, Text: "No master is leading the cluster.",
			Action: "A leader election usually takes seconds; if it lasts, check the masters and their ZooKeeper quorum."})
	}
	for _, m := range s.Members() {
		d.Members = append(d.Members, g.memberView(m))
	}
	paths := frameworkPaths(g.opts.Cluster, s)
	for _, f := range s.Frameworks {
		v := web.Framework{Name: f.Name, ID: f.ID, WebUIURL: f.WebUIURL}
		if p := paths[f.ID]; p != "" {
			v.URL = p + "/"
		}
		d.Frameworks = append(d.Frameworks, v)
	}
	if g.opts.Dashboard != nil {
		g.opts.Dashboard(&d)
	}
	return d
}

// phaseOf maps upstream's phase; "unknown" (nothing reachable yet) shows
// as discovery not finished.
func phaseOf(s *upstream.Snapshot) web.Phase {
	if s.Phase == upstream.PhaseUnknown {
		return web.PhaseUnknown
	}
	return web.Phase(s.Phase)
}

// memberView is one member's row.
func (g *Gateway) memberView(m *upstream.Member) web.Member {
	v := web.Member{
		Role:     web.Role(m.Role),
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
	v.Speaks = web.Speaks(p.Speaks)
	v.LastProbe = p.At
	v.Warnings = p.Warnings
	if p.TLS != nil {
		v.TLS = &web.TLS{Version: p.TLS.Version, Cipher: p.TLS.Cipher}
		v.ClientCertRequired = p.TLS.ClientCertRequested
	}
	if c := p.Cert; c != nil {
		v.Cert = &web.Cert{Subject: c.Subject, Issuer: c.Issuer, Names: c.SANs, NotAfter: c.NotAfter, Verified: c.Verified, VerifyError: c.VerifyError}
	}
	var errs []string
	if p.TLSError != "" && !p.Speaks.TLS() && !(p.Speaks == upstream.PlainOnly && p.NoSSL()) {
		errs = append(errs, "tls: "+p.TLSError)
	}
	if p.PlainError != "" && !p.Speaks.Plain() && p.Speaks != upstream.SSLOnly {
		errs = append(errs, "plain: "+p.PlainError)
	}
	if p.Speaks == upstream.Unreachable && p.Reason != "" && len(errs) == 0 {
		errs = append(errs, p.Reason)
	}
	v.ProbeError = strings.Join(errs, "; ")
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
	return masterPath(m) + "/"
}
