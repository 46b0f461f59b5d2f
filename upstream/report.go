package upstream

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
	"time"
)

// Report is the cluster as `mesosgate probe --json` prints it and
// /gateway/api/cluster serves it (SPEC section 3): the phase, the next
// steps and every member with what probing found.
type Report struct {
	Phase     Phase    `json:"phase"`
	NextSteps []string `json:"next_steps"`
	// Problems are what is wrong now (SPEC section 6: an ssl-only member
	// while others still speak plain only; unreachable members).
	Problems []string       `json:"problems"`
	Members  []ReportMember `json:"members"`
	// Frameworks are the frameworks and their web UIs.
	Frameworks []ReportFramework `json:"frameworks"`

	// Leader is the leader's address, "" when none leads.
	Leader string `json:"leader"`
	// Generation is the Snapshot's.
	Generation uint64 `json:"generation"`
	// MapAgeSeconds is how long ago the masters confirmed the map; Stale
	// is whether that is past the soft limit.
	MapAgeSeconds float64 `json:"map_age_seconds"`
	Stale         bool    `json:"stale"`
	// DiscoveryError is the latest discovery's error, "" when it worked.
	DiscoveryError string `json:"discovery_error,omitempty"`
	// ZooKeeper is how the masters' ZooKeeper group reads, absent when
	// the masters were given as addresses.
	ZooKeeper *ZooKeeperStatus `json:"zookeeper,omitempty"`
}

// ReportMember is one master or agent.
type ReportMember struct {
	Role     Role   `json:"role"`
	ID       string `json:"id"`
	Address  string `json:"address"`
	Hostname string `json:"hostname"`
	// Speaks is "" for a member not probed yet.
	Speaks Speaks      `json:"speaks"`
	TLS    *TLSInfo    `json:"tls"`
	Cert   *MemberCert `json:"cert"`
	// Error says what is wrong with the member (Probe.Problem), "" when
	// nothing is.
	Error string `json:"error"`
	// TLSError and PlainError say why each half of the probe failed
	// (the plain half fails on an ssl-only member, as it should).
	TLSError   string `json:"tls_error,omitempty"`
	PlainError string `json:"plain_error,omitempty"`
	// Plain is the status line plain HTTP got.
	Plain string `json:"plain,omitempty"`
	// ClientCertRequested is whether the member asked for a client
	// certificate, also when the handshake failed for want of one.
	ClientCertRequested bool `json:"client_cert_requested"`
	// Active is the master's view of an agent.
	Active   bool     `json:"active"`
	Warnings []string `json:"warnings"`
	// ProbedAt and ProbeMillis are when the latest probe ran and how long
	// it took.
	ProbedAt    *time.Time `json:"probed_at"`
	ProbeMillis float64    `json:"probe_ms"`
}

// ReportFramework is one framework.
type ReportFramework struct {
	ID       string `json:"id"`
	Name     string `json:"name"`
	WebUIURL string `json:"webui_url"`
	Active   bool   `json:"active"`
}

// Report returns the current map as a Report.
func (c *Cluster) Report() *Report {
	s := c.Snapshot()
	r := &Report{
		Phase: s.Phase, NextSteps: orEmpty(s.NextSteps), Problems: orEmpty(s.Problems),
		Generation: s.Generation, MapAgeSeconds: s.Age.Seconds(), Stale: s.Stale, DiscoveryError: s.Error, ZooKeeper: s.ZooKeeper,
		Members: []ReportMember{}, Frameworks: []ReportFramework{},
	}
	if s.Leader != nil {
		r.Leader = s.Leader.Address
	}
	c.mu.RLock()
	masters := map[string]string{} // address -> configured scheme
	for _, ms := range c.masters {
		masters[ms.m.addr] = ms.scheme
	}
	c.mu.RUnlock()
	for _, m := range s.Members() {
		r.Members = append(r.Members, reportMember(m, masters[m.Address]))
	}
	for _, f := range s.Frameworks {
		r.Frameworks = append(r.Frameworks, ReportFramework{ID: f.ID, Name: f.Name, WebUIURL: f.WebUIURL, Active: f.Active})
	}
	return r
}

func reportMember(m *Member, configuredScheme string) ReportMember {
	rm := ReportMember{Role: m.Role, ID: m.ID, Address: m.Address, Hostname: m.Hostname, Active: m.Active, Warnings: []string{}}
	p := m.Probe
	if p == nil {
		rm.Error = "not probed yet"
		return rm
	}
	at := p.At
	rm.Speaks, rm.TLS, rm.Cert, rm.Error = p.Speaks, p.TLS, p.Cert, p.Problem()
	rm.TLSError, rm.PlainError, rm.Plain, rm.ClientCertRequested = p.TLSError, p.PlainError, p.Plain, p.ClientCertRequested
	rm.ProbedAt, rm.ProbeMillis = &at, float64(p.Duration.Microseconds())/1000
	rm.Warnings = append(rm.Warnings, p.Warnings...)
	switch {
	case configuredScheme == "https" && p.Speaks == PlainOnly:
		rm.Warnings = append(rm.Warnings, "configured as https:// but speaks plain HTTP only; reached over plain HTTP")
	case configuredScheme == "http" && p.Speaks == SSLOnly:
		rm.Warnings = append(rm.Warnings, "configured as http:// but speaks TLS only; reached over TLS")
	}
	return rm
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// Reachable reports whether every member was probed and is reachable:
// `mesosgate probe` exits 0 then.
func (r *Report) Reachable() bool {
	if len(r.Members) == 0 {
		return false
	}
	for _, m := range r.Members {
		if m.Speaks == "" || m.Speaks == Unreachable {
			return false
		}
	}
	return true
}

// WriteText writes the report for people: a table of the members (role,
// id, address, hostname, speaks, TLS version and cipher, certificate
// subject, SANs, issuer, expiry, verification, error), then the phase,
// the problems, the next steps and every member's warnings.
func (r *Report) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "ROLE\tID\tADDRESS\tHOSTNAME\tSPEAKS\tTLS\tCIPHER\tSUBJECT\tSANS\tISSUER\tEXPIRES\tVERIFIED\tERROR")
	for _, m := range r.Members {
		tlsVersion, cipher := "-", "-"
		if m.TLS != nil {
			tlsVersion, cipher = m.TLS.Version, m.TLS.Cipher
		}
		subject, names, issuer, expires, verified := "-", "-", "-", "-", "-"
		if c := m.Cert; c != nil {
			subject, names, issuer = c.Subject, strings.Join(c.SANs, ","), c.Issuer
			expires = fmt.Sprintf("%s (%dd)", c.NotAfter.Format("2006-01-02"), c.DaysLeft)
			verified = "yes"
			if !c.Verified {
				verified = "no"
			}
		}
		speaks := string(m.Speaks)
		if speaks == "" {
			speaks = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n", m.Role, dash(m.ID), m.Address, dash(m.Hostname),
			speaks, tlsVersion, cipher, dash(subject), dash(names), dash(issuer), expires, verified, dash(oneLine(m.Error)))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := io.WriteString(w, r.summary())
	return err
}

// summary is what follows the table: the phase, the problems, the next
// steps and every member's warnings.
func (r *Report) summary() string {
	var b strings.Builder
	fmt.Fprintf(&b, "\nphase: %s\n", r.Phase)
	if r.DiscoveryError != "" {
		fmt.Fprintf(&b, "discovery: %s\n", oneLine(r.DiscoveryError))
	}
	if z := r.ZooKeeper; z != nil {
		fmt.Fprintf(&b, "zookeeper: %s\n", z.URL)
		if z.Error != "" {
			fmt.Fprintf(&b, "  error: %s\n", oneLine(z.Error))
		}
		for _, s := range z.Skipped {
			fmt.Fprintf(&b, "  skipped %s\n", oneLine(s))
		}
	}
	if len(r.Problems) > 0 {
		b.WriteString("problems:\n")
		for _, p := range r.Problems {
			fmt.Fprintf(&b, "  - %s\n", p)
		}
	}
	b.WriteString("next steps:\n")
	for i, s := range r.NextSteps {
		fmt.Fprintf(&b, "  %d. %s\n", i+1, s)
	}
	header := false
	for _, m := range r.Members {
		for _, warning := range m.Warnings {
			if !header {
				b.WriteString("warnings:\n")
				header = true
			}
			fmt.Fprintf(&b, "  %s %s: %s\n", m.Role, m.Address, warning)
		}
		if m.Cert != nil && !m.Cert.Verified && len(m.Warnings) == 0 {
			if !header {
				b.WriteString("warnings:\n")
				header = true
			}
			fmt.Fprintf(&b, "  %s %s: certificate does not verify: %s\n", m.Role, m.Address, m.Cert.VerifyError)
		}
	}
	return b.String()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// oneLine keeps a table cell on one line.
func oneLine(s string) string {
	return strings.Join(strings.Fields(s), " ")
}
