package upstream

import (
	"context"
	"crypto/x509"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/tlsx"
)

// TestVerifyCache: an outcome is reused for the same chain, name, address
// and trust anchors only, for at most verifyTTL, and never past a moment a
// certificate of the chain expires or becomes valid.
func TestVerifyCache(t *testing.T) {
	ca, err := tlsx.NewCA("verify cache test CA", 0)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now().Truncate(time.Second)
	issue := func(name string, notBefore time.Time, validity time.Duration) []*x509.Certificate {
		t.Helper()
		leaf, err := ca.Issue(tlsx.LeafRequest{DNSNames: []string{name}, NotBefore: notBefore, Validity: validity})
		if err != nil {
			t.Fatal(err)
		}
		return []*x509.Certificate{leaf.Cert, ca.Cert}
	}
	chain := issue("a.example", now.Add(-time.Hour), 24*time.Hour)
	other := issue("b.example", now.Add(-time.Hour), 24*time.Hour)
	expiring := issue("a.example", now.Add(-time.Hour), time.Minute) // expires in a minute
	notYet := issue("a.example", now.Add(time.Minute), 24*time.Hour) // valid in a minute
	ip, otherIP := netip.MustParseAddr("10.0.0.1"), netip.MustParseAddr("10.0.0.2")
	roots, otherRoots := x509.NewCertPool(), x509.NewCertPool()
	key := func(chain []*x509.Certificate) verifyKey {
		return verifyKey{chain: chainSum(chain), hostname: "a.example", ip: ip, roots: roots}
	}
	base := key(chain)
	outcome := verifyOutcome{verifyErr: errors.New("does not verify")}

	tests := []struct {
		name  string
		chain []*x509.Certificate // put
		look  verifyKey           // then get
		at    time.Duration       // after the put
		hit   bool
	}{
		{"same key", chain, base, time.Minute, true},
		{"just before the TTL", chain, base, verifyTTL - time.Second, true},
		{"at the TTL", chain, base, verifyTTL, false},
		{"other chain", chain, key(other), 0, false},
		{"other hostname", chain, verifyKey{chain: base.chain, hostname: "b.example", ip: ip, roots: roots}, 0, false},
		{"other IP", chain, verifyKey{chain: base.chain, hostname: "a.example", ip: otherIP, roots: roots}, 0, false},
		{"reloaded trust anchors", chain, verifyKey{chain: base.chain, hostname: "a.example", ip: ip, roots: otherRoots}, 0, false},
		{"before the leaf expires", expiring, key(expiring), 30 * time.Second, true},
		{"after the leaf expired", expiring, key(expiring), 2 * time.Minute, false},
		{"before the leaf is valid", notYet, key(notYet), 30 * time.Second, true},
		{"once the leaf is valid", notYet, key(notYet), time.Minute, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var vc verifyCache
			vc.put(key(tt.chain), tt.chain, outcome, now)
			got, hit := vc.get(tt.look, now.Add(tt.at))
			if hit != tt.hit || hit && got != outcome {
				t.Errorf("hit %v (%v), want %v", hit, got, tt.hit)
			}
		})
	}

	t.Run("bounded", func(t *testing.T) {
		vc := verifyCache{limit: 2}
		k := func(host string) verifyKey { return verifyKey{chain: base.chain, hostname: host} }
		vc.put(k("1"), chain, outcome, now)
		vc.put(k("2"), chain, outcome, now.Add(verifyTTL/2))
		vc.put(k("3"), chain, outcome, now.Add(verifyTTL)) // "1" has expired: it goes
		if _, hit := vc.get(k("2"), now.Add(verifyTTL)); !hit || len(vc.entries) != 2 {
			t.Errorf("after dropping the expired entry: %d entries, the live one kept: %v", len(vc.entries), hit)
		}
		vc.put(k("4"), chain, outcome, now.Add(verifyTTL)) // none expired: all go
		if len(vc.entries) != 1 {
			t.Errorf("%d entries, want only the new one", len(vc.entries))
		}
	})
}

// TestVerifyCacheFollowsTrustReload: a chain found untrusted verifies on
// the first sweep after CA_FILE is replaced with the CA that signed it,
// although the cached outcome has not expired.
func TestVerifyCacheFollowsTrustReload(t *testing.T) {
	sc := startSim(t, sim.Options{Modes: []sim.Mode{sim.SSL}, Frameworks: []sim.FrameworkSpec{}})
	a := sc.Agents()[0]
	other, err := tlsx.NewCA("some other CA", 0)
	if err != nil {
		t.Fatal(err)
	}
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := tlsx.WriteFileAtomic(caFile, other.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	tc, err := tlsx.NewContext(tlsx.Settings{CAFile: caFile}, tlsx.Options{ReloadInterval: 10 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { tc.Close() })
	c := newCluster(t, sc, Config{TLS: tc})
	discover(t, c)
	p := agentMember(t, c.Snapshot(), a.ID()).Probe
	if p.Cert == nil || p.Cert.Verified || !strings.Contains(p.Cert.VerifyError, "unknown authority") || !containsPrefix(p.Warnings, "certificate chain is not trusted") {
		t.Fatalf("with another CA trusted: %+v, warnings %q", p.Cert, p.Warnings)
	}

	roots := tc.Roots()
	ca, err := os.ReadFile(testPKI.CAFile)
	if err != nil {
		t.Fatal(err)
	}
	if err := tlsx.WriteFileAtomic(caFile, ca, 0o644); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "the trust anchors to reload", 0, func() bool { return tc.Roots() != roots })
	p = agentMember(t, sweep(t, c), a.ID()).Probe
	if p.Cert == nil || !p.Cert.Verified || len(p.Warnings) != 0 {
		t.Errorf("after the reload: %+v, warnings %q", p.Cert, p.Warnings)
	}
}

// TestVerifyCacheSharedByMembers: members presenting the same certificate
// under the same name and IP (agents on one host) share one verification.
// (Probes at the same time may each verify: the test probes one at a time.)
func TestVerifyCacheSharedByMembers(t *testing.T) {
	sc := startSim(t, sim.Options{Modes: []sim.Mode{sim.SSL, sim.SSL, sim.SSL}, Frameworks: []sim.FrameworkSpec{}})
	c := newCluster(t, sc, Config{ProbeConcurrency: 1})
	if err := c.Refresh(context.Background()); err != nil {
		t.Fatal(err)
	}
	sweep(t, c)
	// Every agent is 127.0.0.1 named localhost with the shared member
	// certificate: one verification serves all three.
	if got := c.verifications.Load(); got != 1 {
		t.Errorf("%d verifications for three agents sharing a certificate, name and IP, want 1", got)
	}
}
