package tlsx

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"time"
)

// loadFiles loads CERT_FILE/KEY_FILE and the trust anchors at start.
// With verification off, trust files that do not load are only a warning:
// libprocess does not even read CA_FILE and CA_DIR then.
// CheckFiles loads the settings' certificate, key and trust anchors as
// NewContext would and reports what is wrong with them, for a check
// before anything is started or written; name names the settings as the
// user wrote them.
func CheckFiles(s Settings, name func(string) string) error {
	c := &Context{s: s, opts: Options{Name: name}, log: slog.New(slog.DiscardHandler)}
	return c.loadFiles()
}

func (c *Context) loadFiles() error {
	var errs []error
	if err := c.reloadKeyPair(); err != nil {
		errs = append(errs, err)
	}
	// A CA file or directory that does not load is an error even while
	// nothing is verified (libprocess would not read it then): the
	// gateway reads it to report whether members' certificates verify,
	// and a broken one is a mistake to fix now, not when verification
	// is turned on.
	if err := c.reloadTrust(); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// reloadKeyPair loads CERT_FILE/KEY_FILE and puts them in use when they
// load; on error the previous pair stays.
func (c *Context) reloadKeyPair() error {
	kp, err := c.loadKeyPair()
	if err != nil {
		return err
	}
	c.keyPair.Store(kp)
	return nil
}

// reloadTrust loads CA_FILE/CA_DIR and puts them in use when they load;
// on error the previous ones stay.
func (c *Context) reloadTrust() error {
	t, err := c.loadTrust()
	if err != nil {
		return err
	}
	c.trust.Store(t)
	return nil
}

// loadKeyPair reads CERT_FILE and KEY_FILE. Both empty is no certificate
// (nil); one without the other is an error.
func (c *Context) loadKeyPair() (*tls.Certificate, error) {
	certFile, keyFile := c.s.CertFile, c.s.KeyFile
	switch {
	case certFile == "" && keyFile == "":
		return nil, nil
	case certFile == "":
		return nil, fmt.Errorf("%s is set but %s is not: set both, the certificate chain and its key", c.name("KEY_FILE"), c.name("CERT_FILE"))
	case keyFile == "":
		return nil, fmt.Errorf("%s is set but %s is not: set both, the certificate chain and its key", c.name("CERT_FILE"), c.name("KEY_FILE"))
	}
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return nil, fmt.Errorf("read %s %q: %w", c.name("CERT_FILE"), certFile, err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return nil, fmt.Errorf("read %s %q: %w", c.name("KEY_FILE"), keyFile, err)
	}
	var pass []byte
	if c.s.KeyPassphraseFile != "" {
		if pass, err = readPassphrase(c.s.KeyPassphraseFile); err != nil {
			return nil, fmt.Errorf("read the key passphrase file %q: %w", c.s.KeyPassphraseFile, err)
		}
	}
	return c.keyPairFromPEM(certPEM, keyPEM, pass)
}

// keyPairFromPEM parses a certificate chain and its key, which may be
// encrypted, and checks that they belong together.
func (c *Context) keyPairFromPEM(certPEM, keyPEM, pass []byte) (*tls.Certificate, error) {
	certFile, keyFile := c.s.CertFile, c.s.KeyFile
	chain := pemCertificates(certPEM)
	if len(chain) == 0 {
		return nil, fmt.Errorf("%s %q holds no PEM certificate: give the PEM certificate chain, leaf first", c.name("CERT_FILE"), certFile)
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("%s %q: parse the first certificate: %w", c.name("CERT_FILE"), certFile, err)
	}
	key, err := parsePrivateKey(keyPEM, pass)
	if err != nil {
		return nil, fmt.Errorf("%s %q: %w", c.name("KEY_FILE"), keyFile, err)
	}
	if !publicKeysEqual(leaf.PublicKey, key.Public()) {
		return nil, fmt.Errorf("%s %q does not match the certificate in %s %q: give the key the certificate was issued for", c.name("KEY_FILE"), keyFile, c.name("CERT_FILE"), certFile)
	}
	return &tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: leaf}, nil
}

// readPassphrase returns a passphrase file's first line. The passphrase is
// never logged or put in an error.
func readPassphrase(path string) ([]byte, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if i := bytes.IndexAny(b, "\r\n"); i >= 0 {
		b = b[:i]
	}
	if len(b) == 0 {
		return nil, errors.New("the file is empty: put the passphrase on its first line")
	}
	return b, nil
}

// trust is what CA_FILE and CA_DIR hold, split the way OpenSSL uses a
// trust store without X509_V_FLAG_PARTIAL_CHAIN (libprocess sets no
// flags): only self-signed certificates end a chain; the others found
// there serve as links on the way to one. A CA_FILE holding an
// intermediate and its root therefore counts that intermediate against
// VERIFY_DEPTH, as OpenSSL does, and one holding only an intermediate
// verifies nothing, as in OpenSSL.
type trust struct {
	anchors *x509.CertPool
	links   []*x509.Certificate
}

// loadTrust reads CA_FILE and CA_DIR. Both empty means the system roots
// (nil): Go's, which read SSL_CERT_FILE and SSL_CERT_DIR (colon-separated
// directories) before the distribution's defaults exactly as OpenSSL's
// SSL_CTX_set_default_verify_paths does for libprocess. They are read
// once per process and not reloaded.
func (c *Context) loadTrust() (*trust, error) {
	if c.s.CAFile == "" && c.s.CADir == "" {
		return nil, nil
	}
	var certs []*x509.Certificate
	var errs []error
	if c.s.CAFile != "" {
		b, err := os.ReadFile(c.s.CAFile)
		var found []*x509.Certificate
		if err == nil {
			found, err = parseCertificates(b)
		}
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("read %s %q: %w", c.name("CA_FILE"), c.s.CAFile, err))
		case len(found) == 0:
			errs = append(errs, fmt.Errorf("%s %q holds no PEM certificate: give a PEM bundle of CA certificates", c.name("CA_FILE"), c.s.CAFile))
		}
		certs = append(certs, found...)
	}
	if c.s.CADir != "" {
		found, unhashed, err := readCADir(c.s.CADir)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("read %s %q: %w", c.name("CA_DIR"), c.s.CADir, err))
		case len(found) == 0 && unhashed > 0:
			errs = append(errs, fmt.Errorf("%s %q holds %d certificates but no <hash>.<n> links, which is all OpenSSL looks up: run `openssl rehash %s`", c.name("CA_DIR"), c.s.CADir, unhashed, c.s.CADir))
		case len(found) == 0:
			errs = append(errs, fmt.Errorf("%s %q holds no PEM certificate: put CA certificates there and run `openssl rehash` on it", c.name("CA_DIR"), c.s.CADir))
		case unhashed > 0:
			c.log.Warn("CA_DIR holds certificates without hash links; they are not trusted (OpenSSL would not find them either): run openssl rehash", "dir", c.s.CADir, "unhashed", unhashed)
		}
		certs = append(certs, found...)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	t := &trust{anchors: x509.NewCertPool()}
	for _, cert := range certs {
		if selfSigned(cert) {
			t.anchors.AddCert(cert)
		} else {
			t.links = append(t.links, cert)
		}
	}
	return t, nil
}

// selfSigned reports whether OpenSSL would take cert as the end of a chain:
// issued by its own subject, with its own key.
func selfSigned(cert *x509.Certificate) bool {
	return bytes.Equal(cert.RawSubject, cert.RawIssuer) && cert.CheckSignatureFrom(cert) == nil
}

// parseCertificates returns the certificates of a PEM bundle. Blocks of
// other types are skipped, as OpenSSL's loader skips them; a CERTIFICATE
// block that does not parse is an error.
func parseCertificates(b []byte) ([]*x509.Certificate, error) {
	var certs []*x509.Certificate
	for rest := b; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			return certs, nil
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		cert, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("certificate %d: %w", len(certs)+1, err)
		}
		certs = append(certs, cert)
	}
}

// readCADir returns the certificates an OpenSSL-style CA directory offers
// for lookup: OpenSSL opens only entries named <subject hash>.<n> (what
// `openssl rehash` creates), so a certificate copied in without rehashing
// is not trusted here either. Entries that are not PEM certificates are
// skipped. unhashed counts PEM certificates under other names, so an
// empty result can say what to do.
func readCADir(dir string) (certs []*x509.Certificate, unhashed int, err error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, 0, err
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // a subdirectory, or a dangling link: OpenSSL skips those too
		}
		found, err := parseCertificates(b)
		if err != nil || len(found) == 0 {
			continue
		}
		if !isHashName(e.Name()) {
			unhashed += len(found)
			continue
		}
		certs = append(certs, found...)
	}
	return certs, unhashed, nil
}

// isHashName reports whether name has OpenSSL's lookup form: eight
// lower-case hex digits, a dot and a decimal sequence number.
func isHashName(name string) bool {
	hash, seq, ok := strings.Cut(name, ".")
	if !ok || len(hash) != 8 || seq == "" {
		return false
	}
	for _, r := range hash {
		if !('0' <= r && r <= '9' || 'a' <= r && r <= 'f') {
			return false
		}
	}
	for _, r := range seq {
		if r < '0' || r > '9' {
			return false
		}
	}
	return true
}

// startWatcher polls the files for changes and reloads them: the key pair
// and the trust anchors each on their own, so a broken CA_FILE does not
// hold back a new certificate. A change that does not load (a half-written
// file, a key that no longer matches) keeps the previous files serving; it
// is tried again at the next poll and logged as an error when the same
// broken content is still there, so a rotation that writes the certificate
// and then the key does not log a spurious error in between.
func (c *Context) startWatcher(keyPairFP, trustFP string) {
	interval := c.opts.ReloadInterval
	if interval == 0 {
		interval = 2 * time.Second
	}
	watched := []*reloader{
		{what: "certificate", fingerprint: c.keyPairFingerprint, load: c.reloadKeyPair, last: keyPairFP, facts: c.keyPairFacts},
		{what: "trust anchors", fingerprint: c.trustFingerprint, load: c.reloadTrust, last: trustFP},
	}
	watched = slices.DeleteFunc(watched, func(r *reloader) bool { return r.last == "" })
	if interval < 0 || len(watched) == 0 {
		close(c.done)
		return
	}
	go func() {
		defer close(c.done)
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
			for _, r := range watched {
				r.poll(c)
			}
		}
	}()
}

// reloader follows one group of files: their fingerprint when last loaded,
// and the changed content that failed to load.
type reloader struct {
	what        string
	fingerprint func() string
	load        func() error

	facts func() []any // log attributes describing what was loaded; nil for none

	last     string // fingerprint of the files in use
	tried    string // fingerprint of changed files that did not load
	reported bool   // the error for tried was logged
}

func (r *reloader) poll(c *Context) {
	fp := r.fingerprint()
	switch {
	case fp == r.last:
		r.tried, r.reported = "", false // back to the files in use
		return
	case fp == r.tried && r.reported:
		return
	}
	err := r.load()
	switch {
	case err == nil:
		r.last, r.tried, r.reported = fp, "", false
		attrs := []any{"what", r.what, "cert_file", c.s.CertFile, "key_file", c.s.KeyFile, "ca_file", c.s.CAFile, "ca_dir", c.s.CADir}
		if r.facts != nil {
			attrs = append(attrs, r.facts()...)
		}
		c.log.Info("tls files reloaded", attrs...)
	case fp == r.tried:
		r.reported = true
		c.log.Error("tls files changed but do not load; still serving the previous ones", "what", r.what, "err", err)
	default:
		r.tried, r.reported = fp, false // perhaps still being written: try again at the next poll
	}
}

// keyPairFingerprint hashes CERT_FILE, KEY_FILE and the passphrase file.
func (c *Context) keyPairFingerprint() string {
	return fingerprint(c.s.CertFile, c.s.KeyFile, c.s.KeyPassphraseFile)
}

// trustFingerprint hashes CA_FILE and every entry of CA_DIR.
func (c *Context) trustFingerprint() string {
	paths := []string{c.s.CAFile}
	if c.s.CADir != "" {
		paths = append(paths, c.s.CADir) // an empty or unreadable directory still counts as watched
		if entries, err := os.ReadDir(c.s.CADir); err == nil {
			for _, e := range entries {
				paths = append(paths, filepath.Join(c.s.CADir, e.Name()))
			}
		}
	}
	return fingerprint(paths...)
}

// fingerprint hashes the names and contents of the given files, "" when
// none is given. Contents rather than modification times: a file replaced
// within the same second, or copied with its time preserved, still counts.
func fingerprint(paths ...string) string {
	paths = slices.DeleteFunc(slices.Clone(paths), func(p string) bool { return p == "" })
	if len(paths) == 0 {
		return ""
	}
	sort.Strings(paths)
	h := sha256.New()
	for _, p := range paths {
		b, _ := os.ReadFile(p)
		fmt.Fprintf(h, "%s\x00%d\x00", p, len(b))
		h.Write(b)
	}
	return string(h.Sum(nil))
}

// keyPairFacts describes the loaded CERT_FILE for the log: whose it is and
// when it expires, so an operator sees a renewal take effect.
func (c *Context) keyPairFacts() []any {
	kp := c.keyPair.Load()
	if kp == nil || kp.Leaf == nil {
		return nil
	}
	info := NewCertInfo(kp.Leaf, SourceFiles)
	return []any{"subject", info.Subject, "not_after", info.NotAfter.UTC().Format(time.RFC3339),
		"days_left", fmt.Sprintf("%.1f", info.DaysLeft(c.now()))}
}

// loadCertPool reads a PEM bundle of CA certificates; one that holds none
// is an error.
func loadCertPool(path string) (*x509.CertPool, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %q: %w", path, err)
	}
	pool := x509.NewCertPool()
	ders := pemCertificates(data)
	for _, der := range ders {
		cert, err := x509.ParseCertificate(der)
		if err != nil {
			return nil, fmt.Errorf("%q: parse a certificate: %w", path, err)
		}
		pool.AddCert(cert)
	}
	if len(ders) == 0 {
		return nil, fmt.Errorf("%q holds no PEM certificate: give a PEM bundle of CA certificates", path)
	}
	return pool, nil
}
