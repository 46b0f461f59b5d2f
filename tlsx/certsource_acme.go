package tlsx

import (
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strconv"

	"github.com/caddyserver/certmagic"
)

// LetsEncryptCA is Let's Encrypt's production ACME directory, the ACME
// source's default.
const LetsEncryptCA = certmagic.LetsEncryptProductionCA

// acmeTLS1 is the ALPN protocol of the TLS-ALPN-01 challenge (RFC 8737).
const acmeTLS1 = "acme-tls/1"

// ACMEOptions configure the ACME source. Domains, and DataDir or Storage,
// are required; the other zero values work.
type ACMEOptions struct {
	// DataDir holds certmagic's storage (certmagic/): the ACME account,
	// the certificates and the locks gateways sharing the directory take.
	// It is not used with Storage.
	DataDir string
	// Storage, if set, keeps the ACME account, the certificates and the
	// locks instead of DataDir: gateways sharing it share them, and only
	// one obtains a given certificate. Nil means files under DataDir.
	Storage certmagic.Storage
	// Directory is the ACME directory URL; "" means LetsEncryptCA.
	Directory string
	// Email is the account's contact address; "" registers without one.
	Email string
	// CARoot is a PEM file of the roots that sign Directory's own HTTPS
	// certificate (a private ACME CA); "" means the system roots.
	CARoot string
	// Domains are the DNS names to obtain certificates for, one each.
	Domains []string
	// ChallengeAddr is the front listener's address (host:port). The CA
	// validates control of a domain with TLS-ALPN-01, answered by the
	// front listener itself: the CA connects to the domain on port 443,
	// so the front must listen there or be reached through a forward to
	// it. "" means ":443".
	ChallengeAddr string
	// Renewal tunes when certificates are renewed; the zero value is
	// certmagic's (in the last third of the lifetime, or when the CA's
	// renewal information says).
	Renewal Renewal
	// Logger receives each certificate put in use with its expiry, and
	// certmagic's account at debug and its errors. Nil discards them.
	Logger *slog.Logger
}

// NewACMESource returns a source obtaining certificates for Domains from
// an ACME CA through certmagic. Call Start once the front listener is
// open. Choosing this source agrees to the CA's terms of service.
//
// Only the TLS-ALPN-01 challenge is used: HTTP-01 would need a listener
// on port 80, which the gateway does not run, and certmagic would bind
// one of its own.
func NewACMESource(o ACMEOptions) (*ManagedSource, error) {
	var errs []error
	roots, err := acmeRoots(o.CARoot)
	if err != nil {
		errs = append(errs, err)
	}
	host, port, err := challengeHostPort(o.ChallengeAddr)
	if err != nil {
		errs = append(errs, err)
	}
	if len(o.Domains) == 0 {
		errs = append(errs, errors.New("no domain to obtain a certificate for: give the gateway's public DNS name (--acme-domain)"))
	}
	for _, d := range o.Domains {
		if _, err := netip.ParseAddr(d); err == nil {
			errs = append(errs, fmt.Errorf("%q: give DNS names, not IP addresses", d))
		}
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	directory := o.Directory
	if directory == "" {
		directory = LetsEncryptCA
	}
	m, err := newManaged(managedSetup{
		source: SourceACME, dataDir: o.DataDir, storage: o.Storage, names: o.Domains, renewal: o.Renewal, log: o.Logger,
		hint: "add it with --acme-domain to obtain a certificate for it",
		issuer: func(cfg *certmagic.Config) (certmagic.Issuer, error) {
			return certmagic.NewACMEIssuer(cfg, certmagic.ACMEIssuer{
				CA:                   directory,
				Email:                o.Email,
				Agreed:               true, // certmagic would otherwise ask on the terminal
				TrustedRoots:         roots,
				DisableHTTPChallenge: true,
				ListenHost:           host,
				AltTLSALPNPort:       port,
				Logger:               cfg.Logger,
			}), nil
		},
	})
	if err != nil {
		return nil, err
	}
	m.async = true
	m.alpn = []string{acmeTLS1}
	m.log.Info("ACME certificate source", "directory", directory, "domains", m.names, "challenge", "tls-alpn-01 on "+net.JoinHostPort(host, strconv.Itoa(port)))
	return m, nil
}

// acmeRoots reads the roots a private ACME directory's HTTPS certificate
// chains to; nil (the system roots) without a file.
func acmeRoots(file string) (*x509.CertPool, error) {
	if file == "" {
		return nil, nil
	}
	b, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("read the ACME CA's root file: %w", err)
	}
	certs, err := parseCertificates(b)
	if err != nil {
		return nil, fmt.Errorf("ACME CA root file %s: %w", file, err)
	}
	if len(certs) == 0 {
		return nil, fmt.Errorf("ACME CA root file %s holds no PEM certificate: give the PEM root that signs the ACME directory's HTTPS certificate", file)
	}
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	return pool, nil
}

// challengeHostPort splits the front's listen address for certmagic's
// TLS-ALPN solver: it binds that address only if nothing listens there
// (the front, started before Start, does) and otherwise lets the front
// answer.
func challengeHostPort(addr string) (string, int, error) {
	if addr == "" {
		return "", certmagic.TLSALPNChallengePort, nil
	}
	host, p, err := net.SplitHostPort(addr)
	if err != nil {
		return "", 0, fmt.Errorf("challenge address %q: %w", addr, err)
	}
	port, err := strconv.Atoi(p)
	if err != nil || port <= 0 || port > 65535 {
		return "", 0, fmt.Errorf("challenge address %q: give the front's listening port, not %q", addr, p)
	}
	return host, port, nil
}
