package tlsx

import (
	"bytes"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"time"
)

// loadFiles loads CERT_FILE/KEY_FILE and the trust anchors, replacing the
// current ones only when everything loaded.
func (c *Context) loadFiles() error {
	var errs []error
	kp, err := c.loadKeyPair()
	if err != nil {
		errs = append(errs, err)
	}
	roots, err := c.loadRoots()
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return errors.Join(errs...)
	}
	c.keyPair.Store(kp)
	c.roots.Store(roots)
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
	var chain [][]byte
	for rest := certPEM; ; {
		var block *pem.Block
		block, rest = pem.Decode(rest)
		if block == nil {
			break
		}
		if block.Type == "CERTIFICATE" {
			chain = append(chain, block.Bytes)
		}
	}
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

// loadRoots reads CA_FILE and CA_DIR into one pool. Both empty means the
// system roots (nil).
func (c *Context) loadRoots() (*x509.CertPool, error) {
	if c.s.CAFile == "" && c.s.CADir == "" {
		return nil, nil
	}
	pool := x509.NewCertPool()
	var errs []error
	if c.s.CAFile != "" {
		b, err := os.ReadFile(c.s.CAFile)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("read %s %q: %w", c.name("CA_FILE"), c.s.CAFile, err))
		case !pool.AppendCertsFromPEM(b):
			errs = append(errs, fmt.Errorf("%s %q holds no PEM certificate: give a PEM bundle of CA certificates", c.name("CA_FILE"), c.s.CAFile))
		}
	}
	if c.s.CADir != "" {
		n, err := appendCADir(pool, c.s.CADir)
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("read %s %q: %w", c.name("CA_DIR"), c.s.CADir, err))
		case n == 0:
			errs = append(errs, fmt.Errorf("%s %q holds no PEM certificate: put CA certificates there (and run openssl rehash on it)", c.name("CA_DIR"), c.s.CADir))
		}
	}
	return pool, errors.Join(errs...)
}

// appendCADir adds every certificate found in an OpenSSL-style CA
// directory. OpenSSL looks certificates up by subject hash links
// (<hash>.<n>); trusting every certificate the directory holds, links
// included, trusts the same set.
func appendCADir(pool *x509.CertPool, dir string) (int, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			continue // a subdirectory, or a dangling link: OpenSSL skips those too
		}
		for rest := b; ; {
			var block *pem.Block
			block, rest = pem.Decode(rest)
			if block == nil {
				break
			}
			if block.Type != "CERTIFICATE" {
				continue
			}
			if cert, err := x509.ParseCertificate(block.Bytes); err == nil {
				pool.AddCert(cert)
				n++
			}
		}
	}
	return n, nil
}

// startWatcher polls the files for changes and reloads them. A change that
// does not load (a half-written file, a key that no longer matches) keeps
// the previous files serving and is logged; the next poll tries again.
func (c *Context) startWatcher() {
	interval := c.opts.ReloadInterval
	if interval == 0 {
		interval = 2 * time.Second
	}
	if interval < 0 || c.fingerprint() == "" {
		close(c.done)
		return
	}
	go func() {
		defer close(c.done)
		last := c.fingerprint()
		failed := ""
		t := time.NewTicker(interval)
		defer t.Stop()
		for {
			select {
			case <-c.stop:
				return
			case <-t.C:
			}
			fp := c.fingerprint()
			if fp == last || fp == failed {
				continue
			}
			if err := c.loadFiles(); err != nil {
				failed = fp
				c.log.Error("tls files changed but do not load; still serving the previous ones", "err", err)
				continue
			}
			last, failed = fp, ""
			c.log.Info("tls files reloaded", "cert_file", c.s.CertFile, "key_file", c.s.KeyFile, "ca_file", c.s.CAFile, "ca_dir", c.s.CADir)
		}
	}()
}

// fingerprint hashes the contents of every watched file, "" when no file
// is configured. Contents rather than modification times: a file replaced
// within the same second, or copied with its time preserved, still counts.
func (c *Context) fingerprint() string {
	var paths []string
	for _, p := range []string{c.s.CertFile, c.s.KeyFile, c.s.CAFile, c.s.KeyPassphraseFile} {
		if p != "" {
			paths = append(paths, p)
		}
	}
	if c.s.CADir != "" {
		if entries, err := os.ReadDir(c.s.CADir); err == nil {
			for _, e := range entries {
				paths = append(paths, filepath.Join(c.s.CADir, e.Name()))
			}
		}
	}
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
