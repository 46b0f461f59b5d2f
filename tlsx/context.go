package tlsx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"sync/atomic"
	"time"
)

// CertSource supplies the certificate the accepting side presents, in place
// of CERT_FILE/KEY_FILE: certmagic's managed certificates, for example.
type CertSource interface {
	GetCertificate(*tls.ClientHelloInfo) (*tls.Certificate, error)
}

// ClientCertSource is implemented by a CertSource that can also supply the
// certificate presented to members that demand one. When the CertSource
// does not implement it, CERT_FILE/KEY_FILE are presented, or nothing.
type ClientCertSource interface {
	ClientCertificate() (*tls.Certificate, error)
}

// Options are the parts of a Context that do not come from the
// environment. The zero value works.
type Options struct {
	// Logger receives warnings and reload events. Nil discards them.
	Logger *slog.Logger
	// Certificates, if non-nil, supplies the accepting side's certificate
	// instead of CERT_FILE/KEY_FILE.
	Certificates CertSource
	// LookupAddr reverse-resolves an IP address for the legacy hostname
	// validation scheme. Nil means net.DefaultResolver.LookupAddr.
	LookupAddr func(ctx context.Context, ip string) ([]string, error)
	// Now returns the current time for certificate validity. Nil means
	// time.Now.
	Now func() time.Time
	// Name returns how the user names a setting, given the variable's
	// suffix ("KEY_FILE"), so errors point at what they wrote (a flag, a
	// MESOSGATE_ variable, the old SSL_ prefix). Nil means
	// "LIBPROCESS_SSL_" + suffix.
	Name func(suffix string) string
	// HandshakeTimeout bounds how long the downgrade listener waits for a
	// new connection's first bytes. Zero means 10 seconds.
	HandshakeTimeout time.Duration
	// ReloadInterval is how often CERT_FILE, KEY_FILE, CA_FILE and CA_DIR
	// are checked for changes. Zero means 2 seconds; negative disables
	// reloading.
	ReloadInterval time.Duration
}

// Context is a provisioned set of Settings: files loaded, names mapped to
// Go's suites and curves, ready to produce TLS configurations. It is the
// counterpart of libprocess's SSL_CTX. It is safe for concurrent use; Close
// stops its file watcher.
type Context struct {
	s    Settings
	opts Options
	log  *slog.Logger

	versions     versions
	serverSuites []uint16
	clientSuites []uint16
	curves       []tls.CurveID
	warnings     []string

	// keyPair is the CERT_FILE/KEY_FILE certificate, nil when not set.
	// trust is what CA_FILE/CA_DIR hold, nil meaning the system roots.
	// clientCAs is what ClientCAFile holds (read once), nil without it.
	// Each is swapped whole when its files change, so a handshake sees
	// either the old or the new set, never a mix.
	keyPair   atomic.Pointer[tls.Certificate]
	trust     atomic.Pointer[trust]
	clientCAs *x509.CertPool

	rdns rdnsCache

	stop chan struct{}
	done chan struct{}
}

// NewContext validates s, loads its files and returns a Context. Every
// problem is reported at once, each naming its setting.
func NewContext(s Settings, opts Options) (*Context, error) {
	c := &Context{s: s, opts: opts, log: opts.Logger, stop: make(chan struct{}), done: make(chan struct{})}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	var errs []error
	var err error
	if c.versions, err = enabledVersions(s, c.name); err != nil {
		errs = append(errs, err)
	} else if w := c.versions.gapWarning(); w != "" {
		c.warnings = append(c.warnings, w)
	}
	if err := c.setSuites(); err != nil {
		errs = append(errs, err)
	}
	if c.curves, err = parseCurves(s.ECDHCurves); err != nil {
		errs = append(errs, fmt.Errorf("%s: %w", c.name("ECDH_CURVES"), err))
	}
	if s.HostnameValidationScheme != "" && s.HostnameValidationScheme != HostnameLegacy && s.HostnameValidationScheme != HostnameOpenSSL {
		errs = append(errs, fmt.Errorf("%s=%q: use legacy or openssl", c.name("HOSTNAME_VALIDATION_SCHEME"), s.HostnameValidationScheme))
	}
	if s.VerifyDepth < 0 {
		errs = append(errs, fmt.Errorf("%s=%d: use a positive number of intermediate certificates", c.name("VERIFY_DEPTH"), s.VerifyDepth))
	}
	// Fingerprints first: a file changing during the load is then seen
	// as a change by the watcher.
	keyPairFP, trustFP := c.keyPairFingerprint(), c.trustFingerprint()
	if s.ClientCAFile != "" {
		if c.clientCAs, err = loadCertPool(s.ClientCAFile); err != nil {
			errs = append(errs, fmt.Errorf("--client-ca: %w", err))
		}
	}
	loadErr := c.loadFiles()
	if loadErr != nil {
		errs = append(errs, loadErr)
	}
	if s.Enabled.Or(false) && c.keyPair.Load() == nil && opts.Certificates == nil && s.CertFile == "" && s.KeyFile == "" {
		// A pair that is set but does not load has its own error above.
		errs = append(errs, fmt.Errorf("SSL is enabled but has no certificate: set %s and %s", c.name("CERT_FILE"), c.name("KEY_FILE")))
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	for _, w := range c.warnings {
		c.log.Warn(w)
	}
	if facts := c.keyPairFacts(); facts != nil {
		c.log.Info("tls certificate loaded", append([]any{"cert_file", s.CertFile}, facts...)...)
	}
	if s.VerifiesServer() && c.trust.Load() == nil {
		// libprocess logs where OpenSSL's default verify paths point;
		// Go's system roots read the same two variables.
		c.log.Info("verifying peers against the system roots: set "+c.name("CA_FILE")+" or "+c.name("CA_DIR")+" to choose the trust anchors",
			"SSL_CERT_FILE", os.Getenv("SSL_CERT_FILE"), "SSL_CERT_DIR", os.Getenv("SSL_CERT_DIR"))
	}
	c.startWatcher(keyPairFP, trustFP)
	return c, nil
}

// name returns how the user names the setting with the given suffix.
func (c *Context) name(suffix string) string {
	if c.opts.Name != nil {
		return c.opts.Name(suffix)
	}
	return "LIBPROCESS_SSL_" + suffix
}

// setSuites resolves CIPHERS for both sides. Without CIPHERS the accepting
// side uses the modern list and the connecting side adds the suites stock
// Mesos members need; with CIPHERS both use exactly what it names.
func (c *Context) setSuites() error {
	if c.s.Ciphers == "" {
		c.serverSuites = modernSuites
		if len(c.versions) > 0 && c.versions.min() < tls.VersionTLS12 {
			c.serverSuites = append(append([]uint16{}, modernSuites...), legacyVersionSuites...)
		}
		c.clientSuites = append(append([]uint16{}, c.serverSuites...), memberSuites...)
		return nil
	}
	l, err := parseCiphers(c.s.Ciphers)
	c.warnings = append(c.warnings, l.warnings(c.name("CIPHERS"))...)
	if err != nil {
		return fmt.Errorf("%s: %w", c.name("CIPHERS"), err)
	}
	c.serverSuites, c.clientSuites = l.suites, l.suites
	return nil
}

// Settings returns the settings the Context was made from.
func (c *Context) Settings() Settings { return c.s }

// Warnings returns what NewContext found questionable but usable (skipped
// ciphers, a gap in the enabled versions). They were also logged.
func (c *Context) Warnings() []string { return append([]string(nil), c.warnings...) }

// Close stops the file watcher. The configurations already handed out keep
// working with the files last loaded.
func (c *Context) Close() error {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
	return nil
}

func (c *Context) now() time.Time {
	if c.opts.Now != nil {
		return c.opts.Now()
	}
	return time.Now()
}

// base returns the settings both sides share.
func (c *Context) base() *tls.Config {
	return &tls.Config{
		MinVersion:       c.versions.min(),
		MaxVersion:       c.versions.max(),
		CurvePreferences: c.curves,
		Time:             c.opts.Now,
	}
}

// ServerConfig returns the accepting side's configuration: the current
// certificate on every handshake (so reloads apply at once), exactly the
// enabled TLS versions, and with REQUIRE_CLIENT_CERT a demanded client
// certificate verified against the trust anchors, depth and the hostname
// scheme. nextProtos are offered in ALPN (the gateway offers "h2" and
// "http/1.1"; a libprocess member none), followed by those the
// CertSource needs (ManagedSource.NextProtos).
//
// Change the returned configuration itself, not a clone, before use: the
// per-connection copies (REQUIRE_CLIENT_CERT, a gap in the versions) are
// cloned from it.
func (c *Context) ServerConfig(nextProtos ...string) *tls.Config {
	cfg := c.base()
	cfg.CipherSuites = c.serverSuites
	cfg.NextProtos = nextProtos
	if p, ok := c.opts.Certificates.(interface{ NextProtos() []string }); ok {
		// A source that answers ACME's TLS-ALPN-01 challenges on the
		// front needs "acme-tls/1" offered, or Go refuses the CA's
		// validation handshake before asking for a certificate.
		cfg.NextProtos = append(append([]string{}, nextProtos...), p.NextProtos()...)
	}
	cfg.GetCertificate = c.serverCertificate
	gap := len(c.versions.gaps()) > 0
	if c.clientCAs != nil {
		// Go verifies the chain itself, so VerifiedChains says who the
		// client is.
		cfg.ClientCAs = c.clientCAs
		cfg.ClientAuth = tls.VerifyClientCertIfGiven
		if c.s.RequireClientCert {
			cfg.ClientAuth = tls.RequireAndVerifyClientCert
		}
	} else if c.s.RequireClientCert {
		// Go verifies nothing itself (RequireAnyClientCert): libprocess's
		// rules (depth, legacy reverse lookup of the peer) are applied in
		// VerifyConnection, which needs the peer's address. Like
		// libprocess (no SSL_CTX_set_client_CA_list), no CA names are
		// sent with the request.
		cfg.ClientAuth = tls.RequireAnyClientCert
	}
	libprocessClients := c.s.RequireClientCert && c.clientCAs == nil
	if !libprocessClients && !gap {
		return cfg
	}
	// Each connection gets its own copy of the configuration: for the
	// peer's address, and to pin the version when the enabled ones have a
	// gap (Go's range would otherwise accept the disabled version).
	cfg.GetConfigForClient = func(hello *tls.ClientHelloInfo) (*tls.Config, error) {
		conn := cfg.Clone()
		conn.GetConfigForClient = nil
		if gap {
			v := c.versions.pick(hello.SupportedVersions)
			conn.MinVersion, conn.MaxVersion = v, v
		}
		if libprocessClients {
			ip := addrIP(hello.Conn.RemoteAddr())
			conn.VerifyConnection = func(cs tls.ConnectionState) error {
				return c.verifyClient(cs.PeerCertificates, ip)
			}
		}
		return conn, nil
	}
	return cfg
}

// serverCertificate picks the accepting side's certificate: the
// CertSource when there is one, else CERT_FILE/KEY_FILE.
func (c *Context) serverCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if c.opts.Certificates != nil {
		return c.opts.Certificates.GetCertificate(hello)
	}
	if kp := c.keyPair.Load(); kp != nil {
		return kp, nil
	}
	return nil, fmt.Errorf("no certificate configured: set %s and %s", c.name("CERT_FILE"), c.name("KEY_FILE"))
}

// ClientCertificate returns the certificate presented to members that
// demand one, or nil when there is none.
func (c *Context) ClientCertificate() (*tls.Certificate, error) {
	if kp := c.keyPair.Load(); kp != nil {
		return kp, nil
	}
	if cs, ok := c.opts.Certificates.(ClientCertSource); ok {
		return cs.ClientCertificate()
	}
	return nil, nil
}

// ClientConfig returns the configuration for connecting to a member at ip
// whose name is hostname (either may be empty; SNI carries the hostname).
// With VERIFY_SERVER_CERT (or REQUIRE_CLIENT_CERT, which implies it) the
// member's chain and name are verified as libprocess does; without it,
// nothing is verified, as in libprocess. The client certificate, if any,
// is presented when the member asks for one.
func (c *Context) ClientConfig(hostname string, ip netip.Addr) *tls.Config {
	cfg := c.base()
	cfg.CipherSuites = c.clientSuites
	if _, err := netip.ParseAddr(hostname); err != nil {
		cfg.ServerName = hostname
	}
	// Go's own verification cannot express libprocess's rules (depth as
	// OpenSSL counts it, the legacy scheme's reverse lookup), so it is off
	// and VerifyConnection does the whole job.
	cfg.InsecureSkipVerify = true
	if c.s.VerifiesServer() {
		cfg.VerifyConnection = func(cs tls.ConnectionState) error {
			return c.Verify(cs.PeerCertificates, hostname, ip)
		}
	}
	cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
		cert, err := c.ClientCertificate()
		if cert == nil || err != nil {
			// An empty certificate lets the member decide: one that
			// requires a certificate refuses the handshake, and the
			// prober reports that it demanded one.
			return &tls.Certificate{}, nil
		}
		return cert, nil
	}
	return cfg
}

// addrIP returns the IP of a TCP address, or the zero Addr.
func addrIP(a net.Addr) netip.Addr {
	if ta, ok := a.(*net.TCPAddr); ok {
		ip, _ := netip.AddrFromSlice(ta.IP)
		return ip.Unmap()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap.Addr().Unmap()
	}
	return netip.Addr{}
}
