package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/tlsx"
)

// fakeClock is a Config.Now that tests move by hand.
type fakeClock struct{ ns atomic.Int64 }

func newFakeClock() *fakeClock {
	c := &fakeClock{}
	c.ns.Store(time.Now().UnixNano())
	return c
}

func (c *fakeClock) Now() time.Time          { return time.Unix(0, c.ns.Load()) }
func (c *fakeClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

// TestProbeResumesSession: the second sweep resumes every TLS member's
// session, with the same certificate, verification and client-certificate
// facts as the full handshake, and without verifying the chains again;
// once ProbeFullHandshake has passed, a probe makes a full handshake
// again. Members speak TLS 1.2 with RSA key exchange (stock), TLS 1.3,
// and demand client certificates in both.
func TestProbeResumesSession(t *testing.T) {
	sc := startSim(t, sim.Options{
		Modes:      []sim.Mode{sim.SSL, sim.Downgrade, sim.SSLClientCert, sim.SSL, sim.SSLClientCert},
		Frameworks: []sim.FrameworkSpec{},
	})
	agents := sc.Agents()
	for _, a := range agents[3:] {
		s := sc.Settings(a.Mode())
		s.EnableTLSv13, s.Ciphers = tlsx.On, ""
		if err := a.RestartWith(s); err != nil {
			t.Fatal(err)
		}
	}
	clock := newFakeClock()
	c := newCluster(t, sc, Config{Now: clock.Now, ProbeFullHandshake: 20 * time.Minute})
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	first := sweep(t, c)
	verifications := c.verifications.Load()
	clock.Advance(time.Minute)
	second := sweep(t, c)
	if got := c.verifications.Load(); got != verifications {
		t.Errorf("the second sweep verified %d chains again, want none (cached)", got-verifications)
	}
	clock.Advance(20 * time.Minute)
	third := sweep(t, c)
	if got := c.verifications.Load(); got == verifications {
		t.Errorf("no chain verified again after %s, past the verification cache's %s", 21*time.Minute, verifyTTL)
	}

	for i, tt := range []struct {
		name       string
		version    string
		clientCert bool
	}{
		{"ssl TLS 1.2", "TLS 1.2", false},
		{"downgrade TLS 1.2", "TLS 1.2", false},
		{"ssl-clientcert TLS 1.2", "TLS 1.2", true},
		{"ssl TLS 1.3", "TLS 1.3", false},
		{"ssl-clientcert TLS 1.3", "TLS 1.3", true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			id := agents[i].ID()
			p1, p2, p3 := agentMember(t, first, id).Probe, agentMember(t, second, id).Probe, agentMember(t, third, id).Probe
			for n, p := range []*Probe{p1, p2, p3} {
				if p.TLS == nil || p.Cert == nil {
					t.Fatalf("sweep %d: no TLS (%s)", n+1, p.TLSError)
				}
				if p.TLS.Version != tt.version || p.TLS.ClientCertRequested != tt.clientCert || p.TLS.ClientCertSent != tt.clientCert || p.ClientCertRequested != tt.clientCert {
					t.Errorf("sweep %d: TLS %+v, client certificate requested %v; want %s, client certificate %v", n+1, p.TLS, p.ClientCertRequested, tt.version, tt.clientCert)
				}
				if !p.Cert.Verified || p.Cert.SHA256 != p1.Cert.SHA256 || p.Cert.Subject != p1.Cert.Subject || len(p.Warnings) != 0 {
					t.Errorf("sweep %d: certificate %+v, warnings %q", n+1, p.Cert, p.Warnings)
				}
			}
			if p1.TLS.Resumed || !p1.TLS.FullHandshakeAt.Equal(p1.At) {
				t.Errorf("first sweep: resumed %v, full handshake at %s (probe at %s)", p1.TLS.Resumed, p1.TLS.FullHandshakeAt, p1.At)
			}
			if !p2.TLS.Resumed || !p2.TLS.FullHandshakeAt.Equal(p1.At) {
				t.Errorf("second sweep: resumed %v, full handshake at %s; want resumed, at %s", p2.TLS.Resumed, p2.TLS.FullHandshakeAt, p1.At)
			}
			if p3.TLS.Resumed || !p3.TLS.FullHandshakeAt.Equal(p3.At) {
				t.Errorf("sweep after ProbeFullHandshake: resumed %v, want a full handshake", p3.TLS.Resumed)
			}
		})
	}
}

// TestProbeSeesNewCertificate: a member restarted with a new certificate
// refuses the session of the old one, and the next sweep reports the new
// certificate.
func TestProbeSeesNewCertificate(t *testing.T) {
	sc := startSim(t, sim.Options{Modes: []sim.Mode{sim.SSL}, Frameworks: []sim.FrameworkSpec{}})
	a := sc.Agents()[0]
	c := newCluster(t, sc, Config{})
	discover(t, c)
	if p := agentMember(t, sweep(t, c), a.ID()).Probe; p.TLS == nil || !p.TLS.Resumed {
		t.Fatalf("the second sweep did not resume: %+v", p.TLS)
	}

	leaf, err := sc.CA().Issue(tlsx.LeafRequest{CommonName: "renewed member", DNSNames: []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}, RSABits: 2048})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	s := sc.Settings(sim.SSL)
	s.CertFile, s.KeyFile = filepath.Join(dir, "member.pem"), filepath.Join(dir, "member-key.pem")
	if err := leaf.WriteFiles(s.CertFile, s.KeyFile); err != nil {
		t.Fatal(err)
	}
	if err := a.RestartWith(s); err != nil {
		t.Fatal(err)
	}
	p := agentMember(t, sweep(t, c), a.ID()).Probe
	sum := sha256.Sum256(leaf.Cert.Raw)
	if p.TLS == nil || p.TLS.Resumed || p.Cert == nil || p.Cert.SHA256 != hex.EncodeToString(sum[:]) || p.Cert.Subject != leaf.Cert.Subject.String() || !p.Cert.Verified {
		t.Errorf("after the restart: TLS %+v, certificate %+v; want a full handshake and the new certificate", p.TLS, p.Cert)
	}
}

// TestProbeClientCertDemandEverySweep: a member that demands a client
// certificate the gateway does not have refuses every handshake, so no
// session is kept and every sweep reports the demand again.
func TestProbeClientCertDemandEverySweep(t *testing.T) {
	sc := startSim(t, sim.Options{Modes: []sim.Mode{sim.SSLClientCert}, Frameworks: []sim.FrameworkSpec{}})
	a := sc.Agents()[0]
	c := newCluster(t, sc, Config{TLS: newTLS(t, gatewayTLS(false))})
	discover(t, c)
	for n := range 2 {
		p := agentMember(t, sweep(t, c), a.ID()).Probe
		if p.Speaks != Unreachable || !p.ClientCertRequested || p.TLS != nil {
			t.Errorf("sweep %d: %s, client certificate requested %v, TLS %+v", n+2, p.Speaks, p.ClientCertRequested, p.TLS)
		}
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, m := range c.members {
		if m.addr == a.Addr() && m.session.Load() != nil {
			t.Errorf("a session is kept for a member that refused every handshake")
		}
	}
}

// TestProbeFullHandshakeEveryTime: a negative ProbeFullHandshake turns
// resumption off.
func TestProbeFullHandshakeEveryTime(t *testing.T) {
	sc := startSim(t, sim.Options{Modes: []sim.Mode{sim.SSL}, Frameworks: []sim.FrameworkSpec{}})
	c := newCluster(t, sc, Config{ProbeFullHandshake: -1})
	discover(t, c)
	if p := agentMember(t, sweep(t, c), sc.Agents()[0].ID()).Probe; p.TLS == nil || p.TLS.Resumed {
		t.Errorf("resumed with resumption off: %+v", p.TLS)
	}
}
