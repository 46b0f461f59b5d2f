package upstream

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"strings"
	"syscall"
	"time"

	"github.com/mesosgate/mesosgate/tlsx"
)

// Speaks is what a member accepts, found by probing (SPEC section 1).
type Speaks string

// What a member speaks.
const (
	SSLOnly      Speaks = "ssl-only"      // TLS, no plain HTTP
	SSLDowngrade Speaks = "ssl-downgrade" // TLS and plain HTTP on the same port
	PlainOnly    Speaks = "plain-only"    // plain HTTP, no TLS
	Unreachable  Speaks = "unreachable"   // neither
)

// AllSpeaks lists every Speaks a probe finds, for conversions that must
// cover them all ("" before the first probe is not among them).
func AllSpeaks() []Speaks { return []Speaks{SSLOnly, SSLDowngrade, PlainOnly, Unreachable} }

// TLS reports whether the member accepts TLS.
func (s Speaks) TLS() bool { return s == SSLOnly || s == SSLDowngrade }

// Plain reports whether the member accepts plain HTTP.
func (s Speaks) Plain() bool { return s == SSLDowngrade || s == PlainOnly }

// Probe is what one probe of a member found. It is immutable once made.
type Probe struct {
	// At is when the probe started; Duration how long it took.
	At       time.Time
	Duration time.Duration
	// Speaks is the verdict.
	Speaks Speaks
	// Reason says why the member is unreachable; "" otherwise.
	Reason string

	// TLS describes the session when the handshake completed, else nil;
	// TLSError says why it did not.
	TLS      *TLSInfo
	TLSError string
	// ClientCertRequested is whether the member asked for a client
	// certificate, also when the handshake then failed (a member that
	// requires one the gateway does not have).
	ClientCertRequested bool
	// Plain is the status line a plain GET /version got ("HTTP/1.1 200
	// OK"), "" when none came back; PlainError says why.
	Plain      string
	PlainError string

	// Cert describes the certificate the member presented, nil without a
	// completed handshake.
	Cert *MemberCert
	// Warnings are the problems worth an operator's attention (SPEC
	// section 6): an expiring certificate, a hostname or IP it does not
	// cover, an untrusted chain, a short RSA key, TLS below 1.2.
	Warnings []string

	// tlsFailure is why the TLS half failed (ReasonInternal when it did
	// not).
	tlsFailure Reason

	seq      uint64    // the probe's start order, for re-probes "after a failure"
	finished time.Time // when it ended, on the monotonic clock
}

// TLSInfo describes a completed TLS handshake with a member.
type TLSInfo struct {
	// Version is "TLS 1.2" or "TLS 1.3" (or older, with a warning).
	Version string `json:"version"`
	// Cipher is the negotiated suite's standard name.
	Cipher string `json:"cipher"`
	// ClientCertRequested is whether the member asked for a client
	// certificate; ClientCertSent whether the gateway presented one.
	ClientCertRequested bool `json:"client_cert_requested"`
	ClientCertSent      bool `json:"client_cert_sent"`
	// Resumed is whether the probe resumed the session of an earlier
	// probe instead of making a full handshake. The certificate and the
	// client-certificate facts are then those of the full handshake at
	// FullHandshakeAt (the probe's own start when it did not resume): a
	// member keeps its session only while it runs, and gets a full
	// handshake again within Config.ProbeFullHandshake.
	Resumed         bool      `json:"resumed"`
	FullHandshakeAt time.Time `json:"full_handshake_at"`

	version uint16
}

// MemberCert is a member's certificate as a probe found it: what the
// certificate says of itself (tlsx.CertInfo, the one description of a
// certificate) and what the gateway made of it.
type MemberCert struct {
	tlsx.CertInfo
	// DaysLeft counts whole days from the probe to NotAfter (negative
	// once expired).
	DaysLeft int `json:"days_left"`
	// Chain is how many certificates the member sent.
	Chain int `json:"chain"`
	// Verified is whether the chain verifies as a libprocess client with
	// VERIFY_SERVER_CERT would verify it (the configured roots, depth and
	// hostname validation scheme; tlsx.Context.Verify), whether or not
	// verification is turned on. VerifyError says why not.
	Verified    bool   `json:"verified"`
	VerifyError string `json:"verify_error,omitempty"`

	// trustErr says why the chain does not lead to the trust anchors, nil
	// when it does (or when it verified): it tells an untrusted chain
	// from a name mismatch in the warnings.
	trustErr error
}

// Scheme returns the URL scheme requests to the member use: "https" when it
// speaks TLS, "http" when it speaks plain HTTP only, "" when unreachable.
func (p *Probe) Scheme() string {
	switch {
	case p == nil:
		return ""
	case p.Speaks.TLS():
		return "https"
	case p.Speaks == PlainOnly:
		return "http"
	}
	return ""
}

// Problem says what is wrong with the member as the probe found it, ""
// when nothing is: a TLS handshake that went wrong (not merely a member
// without SSL), a plain attempt that failed where plain HTTP was expected,
// or why it is unreachable. The dashboard and the report (its "error")
// show the same words.
func (p *Probe) Problem() string {
	if p == nil {
		return ""
	}
	var errs []string
	if p.TLSError != "" && !p.Speaks.TLS() && !(p.Speaks == PlainOnly && p.NoSSL()) {
		errs = append(errs, "tls: "+p.TLSError)
	}
	if p.PlainError != "" && !p.Speaks.Plain() && p.Speaks != SSLOnly {
		errs = append(errs, "plain: "+p.PlainError)
	}
	if p.Speaks == Unreachable && p.Reason != "" && len(errs) == 0 {
		errs = append(errs, p.Reason)
	}
	return strings.Join(errs, "; ")
}

// NoSSL reports whether the TLS half of the probe failed the way it fails
// against a member with SSL off (a plain answer, bytes that are not TLS,
// or the connection closed at the ClientHello, as libprocess does), as
// opposed to a TLS handshake that went wrong, which deserves attention.
func (p *Probe) NoSSL() bool { return p.TLSError != "" && p.tlsFailure == ReasonNotTLS }

// Refused reports whether the address policy refused the member's
// address (policy.go): the probe made no connection, and a request to the
// member is refused for the same reason, without waiting for it.
func (p *Probe) Refused() bool { return p.Speaks == Unreachable && p.tlsFailure == ReasonForbidden }

// probeRequest is the plain probe's request, with the Host header to fill
// in (SPEC section 6: GET /version with Connection: close).
const probeRequest = "GET /version HTTP/1.1\r\nHost: %s\r\nUser-Agent: mesosgate-probe\r\nAccept: application/json\r\nConnection: close\r\n\r\n"

// probe probes a member once: a TLS handshake with SNI = hostname followed
// by GET /version over it, then a plain GET /version on a new connection.
// The whole probe is bounded by ProbeTimeout.
func (c *Cluster) probe(ctx context.Context, m *member) *Probe {
	start := time.Now()
	p := &Probe{At: c.cfg.Now()}
	ctx, cancel := context.WithDeadline(ctx, start.Add(c.cfg.ProbeTimeout))
	defer cancel()
	request := m.request

	t := c.probeTLS(ctx, m, request, p.At)
	p.ClientCertRequested = t.requested
	if t.info != nil {
		p.TLS, p.Cert = t.info, t.cert
	} else {
		p.TLSError, p.tlsFailure = t.reason, t.failure
	}
	if t.connectFailed {
		// The address does not take connections: a second attempt would
		// fail the same way.
		p.PlainError = t.reason
	} else if status, err := c.probePlain(ctx, m, request); err != nil {
		_, p.PlainError = classify(err, c.cfg.ProbeTimeout)
	} else {
		p.Plain = status
	}

	switch {
	case p.TLS != nil && p.Plain != "":
		p.Speaks = SSLDowngrade
	case p.TLS != nil:
		p.Speaks = SSLOnly
	case p.Plain != "":
		p.Speaks = PlainOnly
	default:
		p.Speaks = Unreachable
		p.Reason = unreachableReason(t, p.PlainError)
	}
	p.Warnings = c.warnings(m, p, t.chain)
	p.finished = time.Now()
	p.Duration = p.finished.Sub(start)
	return p
}

// unreachableReason picks the most telling reason: a handshake failure
// (a demanded client certificate) says more than the plain attempt's
// closed connection, a refused connection is the same for both.
func unreachableReason(t tlsResult, plainErr string) string {
	if t.connectFailed || t.handshakeFailed || t.reason == plainErr {
		return t.reason
	}
	return "TLS: " + t.reason + "; plain HTTP: " + plainErr
}

// tlsResult is the TLS half of a probe.
type tlsResult struct {
	info  *TLSInfo
	cert  *MemberCert
	chain []*x509.Certificate
	// reason and failure say why there is no info; connectFailed when
	// TCP itself failed, handshakeFailed when the member answered TLS but
	// refused.
	reason          string
	failure         Reason
	connectFailed   bool
	handshakeFailed bool
	// requested: the member asked for a client certificate.
	requested bool
}

// probeTLS connects and handshakes, resuming the member's session when it
// has one, with a TLS 1.2 ClientHello when the member is expected to
// answer one as it would any other (session.go); now is when the probe
// started. Under TLS 1.2 a completed handshake means the member accepted
// the connection (its Finished follows its verdict on a client
// certificate). Under TLS 1.3 the member checks a client certificate after
// the client considers the handshake done, so only its answer (or its
// alert) to a GET /version says whether it accepted the connection.
func (c *Cluster) probeTLS(ctx context.Context, m *member, request []byte, now time.Time) tlsResult {
	slot, prev := c.sessionFor(m, now)
	expect := c.expectation(m, prev)
	a := c.handshake(ctx, m, request, slot, expect != expectAnything)
	if !a.confirms(expect) && ctx.Err() == nil {
		// The member is not what it was: ask it again as an unknown one.
		slot, prev = &sessionSlot{}, nil
		a = c.handshake(ctx, m, request, slot, false)
	}
	m.notTLS.Store(a.notTLS)
	if a.r.reason != "" {
		m.dropSession()
		return a.r
	}
	r, cs := a.r, a.cs
	facts := handshakeFacts{full: now, requested: a.requested, sent: a.sent}
	if cs.DidResume && prev != nil {
		// A resumed handshake shows no certificate request and no
		// certificate (crypto/tls restores the chain from the session):
		// the facts are those of the full handshake that began it.
		facts = prev.handshakeFacts
	} else if len(cs.PeerCertificates) > 0 {
		facts.cert, facts.sum = describeChain(cs.PeerCertificates), chainSum(cs.PeerCertificates)
	}
	c.keepSession(m, slot, prev, &cs, facts)
	r.info = &TLSInfo{Version: tlsVersionName(cs.Version), Cipher: c.suiteName(cs.CipherSuite),
		ClientCertRequested: facts.requested, ClientCertSent: facts.sent, Resumed: cs.DidResume, FullHandshakeAt: facts.full, version: cs.Version}
	r.requested = facts.requested
	r.chain = cs.PeerCertificates
	if len(r.chain) > 0 && facts.cert != nil {
		r.cert = c.checkCert(facts.cert, r.chain, facts.sum, m.hostname, a.ip)
	}
	return r
}

// attempt is one TLS connection of a probe: the handshake's state, or in
// r why it failed.
type attempt struct {
	r  tlsResult // reason and the failure's kind; no info
	cs tls.ConnectionState
	ip netip.Addr // the IP connected to
	// requested and sent: the member asked for a client certificate, and
	// the gateway sent one.
	requested, sent bool
	// notTLS: the member answered the ClientHello with something else
	// than TLS, or hung up.
	notTLS bool
}

// handshake connects, handshakes with slot as the session cache (with a
// TLS 1.2 ClientHello when short) and under TLS 1.3 asks for GET /version.
// The connection is closed without close_notify: nothing was sent on it
// that needs an orderly end.
func (c *Cluster) handshake(ctx context.Context, m *member, request []byte, slot *sessionSlot, short bool) (a attempt) {
	conn, err := c.dialProbe(ctx, m)
	if err != nil {
		a.r = tlsResult{connectFailed: true}
		a.r.failure, a.r.reason = classify(err, c.cfg.ProbeTimeout)
		return a
	}
	defer conn.Close()
	a.ip = remoteIP(conn, m.ip)
	cfg := c.tls.ClientConfig(m.hostname, a.ip)
	// Probing reports verification separately (MemberCert.Verified) instead
	// of failing the handshake on it.
	cfg.VerifyConnection = nil
	if cfg.CurvePreferences == nil {
		// A probe carries nothing secret. Without this, every ClientHello
		// offering TLS 1.3 makes an ML-KEM-768 key share, which costs more
		// than the rest of the probe's client side; requests to members
		// keep Go's default hybrid key exchange.
		cfg.CurvePreferences = c.probeCurves
	}
	if short {
		cfg.MaxVersion = tls.VersionTLS12
	}
	cfg.ClientSessionCache = slot
	getCert := cfg.GetClientCertificate
	cfg.GetClientCertificate = func(cri *tls.CertificateRequestInfo) (*tls.Certificate, error) {
		a.requested = true
		cert, err := getCert(cri)
		a.sent = cert != nil && len(cert.Certificate) > 0
		return cert, err
	}
	tc := tls.Client(conn, cfg)
	if err := tc.HandshakeContext(ctx); err != nil {
		a.notTLS = hungUpOrNotTLS(err)
		a.r = tlsResult{handshakeFailed: isRemoteAlert(err), requested: a.requested}
		a.r.failure, a.r.reason = handshakeReason(err, c.cfg.ProbeTimeout, a.requested, a.sent)
		return a
	}
	a.cs = tc.ConnectionState()
	if a.cs.Version >= tls.VersionTLS13 {
		if _, err := c.askVersion(tc, request); err != nil {
			if isRemoteAlert(err) {
				a.r = tlsResult{handshakeFailed: true, requested: a.requested}
				a.r.failure, a.r.reason = handshakeReason(err, c.cfg.ProbeTimeout, a.requested, a.sent)
			} else {
				a.r.failure, a.r.reason = classify(err, c.cfg.ProbeTimeout)
				a.r.reason = "no HTTP answer over TLS: " + a.r.reason
			}
		}
	}
	return a
}

// hungUpOrNotTLS reports whether a handshake failed because the member
// answered with something else than TLS (a plain HTTP answer) or hung up
// (a plain libprocess member closes on a ClientHello).
func hungUpOrNotTLS(err error) bool {
	var notTLS tls.RecordHeaderError
	return errors.As(err, &notTLS) || errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, syscall.ECONNRESET)
}

// probePlain sends GET /version in plain HTTP on a new connection and
// returns the status line. A stock ssl-only member closes such a connection
// without an HTTP answer.
func (c *Cluster) probePlain(ctx context.Context, m *member, request []byte) (string, error) {
	conn, err := c.dialProbe(ctx, m)
	if err != nil {
		return "", err
	}
	defer conn.Close()
	return c.askVersion(conn, request)
}

// dialProbe connects to the member under the probe's deadline.
func (c *Cluster) dialProbe(ctx context.Context, m *member) (net.Conn, error) {
	conn, err := c.dialAllowed(ctx, c.probeDial, "tcp", m.addr, false)
	if err != nil {
		return nil, err
	}
	if ip := remoteIP(conn, netip.Addr{}); ip.IsValid() {
		m.seen.Store(&ip)
	}
	if d, ok := ctx.Deadline(); ok {
		conn.SetDeadline(d)
	}
	return conn, nil
}

// askVersion writes the probe request and reads the status line of the
// answer: "HTTP/1.x NNN ...". Anything else is not HTTP.
func (c *Cluster) askVersion(conn net.Conn, request []byte) (string, error) {
	if _, err := conn.Write(request); err != nil {
		return "", err
	}
	var buf [128]byte
	n := 0
	for {
		k, err := conn.Read(buf[n:])
		n += k
		if i := bytes.IndexByte(buf[:n], '\n'); i >= 0 {
			return statusLine(buf[:i])
		}
		if err != nil {
			if n > 0 && errors.Is(err, io.EOF) {
				return statusLine(buf[:n])
			}
			return "", err
		}
		if n == len(buf) {
			return statusLine(buf[:n])
		}
	}
}

// statusLine checks an HTTP/1.x status line.
func statusLine(line []byte) (string, error) {
	line = bytes.TrimRight(line, "\r")
	if len(line) < 12 || !bytes.HasPrefix(line, []byte("HTTP/1.")) || line[8] != ' ' ||
		!isDigit(line[9]) || !isDigit(line[10]) || !isDigit(line[11]) {
		return "", errNotHTTP
	}
	return string(line), nil
}

func isDigit(b byte) bool { return b >= '0' && b <= '9' }

var errNotHTTP = errors.New("the answer is not HTTP/1.x")

// handshakeReason describes a failed TLS handshake, with what to do when
// the member demanded a client certificate.
func handshakeReason(err error, timeout time.Duration, requested, sent bool) (Reason, string) {
	reason, r := classify(err, timeout)
	switch reason {
	case ReasonNotTLS, ReasonRefused, ReasonTimeout:
		return reason, r
	case ReasonTLSHandshake:
		r = err.Error() // the alert, without classify's own words
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		// What a plain libprocess member does with a ClientHello: its
		// HTTP decoder fails and it closes the socket (process.cpp).
		reason, r = ReasonNotTLS, reasonClosed
	}
	switch {
	case requested && !sent:
		return ReasonClientCertRequired, "TLS handshake failed: the member requires a client certificate and none is configured; set LIBPROCESS_SSL_CERT_FILE and LIBPROCESS_SSL_KEY_FILE (" + r + ")"
	case requested && isRemoteAlert(err):
		return ReasonClientCertRequired, "TLS handshake failed: the member refused the gateway's client certificate (" + r + ")"
	case reason == ReasonNotTLS:
		return reason, r
	}
	return ReasonTLSHandshake, "TLS handshake failed: " + r
}

// suiteName is tls.CipherSuiteName without its allocations.
func (c *Cluster) suiteName(id uint16) string {
	if name, ok := c.suiteNames[id]; ok {
		return name
	}
	return tls.CipherSuiteName(id)
}

// tlsVersionName names a TLS version as reports show it.
func tlsVersionName(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "TLS 1.0"
	case tls.VersionTLS11:
		return "TLS 1.1"
	case tls.VersionTLS12:
		return "TLS 1.2"
	case tls.VersionTLS13:
		return "TLS 1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// certInfo describes the chain and verifies it with libprocess's rules.
func (c *Cluster) certInfo(chain []*x509.Certificate, hostname string, ip netip.Addr) *MemberCert {
	return c.checkCert(describeChain(chain), chain, chainSum(chain), hostname, ip)
}

// describeChain returns what a chain says of itself: the MemberCert
// without DaysLeft and verification, which change with the time and the
// trust anchors.
func describeChain(chain []*x509.Certificate) *MemberCert {
	return &MemberCert{CertInfo: tlsx.NewCertInfo(chain[0], ""), Chain: len(chain)}
}

// checkCert completes a chain's description (describeChain) as of now:
// the days left and the verification against hostname and ip. sum is the
// chain's chainSum.
func (c *Cluster) checkCert(facts *MemberCert, chain []*x509.Certificate, sum [sha256.Size]byte, hostname string, ip netip.Addr) *MemberCert {
	info := *facts
	info.DaysLeft = int(info.NotAfter.Sub(c.cfg.Now()).Hours() / 24)
	if o := c.verify(chain, sum, hostname, ip); o.verifyErr != nil {
		info.VerifyError, info.trustErr = o.verifyErr.Error(), o.trustErr
	} else {
		info.Verified = true
	}
	return &info
}

// remoteIP returns the IP a connection reached, or fallback.
func remoteIP(conn net.Conn, fallback netip.Addr) netip.Addr {
	if ta, ok := conn.RemoteAddr().(*net.TCPAddr); ok {
		if ip, ok := netip.AddrFromSlice(ta.IP); ok {
			return ip.Unmap()
		}
	}
	return fallback
}
