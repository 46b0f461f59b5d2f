package tlsx

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// CA is a certificate authority that issues leaf certificates: the
// simulated cluster's CA, the gateway's internal CA and the one `mesosgate
// certs` mints for a cluster all are one.
type CA struct {
	// Cert and Key are the authority's certificate and signing key.
	Cert *x509.Certificate
	Key  crypto.Signer
	// chain holds the authority's own certificate followed by the
	// intermediates above it, excluding the root: what a leaf it issues
	// must send along. For a root it holds nothing.
	chain [][]byte
}

// NewCA mints a self-signed root CA with an ECDSA P-256 key. Zero validity
// means ten years.
func NewCA(commonName string, validity time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate CA key: %w", err)
	}
	tmpl, err := caTemplate(commonName, validity)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("sign CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key}, nil
}

// NewIntermediate mints an intermediate CA signed by ca. Zero validity
// means ca's remaining lifetime.
func (ca *CA) NewIntermediate(commonName string, validity time.Duration) (*CA, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("generate intermediate key: %w", err)
	}
	if validity == 0 {
		validity = time.Until(ca.Cert.NotAfter)
	}
	tmpl, err := caTemplate(commonName, validity)
	if err != nil {
		return nil, err
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, key.Public(), ca.Key)
	if err != nil {
		return nil, fmt.Errorf("sign intermediate certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &CA{Cert: cert, Key: key, chain: append([][]byte{der}, ca.chain...)}, nil
}

func caTemplate(commonName string, validity time.Duration) (*x509.Certificate, error) {
	if validity == 0 {
		validity = 10 * 365 * 24 * time.Hour
	}
	serial, err := newSerial()
	if err != nil {
		return nil, err
	}
	now := time.Now()
	return &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: commonName, Organization: []string{"mesosgate"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(validity),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, nil
}

func newSerial() (*big.Int, error) {
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, fmt.Errorf("generate serial number: %w", err)
	}
	return serial, nil
}

// LoadCA reads a CA from PEM: its certificate (followed by any
// intermediates above it) and its unencrypted key.
func LoadCA(certPEM, keyPEM []byte) (*CA, error) {
	chain := pemCertificates(certPEM)
	if len(chain) == 0 {
		return nil, errors.New("no PEM certificate in the CA certificate")
	}
	cert, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, fmt.Errorf("certificate %q is not a CA certificate: give a certificate with basic constraints CA:TRUE", cert.Subject.CommonName)
	}
	key, err := parsePrivateKey(keyPEM, nil)
	if err != nil {
		return nil, fmt.Errorf("CA key: %w", err)
	}
	if !publicKeysEqual(cert.PublicKey, key.Public()) {
		return nil, errors.New("the CA key does not match the CA certificate: give the key the certificate was made with")
	}
	ca := &CA{Cert: cert, Key: key}
	if cert.CheckSignatureFrom(cert) != nil {
		ca.chain = chain // an intermediate: its leaves carry it along
	}
	return ca, nil
}

// LoadCAFiles reads a CA from a certificate file and a key file.
func LoadCAFiles(certFile, keyFile string) (*CA, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read CA certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read CA key: %w", err)
	}
	ca, err := LoadCA(certPEM, keyPEM)
	if err != nil {
		return nil, fmt.Errorf("load CA from %s and %s: %w", certFile, keyFile, err)
	}
	return ca, nil
}

// CertPEM returns the CA's certificate in PEM: the file clients trust.
func (ca *CA) CertPEM() []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Cert.Raw})
}

// KeyPEM returns the CA's key in PKCS#8 PEM.
func (ca *CA) KeyPEM() ([]byte, error) { return keyPEM(ca.Key) }

// WriteFiles writes the CA certificate and key atomically, the key with
// mode 0600.
func (ca *CA) WriteFiles(certFile, keyFile string) error {
	return writeKeyPair(certFile, keyFile, ca.CertPEM(), ca.Key)
}

// Usage says what a leaf certificate may be used for. The zero value is
// both server and client: members present one certificate in both roles.
type Usage int

// The usages of a leaf certificate.
const (
	ServerAndClient Usage = iota
	ServerOnly
	ClientOnly
)

// LeafRequest describes a leaf certificate to issue. Only names are
// required.
type LeafRequest struct {
	// CommonName is the subject's common name; "" means the first DNS
	// name, or the first IP.
	CommonName  string
	DNSNames    []string
	IPAddresses []net.IP
	// Validity is the lifetime from now; zero means one year.
	Validity time.Duration
	// NotBefore, if set, starts the validity there (tests of expiry);
	// zero means an hour ago, for clocks that lag.
	NotBefore time.Time
	// Usage is the extended key usage; the zero value is both.
	Usage Usage
	// RSABits, if non-zero, makes an RSA key of that size instead of the
	// default ECDSA P-256. Stock Mesos members negotiate RSA key exchange
	// suites only, which need an RSA certificate.
	RSABits int
}

// Leaf is an issued certificate with its key.
type Leaf struct {
	Cert *x509.Certificate
	Key  crypto.Signer
	// Chain is the leaf followed by the intermediates a peer needs, in DER.
	Chain [][]byte
}

// Issue makes a key and signs a leaf certificate for it.
func (ca *CA) Issue(req LeafRequest) (*Leaf, error) {
	if err := req.check(); err != nil {
		return nil, err
	}
	var key crypto.Signer
	var err error
	if req.RSABits > 0 {
		key, err = rsa.GenerateKey(rand.Reader, req.RSABits)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	cert, chain, err := ca.Sign(req, key.Public())
	if err != nil {
		return nil, err
	}
	return &Leaf{Cert: cert, Key: key, Chain: chain}, nil
}

// Sign signs a leaf certificate for a public key made elsewhere (the key
// of a certificate request) and returns it with the chain a peer needs,
// leaf first. req.RSABits is ignored: the key says what it is. The leaf
// never outlives the CA.
func (ca *CA) Sign(req LeafRequest, pub crypto.PublicKey) (*x509.Certificate, [][]byte, error) {
	if err := req.check(); err != nil {
		return nil, nil, err
	}
	serial, err := newSerial()
	if err != nil {
		return nil, nil, err
	}
	now := time.Now()
	notBefore := req.NotBefore
	if notBefore.IsZero() {
		notBefore = now.Add(-time.Hour)
	}
	validity := req.Validity
	if validity == 0 {
		validity = 365 * 24 * time.Hour
	}
	notAfter := now.Add(validity)
	if notAfter.After(ca.Cert.NotAfter) {
		notAfter = ca.Cert.NotAfter
	}
	cn := req.CommonName
	if cn == "" && len(req.DNSNames) > 0 {
		cn = req.DNSNames[0]
	} else if cn == "" {
		cn = req.IPAddresses[0].String()
	}
	keyUsage := x509.KeyUsageDigitalSignature
	if _, ok := pub.(*rsa.PublicKey); ok {
		keyUsage |= x509.KeyUsageKeyEncipherment // RSA key exchange
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"mesosgate"}},
		DNSNames:     req.DNSNames,
		IPAddresses:  req.IPAddresses,
		NotBefore:    notBefore,
		NotAfter:     notAfter,
		KeyUsage:     keyUsage,
		ExtKeyUsage:  extKeyUsage(req.Usage),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, nil, fmt.Errorf("sign certificate for %s: %w", cn, err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, err
	}
	return cert, append([][]byte{der}, ca.chain...), nil
}

// check reports a request that names nothing.
func (req LeafRequest) check() error {
	if len(req.DNSNames) == 0 && len(req.IPAddresses) == 0 && req.CommonName == "" {
		return errors.New("issue a certificate: give at least one DNS name or IP address")
	}
	return nil
}

func extKeyUsage(u Usage) []x509.ExtKeyUsage {
	switch u {
	case ServerOnly:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	case ClientOnly:
		return []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}
	}
	return []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
}

// TLSCertificate returns the leaf for a tls.Config.
func (l *Leaf) TLSCertificate() tls.Certificate {
	return tls.Certificate{Certificate: l.Chain, PrivateKey: l.Key, Leaf: l.Cert}
}

// CertPEM returns the chain in PEM, leaf first: a CERT_FILE.
func (l *Leaf) CertPEM() []byte {
	var out []byte
	for _, der := range l.Chain {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return out
}

// KeyPEM returns the key in PKCS#8 PEM: a KEY_FILE.
func (l *Leaf) KeyPEM() ([]byte, error) { return keyPEM(l.Key) }

// WriteFiles writes the chain and key atomically, the key with mode 0600.
func (l *Leaf) WriteFiles(certFile, keyFile string) error {
	return writeKeyPair(certFile, keyFile, l.CertPEM(), l.Key)
}

// writeKeyPair writes a certificate (chain) and its key atomically, the
// key first and with mode 0600, so a certificate never names a key that
// is not there yet.
func writeKeyPair(certFile, keyFile string, certPEM []byte, key crypto.Signer) error {
	k, err := keyPEM(key)
	if err != nil {
		return err
	}
	if err := WriteFileAtomic(keyFile, k, 0o600); err != nil {
		return err
	}
	return WriteFileAtomic(certFile, certPEM, 0o644)
}

// pemCertificates returns the DER of every CERTIFICATE block in data, in
// order; other blocks are skipped.
func pemCertificates(data []byte) [][]byte {
	var ders [][]byte
	for rest := data; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return ders
		}
		if block.Type == "CERTIFICATE" {
			ders = append(ders, block.Bytes)
		}
	}
}

func keyPEM(key crypto.Signer) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// WriteFileAtomic writes data to path through a temporary file in the same
// directory, synced and renamed into place, so a reader (or a reload
// watcher) sees the old file or the new one, never half of one.
func WriteFileAtomic(path string, data []byte, perm os.FileMode) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name()) // after a successful rename there is nothing to remove
	if err := tmp.Chmod(perm); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
