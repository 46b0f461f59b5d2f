package upstream

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"time"
)

// This file is how requests reach members: one shared http.Transport whose
// pools are keyed by scheme and address (10,000 agents do not mean 10,000
// Transports), a RoundTripper per member that picks the scheme from the
// latest probe and retries an idempotent request once after a re-probe,
// and one per framework UI that goes where its webui_url says.

// newTransport makes the shared Transport. It never uses a proxy from the
// environment, never follows redirects (Transports do not), never
// decompresses (the gateway passes encodings through) and speaks HTTP/1.1,
// as libprocess does.
func (c *Cluster) newTransport() *http.Transport {
	return &http.Transport{
		Proxy:          nil,
		DialContext:    c.dialPlain,
		DialTLSContext: c.dialTLS,
		// Many browsers behind one gateway poll the same member at once
		// (the WebUI asks every agent on its page for state and metrics):
		// a small per-member pool would close connections as fast as it
		// opens them, a TLS handshake each. The total stays bounded.
		MaxIdleConns:           1024,
		MaxIdleConnsPerHost:    64,
		IdleConnTimeout:        90 * time.Second,
		ExpectContinueTimeout:  time.Second,
		DisableCompression:     true,
		MaxResponseHeaderBytes: 1 << 20,
		TLSNextProto:           map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
}

// newMemberConns makes the pool that carries members' GET and HEAD
// requests (conns.go), with the shared Transport for the rest and the
// Transport's limits.
func (c *Cluster) newMemberConns(fallback *http.Transport) *memberConns {
	return &memberConns{
		dial: func(ctx context.Context, scheme, addr string) (net.Conn, error) {
			if scheme == "https" {
				return c.dialTLS(ctx, "tcp", addr)
			}
			return c.dialPlain(ctx, "tcp", addr)
		},
		fallback:     fallback,
		maxIdle:      fallback.MaxIdleConnsPerHost,
		maxIdleTotal: fallback.MaxIdleConns,
		idleTimeout:  fallback.IdleConnTimeout,
		maxHeader:    fallback.MaxResponseHeaderBytes,
	}
}

// dialTarget is what a TLS connection validates: the member's hostname
// and, when known, its IP.
type dialTarget struct {
	hostname string
	ip       netip.Addr
}

func (c *Cluster) dialPlain(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ProbeTimeout)
	defer cancel()
	return c.dialAllowed(ctx, c.cfg.Dial, network, addr, isUI(ctx))
}

// isUI reports whether a dial is for a framework UI, which the address
// policy holds to the cluster's hosts.
func isUI(ctx context.Context) bool {
	d := DestinationOf(ctx)
	return d != nil && d.Framework != nil
}

// dialTLS connects and handshakes with tlsx's client configuration for the
// member: SNI and validation against its hostname, verification as
// configured, the client certificate.
func (c *Cluster) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	var t dialTarget
	if d := DestinationOf(ctx); d != nil {
		t = dialTarget{d.hostname, d.ip}
	} else {
		t.hostname, _, _ = net.SplitHostPort(addr)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ProbeTimeout)
	defer cancel()
	conn, err := c.dialAllowed(ctx, c.cfg.Dial, network, addr, isUI(ctx))
	if err != nil {
		return nil, err
	}
	tc := tls.Client(conn, c.tls.ClientConfig(t.hostname, remoteIP(conn, t.ip)))
	if err := tc.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, fmt.Errorf("TLS handshake with %s: %w", addr, err)
	}
	return tc, nil
}

// Transport returns the RoundTripper that sends each request to its
// Destination, carried in the request's context (WithDestination); a
// request without one is refused, whatever its URL says. For a member it
// uses the scheme of the member's latest probe; when the connection fails
// it probes the member again at once and retries an idempotent request
// once on the scheme the new probe found, so a member restarted from
// plain to SSL between two requests costs the caller nothing. It never
// follows redirects and adds only the Destination's Credentials. Its
// errors are *Error.
func (c *Cluster) Transport() http.RoundTripper { return transport{c} }

type transport struct{ c *Cluster }

func (t transport) RoundTrip(req *http.Request) (*http.Response, error) {
	d := DestinationOf(req.Context())
	if d == nil || d.c != t.c {
		closeBody(req)
		return nil, &Error{Reason: ReasonInternal, Detail: "a request without a destination of this cluster"}
	}
	release, err := t.c.inFlight.acquire(req.Context(), d.Address, t.c.cfg.BusyWait, req.Body != nil && req.Body != http.NoBody)
	if err != nil {
		closeBody(req)
		return nil, d.errorf(ReasonBusy, fmt.Sprintf("%d requests in flight, none ended within %s", t.c.cfg.MaxInFlight, t.c.cfg.BusyWait))
	}
	resp, err := t.send(req, d)
	if err != nil {
		release()
		return nil, err
	}
	resp.Body = releasing(resp.Body, release)
	return resp, nil
}

// send sends a request to its destination: a framework UI as its
// webui_url says, a member as it can be reached (roundTrip).
func (t transport) send(req *http.Request, d *Destination) (*http.Response, error) {
	if d.m == nil {
		return t.c.frameworkRoundTrip(req, d)
	}
	resp, err := t.c.roundTrip(req, d)
	if err == nil || d.wait != waitLeader || !retryable(req) || req.Context().Err() != nil || ReasonOf(err) != ReasonUnreachable {
		return resp, err
	}
	// The route names no master, only whoever leads: when the member that
	// led is unreachable and discovery has meanwhile found another
	// leader, the request goes there instead of failing.
	next := t.c.leaderMember()
	if next == nil || next.m == d.m {
		return resp, err
	}
	t.c.log.Debug("the leader changed while a request waited for it; sending the request to the new leader",
		"request_id", req.Header.Get("X-Request-Id"), "was", d.m.addr, "leader", next.m.addr)
	d.moveTo(next)
	return t.c.roundTrip(req, d)
}

// frameworkRoundTrip sends a request to a framework's UI as its webui_url
// says. A failed connection is the caller's error: there is no probe to
// consult.
func (c *Cluster) frameworkRoundTrip(req *http.Request, d *Destination) (*http.Response, error) {
	resp, err := c.transport.RoundTrip(d.outgoing(req))
	if err != nil {
		return nil, connectionError(d, err, c.cfg.ProbeTimeout)
	}
	return resp, nil
}

// leaderMember is the master leading now, nil when none does.
func (c *Cluster) leaderMember() *masterState {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.leader
}

// moveTo sends the destination to another master (the next leader).
func (d *Destination) moveTo(ms *masterState) {
	d.c.mu.RLock()
	d.Member = d.c.masterViewLocked(ms)
	d.c.mu.RUnlock()
	d.m, d.Address, d.Host, d.hostname, d.ip = ms.m, ms.m.addr, ms.m.host, ms.m.hostname, ms.m.ip
}

// reprobeUnreachable is how old a probe that found a member unreachable
// may be before a request probes it again instead of failing at once.
const reprobeUnreachable = time.Second

// roundTrip sends req to d's member. When the connection fails (the
// member was restarted with other settings, or died) the member is probed
// again at once, and an idempotent request without a body is retried once
// on the scheme the new probe found. d.wait says whether a request that
// finds the member unreachable waits for it to come back (awaitRestart).
func (c *Cluster) roundTrip(req *http.Request, d *Destination) (*http.Response, error) {
	ctx, m := req.Context(), d.m
	if err := d.follow(c.awaitRestart(ctx, req, d, c.usableProbe(ctx, m))); err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := c.conns.RoundTrip(d.outgoing(req))
	if err == nil || ctx.Err() != nil {
		return resp, err
	}
	// Only a probe that starts after the failure says how the member can
	// be reached now; one under way may predate a restart.
	c.stats.reprobes.Add(1)
	p := c.probeAfter(ctx, m, c.probeSeq.Load())
	if p.Speaks == Unreachable && c.roleOf(m) == RoleLeader {
		signal(c.refreshNow) // the leader may be gone: look for the next one now
	}
	if !retryable(req) {
		e := connectionError(d, err, c.cfg.ProbeTimeout)
		e.Detail += fmt.Sprintf(" (%s %s; re-probed: %s)", req.Method, m.addr, p.Speaks)
		return nil, e
	}
	if err := d.follow(c.awaitRestart(ctx, req, d, p)); err != nil {
		return nil, err
	}
	// The gateway's request id (X-Request-Id, which it sends every
	// member) ties this line to its access log line.
	c.log.Debug("retrying after a failed connection", "request_id", req.Header.Get("X-Request-Id"),
		"member", m.addr, "speaks", p.Speaks, "err", err)
	c.stats.retries.Add(1)
	resp, err = c.conns.RoundTrip(d.outgoing(req))
	if err != nil && ctx.Err() == nil {
		return nil, connectionError(d, err, c.cfg.ProbeTimeout)
	}
	return resp, err
}

// A member restarted in a rolling upgrade (SPEC section 6) is gone for a
// moment: an idempotent request that finds it unreachable waits up to
// restartGrace for it, re-probing at growing intervals, as long as the
// member stopped answering less than restartWindow ago. A member down for
// longer is taken for dead, and its requests fail at once.
const (
	restartGrace  = 2 * time.Second
	restartWindow = 10 * time.Second
)

// waitMode is whether a request waits for a member that is down.
type waitMode int

const (
	// noWait fails at once: discovery, which has other masters to ask.
	noWait waitMode = iota
	// waitMember waits for the member (a browser's request to it).
	waitMember
	// waitLeader waits for the member while it leads (a browser's
	// request to whoever leads).
	waitLeader
)

// awaitRestart re-probes a member that p found unreachable until it
// answers, restartGrace passes, ctx ends or (waitLeader) another master
// leads, for a request that may be retried; it returns the last probe.
func (c *Cluster) awaitRestart(ctx context.Context, req *http.Request, d *Destination, p *Probe) *Probe {
	m, wait := d.m, d.wait
	if wait == noWait || p.Speaks != Unreachable || p.Refused() || !retryable(req) || time.Since(time.Unix(0, m.downSince.Load())) > restartWindow {
		return p
	}
	deadline := time.Now().Add(restartGrace)
	for pause := 25 * time.Millisecond; p.Speaks == Unreachable && time.Now().Add(pause).Before(deadline); pause *= 2 {
		t := time.NewTimer(pause)
		select {
		case <-ctx.Done():
			t.Stop()
			return p
		case <-t.C:
		}
		if wait == waitLeader && c.roleOf(m) != RoleLeader {
			return p
		}
		p = c.probeAfter(ctx, m, p.seq)
	}
	return p
}

// usableProbe returns the member's latest probe, probing first when there
// is none, or when the latest found it unreachable a while ago.
func (c *Cluster) usableProbe(ctx context.Context, m *member) *Probe {
	p := m.probe.Load()
	if p == nil || p.Speaks == Unreachable && time.Since(p.finished) > reprobeUnreachable {
		var after uint64
		if p != nil {
			after = p.seq
		}
		p = c.probeAfter(ctx, m, after)
	}
	return p
}

// outgoing makes the request sent to the destination: a shallow copy
// addressed to it (whatever the caller put in its URL) and carrying it in
// its context for the dial functions.
func (d *Destination) outgoing(req *http.Request) *http.Request {
	out := req.WithContext(WithDestination(req.Context(), d))
	u := *req.URL
	u.Scheme, u.Host = d.Scheme, d.Address
	out.URL = &u
	if out.Host == "" {
		out.Host = d.Host
	}
	return out
}

// follow makes the destination use the scheme a probe of its member
// found, or says why the member cannot be reached (schemeFor).
func (d *Destination) follow(p *Probe) error {
	scheme, err := d.c.schemeFor(d, p)
	if err != nil {
		return err
	}
	d.Scheme = scheme
	return nil
}

// schemeFor decides how to reach a member by its probe and the TLS
// policy. This is where the connecting side's downgrade is decided:
// under --upstream-tls=auto (the default) a member that speaks plain HTTP
// only is reached over plain HTTP, as a libprocess client with
// SUPPORT_DOWNGRADE retries plain when TLS fails, whatever the gateway's
// own LIBPROCESS_SSL_SUPPORT_DOWNGRADE says (that setting is the front's:
// the gateway must browse a cluster mid-migration); under required it is
// refused, as a libprocess client without downgrade refuses it.
func (c *Cluster) schemeFor(d *Destination, p *Probe) (string, error) {
	switch {
	case p.Refused():
		// No probe will find the member elsewhere: the answer is the
		// policy's, at once (a 403, not a member to wait for).
		return "", d.errorf(ReasonForbidden, p.Reason)
	case p.Speaks == Unreachable:
		return "", d.errorf(ReasonUnreachable, p.Reason)
	case p.Speaks == PlainOnly && c.cfg.UpstreamTLS == TLSRequired:
		return "", d.errorf(ReasonTLSRequired, "")
	case p.Speaks.TLS() && c.tls.Settings().VerifiesServer() && p.Cert != nil && !p.Cert.Verified:
		return "", d.errorf(ReasonCertificate, "its certificate does not verify and LIBPROCESS_SSL_VERIFY_SERVER_CERT is on: "+p.Cert.VerifyError)
	case p.Speaks.TLS():
		return "https", nil
	}
	return "http", nil
}

// retryable reports whether a request may be sent twice: GET or HEAD
// without a body.
func retryable(req *http.Request) bool {
	return (req.Method == http.MethodGet || req.Method == http.MethodHead || req.Method == "") &&
		(req.Body == nil || req.Body == http.NoBody)
}

func closeBody(req *http.Request) {
	if req.Body != nil {
		req.Body.Close()
	}
}
