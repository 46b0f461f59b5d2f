package upstream

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"net/netip"
	"sync"
	"time"
)

// This file remembers what verifying a member's certificate chain found, so
// that a sweep does not verify again the chains it verified a moment ago:
// an unchanged certificate is checked once every verifyTTL per member
// name and address, not on every probe.
//
// An outcome depends on the chain, the name and address it is checked
// against, the trust anchors, the clock and, under the legacy hostname
// scheme, the member's reverse DNS name. The first three are the key. The
// anchors are keyed by the pool tlsx.Context.Roots returns, which tlsx
// replaces whole whenever CA_FILE or CA_DIR change (the old pool is kept
// alive by the entries that name it, so it cannot be mistaken for a new
// one): a reload of the trust anchors takes effect on the next probe. The
// clock bounds an entry by the chain's own validity (an entry ends when a
// certificate of the chain expires or becomes valid). A changed reverse
// DNS name, and an anchor that expires while its chain is cached, are
// noticed within verifyTTL.

const (
	// verifyTTL is the longest an outcome is reused.
	verifyTTL = 5 * time.Minute
	// verifyCacheLimit bounds the entries; at the limit the expired ones
	// are dropped, and when none has expired all of them.
	verifyCacheLimit = 1 << 16
)

// verifyKey identifies a verification: the chain as the member sent it,
// the name and address it was checked against, and the trust anchors.
type verifyKey struct {
	chain    [sha256.Size]byte
	hostname string
	ip       netip.Addr
	roots    *x509.CertPool
}

// verifyOutcome is what verifying found: verifyErr from tlsx's Verify
// (libprocess's rules), and when that failed, trustErr from checking the
// chain against the anchors alone (to tell an untrusted chain from a name
// mismatch). Nil errors mean it passed.
type verifyOutcome struct {
	verifyErr error
	trustErr  error
}

type verifyEntry struct {
	verifyOutcome
	expires time.Time
}

// verifyCache maps verifications to their outcomes. It is safe for
// concurrent use; two probes verifying the same chain at once both do the
// work, which is harmless.
type verifyCache struct {
	mu      sync.Mutex
	entries map[verifyKey]verifyEntry
	limit   int
}

// chainSum hashes a chain: every certificate, each preceded by its
// length, so that two chains hash alike only when they are alike.
func chainSum(chain []*x509.Certificate) [sha256.Size]byte {
	h := sha256.New()
	var n [4]byte
	for _, cert := range chain {
		binary.BigEndian.PutUint32(n[:], uint32(len(cert.Raw)))
		h.Write(n[:])
		h.Write(cert.Raw)
	}
	var sum [sha256.Size]byte
	h.Sum(sum[:0])
	return sum
}

// get returns the outcome for key, when one is cached and still valid at
// now.
func (vc *verifyCache) get(key verifyKey, now time.Time) (verifyOutcome, bool) {
	vc.mu.Lock()
	defer vc.mu.Unlock()
	e, ok := vc.entries[key]
	if !ok || !now.Before(e.expires) {
		return verifyOutcome{}, false
	}
	return e.verifyOutcome, true
}

// put caches the outcome of verifying chain at now, until verifyTTL has
// passed or a certificate of the chain expires or becomes valid,
// whichever comes first.
func (vc *verifyCache) put(key verifyKey, chain []*x509.Certificate, o verifyOutcome, now time.Time) {
	expires := now.Add(verifyTTL)
	for _, cert := range chain {
		if cert.NotBefore.After(now) && cert.NotBefore.Before(expires) {
			expires = cert.NotBefore
		}
		if !cert.NotAfter.Before(now) && cert.NotAfter.Before(expires) {
			expires = cert.NotAfter.Add(time.Second) // X.509's NotAfter is inclusive
		}
	}
	vc.mu.Lock()
	defer vc.mu.Unlock()
	limit := vc.limit
	if limit <= 0 {
		limit = verifyCacheLimit
	}
	if vc.entries == nil {
		vc.entries = map[verifyKey]verifyEntry{}
	}
	if _, ok := vc.entries[key]; !ok && len(vc.entries) >= limit {
		for k, e := range vc.entries {
			if !now.Before(e.expires) {
				delete(vc.entries, k)
			}
		}
		if len(vc.entries) >= limit {
			clear(vc.entries)
		}
	}
	vc.entries[key] = verifyEntry{verifyOutcome: o, expires: expires}
}

// verify returns what verifying chain (whose chainSum is sum) for
// hostname and ip finds, from the cache when it can.
func (c *Cluster) verify(chain []*x509.Certificate, sum [sha256.Size]byte, hostname string, ip netip.Addr) verifyOutcome {
	now := c.cfg.Now()
	key := verifyKey{chain: sum, hostname: hostname, ip: ip, roots: c.tls.Roots()}
	if o, ok := c.verified.get(key, now); ok {
		return o
	}
	var o verifyOutcome
	c.verifications.Add(1)
	if o.verifyErr = c.tls.Verify(chain, hostname, ip); o.verifyErr != nil {
		o.trustErr = c.chainTrusted(chain)
	}
	c.verified.put(key, chain, o, now)
	return o
}
