package tlsx

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/caddyserver/certmagic"
)

// This file holds what the front's certificate sources share: the facts
// reported about a certificate, and ManagedSource, the certmagic-managed
// source behind both the internal CA (certsource_internal.go) and ACME
// (certsource_acme.go). The files source is the Context's own
// CERT_FILE/KEY_FILE with its reload watcher (files.go).

// The certificate sources, as --cert-source names them and CertInfo
// reports them.
const (
	SourceFiles    = "files"
	SourceInternal = "internal"
	SourceACME     = "acme"
)

// CertInfo describes a certificate: what the dashboard shows of the
// gateway's own and of members', what an expiry metric reads, and what
// `mesosgate probe --json` prints (upstream adds what a probe made of a
// member's).
type CertInfo struct {
	// Source is SourceFiles, SourceInternal or SourceACME for the front's,
	// "" for a member's.
	Source string `json:"source,omitempty"`
	// Subject and Issuer are the distinguished names in RFC 2253 form
	// ("CN=localhost,O=mesosgate").
	Subject string `json:"subject"`
	Issuer  string `json:"issuer"`
	// SANs are the certificate's DNS names, then its IP addresses.
	SANs []string `json:"sans"`
	// NotBefore and NotAfter bound its validity.
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	// Key is the public key ("RSA 2048", "ECDSA P-256").
	Key string `json:"key"`
	// SHA256 is the leaf's fingerprint, lower-case hex.
	SHA256 string `json:"sha256"`
}

// DaysLeft returns the days until the certificate expires at now, negative
// once it has.
func (i CertInfo) DaysLeft(now time.Time) float64 {
	return i.NotAfter.Sub(now).Hours() / 24
}

// NewCertInfo describes leaf as presented by source ("" for a member).
func NewCertInfo(leaf *x509.Certificate, source string) CertInfo {
	sum := sha256.Sum256(leaf.Raw)
	info := CertInfo{
		Source:    source,
		Subject:   leaf.Subject.String(),
		Issuer:    leaf.Issuer.String(),
		SANs:      make([]string, 0, len(leaf.DNSNames)+len(leaf.IPAddresses)),
		NotBefore: leaf.NotBefore,
		NotAfter:  leaf.NotAfter,
		Key:       keyName(leaf),
		SHA256:    hex.EncodeToString(sum[:]),
	}
	info.SANs = append(info.SANs, leaf.DNSNames...)
	for _, ip := range leaf.IPAddresses {
		if a, ok := netip.AddrFromSlice(ip); ok {
			info.SANs = append(info.SANs, a.Unmap().String())
		}
	}
	return info
}

// keyName describes a public key: algorithm and size.
func keyName(cert *x509.Certificate) string {
	switch k := cert.PublicKey.(type) {
	case *rsa.PublicKey:
		return fmt.Sprintf("RSA %d", k.N.BitLen())
	case *ecdsa.PublicKey:
		return "ECDSA " + k.Curve.Params().Name
	case ed25519.PublicKey:
		return "Ed25519"
	}
	return cert.PublicKeyAlgorithm.String()
}

// CertReporter is implemented by a CertSource that can say which
// certificates it presents now.
type CertReporter interface {
	Certificates() []CertInfo
}

// FrontCertificates describes the certificates the accepting side
// presents now: the CertSource's when it reports them, else
// CERT_FILE's. It is cheap enough to call on every scrape of a metric.
func (c *Context) FrontCertificates() []CertInfo {
	if r, ok := c.opts.Certificates.(CertReporter); ok {
		return r.Certificates()
	}
	if c.opts.Certificates != nil {
		return nil
	}
	if kp := c.keyPair.Load(); kp != nil && kp.Leaf != nil {
		return []CertInfo{NewCertInfo(kp.Leaf, SourceFiles)}
	}
	return nil
}

// Renewal tunes when managed certificates are renewed. The zero value is
// certmagic's production behaviour.
type Renewal struct {
	// CheckInterval is how often every certificate is checked. Zero means
	// certmagic's default, 10 minutes.
	CheckInterval time.Duration
	// WindowRatio is the part of a certificate's lifetime, at its end,
	// during which it is renewed. Zero means one third.
	WindowRatio float64
}

// ManagedSource is a front certificate source managed by certmagic: the
// internal CA (NewInternalSource) or an ACME CA (NewACMESource). It keeps
// one certificate per configured name and IP address in certmagic's
// storage: files under the data directory, or the certmagic.Storage the
// caller gives (several gateways then share it without a shared disk).
// Gateways sharing a storage share certificates and the locks that keep
// them from issuing twice: one issues a given certificate, all serve it.
//
// A certificate is issued only for a configured name: a handshake naming
// anything else fails and nothing is issued. A client that sends no SNI
// (one connecting by IP address) gets the certificate of the address it
// connected to when that address is configured, else the first configured
// name's.
//
// Certificates are obtained or loaded by Start, renewed in the background
// before they expire, and obtained during a handshake if one is missing
// (on-demand, for configured names only). It is safe for concurrent use;
// Close stops it.
type ManagedSource struct {
	source  string
	log     *slog.Logger
	names   []string        // configured names and IPs, canonical, in the order given
	allowed map[string]bool // the same, as a set
	// also, when set, allows names beyond the configured ones: framework
	// UIs' own hosts (Allow).
	also   atomic.Pointer[func(name string) bool]
	hint   string      // how to add a name, for refusals
	async  bool        // Start does not wait for certificates (ACME)
	caFile string      // the internal CA's certificate, "" for ACME
	ca     *CA         // the internal CA, nil for ACME
	client *clientCert // the internal CA's client certificate, nil for ACME
	alpn   []string    // protocols the front must offer (acme-tls/1)

	storage certmagic.Storage
	cache   *certmagic.Cache
	// maintain manages certificates without on-demand, so certmagic's
	// maintenance renews them on schedule; serve is the same with
	// on-demand issuance limited to the configured names, for
	// handshakes. Both share the cache and the storage.
	maintain, serve *certmagic.Config

	ctx       context.Context // ends background issuance and retries
	cancel    context.CancelFunc
	closeOnce sync.Once
}

var (
	_ CertSource       = (*ManagedSource)(nil)
	_ ClientCertSource = (*ManagedSource)(nil)
	_ CertReporter     = (*ManagedSource)(nil)
)

// managedSetup is what a source gives newManaged.
type managedSetup struct {
	source  string
	dataDir string
	storage certmagic.Storage // nil: files under dataDir
	names   []string
	ips     []netip.Addr
	hint    string
	renewal Renewal
	log     *slog.Logger
	// tune adjusts the certmagic configuration both configs start from.
	tune func(*certmagic.Config)
	// open, if set, runs once the storage is ready and before the
	// issuers are made (the internal CA is created under its lock).
	open func(*ManagedSource) error
	// issuer returns the issuer for one of the two configs.
	issuer func(*certmagic.Config) (certmagic.Issuer, error)
}

// newManaged checks the names, prepares the storage and builds the two
// certmagic configurations over one cache.
func newManaged(st managedSetup) (*ManagedSource, error) {
	m := &ManagedSource{source: st.source, log: st.log, hint: st.hint, allowed: map[string]bool{}}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	if err := m.setNames(st.names, st.ips); err != nil {
		return nil, err
	}
	m.storage = st.storage
	if m.storage == nil {
		if st.dataDir == "" {
			return nil, errors.New("no data directory: give one to keep the certificates in (--data-dir)")
		}
		if err := os.MkdirAll(st.dataDir, 0o700); err != nil {
			return nil, fmt.Errorf("create the data directory: %w", err)
		}
		m.storage = &certmagic.FileStorage{Path: filepath.Join(st.dataDir, "certmagic")}
	}
	zl := zapLogger(m.log)
	m.cache = certmagic.NewCache(certmagic.CacheOptions{
		GetConfigForCert:   func(certmagic.Certificate) (*certmagic.Config, error) { return m.maintain, nil },
		RenewCheckInterval: st.renewal.CheckInterval,
		Logger:             zl,
	})
	tmpl := certmagic.Config{
		RenewalWindowRatio: st.renewal.WindowRatio,
		Storage:            m.storage,
		Logger:             zl,
		OnEvent:            m.onEvent,
		// Every handshake would build an event nobody reads.
		ShouldEmitFunc: func(event string) bool { return event != "tls_get_certificate" },
	}
	if st.tune != nil {
		st.tune(&tmpl)
	}
	if st.open != nil {
		if err := st.open(m); err != nil {
			m.cache.Stop()
			return nil, err
		}
	}
	m.maintain = certmagic.New(m.cache, tmpl)
	tmpl.OnDemand = &certmagic.OnDemandConfig{DecisionFunc: m.decide}
	m.serve = certmagic.New(m.cache, tmpl)
	for _, cfg := range []*certmagic.Config{m.maintain, m.serve} {
		iss, err := st.issuer(cfg)
		if err != nil {
			m.cache.Stop()
			return nil, err
		}
		cfg.Issuers = []certmagic.Issuer{iss}
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m, nil
}

// setNames canonicalises and checks the configured names and addresses.
func (m *ManagedSource) setNames(names []string, ips []netip.Addr) error {
	var errs []error
	add := func(n string) {
		if !m.allowed[n] {
			m.allowed[n] = true
			m.names = append(m.names, n)
		}
	}
	for _, n := range names {
		c := canonicalName(n)
		switch {
		case strings.Contains(c, "*"):
			errs = append(errs, fmt.Errorf("%q: wildcard names are not supported; give each name", n))
		case !certmagic.SubjectQualifiesForCert(c):
			errs = append(errs, fmt.Errorf("%q is not a DNS name or IP address; write it like gateway.example.com", n))
		default:
			add(c)
		}
	}
	for _, ip := range ips {
		if !ip.IsValid() {
			errs = append(errs, errors.New("an invalid IP address was given"))
			continue
		}
		add(ip.Unmap().WithZone("").String())
	}
	if len(errs) == 0 && len(m.names) == 0 {
		errs = append(errs, errors.New("no names to issue certificates for: give the gateway's DNS names or IP addresses"))
	}
	return errors.Join(errs...)
}

// canonicalName lower-cases a DNS name and writes an IP address the one
// way certmagic indexes it.
func canonicalName(name string) string {
	name = strings.ToLower(strings.TrimSuffix(strings.TrimSpace(name), "."))
	if a, err := netip.ParseAddr(name); err == nil {
		return a.Unmap().WithZone("").String()
	}
	return name
}

// Names returns the configured names and IP addresses, canonical, in the
// order given.
func (m *ManagedSource) Names() []string { return slices.Clone(m.names) }

// Source returns SourceInternal or SourceACME.
func (m *ManagedSource) Source() string { return m.source }

// CAFile returns the path of the internal CA's certificate, the file
// browsers and members must trust; "" for ACME, and for a CA in a shared
// storage whose certificate could not be written under the data
// directory (CA().CertPEM() has it).
func (m *ManagedSource) CAFile() string { return m.caFile }

// CA returns the internal CA that issues the source's certificates (the
// demo signs its simulated members' certificates with it, so one file to
// trust covers everything); nil for ACME.
func (m *ManagedSource) CA() *CA { return m.ca }

// NextProtos returns the ALPN protocols the front listener must offer for
// this source to work: "acme-tls/1" for ACME, whose TLS-ALPN-01
// challenges are answered on the front. Context.ServerConfig adds them.
func (m *ManagedSource) NextProtos() []string { return slices.Clone(m.alpn) }

// decide is certmagic's on-demand DecisionFunc: a certificate is obtained
// only for a configured name. Fail closed: anything else, including a
// client-chosen SNI, is refused before storage or a CA is consulted.
func (m *ManagedSource) decide(_ context.Context, name string) error {
	if m.permits(canonicalName(name)) {
		return nil
	}
	return fmt.Errorf("%q is not a name this gateway serves (%s)", name, m.hint)
}

// Allow makes the source obtain certificates on demand, during a
// handshake, for the names f allows besides the configured ones (the
// gateway's framework UI hosts, <label>.<service domain>, for the
// frameworks the cluster has now). f is called for every name a client
// asks for that is not configured: it must be cheap and fail closed.
func (m *ManagedSource) Allow(f func(name string) bool) { m.also.Store(&f) }

// permits reports whether the source serves a canonical name.
func (m *ManagedSource) permits(name string) bool {
	if m.allowed[name] {
		return true
	}
	f := m.also.Load()
	return f != nil && (*f)(name)
}

// Start loads the certificates from storage, or obtains them: the internal
// CA's before it returns (an error then says what went wrong); an ACME
// CA's in the background, with retries, since the CA may take a while or
// be unreachable for a time (errors are logged). With ACME, call Start
// once the front listener is open: the CA's TLS-ALPN-01 validation
// connects to it.
func (m *ManagedSource) Start(ctx context.Context) error {
	if m.async {
		m.log.Info("obtaining certificates in the background", "source", m.source, "names", m.names)
		return m.maintain.ManageAsync(m.ctx, m.names)
	}
	if err := m.maintain.ManageSync(ctx, m.names); err != nil {
		return fmt.Errorf("obtain the %s certificates: %w", m.source, err)
	}
	return nil
}

// GetCertificate returns the certificate for a handshake. It is the
// front's tls.Config.GetCertificate (through Context).
func (m *ManagedSource) GetCertificate(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if hello.ServerName == "" {
		// No SNI: a client connecting by IP address (RFC 6066 forbids
		// IP literals in SNI). Name the address it connected to when it
		// is configured, else the first configured name, so certmagic
		// looks up, or obtains, a certificate this source may have.
		h := *hello
		h.ServerName = m.nameWithoutSNI(hello.Conn)
		hello = &h
	}
	return m.serve.GetCertificate(hello)
}

// nameWithoutSNI returns the name to serve a connection that sent no SNI.
func (m *ManagedSource) nameWithoutSNI(conn net.Conn) string {
	if conn != nil {
		if ip := addrIP(conn.LocalAddr()); ip.IsValid() {
			if n := ip.WithZone("").String(); m.allowed[n] {
				return n
			}
		}
	}
	return m.names[0]
}

// ClientCertificate returns the certificate presented to members that
// demand one: the internal CA's client certificate for the gateway's names
// and addresses, or nil for ACME (whose certificates are for serving).
func (m *ManagedSource) ClientCertificate() (*tls.Certificate, error) {
	if m.client == nil {
		return nil, nil
	}
	return m.client.get()
}

// Certificates describes the certificates in use, one per configured name
// that has one, in the order the names were given.
func (m *ManagedSource) Certificates() []CertInfo {
	var out []CertInfo
	seen := map[string]bool{}
	for _, n := range m.names {
		for _, c := range m.cache.AllMatchingCertificates(n) {
			if c.Leaf == nil || seen[c.Hash()] {
				continue
			}
			seen[c.Hash()] = true
			out = append(out, NewCertInfo(c.Leaf, m.source))
		}
	}
	return out
}

// Close stops renewals and background issuance. Certificates already
// handed out stay valid; handshakes after Close still get what is cached.
func (m *ManagedSource) Close() error {
	m.closeOnce.Do(func() {
		m.cancel()
		m.cache.Stop()
	})
	return nil
}

// onEvent logs, at info, each certificate put in use with its expiry: at
// start, when obtained, and when renewed. certmagic's own account of each
// step is logged at debug.
func (m *ManagedSource) onEvent(ctx context.Context, event string, data map[string]any) error {
	switch event {
	case "cached_managed_cert":
		sans, _ := data["sans"].([]string)
		for _, c := range m.certsFor(sans) {
			m.logCert("front certificate in use", c)
		}
	case "cert_obtained":
		msg := "front certificate obtained"
		if renewal, _ := data["renewal"].(bool); renewal {
			msg = "front certificate renewed"
		}
		key, _ := data["certificate_path"].(string)
		leaf, err := m.storedLeaf(ctx, key)
		if err != nil {
			m.log.Warn(msg+", but reading it back failed", "source", m.source, "name", data["identifier"], "err", err)
			return nil
		}
		m.logCert(msg, leaf)
	}
	return nil
}

// certsFor returns the cached leaves for names.
func (m *ManagedSource) certsFor(names []string) []*x509.Certificate {
	var out []*x509.Certificate
	for _, n := range names {
		for _, c := range m.cache.AllMatchingCertificates(n) {
			if c.Leaf != nil && !slices.Contains(out, c.Leaf) {
				out = append(out, c.Leaf)
			}
		}
	}
	return out
}

// storedLeaf reads the leaf of a certificate certmagic has just stored.
func (m *ManagedSource) storedLeaf(ctx context.Context, key string) (*x509.Certificate, error) {
	b, err := m.storage.Load(ctx, key)
	if err != nil {
		return nil, err
	}
	certs, err := parseCertificates(b)
	if err != nil {
		return nil, err
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("%s holds no certificate", key)
	}
	return certs[0], nil
}

func (m *ManagedSource) logCert(msg string, leaf *x509.Certificate) {
	info := NewCertInfo(leaf, m.source)
	m.log.Info(msg, "source", m.source, "names", info.SANs, "issuer", info.Issuer,
		"not_after", info.NotAfter.UTC().Format(time.RFC3339), "days_left", fmt.Sprintf("%.1f", info.DaysLeft(time.Now())))
}
