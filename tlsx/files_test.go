package tlsx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"log/slog"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// reloadEvery is the watcher's poll interval in these tests.
const reloadEvery = 5 * time.Millisecond

// TestReloadCertificate rotates CERT_FILE/KEY_FILE under a serving Context
// and watches which certificate the next handshakes see: atomic and
// in-place rewrites are picked up, broken files keep the old pair serving
// and are logged as errors.
func TestReloadCertificate(t *testing.T) {
	p := newTestPKI(t)
	certFile, keyFile := p.leaf(t, p.ca, "member", LeafRequest{DNSNames: []string{"localhost"}})
	log := &logRecorder{}
	c := mustContext(t, Settings{Enabled: On, CertFile: certFile, KeyFile: keyFile}, Options{ReloadInterval: reloadEvery, Logger: slog.New(log)})
	addr := serveTLS(t, c, nil)
	served := func(t *testing.T) *big.Int {
		t.Helper()
		cs, err := dial(addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil {
			t.Fatalf("handshake: %v", err)
		}
		return cs.PeerCertificates[0].SerialNumber
	}
	issue := func(t *testing.T) *Leaf {
		t.Helper()
		l, err := p.ca.Issue(LeafRequest{DNSNames: []string{"localhost"}})
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	waitServed := func(t *testing.T, want *Leaf) {
		t.Helper()
		testsupport.Eventually(t, "the new certificate to be served", 10*time.Second, func() bool { return served(t).Cmp(want.Cert.SerialNumber) == 0 })
	}
	// keepsServing checks, after the watcher has logged the broken files,
	// that the previous certificate is still the one served.
	keepsServing := func(t *testing.T, old *Leaf, errorsBefore int) {
		t.Helper()
		testsupport.Eventually(t, "an error about the broken files", 10*time.Second, func() bool { return log.count("ERROR", "do not load") > errorsBefore })
		for range 3 {
			if got := served(t); got.Cmp(old.Cert.SerialNumber) != 0 {
				t.Fatalf("serving serial %v, want the previous certificate %v", got, old.Cert.SerialNumber)
			}
		}
	}

	var current *Leaf
	t.Run("atomic rotation", func(t *testing.T) {
		current = issue(t)
		if err := current.WriteFiles(certFile, keyFile); err != nil {
			t.Fatal(err)
		}
		waitServed(t, current)
	})
	t.Run("in-place rewrite", func(t *testing.T) {
		current = issue(t)
		writeInPlace(t, keyFile, mustKeyPEM(t, current))
		writeInPlace(t, certFile, current.CertPEM())
		waitServed(t, current)
	})
	next := issue(t)
	t.Run("half-written certificate keeps the old one", func(t *testing.T) {
		errs := log.count("ERROR", "do not load")
		half := next.CertPEM()
		writeInPlace(t, certFile, half[:len(half)/2])
		keepsServing(t, current, errs)
		if !log.has("ERROR", "LIBPROCESS_SSL_CERT_FILE") {
			t.Errorf("the error does not name the certificate file:\n%s", log)
		}
	})
	t.Run("mismatched key keeps the old one", func(t *testing.T) {
		errs := log.count("ERROR", "do not load")
		writeInPlace(t, certFile, next.CertPEM()) // the key is still current's
		keepsServing(t, current, errs)
		if !log.has("ERROR", "does not match the certificate") {
			t.Errorf("the error does not say the key does not match:\n%s", log)
		}
	})
	t.Run("the fixed pair is served", func(t *testing.T) {
		if err := WriteFileAtomic(keyFile, mustKeyPEM(t, next), 0o600); err != nil {
			t.Fatal(err)
		}
		waitServed(t, next)
		if !log.has("INFO", "tls files reloaded") {
			t.Errorf("no reload was logged:\n%s", log)
		}
	})
}

// TestReloadTrust rotates CA_FILE and CA_DIR and watches what verifies,
// in Verify and in the accepting side's REQUIRE_CLIENT_CERT handshakes.
func TestReloadTrust(t *testing.T) {
	a, b := newTestPKI(t), newTestPKI(t)
	memberCert, memberKey := a.leaf(t, a.ca, "member", LeafRequest{DNSNames: []string{"localhost"}})
	fromA, err := a.ca.Issue(LeafRequest{DNSNames: []string{"localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	bCert, bKey := a.leaf(t, b.ca, "client-b", LeafRequest{DNSNames: []string{"localhost"}})
	fromB := loadLeaf(t, bCert)
	caFile := filepath.Join(t.TempDir(), "ca.pem")
	if err := WriteFileAtomic(caFile, a.ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	log := &logRecorder{}
	s := Settings{Enabled: On, CertFile: memberCert, KeyFile: memberKey, RequireClientCert: true, CAFile: caFile, HostnameValidationScheme: HostnameOpenSSL}
	c := mustContext(t, s, Options{ReloadInterval: reloadEvery, Logger: slog.New(log)})
	addr := serveTLS(t, c, nil)
	client := mustContext(t, Settings{CertFile: bCert, KeyFile: bKey}, Options{})
	verifies := func(l *x509.Certificate) bool { return c.Verify([]*x509.Certificate{l}, "localhost", loopback) == nil }
	bServed := func() bool {
		_, err := dial(addr, client.ClientConfig("localhost", loopback))
		return err == nil
	}
	if !verifies(fromA.Cert) || verifies(fromB) || bServed() {
		t.Fatal("before rotation: CA_FILE should trust A only")
	}

	t.Run("rotated CA_FILE", func(t *testing.T) {
		if err := WriteFileAtomic(caFile, b.ca.CertPEM(), 0o644); err != nil {
			t.Fatal(err)
		}
		testsupport.Eventually(t, "B's certificate to verify", 10*time.Second, func() bool { return verifies(fromB) })
		if verifies(fromA.Cert) {
			t.Error("A's certificate still verifies after A left CA_FILE")
		}
		if !bServed() {
			t.Error("a client certificate from B is refused after B entered CA_FILE")
		}
	})
	t.Run("broken CA_FILE keeps the previous anchors", func(t *testing.T) {
		errs := log.count("ERROR", "do not load")
		writeInPlace(t, caFile, []byte("not a certificate\n"))
		testsupport.Eventually(t, "an error about CA_FILE", 10*time.Second, func() bool { return log.count("ERROR", "do not load") > errs })
		if !verifies(fromB) || !bServed() {
			t.Error("B stopped verifying while CA_FILE is broken")
		}
		if !log.has("ERROR", "LIBPROCESS_SSL_CA_FILE") {
			t.Errorf("the error does not name CA_FILE:\n%s", log)
		}
	})
	// Hash-style names: OpenSSL (and tlsx) look up only <hash>.<n> entries.
	t.Run("certificate added to CA_DIR", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "aaaaaaaa.0"), a.ca.CertPEM(), 0o644); err != nil {
			t.Fatal(err)
		}
		d := mustContext(t, Settings{VerifyServerCert: true, CADir: dir, HostnameValidationScheme: HostnameOpenSSL}, Options{ReloadInterval: reloadEvery})
		verifiesB := func() bool { return d.Verify([]*x509.Certificate{fromB}, "localhost", loopback) == nil }
		if verifiesB() {
			t.Fatal("B verifies before it is in CA_DIR")
		}
		if err := WriteFileAtomic(filepath.Join(dir, "bbbbbbbb.0"), b.ca.CertPEM(), 0o644); err != nil {
			t.Fatal(err)
		}
		testsupport.Eventually(t, "B to verify through CA_DIR", 10*time.Second, verifiesB)
	})
}

// writeInPlace rewrites a file the non-atomic way (truncate, then write),
// as cp or an editor may.
func writeInPlace(t *testing.T, path string, data []byte) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.Write(data); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

func mustKeyPEM(t *testing.T, l *Leaf) []byte {
	t.Helper()
	b, err := l.KeyPEM()
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// loadLeaf parses the first certificate of a PEM file.
func loadLeaf(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	certs, err := parseCertificates(b)
	if err != nil || len(certs) == 0 {
		t.Fatalf("%s: %v", path, err)
	}
	return certs[0]
}

// logRecorder is a slog.Handler keeping every record as a line "LEVEL
// message key=value ...", for tests that check what was logged.
type logRecorder struct {
	mu    sync.Mutex
	lines []string
}

func (r *logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *logRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *logRecorder) WithGroup(string) slog.Handler            { return r }

func (r *logRecorder) Handle(_ context.Context, rec slog.Record) error {
	var b strings.Builder
	b.WriteString(rec.Level.String() + " " + rec.Message)
	rec.Attrs(func(a slog.Attr) bool {
		fmt.Fprintf(&b, " %s=%v", a.Key, a.Value)
		return true
	})
	r.mu.Lock()
	r.lines = append(r.lines, b.String())
	r.mu.Unlock()
	return nil
}

// count returns how many lines of the level contain substr.
func (r *logRecorder) count(level, substr string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, l := range r.lines {
		if strings.HasPrefix(l, level+" ") && strings.Contains(l, substr) {
			n++
		}
	}
	return n
}

func (r *logRecorder) has(level, substr string) bool { return r.count(level, substr) > 0 }

func (r *logRecorder) String() string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return strings.Join(r.lines, "\n")
}

// TestReloaderErrors: a change that fails to load once and is then
// replaced (a rotation caught half way) logs nothing; one that stays
// broken logs one error, and a different broken one logs again.
func TestReloaderErrors(t *testing.T) {
	log := &logRecorder{}
	c := &Context{log: slog.New(log)}
	var fp string
	good := map[string]bool{"A": true, "C": true}
	r := &reloader{what: "certificate", fingerprint: func() string { return fp }, last: "A",
		load: func() error {
			if good[fp] {
				return nil
			}
			return fmt.Errorf("broken %s", fp)
		}}
	steps := []struct {
		fp     string
		errors int // errors logged so far
		loaded int // reloads logged so far
	}{
		{"A", 0, 0},
		{"B", 0, 0}, // half written
		{"C", 0, 1}, // complete
		{"D", 0, 1},
		{"D", 1, 1}, // still broken: reported
		{"D", 1, 1}, // reported once
		{"E", 1, 1},
		{"E", 2, 1},
		{"C", 2, 1}, // back to the files in use: nothing to do
		{"D", 2, 1},
		{"D", 3, 1},
	}
	for i, st := range steps {
		fp = st.fp
		r.poll(c)
		if e, l := log.count("ERROR", ""), log.count("INFO", "reloaded"); e != st.errors || l != st.loaded {
			t.Fatalf("step %d (%s): %d errors and %d reloads logged, want %d and %d\n%s", i, st.fp, e, l, st.errors, st.loaded, log)
		}
	}
}
