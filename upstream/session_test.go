package upstream

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"path/filepath"
	"sync"
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

// helloRecorder is a Config.Dial that keeps every ClientHello a probe
// sends, by the address it went to.
type helloRecorder struct {
	mu     sync.Mutex
	hellos map[string][][]byte
}

func (h *helloRecorder) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &helloConn{Conn: conn, h: h, addr: addr}, nil
}

// take returns and forgets the ClientHellos sent to addr.
func (h *helloRecorder) take(addr string) [][]byte {
	h.mu.Lock()
	defer h.mu.Unlock()
	hs := h.hellos[addr]
	delete(h.hellos, addr)
	return hs
}

type helloConn struct {
	net.Conn
	h       *helloRecorder
	addr    string
	written bool
}

func (c *helloConn) Write(p []byte) (int, error) {
	if !c.written && len(p) > 0 && p[0] == 22 { // a TLS handshake record
		c.h.mu.Lock()
		if c.h.hellos == nil {
			c.h.hellos = map[string][][]byte{}
		}
		c.h.hellos[c.addr] = append(c.h.hellos[c.addr], append([]byte(nil), p...))
		c.h.mu.Unlock()
	}
	c.written = true
	return c.Conn.Write(p)
}

// helloOffers reports whether a ClientHello record offers TLS 1.3: it
// has a supported_versions extension naming 0x0304, and then a key share.
func helloOffers13(t *testing.T, record []byte) (tls13, keyShare bool) {
	t.Helper()
	b := record
	skip := func(n int) {
		if len(b) < n {
			t.Fatalf("truncated ClientHello % x", record)
		}
		b = b[n:]
	}
	vec := func(lenBytes int) []byte {
		if len(b) < lenBytes {
			t.Fatalf("truncated ClientHello % x", record)
		}
		n := 0
		for _, x := range b[:lenBytes] {
			n = n<<8 | int(x)
		}
		skip(lenBytes)
		v := b[:min(n, len(b))]
		skip(n)
		return v
	}
	skip(5 + 4 + 2 + 32) // record header, handshake header, legacy version, random
	vec(1)               // session id
	vec(2)               // cipher suites
	vec(1)               // compression methods
	b = vec(2)           // extensions
	for len(b) > 0 {
		typ := int(b[0])<<8 | int(b[1])
		skip(2)
		body := vec(2)
		switch typ {
		case 43: // supported_versions
			for i := 1; i+1 < len(body); i += 2 {
				tls13 = tls13 || body[i] == 3 && body[i+1] == 4
			}
		case 51: // key_share
			keyShare = len(body) > 2
		}
	}
	return tls13, keyShare
}

// TestProbeShortHello: a probe that resumes a TLS 1.2 session, or probes
// a member that did not speak TLS last time, sends a TLS 1.2 ClientHello,
// without the key share of a TLS 1.3 one; a member that then answers
// otherwise than expected (restarted with other settings) is probed
// again with the full ClientHello and reported as it is now.
func TestProbeShortHello(t *testing.T) {
	sc := startSim(t, sim.Options{
		Modes:      []sim.Mode{sim.SSL, sim.Plain, sim.Plain, sim.SSL},
		Frameworks: []sim.FrameworkSpec{},
	})
	agents := sc.Agents()
	tls13 := func(mode sim.Mode) tlsx.Settings {
		s := sc.Settings(mode)
		s.EnableTLSv13, s.Ciphers = tlsx.On, ""
		return s
	}
	if err := agents[3].RestartWith(tls13(sim.SSL)); err != nil {
		t.Fatal(err)
	}
	rec := &helloRecorder{}
	c := newCluster(t, sc, Config{Dial: rec.dial})
	discover(t, c)
	for _, a := range agents {
		for _, h := range rec.take(a.Addr()) {
			if offers13, share := helloOffers13(t, h); !offers13 || !share {
				t.Errorf("first sweep, agent %s (%s): ClientHello offers TLS 1.3 %v, key share %v; want a full ClientHello", a.Addr(), a.Mode(), offers13, share)
			}
		}
	}

	s := sweep(t, c)
	for i, want := range []bool{false, false, false, true} {
		a := agents[i]
		hellos := rec.take(a.Addr())
		if len(hellos) != 1 {
			t.Fatalf("second sweep, agent %s (%s): %d ClientHellos, want 1", a.Addr(), a.Mode(), len(hellos))
		}
		if offers13, share := helloOffers13(t, hellos[0]); offers13 != want || share != want {
			t.Errorf("second sweep, agent %s (%s): ClientHello offers TLS 1.3 %v, key share %v; want %v", a.Addr(), a.Mode(), offers13, share, want)
		}
	}
	if p := agentMember(t, s, agents[0].ID()).Probe; p.TLS == nil || !p.TLS.Resumed || p.TLS.Version != "TLS 1.2" {
		t.Errorf("second sweep, the TLS 1.2 agent: %+v", p.TLS)
	}

	// Restarted: TLS 1.2 to TLS 1.3; plain to TLS 1.3 only; plain to
	// downgrade (TLS 1.2).
	only13 := tls13(sim.SSL)
	only13.EnableTLSv12 = tlsx.Off
	for i, s := range map[int]tlsx.Settings{0: tls13(sim.SSL), 1: only13, 2: sc.Settings(sim.Downgrade)} {
		if err := agents[i].RestartWith(s); err != nil {
			t.Fatal(err)
		}
	}
	s = sweep(t, c)
	for i, want := range []struct {
		speaks  Speaks
		version string
	}{{SSLOnly, "TLS 1.3"}, {SSLOnly, "TLS 1.3"}, {SSLDowngrade, "TLS 1.2"}} {
		a := agents[i]
		p := agentMember(t, s, a.ID()).Probe
		if p.Speaks != want.speaks || p.TLS == nil || p.TLS.Version != want.version || p.TLS.Resumed {
			t.Errorf("after restarting agent %s as %s: %s (%s), TLS %+v; want %s, %s", a.Addr(), a.Mode(), p.Speaks, p.Reason, p.TLS, want.speaks, want.version)
		}
		if hellos := rec.take(a.Addr()); len(hellos) != 2 {
			t.Errorf("after restarting agent %s: %d ClientHellos, want the short one and a full one", a.Addr(), len(hellos))
		}
	}
}
