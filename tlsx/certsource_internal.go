package tlsx

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/caddyserver/certmagic"
)

// DefaultInternalValidity is the lifetime of the internal CA's leaf
// certificates. Short, since renewal costs nothing: a certificate that
// leaks stops working within days, and certmagic renews it when a third
// of its lifetime is left.
const DefaultInternalValidity = 7 * 24 * time.Hour

// InternalOptions configure the internal CA source. At least one name or
// address, and DataDir or Storage, are required; the other zero values
// work.
type InternalOptions struct {
	// DataDir holds the CA (ca/mesosgate-ca.pem and, mode 0600,
	// ca/mesosgate-ca-key.pem), created on first start and reused after,
	// and certmagic's storage (certmagic/) with the issued certificates
	// and the locks gateways sharing the directory take. With Storage it
	// only receives a copy of the CA's certificate (ca/mesosgate-ca.pem,
	// the file to trust) when it is set and holds no other CA.
	DataDir string
	// Storage, if set, keeps the CA (its key included), the issued
	// certificates and the locks instead of DataDir, so that gateways
	// sharing it issue from one CA without a shared disk; the first to
	// start creates the CA under the storage's lock (bringing the one in
	// DataDir, if any). The storage must keep the key private. Nil means
	// files under DataDir.
	Storage certmagic.Storage
	// Names are the DNS names the gateway serves ("localhost",
	// "gateway.example.com").
	Names []string
	// IPs are the addresses clients connect to by IP.
	IPs []netip.Addr
	// Validity is the lifetime of an issued certificate; zero means
	// DefaultInternalValidity.
	Validity time.Duration
	// Renewal tunes when certificates are renewed; the zero value renews
	// in the last third of their lifetime, checked every 10 minutes.
	Renewal Renewal
	// Logger receives the CA's path, each certificate put in use with its
	// expiry, and certmagic's account at debug. Nil discards them.
	Logger *slog.Logger
	// Now returns the current time, for renewing the client certificate;
	// nil means time.Now. (certmagic reads the wall clock itself.)
	Now func() time.Time
}

// NewInternalSource opens, or on first use creates, the internal CA in
// DataDir or Storage and returns a source whose certificates it issues
// through certmagic. Call Start to obtain them. Gateways sharing DataDir
// or Storage share the CA: the first to start creates it under a lock.
func NewInternalSource(o InternalOptions) (*ManagedSource, error) {
	validity := o.Validity
	if validity == 0 {
		validity = DefaultInternalValidity
	}
	var iss *internalIssuer
	m, err := newManaged(managedSetup{
		source: SourceInternal, dataDir: o.DataDir, storage: o.Storage, names: o.Names, ips: o.IPs, renewal: o.Renewal, log: o.Logger,
		hint: "add it to the gateway's names to serve it",
		tune: func(cfg *certmagic.Config) {
			// Neither exists for a CA of our own.
			cfg.DisableARI = true
			cfg.OCSP.DisableStapling = true
		},
		open: func(m *ManagedSource) error {
			ca, caFile, err := openInternalCA(o.DataDir, m.storage, o.Storage, m.log)
			if err != nil {
				return err
			}
			m.caFile, m.ca = caFile, ca
			iss = &internalIssuer{ca: ca, validity: validity, permits: m.permits, key: internalIssuerKey(ca)}
			m.client = &clientCert{ca: ca, names: m.names, validity: validity, now: o.Now}
			return nil
		},
		issuer: func(*certmagic.Config) (certmagic.Issuer, error) { return iss, nil },
	})
	if err != nil {
		return nil, err
	}
	if m.caFile != "" {
		m.log.Info("internal CA: trust this file in browsers and on members that verify the gateway", "ca_file", m.caFile)
	}
	return m, nil
}

// internalIssuerKey names the CA in certmagic's storage paths, so
// certificates of a previous CA in the same directory (one deleted and
// minted anew) are never loaded: they would not verify.
func internalIssuerKey(ca *CA) string {
	sum := sha256.Sum256(ca.Cert.Raw)
	return "mesosgate-internal-" + hex.EncodeToString(sum[:8])
}

// internalIssuer is certmagic's Issuer for the internal CA: it signs the
// key of certmagic's request, for configured names only.
type internalIssuer struct {
	ca       *CA
	validity time.Duration
	permits  func(name string) bool // the source's names
	key      string
}

var _ certmagic.Issuer = (*internalIssuer)(nil)

// Issue signs csr. Every name in it must be configured: certmagic makes
// the request itself, so this is a second line behind the DecisionFunc.
func (i *internalIssuer) Issue(_ context.Context, csr *x509.CertificateRequest) (*certmagic.IssuedCertificate, error) {
	if err := csr.CheckSignature(); err != nil {
		return nil, fmt.Errorf("check the certificate request: %w", err)
	}
	for _, n := range csr.DNSNames {
		if !i.permits(canonicalName(n)) {
			return nil, fmt.Errorf("refusing to issue for %q: not a configured name", n)
		}
	}
	for _, ip := range csr.IPAddresses {
		if !i.permits(canonicalName(ip.String())) {
			return nil, fmt.Errorf("refusing to issue for %s: not a configured address", ip)
		}
	}
	_, chain, err := i.ca.Sign(LeafRequest{
		DNSNames: csr.DNSNames, IPAddresses: csr.IPAddresses,
		Validity: i.validity, NotBefore: backdated(time.Now(), i.validity), Usage: ServerOnly,
	}, csr.PublicKey)
	if err != nil {
		return nil, err
	}
	var out []byte
	for _, der := range chain {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return &certmagic.IssuedCertificate{Certificate: out}, nil
}

// IssuerKey identifies the CA in storage paths.
func (i *internalIssuer) IssuerKey() string { return i.key }

// backdated returns the NotBefore of a certificate issued at now: an hour
// earlier, for clients whose clocks lag, but at most a tenth of the
// lifetime, so short lifetimes keep most of their validity ahead (the
// renewal window is a share of the whole lifetime).
func backdated(now time.Time, validity time.Duration) time.Time {
	return now.Add(-min(time.Hour, validity/10))
}

// clientCert is the internal CA's client certificate for the gateway: one
// certificate naming all its names and addresses, which members that
// demand a client certificate (REQUIRE_CLIENT_CERT) and trust the CA
// accept, under either hostname scheme. It lives in memory and is issued
// again when two thirds of its lifetime have passed.
type clientCert struct {
	ca       *CA
	names    []string
	validity time.Duration
	now      func() time.Time

	mu      sync.Mutex
	cur     *tls.Certificate
	renewAt time.Time
}

func (c *clientCert) get() (*tls.Certificate, error) {
	now := time.Now()
	if c.now != nil {
		now = c.now() // tests move the clock to see the renewal
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur != nil && now.Before(c.renewAt) {
		return c.cur, nil
	}
	// The certificate itself is dated by the wall clock, as the CA signs.
	req := LeafRequest{Validity: c.validity, NotBefore: backdated(time.Now(), c.validity), Usage: ClientOnly}
	for _, n := range c.names {
		if a, err := netip.ParseAddr(n); err == nil {
			req.IPAddresses = append(req.IPAddresses, net.IP(a.AsSlice()))
		} else {
			req.DNSNames = append(req.DNSNames, n)
		}
	}
	leaf, err := c.ca.Issue(req)
	if err != nil {
		return nil, fmt.Errorf("issue the gateway's client certificate: %w", err)
	}
	cert := leaf.TLSCertificate()
	c.cur, c.renewAt = &cert, now.Add(2*c.validity/3)
	return c.cur, nil
}

// InternalNames returns the names and addresses the internal CA should
// issue for, given the front's listen address (host:port): a loopback
// address gives "localhost" and that address; another address gives the
// machine's hostname and that address; a DNS name gives that name; an
// empty or unspecified host (":8443", "0.0.0.0:8443") gives "localhost",
// the hostname and every address of the machine's interfaces. Extra are
// the names and addresses browsers use besides (--server-name: a DNS alias,
// a load balancer's name, a public address), added after those.
func InternalNames(listen string, extra ...string) ([]string, []netip.Addr, error) {
	names, ips, err := internalNames(listen, os.Hostname, net.InterfaceAddrs)
	if err != nil {
		return nil, nil, err
	}
	names, ips = withExtraNames(names, ips, extra)
	return names, ips, nil
}

// withExtraNames adds the names and addresses of extra not yet present.
func withExtraNames(names []string, ips []netip.Addr, extra []string) ([]string, []netip.Addr) {
	for _, e := range extra {
		if ip, err := netip.ParseAddr(e); err == nil {
			if ip = ip.Unmap().WithZone(""); !slices.Contains(ips, ip) {
				ips = append(ips, ip)
			}
		} else if n := canonicalName(e); !slices.Contains(names, n) {
			names = append(names, n)
		}
	}
	return names, ips
}

func internalNames(listen string, hostname func() (string, error), interfaceAddrs func() ([]net.Addr, error)) ([]string, []netip.Addr, error) {
	host, _, err := net.SplitHostPort(listen)
	if err != nil {
		return nil, nil, fmt.Errorf("listen address %q: %w", listen, err)
	}
	var names []string
	addHostname := func() {
		if h, err := hostname(); err == nil && h != "" && !slices.Contains(names, canonicalName(h)) {
			names = append(names, canonicalName(h))
		}
	}
	ip, err := netip.ParseAddr(host)
	switch {
	case host != "" && err != nil:
		return []string{canonicalName(host)}, nil, nil
	case host != "" && !ip.IsUnspecified():
		ip = ip.Unmap().WithZone("")
		if ip.IsLoopback() {
			return []string{"localhost"}, []netip.Addr{ip}, nil
		}
		addHostname()
		return names, []netip.Addr{ip}, nil
	}
	names = []string{"localhost"}
	addHostname()
	addrs, err := interfaceAddrs()
	if err != nil {
		return nil, nil, fmt.Errorf("list the machine's addresses: %w", err)
	}
	var ips []netip.Addr
	for _, a := range addrs {
		p, err := netip.ParsePrefix(a.String())
		if err != nil || p.Addr().IsLinkLocalUnicast() {
			continue // link-local addresses need a zone; nobody browses them
		}
		if ip := p.Addr().Unmap(); !slices.Contains(ips, ip) {
			ips = append(ips, ip)
		}
	}
	return names, ips, nil
}
