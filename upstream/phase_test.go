package upstream

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"math/big"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// TestPhases walks a cluster through the migration by restarting its
// members, as an operator would, and checks the phase and next steps
// after each step.
func TestPhases(t *testing.T) {
	sc := startSim(t, sim.Options{Masters: 2, Modes: []sim.Mode{sim.Plain, sim.Plain, sim.Plain}})
	c := newCluster(t, sc, Config{})
	discover(t, c)
	members := append([]*sim.Member{sc.Masters()[0].Member, sc.Masters()[1].Member}, agentsOf(sc)...)

	restart := func(t *testing.T, mode sim.Mode, ms ...*sim.Member) {
		t.Helper()
		for _, m := range ms {
			if err := m.Restart(mode); err != nil {
				t.Fatal(err)
			}
		}
		c.ProbeAll(context.Background())
	}
	check := func(t *testing.T, phase Phase, steps, problems []string) {
		t.Helper()
		s := c.Snapshot()
		if s.Phase != phase {
			t.Errorf("phase %s, want %s (steps %q)", s.Phase, phase, s.NextSteps)
		}
		for _, want := range steps {
			if !strings.Contains(strings.Join(s.NextSteps, "\n"), want) {
				t.Errorf("next steps lack %q:\n%s", want, strings.Join(s.NextSteps, "\n"))
			}
		}
		if len(s.Problems) != len(problems) {
			t.Errorf("problems %q, want %d", s.Problems, len(problems))
		}
		for _, want := range problems {
			if !strings.Contains(strings.Join(s.Problems, "\n"), want) {
				t.Errorf("problems lack %q: %q", want, s.Problems)
			}
		}
	}
	agent0 := "agent " + sc.Agents()[0].ID() + " (" + sc.Agents()[0].Addr() + ")"

	t.Run("not-started", func(t *testing.T) {
		check(t, PhaseNotStarted, []string{"restart every member (5 members) with LIBPROCESS_SSL_ENABLED=true LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true"}, nil)
	})
	t.Run("phase-1 with an ssl-only member is an error", func(t *testing.T) {
		restart(t, sim.SSL, members[2])
		check(t, Phase1, []string{"now: restart " + agent0 + " with LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true"},
			[]string{agent0 + " speaks TLS only while "})
	})
	t.Run("phase-1", func(t *testing.T) {
		restart(t, sim.Downgrade, members[0], members[2])
		s := c.Snapshot()
		if s.Leader.Speaks() != SSLDowngrade {
			t.Fatalf("leader speaks %s", s.Leader.Speaks())
		}
		check(t, Phase1, []string{"phase 1: restart standby " + sc.Masters()[1].HostPort()}, nil)
	})
	t.Run("phase-2", func(t *testing.T) {
		restart(t, sim.Downgrade, members[1], members[3], members[4])
		check(t, Phase2, []string{"phase 2: restart leader " + sc.Masters()[0].HostPort() + ", standby", " and agent " + sc.Agents()[2].ID() + " (" + sc.Agents()[2].Addr() + ") with LIBPROCESS_SSL_SUPPORT_DOWNGRADE=false"}, nil)
	})
	t.Run("complete", func(t *testing.T) {
		restart(t, sim.SSL, members...)
		check(t, PhaseComplete, []string{"the migration is done: every member speaks TLS only"}, nil)
	})
	t.Run("an unreachable member is named with its reason", func(t *testing.T) {
		if err := members[4].Stop(); err != nil {
			t.Fatal(err)
		}
		c.ProbeAll(context.Background())
		a := sc.Agents()[2]
		check(t, PhaseComplete, []string{"make agent " + a.ID() + " (" + a.Addr() + ") reachable again"},
			[]string{"1 member unreachable: agent " + a.ID() + " (" + a.Addr() + ") (connection refused)"})
		m := agentMember(t, c.Snapshot(), a.ID())
		if m.Probe.Reason != "connection refused" || m.Probe.TLSError != "connection refused" {
			t.Errorf("probe %+v", m.Probe)
		}
	})
}

func agentsOf(sc *sim.Cluster) []*sim.Member {
	var out []*sim.Member
	for _, a := range sc.Agents() {
		out = append(out, a.Member)
	}
	return out
}

// TestAssess covers the phase rules on members made up for the purpose.
func TestAssess(t *testing.T) {
	mk := func(speaks ...Speaks) []*Member {
		var ms []*Member
		for i, s := range speaks {
			p := &Probe{Speaks: s, Reason: map[bool]string{true: "timeout after 5s"}[s == Unreachable]}
			ms = append(ms, &Member{Role: RoleAgent, ID: string(rune('a' + i)), Address: "10.0.0.1:5051", Probe: p})
		}
		return ms
	}
	tests := []struct {
		name     string
		members  []*Member
		phase    Phase
		problems int
	}{
		{"nothing probed", []*Member{{Role: RoleLeader}}, PhaseUnknown, 0},
		{"all unreachable", mk(Unreachable, Unreachable), PhaseUnknown, 1},
		{"all plain", mk(PlainOnly, PlainOnly), PhaseNotStarted, 0},
		{"plain and downgrade", mk(PlainOnly, SSLDowngrade), Phase1, 0},
		{"plain and ssl", mk(PlainOnly, SSLOnly), Phase1, 1},
		{"downgrade and ssl", mk(SSLDowngrade, SSLOnly), Phase2, 0},
		{"all ssl", mk(SSLOnly, SSLOnly), PhaseComplete, 0},
		{"all ssl, one unreachable", mk(SSLOnly, Unreachable), PhaseComplete, 1},
		{"many plain: named up to five", mk(PlainOnly, PlainOnly, PlainOnly, PlainOnly, PlainOnly, PlainOnly, PlainOnly, SSLDowngrade), Phase1, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			phase, steps, problems := assess(tt.members)
			if phase != tt.phase || len(problems) != tt.problems {
				t.Errorf("phase %s, problems %q; want %s and %d problems", phase, problems, tt.phase, tt.problems)
			}
			if phase != PhaseUnknown && len(steps) == 0 {
				t.Errorf("no next steps")
			}
			if strings.Contains(strings.Join(steps, ""), "agent f ") || strings.Contains(tt.name, "many") && !strings.Contains(steps[0], "and 2 more") {
				t.Errorf("steps name too many members: %q", steps)
			}
		})
	}
}

// TestCertificateWarnings checks each warning of SPEC section 6 on
// certificates made for the purpose.
func TestCertificateWarnings(t *testing.T) {
	now := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	ca := testPKI.CA
	leaf := func(t *testing.T, key any, names []string, ips []net.IP, notAfter time.Time) []*x509.Certificate {
		t.Helper()
		tmpl := &x509.Certificate{
			SerialNumber: big.NewInt(7), Subject: pkix.Name{CommonName: "member"},
			NotBefore: now.Add(-time.Hour), NotAfter: notAfter, DNSNames: names, IPAddresses: ips,
			ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		}
		pub := key.(crypto.Signer).Public()
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
		if err != nil {
			t.Fatal(err)
		}
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatal(err)
		}
		return []*x509.Certificate{cert}
	}
	ecKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	smallRSA, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	sc := startSim(t, sim.Options{})
	c := newCluster(t, sc, Config{Now: func() time.Time { return now }})
	c.tls = newTLSAt(t, gatewayTLS(false), now)
	loopback := []net.IP{net.ParseIP("127.0.0.1")}
	tests := []struct {
		name    string
		chain   []*x509.Certificate
		version string
		want    []string
	}{
		{"good", leaf(t, ecKey, []string{"localhost"}, loopback, now.AddDate(1, 0, 0)), "TLS 1.2", nil},
		{"expiring", leaf(t, ecKey, []string{"localhost"}, loopback, now.AddDate(0, 0, 10)), "TLS 1.2", []string{"certificate expires in 10 days"}},
		{"expired", leaf(t, ecKey, []string{"localhost"}, loopback, now.AddDate(0, 0, -1)), "TLS 1.2", []string{"certificate expired on 2029-12-31", "certificate chain is not trusted: x509: certificate has expired"}},
		{"hostname not covered", leaf(t, ecKey, []string{"other.example.com"}, loopback, now.AddDate(1, 0, 0)), "TLS 1.2", []string{"does not cover hostname localhost (it names other.example.com, 127.0.0.1)"}},
		{"short RSA key", leaf(t, smallRSA, []string{"localhost"}, loopback, now.AddDate(1, 0, 0)), "TLS 1.2", []string{"RSA key of 1024 bits"}},
		{"old TLS", leaf(t, ecKey, []string{"localhost"}, loopback, now.AddDate(1, 0, 0)), "TLS 1.0", []string{"negotiated TLS 1.0"}},
	}
	m := &member{addr: "127.0.0.1:5051", hostname: "localhost", ip: netip.MustParseAddr("127.0.0.1")}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := &Probe{TLS: &TLSInfo{Version: tt.version, version: map[string]uint16{"TLS 1.2": 0x0303, "TLS 1.0": 0x0301}[tt.version]}}
			p.Cert = c.certInfo(tt.chain, m.hostname, m.ip)
			got := c.warnings(m, p, tt.chain)
			if len(got) != len(tt.want) {
				t.Fatalf("warnings %q, want %q", got, tt.want)
			}
			for i, want := range tt.want {
				if !strings.Contains(got[i], want) {
					t.Errorf("warning %q, want %q", got[i], want)
				}
			}
		})
	}
	t.Run("IP not covered, with VERIFY_IPADD", func(t *testing.T) {
		s := gatewayTLS(false)
		s.VerifyIPAdd = true
		c.tls = newTLSAt(t, s, now)
		chain := leaf(t, ecKey, []string{"localhost"}, nil, now.AddDate(1, 0, 0))
		p := &Probe{TLS: &TLSInfo{version: 0x0303}, Cert: c.certInfo(chain, m.hostname, m.ip)}
		if got := c.warnings(m, p, chain); len(got) != 1 || !strings.Contains(got[0], "does not cover IP 127.0.0.1") {
			t.Errorf("warnings %q", got)
		}
	})
}
