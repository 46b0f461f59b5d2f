package upstream

import (
	"crypto/sha256"
	"crypto/tls"
	"math/rand/v2"
	"time"
)

// This file keeps what a probe of a member learns for the next one: the
// member's TLS session, and whether a TLS 1.2 ClientHello will do.
//
// A probe resumes the session of the probe before instead of making a
// full handshake: no RSA private-key operation or certificate on the
// member's side, no key exchange or certificate parsing on the gateway's.
// Stock members offer session tickets (libprocess turns OpenSSL's session
// cache off but leaves tickets on; simulated members are Go servers, which
// issue them too).
//
// A resumed handshake shows no certificate and no certificate request:
// crypto/tls restores the member's chain from the session, and the
// client-certificate facts are carried over here from the full handshake
// that began the session. They stay true as long as the member keeps its
// session keys: a restarted member (a libprocess member reads its
// certificate only at start) has new ones, refuses the old session and
// gets a full handshake at once. A member that changes its certificate
// while running keeps them, so every member gets a full handshake again
// between half and all of Config.ProbeFullHandshake after its last one,
// spread so that a cluster's full handshakes do not all fall in one sweep.
//
// A session belongs to one member (its address and name) and is dropped
// with it: sessions are never offered to another member, not even one
// with the same hostname on another port.
//
// A ClientHello that offers TLS 1.3 carries a key share, whose key costs
// the gateway more than the rest of a resumed handshake (an X25519 key,
// about 80 µs here), whatever the member answers. Most members answer in
// TLS 1.2 (stock libprocess) or not in TLS at all (plain members), so a
// probe that expects either sends a TLS 1.2 ClientHello, without one: to
// resume a TLS 1.2 session, and to a member whose last answer was not TLS.
// The expectation is checked: unless the member resumes, or again answers
// with something else than TLS (or hangs up), the probe asks again with
// the full ClientHello, as to an unknown member. A member restarted with
// other settings therefore costs one more connection, and is reported as
// it is now. (A member whose session keys survive a restart that enables
// TLS 1.3 is reported as speaking TLS 1.2 until its next full handshake.)

// probeSession is a member's session kept for its next probe, with what
// the full handshake it began with found.
type probeSession struct {
	state *tls.ClientSessionState
	handshakeFacts
	// due is when the next full handshake is.
	due time.Time
	// version is the session's TLS version.
	version uint16
}

// handshakeFacts are what a full handshake shows and a resumed one does
// not show again.
type handshakeFacts struct {
	// full is when the full handshake ran (Config.Now).
	full time.Time
	// requested and sent: the member asked for a client certificate, and
	// the gateway sent one.
	requested, sent bool
	// cert describes the member's chain (describeChain), nil without one;
	// sum is the chain's chainSum.
	cert *MemberCert
	sum  [sha256.Size]byte
}

// sessionSlot is one probe's tls.ClientSessionCache: it offers the
// member's session, if any, and keeps what the member issues during the
// probe until the probe decides what to keep (keepSession).
type sessionSlot struct {
	offer *tls.ClientSessionState
	got   *tls.ClientSessionState
	put   bool // Put was called; got == nil then means "forget the session"
}

// Get offers the member's session; crypto/tls's key (the server name or
// address) is ignored, the slot is the member's.
func (s *sessionSlot) Get(string) (*tls.ClientSessionState, bool) {
	return s.offer, s.offer != nil
}

// Put records a session the member issued, or with nil that the offered
// one must not be used again.
func (s *sessionSlot) Put(_ string, cs *tls.ClientSessionState) {
	s.got, s.put = cs, true
}

// sessionFor returns the session slot of a probe of m starting at now,
// offering m's session when its full handshake is not due, and the
// session offered (nil for none).
func (c *Cluster) sessionFor(m *member, now time.Time) (*sessionSlot, *probeSession) {
	s := &sessionSlot{}
	if c.cfg.ProbeFullHandshake < 0 {
		return s, nil
	}
	prev := m.session.Load()
	if prev == nil || !now.Before(prev.due) {
		return s, nil
	}
	s.offer = prev.state
	return s, prev
}

// keepSession records the session a completed probe leaves for the next
// one. prev is the session the probe offered, cs the handshake's state,
// facts what the full handshake behind it found.
func (c *Cluster) keepSession(m *member, slot *sessionSlot, prev *probeSession, cs *tls.ConnectionState, facts handshakeFacts) {
	if c.cfg.ProbeFullHandshake < 0 {
		return
	}
	var next *probeSession
	switch {
	case cs.DidResume && prev != nil:
		// The facts of the full handshake still hold; a session the
		// member issued on resumption (a TLS 1.3 ticket, a renewed TLS
		// 1.2 one) replaces the one used.
		copied := *prev
		next = &copied
		if slot.put {
			next.state = slot.got
		}
		if next.state == nil {
			next = nil
		}
	case slot.got != nil:
		next = &probeSession{state: slot.got, handshakeFacts: facts, due: c.fullHandshakeDue(facts.full), version: cs.Version}
	}
	m.session.Store(next)
}

// dropSession forgets m's session after a failed probe: the next probe
// makes a full handshake.
func (m *member) dropSession() {
	if m.session.Load() != nil {
		m.session.Store(nil)
	}
}

// fullHandshakeDue returns when the member whose full handshake ran at
// now next gets one: between half and all of ProbeFullHandshake later.
func (c *Cluster) fullHandshakeDue(now time.Time) time.Time {
	d := c.cfg.ProbeFullHandshake
	return now.Add(d/2 + rand.N(d/2+1))
}

// expectation is what a probe expects of a member from the probe before,
// when that allows a TLS 1.2 ClientHello.
type expectation int

const (
	// expectAnything: a full ClientHello.
	expectAnything expectation = iota
	// expectResume12: the member resumes its TLS 1.2 session.
	expectResume12
	// expectNotTLS: the member answers with something else than TLS or
	// hangs up, as last time.
	expectNotTLS
)

// expectation returns what a probe of m that offers the session prev can
// expect. Without a gap between what the gateway offers and TLS 1.2
// (TLS 1.3 off, as in libprocess by default, or TLS 1.2 off), every
// ClientHello is as short as it gets: expectAnything.
func (c *Cluster) expectation(m *member, prev *probeSession) expectation {
	switch {
	case !c.shortHello:
	case prev != nil && prev.version == tls.VersionTLS12:
		return expectResume12
	case m.notTLS.Load():
		return expectNotTLS
	}
	return expectAnything
}

// confirms reports whether the attempt found the member as expected: if
// not, it was made with a TLS 1.2 ClientHello that may have shown less
// than a full one would.
func (a *attempt) confirms(e expectation) bool {
	switch e {
	case expectResume12:
		return a.r.reason == "" && a.cs.DidResume
	case expectNotTLS:
		return a.r.connectFailed || a.notTLS
	}
	return true
}

// allowsShortHello reports whether the gateway's ClientHello offers TLS
// 1.3 as well as TLS 1.2, so that a TLS 1.2 one is shorter (see
// expectation).
func allowsShortHello(cfg *tls.Config) bool {
	return cfg.MinVersion <= tls.VersionTLS12 && (cfg.MaxVersion == 0 || cfg.MaxVersion > tls.VersionTLS12)
}
