package upstream

import (
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/netip"
	"strings"
)

// Phase is where a cluster's migration to SSL stands (SPEC section 6;
// Mesos docs/ssl.md: restart every member with SSL and downgrade, then
// every member without downgrade).
type Phase string

// The phases, in migration order.
const (
	// PhaseUnknown: no member is reachable, so nothing can be said.
	PhaseUnknown Phase = "unknown"
	// PhaseNotStarted: every member speaks plain HTTP only.
	PhaseNotStarted Phase = "not-started"
	// Phase1: SSL with downgrade is being enabled: some members still
	// speak plain HTTP only.
	Phase1 Phase = "phase-1"
	// Phase2: downgrade is being disabled: no member is plain-only, some
	// still accept plain HTTP.
	Phase2 Phase = "phase-2"
	// PhaseComplete: every member speaks TLS only.
	PhaseComplete Phase = "complete"
)

// Phases lists every Phase, for conversions that must cover them all.
func Phases() []Phase {
	return []Phase{PhaseUnknown, PhaseNotStarted, Phase1, Phase2, PhaseComplete}
}

// The settings each step restarts members with (libprocess's names).
const (
	enableWithDowngrade = "LIBPROCESS_SSL_ENABLED=true LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true LIBPROCESS_SSL_CERT_FILE=... LIBPROCESS_SSL_KEY_FILE=..."
	disableDowngrade    = "LIBPROCESS_SSL_SUPPORT_DOWNGRADE=false (keeping LIBPROCESS_SSL_ENABLED=true and the certificate)"
)

// maxNamed is how many members a step names before "and N more".
const maxNamed = 5

// assess works out the phase, the next steps and the problems from what
// every member speaks. Members not yet probed or unreachable do not count
// towards the phase; unreachable ones are a problem of their own.
func assess(members []*Member) (Phase, []string, []string) {
	by := map[Speaks][]*Member{}
	probed := 0
	for _, m := range members {
		if s := m.Speaks(); s != "" {
			by[s] = append(by[s], m)
			probed++
		}
	}
	plain, down, ssl, dead := by[PlainOnly], by[SSLDowngrade], by[SSLOnly], by[Unreachable]
	var steps, problems []string
	if len(dead) > 0 {
		problems = append(problems, fmt.Sprintf("%s unreachable: %s", countMembers(len(dead)), nameWithReasons(dead)))
		steps = append(steps, fmt.Sprintf("make %s reachable again (see the reasons); the phase counts only reachable members", nameMembers(dead)))
	}
	reachable := probed - len(dead)
	var phase Phase
	switch {
	case reachable == 0:
		phase = PhaseUnknown
	case len(plain) == reachable:
		phase = PhaseNotStarted
		steps = append(steps, fmt.Sprintf("phase 1: restart every member (%s) with %s; `mesosgate certs` makes one certificate covering every member",
			countMembers(len(plain)), enableWithDowngrade))
	case len(plain) > 0:
		phase = Phase1
		if len(ssl) > 0 {
			problems = append(problems, fmt.Sprintf("%s TLS only while %s plain HTTP only, and plain-only peers cannot reach %s",
				speakVerb(ssl), speakVerb(plain), themOrIt(len(ssl))))
			steps = append(steps, fmt.Sprintf("now: restart %s with LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true until no member speaks plain HTTP only", nameMembers(ssl)))
		}
		steps = append(steps, fmt.Sprintf("phase 1: restart %s with %s", nameMembers(plain), enableWithDowngrade))
		steps = append(steps, "then phase 2: restart every member with "+disableDowngrade)
	case len(down) > 0:
		phase = Phase2
		steps = append(steps, fmt.Sprintf("phase 2: restart %s with %s", nameMembers(down), disableDowngrade))
	default:
		phase = PhaseComplete
		if unverified := unverifiedMembers(ssl); len(unverified) > 0 {
			steps = append(steps, fmt.Sprintf("before members verify each other (LIBPROCESS_SSL_VERIFY_SERVER_CERT=true), fix the certificates of %s (see the warnings)", nameMembers(unverified)))
		} else {
			steps = append(steps, "the migration is done: every member speaks TLS only; members may now verify each other with LIBPROCESS_SSL_VERIFY_SERVER_CERT=true")
		}
	}
	return phase, steps, problems
}

func unverifiedMembers(ms []*Member) []*Member {
	var out []*Member
	for _, m := range ms {
		if m.Probe.Cert != nil && !m.Probe.Cert.Verified {
			out = append(out, m)
		}
	}
	return out
}

// nameMembers names up to maxNamed members, then says how many more.
func nameMembers(ms []*Member) string {
	names := make([]string, 0, maxNamed+1)
	for i, m := range ms {
		if i == maxNamed {
			names = append(names, fmt.Sprintf("%d more", len(ms)-maxNamed))
			break
		}
		names = append(names, memberName(m))
	}
	return joinAnd(names)
}

// nameWithReasons names members with why each is unreachable.
func nameWithReasons(ms []*Member) string {
	names := make([]string, 0, maxNamed+1)
	for i, m := range ms {
		if i == maxNamed {
			names = append(names, fmt.Sprintf("%d more", len(ms)-maxNamed))
			break
		}
		names = append(names, memberName(m)+" ("+m.Probe.Reason+")")
	}
	return joinAnd(names)
}

// memberName is how steps name a member: "agent <id> (<address>)",
// "leader <address>".
func memberName(m *Member) string {
	if m.Role == RoleAgent {
		return fmt.Sprintf("agent %s (%s)", m.ID, m.Address)
	}
	return fmt.Sprintf("%s %s", m.Role, m.Address)
}

func joinAnd(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1]
}

func countMembers(n int) string {
	if n == 1 {
		return "1 member"
	}
	return fmt.Sprintf("%d members", n)
}

// speakVerb says "agent x (a) speaks" or "3 members speak".
func speakVerb(ms []*Member) string {
	if len(ms) == 1 {
		return memberName(ms[0]) + " speaks"
	}
	if len(ms) <= maxNamed {
		return nameMembers(ms) + " speak"
	}
	return countMembers(len(ms)) + " (" + nameMembers(ms) + ") speak"
}

func themOrIt(n int) string {
	if n == 1 {
		return "it"
	}
	return "them"
}

// expiryWarningDays is how close to expiry a certificate gets a warning.
const expiryWarningDays = 30

// warnings lists what is worth an operator's attention about a member's
// TLS (SPEC section 6): an expiring certificate, a hostname or IP it does
// not cover, an untrusted chain, a short RSA key, TLS below 1.2.
func (c *Cluster) warnings(m *member, p *Probe, chain []*x509.Certificate) []string {
	if p.TLS == nil || p.Cert == nil || len(chain) == 0 {
		return nil
	}
	var w []string
	leaf, cert := chain[0], p.Cert
	switch {
	case cert.DaysLeft < 0 || c.cfg.Now().After(leaf.NotAfter):
		w = append(w, fmt.Sprintf("certificate expired on %s", leaf.NotAfter.Format("2006-01-02")))
	case cert.DaysLeft < expiryWarningDays:
		w = append(w, fmt.Sprintf("certificate expires in %d days (%s)", cert.DaysLeft, leaf.NotAfter.Format("2006-01-02")))
	}
	hostCovered := true
	if _, err := netip.ParseAddr(m.hostname); err != nil && m.hostname != "" {
		if leaf.VerifyHostname(m.hostname) != nil {
			hostCovered = false
			w = append(w, fmt.Sprintf("certificate does not cover hostname %s (it names %s)", m.hostname, namesOf(cert)))
		}
	}
	// The IP matters when peers check it (VERIFY_IPADD) or when it is the
	// only name the member has.
	if ip := m.ip; ip.IsValid() && (c.tls.Settings().VerifyIPAdd || m.hostname == "" || m.hostname == ip.String()) && leaf.VerifyHostname(ip.String()) != nil {
		w = append(w, fmt.Sprintf("certificate does not cover IP %s (it names %s)", ip, namesOf(cert)))
	}
	if !cert.Verified {
		if err := cert.trustErr; err != nil {
			w = append(w, "certificate chain is not trusted: "+err.Error())
		} else if hostCovered {
			w = append(w, "certificate does not verify: "+cert.VerifyError)
		}
	}
	if k, ok := leaf.PublicKey.(*rsa.PublicKey); ok && k.N.BitLen() < 2048 {
		w = append(w, fmt.Sprintf("RSA key of %d bits: use at least 2048", k.N.BitLen()))
	}
	if p.TLS.version < tls.VersionTLS12 {
		w = append(w, fmt.Sprintf("negotiated %s: enable TLS 1.2 on the member (LIBPROCESS_SSL_ENABLE_TLS_V1_2=true)", p.TLS.Version))
	}
	return w
}

func namesOf(cert *MemberCert) string {
	if len(cert.SANs) == 0 {
		return "no subject alternative names"
	}
	return strings.Join(cert.SANs, ", ")
}

// chainTrusted checks only that the chain leads to the configured roots,
// to tell an untrusted chain from a name mismatch.
func (c *Cluster) chainTrusted(chain []*x509.Certificate) error {
	inter := x509.NewCertPool()
	for _, cert := range chain[1:] {
		inter.AddCert(cert)
	}
	_, err := chain[0].Verify(x509.VerifyOptions{Roots: c.tls.Roots(), Intermediates: inter, CurrentTime: c.cfg.Now(),
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}})
	return err
}
