package tlsx

import (
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// Verify checks a member's certificate chain (leaf first, as the member
// sent it) the way a connecting libprocess process with VERIFY_SERVER_CERT
// does: the chain must lead to a trust anchor within the verify depth, and
// the leaf must name the member by the hostname validation scheme. It runs
// whatever VERIFY_SERVER_CERT says, so the prober can report "verifies"
// separately from "speaks TLS".
func (c *Context) Verify(chain []*x509.Certificate, hostname string, ip netip.Addr) error {
	if err := c.verifyChain(chain, x509.ExtKeyUsageServerAuth); err != nil {
		return err
	}
	if c.scheme() == HostnameOpenSSL {
		return c.matchOpenSSL(chain[0], hostname, ip)
	}
	return c.matchLegacy(chain[0], c.reverseName(hostname, ip), ip)
}

// verifyClient checks a client's certificate on the accepting side with
// REQUIRE_CLIENT_CERT. libprocess (openssl.cpp, verify() in server mode)
// checks no name under the openssl scheme; under the legacy scheme the
// certificate must name the client's reverse-resolved address (or carry its
// IP with VERIFY_IPADD).
func (c *Context) verifyClient(chain []*x509.Certificate, ip netip.Addr) error {
	if err := c.verifyChain(chain, x509.ExtKeyUsageClientAuth); err != nil {
		return err
	}
	if c.scheme() == HostnameOpenSSL {
		return nil
	}
	return c.matchLegacy(chain[0], c.reverseName("", ip), ip)
}

func (c *Context) scheme() HostnameScheme {
	if c.s.HostnameValidationScheme == "" {
		return HostnameLegacy
	}
	return c.s.HostnameValidationScheme
}

// Roots returns the trust anchors in use: the self-signed certificates of
// CA_FILE and CA_DIR (the others there only link a chain to them; see
// trust), or nil for the system roots.
func (c *Context) Roots() *x509.CertPool {
	if t := c.trust.Load(); t != nil {
		return t.anchors
	}
	return nil
}

// verifyChain checks that the chain leads to a trust anchor for the usage
// and holds at most VERIFY_DEPTH intermediates. OpenSSL counts depth from
// the leaf (0) up: depth N admits the leaf, N intermediates and the anchor.
func (c *Context) verifyChain(chain []*x509.Certificate, usage x509.ExtKeyUsage) error {
	if len(chain) == 0 {
		return errors.New("the peer presented no certificate")
	}
	inter := x509.NewCertPool()
	for _, cert := range chain[1:] {
		inter.AddCert(cert)
	}
	var roots *x509.CertPool // nil: the system roots
	if t := c.trust.Load(); t != nil {
		roots = t.anchors
		for _, cert := range t.links {
			inter.AddCert(cert)
		}
	}
	chains, err := chain[0].Verify(x509.VerifyOptions{
		Roots:         roots,
		Intermediates: inter,
		CurrentTime:   c.now(),
		KeyUsages:     []x509.ExtKeyUsage{usage},
	})
	if err != nil {
		return fmt.Errorf("certificate %s does not verify: %w", describeCert(chain[0]), err)
	}
	depth := c.s.Depth()
	shortest := len(chains[0])
	for _, ch := range chains {
		shortest = min(shortest, len(ch))
	}
	// A chain of length n holds the leaf, the anchor and n-2 intermediates
	// (a leaf trusted directly is a chain of one).
	if intermediates := max(shortest-2, 0); intermediates > depth {
		return fmt.Errorf("certificate %s verifies only through %d intermediate certificates, more than the verify depth %d allows: raise %s or shorten the chain", describeCert(chain[0]), intermediates, depth, c.name("VERIFY_DEPTH"))
	}
	return nil
}

// matchLegacy applies the legacy scheme (libprocess openssl.cpp, verify()):
// an exact DNS SAN equal to name, an IPv4 SAN equal to ip with VERIFY_IPADD,
// else the subject's first common name equal to name. Without a name and
// without VERIFY_IPADD the certificate is accepted, unless this process has
// REQUIRE_CLIENT_CERT: libprocess tests that setting, not the side of the
// connection, so a process requiring client certificates also refuses
// members whose name it cannot learn.
func (c *Context) matchLegacy(leaf *x509.Certificate, name string, ip netip.Addr) error {
	if name == "" && !c.s.VerifyIPAdd {
		if c.s.RequireClientCert {
			return errors.New("cannot verify the peer's certificate: the peer's hostname is unknown (no reverse DNS) and VERIFY_IPADD is off")
		}
		return nil
	}
	if name != "" {
		// Case-sensitive and without wildcards, as libprocess compares.
		for _, dns := range leaf.DNSNames {
			if dns == name {
				return nil
			}
		}
	}
	// libprocess reads iPAddress SANs of four bytes only: an IPv6 SAN
	// never matches under this scheme.
	if c.s.VerifyIPAdd && ip.Unmap().Is4() && hasIP(leaf, ip) {
		return nil
	}
	if cn := firstCommonName(leaf); name != "" && cn != "" {
		if cn == name {
			return nil
		}
		return fmt.Errorf("certificate %s does not match the peer's hostname %q (legacy hostname validation)", describeCert(leaf), name)
	}
	return fmt.Errorf("certificate %s does not match %s (legacy hostname validation)", describeCert(leaf), peerDesc(name, ip))
}

// oidCommonName is the X.520 commonName attribute.
var oidCommonName = asn1.ObjectIdentifier{2, 5, 4, 3}

// firstCommonName returns the subject's first common name, the one
// OpenSSL's X509_NAME_get_text_by_NID returns (Go's Subject.CommonName
// holds the last).
func firstCommonName(cert *x509.Certificate) string {
	for _, atv := range cert.Subject.Names {
		if atv.Type.Equal(oidCommonName) {
			s, _ := atv.Value.(string)
			return s
		}
	}
	return ""
}

// matchOpenSSL applies the openssl scheme on the connecting side, as
// X509_check_host and X509_check_ip do with the flags libprocess passes
// (none): the hostname connected to must match a DNS SAN, or a common name
// when the certificate has no DNS SAN, with OpenSSL's wildcards; with no
// DNS hostname, the IP must match an IP SAN and VERIFY_IPADD must be on.
func (c *Context) matchOpenSSL(leaf *x509.Certificate, hostname string, ip netip.Addr) error {
	if addr, err := netip.ParseAddr(hostname); err == nil {
		hostname, ip = "", addr.Unmap()
	}
	if hostname != "" {
		names := leaf.DNSNames
		if len(names) == 0 {
			names = commonNames(leaf)
		}
		for _, pattern := range names {
			if matchHostname(pattern, hostname) {
				return nil
			}
		}
		return fmt.Errorf("certificate %s does not match hostname %q (openssl hostname validation)", describeCert(leaf), hostname)
	}
	if !c.s.VerifyIPAdd {
		return errors.New("no DNS name to check the certificate against and VERIFY_IPADD is off: give the member's hostname or enable VERIFY_IPADD")
	}
	if ip.IsValid() && hasIP(leaf, ip) {
		return nil
	}
	return fmt.Errorf("certificate %s does not match IP %s (openssl hostname validation)", describeCert(leaf), ip)
}

// commonNames returns every common name of the subject: X509_check_host
// tries each.
func commonNames(cert *x509.Certificate) []string {
	var names []string
	for _, atv := range cert.Subject.Names {
		if s, ok := atv.Value.(string); ok && atv.Type.Equal(oidCommonName) {
			names = append(names, s)
		}
	}
	return names
}

// matchHostname matches a DNS name against a certificate name as
// OpenSSL's X509_check_host does without flags: ignoring case, with at most
// one '*' in the left-most label, at its start or end ("*.example.com",
// "www*.example.com", "*www.example.com"), never in an IDNA ("xn--") label,
// at least two labels after it, and a whole-label wildcard matching one or
// more characters of one label. A pattern that is not a valid wildcard is
// compared literally.
func matchHostname(pattern, host string) bool {
	pattern = strings.ToLower(strings.TrimSuffix(pattern, "."))
	host = strings.ToLower(strings.TrimSuffix(host, "."))
	if pattern == host {
		return true
	}
	star := validStar(pattern)
	if star < 0 {
		return false
	}
	prefix, suffix := pattern[:star], pattern[star+1:]
	if len(host) < len(prefix)+len(suffix) || !strings.HasPrefix(host, prefix) || !strings.HasSuffix(host, suffix) {
		return false
	}
	matched := host[len(prefix) : len(host)-len(suffix)]
	wholeLabel := prefix == "" && strings.HasPrefix(suffix, ".")
	if wholeLabel && matched == "" {
		return false
	}
	// A partial wildcard never matches an IDNA label.
	if !wholeLabel && strings.HasPrefix(host, "xn--") {
		return false
	}
	for _, r := range matched {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '-') {
			return false
		}
	}
	return true
}

// validStar returns the index of the pattern's wildcard when OpenSSL
// accepts it as one (valid_star in crypto/x509/v3_utl.c), else -1.
func validStar(p string) int {
	star, dots := -1, 0
	labelStart, hyphen, idna := true, false, false
	for i := 0; i < len(p); i++ {
		switch ch := p[i]; {
		case ch == '*':
			atEnd := i == len(p)-1 || p[i+1] == '.'
			if star >= 0 || idna || dots > 0 || (!labelStart && !atEnd) {
				return -1
			}
			star, labelStart = i, false
		case ch >= 'a' && ch <= 'z' || ch >= '0' && ch <= '9':
			if labelStart && strings.HasPrefix(p[i:], "xn--") {
				idna = true
			}
			labelStart, hyphen = false, false
		case ch == '.':
			if labelStart || hyphen {
				return -1
			}
			labelStart, hyphen, idna = true, false, false
			dots++
		case ch == '-':
			if labelStart {
				return -1
			}
			hyphen = true
		default:
			return -1
		}
	}
	if labelStart || hyphen || dots < 2 {
		return -1
	}
	return star
}

func hasIP(leaf *x509.Certificate, ip netip.Addr) bool {
	for _, certIP := range leaf.IPAddresses {
		if a, ok := netip.AddrFromSlice(certIP); ok && a.Unmap() == ip.Unmap() {
			return true
		}
	}
	return false
}

func peerDesc(name string, ip netip.Addr) string {
	switch {
	case name != "" && ip.IsValid():
		return fmt.Sprintf("hostname %q or IP %s", name, ip)
	case name != "":
		return fmt.Sprintf("hostname %q", name)
	}
	return "IP " + ip.String()
}

// describeCert names a certificate for error messages: its subject and the
// names it carries.
func describeCert(cert *x509.Certificate) string {
	var names []string
	names = append(names, cert.DNSNames...)
	for _, ip := range cert.IPAddresses {
		names = append(names, ip.String())
	}
	subject := cert.Subject.CommonName
	if subject == "" {
		subject = cert.Subject.String()
	}
	if len(names) == 0 {
		return fmt.Sprintf("%q (no subject alternative names)", subject)
	}
	return fmt.Sprintf("%q (names %s)", subject, strings.Join(names, ", "))
}
