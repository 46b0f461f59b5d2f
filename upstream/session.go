package upstream

import (
	"crypto/tls"
	"math/rand/v2"
	"time"
)

// This file keeps each member's TLS session between probes, so that a probe
// resumes the session of the one before instead of making a full
// handshake: no RSA private-key operation or certificate on the member's
// side, no key exchange or certificate parsing on the gateway's. Stock
// members offer session tickets (libprocess turns OpenSSL's session cache
// off but leaves tickets on; simulated members are Go servers, which issue
// them too).
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

// probeSession is a member's session kept for its next probe, with what
// the full handshake it began with found.
type probeSession struct {
	state *tls.ClientSessionState
	// full is when the full handshake ran (Config.Now); due is when the
	// next full handshake is.
	full, due time.Time
	// requested and sent are the client-certificate facts of the full
	// handshake.
	requested, sent bool
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
// one. prev is the session the probe offered; resumed says whether the
// member took it.
func (c *Cluster) keepSession(m *member, slot *sessionSlot, prev *probeSession, resumed bool, now time.Time, requested, sent bool) {
	if c.cfg.ProbeFullHandshake < 0 {
		return
	}
	var next *probeSession
	switch {
	case resumed && prev != nil:
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
		next = &probeSession{state: slot.got, full: now, due: c.fullHandshakeDue(now), requested: requested, sent: sent}
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
