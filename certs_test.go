package main

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/tlsx"
)

// readCert parses the first certificate of a PEM file.
func readCert(t *testing.T, path string) *x509.Certificate {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		t.Fatalf("%s holds no PEM", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// mode returns a file's permission bits.
func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

func TestCertsJobWrite(t *testing.T) {
	out := filepath.Join(t.TempDir(), "certs")
	job := certsJob{out: out, names: []string{"agent-2.example.test", "127.0.0.1", "Agent-1.example.test", "agent-2.example.test.", "::ffff:10.0.0.7"}, validity: 30 * 24 * time.Hour}
	res, err := job.write()
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
		cert := readCert(t, filepath.Join(out, "cert.pem"))
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
		roots.AddCert(readCert(t, filepath.Join(out, "ca.pem")))
		for _, name := range []string{"agent-1.example.test", "agent-2.example.test", "127.0.0.1", "10.0.0.7"} {
			if _, err := cert.Verify(x509.VerifyOptions{DNSName: name, Roots: roots}); err != nil {
				t.Errorf("%s: %v", name, err)
			}
		}
		if _, err := tlsx.LoadCAFiles(filepath.Join(out, "ca.pem"), filepath.Join(out, "ca-key.pem")); err != nil {
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
		if string(b) != res.readme {
			t.Error("the README written differs from the one returned for printing")
		}
	})
	t.Run("existing files are refused without --force", func(t *testing.T) {
		before := snapshotDir(t, out)
		_, err := job.write()
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
		if _, err := (certsJob{out: dir, names: []string{"a.example.test"}, validity: time.Hour}).write(); err == nil || !strings.Contains(err.Error(), "already holds key.pem:") {
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
		again.force, again.caCert, again.caKey = true, filepath.Join(out, "ca.pem"), filepath.Join(out, "ca-key.pem")
		if _, err := again.write(); err != nil {
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
		given := certsJob{out: dir, names: []string{"m.example.test"}, validity: time.Hour,
			caCert: filepath.Join(out, "ca.pem"), caKey: filepath.Join(out, "ca-key.pem")}
		res, err := given.write()
		if err != nil {
			t.Fatal(err)
		}
		if _, err := os.Stat(filepath.Join(dir, "ca-key.pem")); err == nil {
			t.Error("the given CA's key was copied into --out")
		}
		if !readCert(t, filepath.Join(dir, "ca.pem")).Equal(readCert(t, filepath.Join(out, "ca.pem"))) || res.minted {
			t.Error("ca.pem is not the given CA")
		}
	})
	t.Run("no names", func(t *testing.T) {
		if _, err := (certsJob{out: t.TempDir()}).write(); err == nil || !strings.Contains(err.Error(), "no names") {
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

// TestCertsCommand runs `mesosgate certs` against a simulated mixed
// cluster, restarts every member with the certificate it wrote, as an
// operator following its README would (VERIFY_SERVER_CERT, the openssl
// hostname scheme, the written CA, libprocess's default ciphers), and has
// `mesosgate probe` check every member.
func TestCertsCommand(t *testing.T) {
	sc, err := sim.Start(sim.Options{
		Masters:     2,
		MasterModes: []sim.Mode{sim.Downgrade, sim.Plain},
		Modes:       []sim.Mode{sim.Plain, sim.Downgrade, sim.SSL, sim.SSLClientCert},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	masters := "http://" + sc.Masters()[1].HostPort() + "," + sc.Masters()[0].HostPort()
	out := filepath.Join(t.TempDir(), "certs")
	certFile, keyFile, caFile := filepath.Join(out, "cert.pem"), filepath.Join(out, "key.pem"), filepath.Join(out, "ca.pem")
	probeEnv := []string{
		"LIBPROCESS_SSL_VERIFY_SERVER_CERT=true", "LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME=openssl",
		"LIBPROCESS_SSL_CA_FILE=" + caFile, "LIBPROCESS_SSL_CERT_FILE=" + certFile, "LIBPROCESS_SSL_KEY_FILE=" + keyFile,
	}

	code, stdout, stderr := runMain(t, nil, "certs", "--master", masters, "--out", out, "--host", "mesos.example.test")
	if code != 0 {
		t.Fatalf("certs: exit %d\n%s", code, stderr)
	}
	if !strings.Contains(stdout, "Found 2 masters and 4 agents; wrote "+filepath.Join(out, "ca-key.pem")) || !strings.Contains(stdout, "LIBPROCESS_SSL_CERT_FILE=") {
		t.Errorf("stdout:\n%s", stdout)
	}
	if !strings.Contains(stderr, "note: standby master "+sc.Masters()[1].HostPort()) {
		t.Errorf("no note about the standby's names: %q", stderr)
	}
	cert := readCert(t, certFile)
	if got := strings.Join(cert.DNSNames, ","); got != "localhost,mesos.example.test" || len(cert.IPAddresses) != 1 || cert.IPAddresses[0].String() != "127.0.0.1" {
		t.Errorf("SANs %v %v, want localhost, mesos.example.test and 127.0.0.1", cert.DNSNames, cert.IPAddresses)
	}

	t.Run("before the restart, members' certificates do not verify against the new CA", func(t *testing.T) {
		report := probeJSON(t, probeEnv, masters)
		seen := 0
		for _, m := range report.Members {
			if m.Cert != nil {
				seen++
				if m.Cert.Verified {
					t.Errorf("%s %s: the simulator's certificate verifies against the new CA", m.Role, m.Address)
				}
			}
		}
		if seen == 0 || report.Phase == "complete" {
			t.Errorf("phase %q, %d certificates seen: %+v", report.Phase, seen, report.Members)
		}
	})
	t.Run("every member restarted with the shared certificate: ssl-only and verified", func(t *testing.T) {
		settings := tlsx.Settings{
			Enabled: tlsx.On, CertFile: certFile, KeyFile: keyFile, CAFile: caFile,
			VerifyServerCert: true, HostnameValidationScheme: tlsx.HostnameOpenSSL, VerifyIPAdd: true,
			Ciphers: sim.MemberCiphers,
		}
		for _, m := range sc.Masters() {
			if err := m.RestartWith(settings); err != nil {
				t.Fatal(err)
			}
		}
		for i, a := range sc.Agents() {
			s := settings
			s.RequireClientCert = i == 3 // the shared certificate is a client certificate too
			if err := a.RestartWith(s); err != nil {
				t.Fatal(err)
			}
		}
		report := probeJSON(t, probeEnv, masters)
		if report.Phase != "complete" || len(report.Members) != 6 {
			t.Errorf("phase %q with %d members, want complete with 6", report.Phase, len(report.Members))
		}
		for i, m := range report.Members {
			if m.Speaks != "ssl-only" || m.Cert == nil || !m.Cert.Verified || m.TLS == nil {
				t.Errorf("member %d (%s %s): speaks %q, cert %+v, tls %+v, error %q", i, m.Role, m.Address, m.Speaks, m.Cert, m.TLS, m.Error)
				continue
			}
			if m.TLS.Cipher != "TLS_RSA_WITH_AES_128_CBC_SHA" {
				t.Errorf("member %d negotiated %s, want a stock member's RSA key exchange suite", i, m.TLS.Cipher)
			}
			if m.Cert.SHA256 != sha256Hex(cert.Raw) {
				t.Errorf("member %d presents another certificate", i)
			}
		}
		if !report.Members[5].TLS.ClientCertSent {
			t.Error("the agent requiring a client certificate was not sent the shared one")
		}
	})
	t.Run("existing files are refused without --force", func(t *testing.T) {
		before, _ := os.ReadFile(certFile)
		code, _, stderr := runMain(t, nil, "certs", "--master", sc.Masters()[0].HostPort(), "--out", out)
		if code != 2 || !strings.Contains(stderr, "already holds cert.pem, key.pem, README.txt, ca.pem, ca-key.pem: nothing was written; give --force") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		if after, _ := os.ReadFile(certFile); string(after) != string(before) {
			t.Error("cert.pem changed")
		}
	})
	t.Run("--force with the same CA", func(t *testing.T) {
		code, _, stderr := runMain(t, probeEnv, "certs", "--master", sc.Masters()[0].HostPort(), "--out", out, "--force",
			"--ca-cert", caFile, "--ca-key", filepath.Join(out, "ca-key.pem"), "--days", "10")
		if code != 0 {
			t.Fatalf("exit %d: %s", code, stderr)
		}
		if d := time.Until(readCert(t, certFile).NotAfter); d > 10*24*time.Hour || d < 9*24*time.Hour {
			t.Errorf("--days 10 gave %v", d)
		}
	})
	t.Run("an unreachable master: exit 2, nothing written", func(t *testing.T) {
		dir := filepath.Join(t.TempDir(), "none")
		code, _, stderr := runMain(t, nil, "certs", "--master", "127.0.0.1:1", "--out", dir)
		if code != 2 || !strings.Contains(stderr, "check --master") {
			t.Errorf("exit %d, stderr %q", code, stderr)
		}
		if _, err := os.Stat(dir); err == nil {
			t.Error("--out was created")
		}
	})
}

// probeReport is the part of `mesosgate probe --json` these tests read.
type probeReport struct {
	Phase   string `json:"phase"`
	Members []struct {
		Role, Address, Speaks, Error string
		TLS                          *struct {
			Cipher         string `json:"cipher"`
			ClientCertSent bool   `json:"client_cert_sent"`
		}
		Cert *struct {
			SHA256   string `json:"sha256"`
			Verified bool   `json:"verified"`
		}
	} `json:"members"`
}

// probeJSON runs `mesosgate probe --json` and parses what it printed.
func probeJSON(t *testing.T, env []string, masters string) probeReport {
	t.Helper()
	_, out, errOut := runMain(t, env, "probe", "--master", masters, "--json")
	var r probeReport
	if err := json.Unmarshal([]byte(out), &r); err != nil {
		t.Fatalf("probe printed no JSON: %v\n%s\n%s", err, out, errOut)
	}
	return r
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// BenchmarkCertsCommand: `mesosgate certs` against a simulated cluster of
// one master and 100 agents (discovery, an RSA 2048 key, the files), next
// to the RSA 2048 issuance alone in the same run:
//
//	go test . -run '^$' -bench CertsCommand -benchtime 20x
func BenchmarkCertsCommand(b *testing.B) {
	sc, err := sim.Start(sim.Options{Agents: 100, Frameworks: []sim.FrameworkSpec{}})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { sc.Close() })
	b.Run("baseline: RSA 2048 certificate", func(b *testing.B) {
		ca, err := tlsx.NewCA("bench", 0)
		if err != nil {
			b.Fatal(err)
		}
		for b.Loop() {
			if _, err := ca.Issue(tlsx.LeafRequest{DNSNames: []string{"localhost"}, RSABits: 2048}); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("certs, 1 master and 100 agents", func(b *testing.B) {
		var stdout, stderr strings.Builder
		for b.Loop() {
			stdout.Reset()
			if code := run([]string{"certs", "--master", sc.Leader().HostPort(), "--out", b.TempDir()}, nil, &stdout, &stderr); code != 0 {
				b.Fatalf("exit %d: %s", code, stderr.String())
			}
		}
		if !strings.Contains(stdout.String(), "Found 1 master and 100 agents") {
			b.Fatalf("output: %s", stdout.String())
		}
	})
}
