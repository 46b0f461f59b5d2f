package sim

import (
	"fmt"
	"net"
	"os"
	"path/filepath"

	"github.com/mesosgate/mesosgate/tlsx"
)

// PKI is a simulated cluster's certificates, as Mesos recommends for a real
// one: a CA, one member certificate shared by every master and agent (RSA
// 2048, because stock members negotiate RSA key exchange only) whose SANs
// cover every member hostname and loopback IP, and a client certificate
// from the same CA for clients of ssl-clientcert members.
//
// Making RSA keys takes a while; tests that start many clusters make one
// PKI and pass it in Options.PKI.
type PKI struct {
	// CA signed both certificates.
	CA *tlsx.CA
	// Dir holds the files below.
	Dir string
	// CAFile is the CA certificate in PEM: the file to trust, and
	// CA_FILE for ssl-clientcert members.
	CAFile string
	// CertFile and KeyFile are the shared member certificate and key:
	// CERT_FILE and KEY_FILE of every SSL member.
	CertFile, KeyFile string
	// ClientCertFile and ClientKeyFile are a client certificate naming
	// localhost and 127.0.0.1, which passes an ssl-clientcert member's
	// legacy check of the client's reverse-resolved name: what a gateway
	// presents as its CERT_FILE and KEY_FILE.
	ClientCertFile, ClientKeyFile string
	// Member and Client are the two certificates with their keys.
	Member, Client *tlsx.Leaf
}

// NewPKI mints a CA, the member certificate and the client certificate
// and writes them under dir (created if missing). The member certificate
// names localhost, 127.0.0.1 and ::1 plus hostnames (DNS names or IPs).
func NewPKI(dir string, hostnames ...string) (*PKI, error) {
	ca, err := tlsx.NewCA("mesosgate simulated cluster CA", 0)
	if err != nil {
		return nil, err
	}
	return NewPKIWithCA(ca, dir, hostnames...)
}

// NewPKIWithCA is NewPKI with a CA of the caller's (demo's internal CA,
// which the gateway's front certificate comes from too).
func NewPKIWithCA(ca *tlsx.CA, dir string, hostnames ...string) (*PKI, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create certificate directory: %w", err)
	}
	var err error
	p := &PKI{
		CA:             ca,
		Dir:            dir,
		CAFile:         filepath.Join(dir, "ca.pem"),
		CertFile:       filepath.Join(dir, "member.pem"),
		KeyFile:        filepath.Join(dir, "member-key.pem"),
		ClientCertFile: filepath.Join(dir, "client.pem"),
		ClientKeyFile:  filepath.Join(dir, "client-key.pem"),
	}
	dns, ips := splitNames(append([]string{"localhost", "127.0.0.1", "::1"}, hostnames...))
	if p.Member, err = ca.Issue(tlsx.LeafRequest{
		CommonName:  "localhost",
		DNSNames:    dns,
		IPAddresses: ips,
		RSABits:     2048,
	}); err != nil {
		return nil, fmt.Errorf("issue member certificate: %w", err)
	}
	if p.Client, err = ca.Issue(tlsx.LeafRequest{
		CommonName:  "localhost",
		DNSNames:    []string{"localhost"},
		IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		Usage:       tlsx.ClientOnly,
		RSABits:     2048,
	}); err != nil {
		return nil, fmt.Errorf("issue client certificate: %w", err)
	}
	if err := tlsx.WriteFileAtomic(p.CAFile, ca.CertPEM(), 0o644); err != nil {
		return nil, err
	}
	if err := p.Member.WriteFiles(p.CertFile, p.KeyFile); err != nil {
		return nil, err
	}
	if err := p.Client.WriteFiles(p.ClientCertFile, p.ClientKeyFile); err != nil {
		return nil, err
	}
	return p, nil
}

// splitNames sorts names into DNS names and IPs, without duplicates.
func splitNames(names []string) (dns []string, ips []net.IP) {
	seen := map[string]bool{}
	for _, n := range names {
		if n == "" || seen[n] {
			continue
		}
		seen[n] = true
		if ip := net.ParseIP(n); ip != nil {
			ips = append(ips, ip)
		} else {
			dns = append(dns, n)
		}
	}
	return dns, ips
}
