package tlsx

import (
	"crypto/rsa"
	"crypto/x509"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// mode returns a file's permission bits.
func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestSharedRequestWrite(t *testing.T) {
	out := filepath.Join(t.TempDir(), "certs")
	job := SharedRequest{Out: out, Names: []string{"agent-2.example.test", "127.0.0.1", "Agent-1.example.test", "agent-2.example.test.", "::ffff:10.0.0.7"}, Validity: 30 * 24 * time.Hour}
	res, err := job.Write()
	if err != nil {
		t.Fatal(err)
	}
	t.Run("files and modes", func(t *testing.T) {
		for name, want := range map[string]os.FileMode{"ca.pem": 0o644, "ca-key.pem": 0o600, "cert.pem": 0o644, "key.pem": 0o600, "README.txt": 0o644} {
			if got := mode(t, filepath.Join(out, name)); got != want {
				t.Errorf("%s: mode %04o, want %04o", name, got, want)
			}
		}
		if got := mode(t, out); got != 0o700 {
			t.Errorf("--out created with mode %04o, want 0700", got)
		}
		entries, _ := os.ReadDir(out)
		if len(entries) != 5 {
			t.Errorf("%d entries in --out, want the 5 files (no temporary files left)", len(entries))
		}
	})
	t.Run("the certificate", func(t *testing.T) {
		cert := testsupport.ReadCert(t, filepath.Join(out, "cert.pem"))
		if got := strings.Join(cert.DNSNames, ","); got != "agent-1.example.test,agent-2.example.test" {
			t.Errorf("DNS names %s", got)
		}
		var ips []string
		for _, ip := range cert.IPAddresses {
			ips = append(ips, ip.String())
		}
		if got := strings.Join(ips, ","); got != "10.0.0.7,127.0.0.1" {
			t.Errorf("IP addresses %s", got)
		}
		if k, ok := cert.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
			t.Errorf("key %T, want RSA 2048 (stock members' RSA key exchange suites)", cert.PublicKey)
		}
		if !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageServerAuth) || !slices.Contains(cert.ExtKeyUsage, x509.ExtKeyUsageClientAuth) {
			t.Errorf("extended key usage %v, want server and client", cert.ExtKeyUsage)
		}
		if d := time.Until(cert.NotAfter); d < 29*24*time.Hour || d > 30*24*time.Hour {
			t.Errorf("valid for %v more, want 30 days", d)
		}
		roots := x509.NewCertPool()
		roots.AddCert(testsupport.ReadCert(t, filepath.Join(out, "ca.pem")))
		for _, name := range []string{"agent-1.example.test", "agent-2.example.test", "127.0.0.1", "10.0.0.7"} {
			if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := LoadCAFiles(filepath.Join(out, "ca.pem"), filepath.Join(out, "ca-key.pem")); err != nil {
			t.Errorf("the written CA does not load: %v", err)
		}
	})
	t.Run("README", func(t *testing.T) {
		b, _ := os.ReadFile(filepath.Join(out, "README.txt"))
		for _, want := range []string{
			"LIBPROCESS_SSL_ENABLED=true", "LIBPROCESS_SSL_CERT_FILE=", "LIBPROCESS_SSL_KEY_FILE=", "LIBPROCESS_SSL_CA_FILE=",
			"LIBPROCESS_SSL_VERIFY_SERVER_CERT=true", "LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME=openssl", "LIBPROCESS_SSL_VERIFY_IPADD=true",
			"LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true", "LIBPROCESS_SSL_SUPPORT_DOWNGRADE=false",
			"2 DNS names and 2 IP addresses (every master and agent found, and --host)", "agent-1.example.test, agent-2.example.test, 10.0.0.7, 127.0.0.1",
		} {
			if !strings.Contains(string(b), want) {
				t.Errorf("README lacks %q:\n%s", want, b)
			}
		}
		if string(b) != res.Readme {
			t.Error("the README written differs from the one returned for printing")
		}
	})
	t.Run("existing files are refused without --force", func(t *testing.T) {
		before := snapshotDir(t, out)
		_, err := job.Write()
		if err == nil || !strings.Contains(err.Error(), "already holds cert.pem, key.pem, README.txt, ca.pem, ca-key.pem: nothing was written; give --force") {
			t.Fatalf("error %v", err)
		}
		if after := snapshotDir(t, out); !maps.Equal(before, after) {
			t.Error("files changed although the run was refused")
		}
	})
	t.Run("one existing file refuses the whole run", func(t *testing.T) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, "key.pem"), []byte("operator's own key"), 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := (SharedRequest{Out: dir, Names: []string{"a.example.test"}, Validity: time.Hour}).Write(); err == nil || !strings.Contains(err.Error(), "already holds key.pem:") {
			t.Fatalf("error %v", err)
		}
		if entries, _ := os.ReadDir(dir); len(entries) != 1 {
			t.Errorf("%d files in the directory, want only the operator's", len(entries))
		}
	})
	t.Run("--force replaces, and --ca-cert in --out keeps the CA", func(t *testing.T) {
		caBefore, _ := os.ReadFile(filepath.Join(out, "ca.pem"))
		certBefore, _ := os.ReadFile(filepath.Join(out, "cert.pem"))
		again := job
		again.Force, again.CACert, again.CAKey = true, filepath.Join(out, "ca.pem"), filepath.Join(out, "ca-key.pem")
		if _, err := again.Write(); err != nil {
			t.Fatal(err)
		}
		caAfter, _ := os.ReadFile(filepath.Join(out, "ca.pem"))
		certAfter, _ := os.ReadFile(filepath.Join(out, "cert.pem"))
		if string(caAfter) != string(caBefore) || string(certAfter) == string(certBefore) {
			t.Error("want the same CA and a new certificate")
		}
		if mode(t, filepath.Join(out, "key.pem")) != 0o600 {
			t.Error("the replaced key is not 0600")
		}
	})
	t.Run("a given CA is copied, its key is not", func(t *testing.T) {
		dir := t.TempDir()
		given := SharedRequest{Out: dir, Names: []string{"m.example.test"}, Validity: time.Hour,
			CACert: filepath.Join(out, "ca.pem"), CAKey: filepath.Join(out, "ca-key.pem")}
		res, err := given.Write()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "ca-key.pem")); err == nil {
			t.Error("the given CA's key was copied into --out")
		}
		if !testsupport.ReadCert(t, filepath.Join(dir, "ca.pem")).Equal(testsupport.ReadCert(t, filepath.Join(out, "ca.pem"))) || res.Minted {
			t.Error("ca.pem is not the given CA")
		}
	})
	t.Run("no names", func(t *testing.T) {
		if _, err := (SharedRequest{Out: t.TempDir()}).Write(); err == nil || !strings.Contains(err.Error(), "no names") {
			t.Errorf("error %v", err)
		}
	})
}

// snapshotDir returns each file's content by name.
func snapshotDir(t *testing.T, dir string) map[string]string {
	t.Helper()
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]string{}
	for _, e := range entries {
		b, _ := os.ReadFile(filepath.Join(dir, e.Name()))
		m[e.Name()] = string(b)
	}
	return m
}
