package upstream

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
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

// dialKey carries a dialTarget in a request's context to the dial
// functions, which the Transport hands the request's context values.
type dialKey struct{}

// dialTarget is what a TLS connection validates: the member's hostname
// and, when known, its IP.
type dialTarget struct {
	hostname string
	ip       netip.Addr
}

func (c *Cluster) dialPlain(ctx context.Context, network, addr string) (net.Conn, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ProbeTimeout)
	defer cancel()
	return c.cfg.Dial(ctx, network, addr)
}

// dialTLS connects and handshakes with tlsx's client configuration for the
// member: SNI and validation against its hostname, verification as
// configured, the client certificate.
func (c *Cluster) dialTLS(ctx context.Context, network, addr string) (net.Conn, error) {
	t, ok := ctx.Value(dialKey{}).(dialTarget)
	if !ok {
		t.hostname, _, _ = net.SplitHostPort(addr)
	}
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ProbeTimeout)
	defer cancel()
	conn, err := c.cfg.Dial(ctx, network, addr)
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

// memberTransport is a member's RoundTripper.
type memberTransport struct {
	c *Cluster
	m *member
}

// RoundTrip sends the request to the member whatever its URL's scheme and
// host say (the proxy may set anything there; it cannot redirect the
// request elsewhere), with the scheme of the member's latest probe. It
// adds nothing to the request's headers: the browser's Authorization
// reaches this member, and only it.
func (t *memberTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	return t.c.roundTrip(req, t.m, waitMember)
}

// leaderTransport is the leader route's RoundTripper: the route names no
// master, only whoever leads. It sends to the member that led when the
// route was resolved; when that member is unreachable and discovery has
// meanwhile found another leader, an idempotent request goes to the new
// one instead of failing.
type leaderTransport struct {
	c *Cluster
	m *member
}

// RoundTrip: see leaderTransport.
func (t *leaderTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.c.roundTrip(req, t.m, waitLeader)
	var ue *UnreachableError
	if err == nil || !retryable(req) || req.Context().Err() != nil || !errors.As(err, &ue) {
		return resp, err
	}
	next := t.c.leaderMember()
	if next == nil || next == t.m {
		return resp, err
	}
	t.c.log.Debug("the leader changed while a request waited for it; sending the request to the new leader",
		"request_id", req.Header.Get("X-Request-Id"), "was", t.m.addr, "leader", next.addr)
	return t.c.roundTrip(req, next, waitLeader)
}

// leaderMember is the member leading now, nil when none does.
func (c *Cluster) leaderMember() *member {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.leader == nil {
		return nil
	}
	return c.leader.m
}

// reprobeUnreachable is how old a probe that found a member unreachable
// may be before a request probes it again instead of failing at once.
const reprobeUnreachable = time.Second

// roundTrip sends req to m. When the connection fails (the member was
// restarted with other settings, or died) m is probed again at once, and
// an idempotent request without a body is retried once on the scheme the
// new probe found. wait says whether a request that finds m unreachable
// waits for it to come back (awaitRestart).
func (c *Cluster) roundTrip(req *http.Request, m *member, wait waitMode) (*http.Response, error) {
	ctx := req.Context()
	out, err := c.outgoing(req, m, c.awaitRestart(ctx, req, m, c.usableProbe(ctx, m), wait))
	if err != nil {
		closeBody(req)
		return nil, err
	}
	resp, err := c.transport.RoundTrip(out)
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
		return nil, fmt.Errorf("%s %s (re-probed: %s): %w", req.Method, m.addr, p.Speaks, err)
	}
	p = c.awaitRestart(ctx, req, m, p, wait)
	out, oerr := c.outgoing(req, m, p)
	if oerr != nil {
		return nil, oerr
	}
	// The gateway's request id (X-Request-Id, which it sends every
	// member) ties this line to its access log line.
	c.log.Debug("retrying after a failed connection", "request_id", req.Header.Get("X-Request-Id"),
		"member", m.addr, "speaks", p.Speaks, "err", err)
	c.stats.retries.Add(1)
	return c.transport.RoundTrip(out)
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
func (c *Cluster) awaitRestart(ctx context.Context, req *http.Request, m *member, p *Probe, wait waitMode) *Probe {
	if wait == noWait || p.Speaks != Unreachable || !retryable(req) || time.Since(time.Unix(0, m.downSince.Load())) > restartWindow {
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

// outgoing makes the request sent to m: a shallow copy addressed to the
// member with the probe's scheme, its Host the member's hostname:port
// unless the caller set one.
func (c *Cluster) outgoing(req *http.Request, m *member, p *Probe) (*http.Request, error) {
	scheme, err := c.schemeFor(m, p)
	if err != nil {
		return nil, err
	}
	out := req.WithContext(context.WithValue(req.Context(), dialKey{}, dialTarget{m.hostname, m.ip}))
	u := *req.URL
	u.Scheme, u.Host = scheme, m.addr
	out.URL = &u
	if out.Host == "" {
		out.Host = m.host
	}
	return out, nil
}

// schemeFor decides how to reach m by its probe and the TLS policy.
func (c *Cluster) schemeFor(m *member, p *Probe) (string, error) {
	switch {
	case p.Speaks == Unreachable:
		return "", &UnreachableError{Role: c.roleOf(m), Address: m.addr, Reason: p.Reason}
	case p.Speaks == PlainOnly && c.cfg.UpstreamTLS == TLSRequired:
		return "", fmt.Errorf("%s %s: %w; restart it with LIBPROCESS_SSL_ENABLED=true, or run the gateway with --upstream-tls=auto", c.roleOf(m), m.addr, ErrTLSRequired)
	case p.Speaks.TLS() && c.tls.Settings().VerifiesServer() && p.Cert != nil && !p.Cert.Verified:
		return "", &UnreachableError{Role: c.roleOf(m), Address: m.addr,
			Reason: "its certificate does not verify and LIBPROCESS_SSL_VERIFY_SERVER_CERT is on: " + p.Cert.VerifyError}
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

// frameworkTransport is a framework UI's RoundTripper: requests go to the
// webui_url's scheme and host, whatever the request's URL says.
type frameworkTransport struct {
	c      *Cluster
	scheme string
	host   string
	target dialTarget
}

func newFrameworkTransport(c *Cluster, u *url.URL) *frameworkTransport {
	t := &frameworkTransport{c: c, scheme: u.Scheme, host: u.Host}
	t.target.hostname = u.Hostname()
	if ip, err := netip.ParseAddr(u.Hostname()); err == nil {
		t.target.ip = ip
	}
	if u.Port() == "" {
		t.host = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	return t
}

// RoundTrip sends the request to the framework's UI as its webui_url says
// (usually plain HTTP). A failed connection is the caller's error: there
// is no probe to consult.
func (t *frameworkTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	out := req.WithContext(context.WithValue(req.Context(), dialKey{}, t.target))
	u := *req.URL
	u.Scheme, u.Host = t.scheme, t.host
	out.URL = &u
	return t.c.transport.RoundTrip(out)
}
