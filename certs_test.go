package main

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/internal/testsupport"
	"github.com/mesosgate/mesosgate/tlsx"
)

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
	cert := testsupport.ReadCert(t, certFile)
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
		if d := time.Until(testsupport.ReadCert(t, certFile).NotAfter); d > 10*24*time.Hour || d < 9*24*time.Hour {
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
