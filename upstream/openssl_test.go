package upstream

import (
	"bufio"
	"io"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// openSSLMember runs openssl s_server -www as a libprocess member's TLS
// side runs OpenSSL: the session cache off and a session id context set
// (libprocess openssl.cpp), with the simulated members' certificate, plus
// args. It returns the address it listens on; it stops when the test
// ends. Without openssl the test is skipped, except under CI=true, where
// it fails.
func openSSLMember(t *testing.T, args ...string) string {
	t.Helper()
	bin := testsupport.Command(t, "openssl", "openssl")
	args = append([]string{"s_server", "-accept", "127.0.0.1:0", "-www", "-no_cache", "-context", "mesos",
		"-cert", testPKI.CertFile, "-key", testPKI.KeyFile}, args...)
	cmd := exec.Command(bin, args...)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	cmd.Stderr = cmd.Stdout
	if err := cmd.Start(); err != nil {
		t.Fatalf("start openssl s_server: %v", err)
	}
	addr := make(chan string, 1)
	drained := make(chan struct{})
	go func() {
		defer close(drained)
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			if a, ok := strings.CutPrefix(sc.Text(), "ACCEPT "); ok {
				addr <- a
				break
			}
		}
		io.Copy(io.Discard, out)
	}()
	t.Cleanup(func() {
		cmd.Process.Kill()
		<-drained
		cmd.Wait()
	})
	select {
	case a := <-addr:
		return a
	case <-time.After(10 * time.Second):
		t.Fatalf("openssl %s did not start listening", strings.Join(args, " "))
	}
	return ""
}

// TestProbeResumesOpenSSLMember: an OpenSSL member with libprocess's
// session settings (no session cache) still resumes: through the session
// tickets OpenSSL issues. The second probe resumes, with the first one's
// certificate and client-certificate facts.
func TestProbeResumesOpenSSLMember(t *testing.T) {
	tests := []struct {
		name       string
		args       []string
		version    string
		cipher     string // prefix
		clientCert bool
	}{
		{"TLS 1.2, stock ciphers", []string{"-no_tls1_3", "-cipher", "AES128-SHA:AES256-SHA"}, "TLS 1.2", "TLS_RSA_WITH_AES_", false},
		{"TLS 1.3", []string{"-tls1_3"}, "TLS 1.3", "TLS_", false},
		{"TLS 1.2, client certificate required", []string{"-no_tls1_3", "-Verify", "1", "-CAfile", testPKI.CAFile}, "TLS 1.2", "TLS_", true},
		{"TLS 1.3, client certificate required", []string{"-tls1_3", "-Verify", "1", "-CAfile", testPKI.CAFile}, "TLS 1.3", "TLS_", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			addr := openSSLMember(t, tt.args...)
			c, err := New(Config{Masters: []Master{{Address: addr}}, TLS: newTLS(t, gatewayTLS(true))})
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			var probes []*Probe
			for range 2 {
				probes = append(probes, sweep(t, c).Standbys[0].Probe)
			}
			for n, p := range probes {
				if p.Speaks != SSLOnly || p.TLS == nil || p.Cert == nil {
					t.Fatalf("probe %d: %s (%s), TLS %+v", n+1, p.Speaks, p.Reason, p.TLS)
				}
				if p.TLS.Version != tt.version || !strings.HasPrefix(p.TLS.Cipher, tt.cipher) || p.TLS.ClientCertRequested != tt.clientCert || p.TLS.ClientCertSent != tt.clientCert {
					t.Errorf("probe %d: TLS %+v, want %s %s*, client certificate %v", n+1, p.TLS, tt.version, tt.cipher, tt.clientCert)
				}
				if p.Cert.SHA256 != probes[0].Cert.SHA256 || p.Cert.Key != "RSA 2048" {
					t.Errorf("probe %d: certificate %+v", n+1, p.Cert)
				}
				if want := n > 0; p.TLS.Resumed != want {
					t.Errorf("probe %d: resumed %v, want %v", n+1, p.TLS.Resumed, want)
				}
			}
		})
	}
}
