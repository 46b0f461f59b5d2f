package tlsx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// The tests of this file obtain certificates from Pebble
// (testsupport.StartPebble), run as a child process on loopback ports,
// killed at cleanup.

// acmeFront opens a front listener, then an ACME source answering its
// challenges there, started as the gateway starts it.
func acmeFront(t testing.TB, o ACMEOptions) (*ManagedSource, *logRecorder, string) {
	t.Helper()
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return acmeFrontOn(t, inner, o)
}

// acmeFrontOn is acmeFront on a listener the caller opened.
func acmeFrontOn(t testing.TB, inner net.Listener, o ACMEOptions) (*ManagedSource, *logRecorder, string) {
	t.Helper()
	log := &logRecorder{}
	o.Logger = slog.New(log)
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	o.ChallengeAddr = inner.Addr().String()
	src, err := NewACMESource(o)
	if err != nil {
		inner.Close()
		t.Fatalf("NewACMESource: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	c := mustContext(t, Settings{Enabled: On, EnableTLSv13: On}, Options{Certificates: src})
	addr := serveListener(t, c.NewListener(inner, c.ServerConfig("h2", "http/1.1")))
	if err := src.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return src, log, addr
}

// serveListener is serveTLS for a listener made by the caller.
func serveListener(t testing.TB, l net.Listener) string {
	t.Helper()
	var wg sync.WaitGroup
	t.Cleanup(func() {
		l.Close()
		wg.Wait()
	})
	wg.Go(func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			wg.Go(func() {
				defer conn.Close()
				conn.SetDeadline(time.Now().Add(5 * time.Second))
				if tc, ok := conn.(*tls.Conn); ok {
					if err := tc.Handshake(); err != nil || tc.ConnectionState().NegotiatedProtocol == "acme-tls/1" {
						return
					}
				}
				io.WriteString(conn, servedToken+"\n")
			})
		}
	})
	return l.Addr().String()
}

func TestACMESource(t *testing.T) {
	p := testsupport.StartPebble(t, testsupport.PebbleOptions{})
	dataDir := t.TempDir()
	start := time.Now()
	src, log, addr := acmeFront(t, ACMEOptions{
		DataDir:   dataDir,
		Directory: p.Directory,
		Email:     "ops@example.test",
		CARoot:    p.HTTPSRoot,
		Domains:   []string{"gateway.example.test"},
	})
	var leaf *x509.Certificate
	testsupport.Eventually(t, "the ACME certificate to be served", 10*time.Second, func() bool {
		var err error
		leaf, err = served(addr, "gateway.example.test", p.IssuingRoots)
		return err == nil
	})
	t.Logf("ACME issuance against Pebble, from Start to the first verified handshake: %v", time.Since(start))
	t.Run("the certificate is Pebble's for the domain", func(t *testing.T) {
		if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "gateway.example.test" || !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
			t.Errorf("served a certificate for %v from %q", leaf.DNSNames, leaf.Issuer.CommonName)
		}
		infos := src.Certificates()
		if len(infos) != 1 || infos[0].Source != SourceACME || infos[0].DaysLeft(time.Now()) < 80 {
			t.Errorf("Certificates = %+v", infos)
		}
		if !log.has("INFO", "front certificate obtained") || !log.has("INFO", "not_after=") {
			t.Errorf("the certificate's expiry is not logged:\n%s", log)
		}
	})
	t.Run("a name not configured is refused and nothing is issued", func(t *testing.T) {
		if _, err := dial(addr, &tls.Config{ServerName: "other.example.test", InsecureSkipVerify: true}); err == nil {
			t.Fatal("a certificate was presented for an unconfigured name")
		}
		if found := findFiles(t, dataDir, "other.example.test"); len(found) > 0 {
			t.Errorf("storage holds files for the refused name: %v", found)
		}
		if strings.Contains(p.Log.String(), "other.example.test") {
			t.Errorf("pebble was asked about the refused name:\n%s", p.Log)
		}
	})
	t.Run("no SNI gets the domain's certificate", func(t *testing.T) {
		cs, err := dial(addr, &tls.Config{InsecureSkipVerify: true})
		if err != nil || cs.PeerCertificates[0].DNSNames[0] != "gateway.example.test" {
			t.Errorf("handshake without SNI: %v", err)
		}
	})
	t.Run("a restart loads the stored certificate", func(t *testing.T) {
		src.Close()
		again, log2, addr2 := acmeFront(t, ACMEOptions{DataDir: dataDir, Directory: p.Directory, Email: "ops@example.test", CARoot: p.HTTPSRoot, Domains: []string{"gateway.example.test"}})
		testsupport.Eventually(t, "the stored certificate to be served", 10*time.Second, func() bool {
			l, err := served(addr2, "gateway.example.test", p.IssuingRoots)
			return err == nil && l.Equal(leaf)
		})
		if log2.has("INFO", "obtained") {
			t.Errorf("the restart obtained a new certificate:\n%s", log2)
		}
		again.Close()
	})
}

// TestACMEChallenge: with validation on, Pebble resolves the domain
// through a test DNS server to the front listener and completes the
// TLS-ALPN-01 challenge there: the front offers acme-tls/1 and certmagic
// answers through the source's GetCertificate.
func TestACMEChallenge(t *testing.T) {
	inner, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := net.SplitHostPort(inner.Addr().String())
	tlsPort, _ := strconv.Atoi(port)
	dnsAddr := testsupport.FakeDNS(t, "gateway.example.test")
	p := testsupport.StartPebble(t, testsupport.PebbleOptions{Validate: true, DNSServer: dnsAddr, TLSPort: tlsPort})
	_, log, addr := acmeFrontOn(t, inner, ACMEOptions{Directory: p.Directory, CARoot: p.HTTPSRoot, Domains: []string{"gateway.example.test"}})
	testsupport.Eventually(t, "the validated certificate to be served", 10*time.Second, func() bool {
		_, err := served(addr, "gateway.example.test", p.IssuingRoots)
		return err == nil
	})
	if !log.has("DEBUG", "served key authentication certificate") || !log.has("DEBUG", "challenge=tls-alpn-01") {
		t.Errorf("the front did not answer the TLS-ALPN-01 challenge:\n%s", log)
	}
	if !strings.Contains(p.Log.String(), "set VALID by completed challenge") {
		t.Errorf("pebble did not validate the challenge:\n%s", p.Log)
	}
	if !log.has("INFO", "front certificate obtained") {
		t.Errorf("no certificate obtained:\n%s", log)
	}
}

func TestACMESourceErrors(t *testing.T) {
	notPEM := filepath.Join(t.TempDir(), "root.pem")
	if err := os.WriteFile(notPEM, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name string
		o    ACMEOptions
		want []string
	}{
		{"no domain", ACMEOptions{DataDir: t.TempDir()}, []string{"no domain to obtain a certificate for", "--acme-domain"}},
		{"an IP address", ACMEOptions{DataDir: t.TempDir(), Domains: []string{"192.0.2.1"}}, []string{`"192.0.2.1": give DNS names`}},
		{"root file missing", ACMEOptions{DataDir: t.TempDir(), Domains: []string{"a.example.test"}, CARoot: "/nonexistent/root.pem"}, []string{"read the ACME CA's root file"}},
		{"root file not PEM", ACMEOptions{DataDir: t.TempDir(), Domains: []string{"a.example.test"}, CARoot: notPEM}, []string{"holds no PEM certificate"}},
		{"bad challenge address", ACMEOptions{DataDir: t.TempDir(), Domains: []string{"a.example.test"}, ChallengeAddr: "localhost"}, []string{"challenge address"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			src, err := NewACMESource(tt.o)
			if err == nil {
				src.Close()
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// TestACMEAllow: ACME obtains a certificate for a host Allow admits (a
// framework UI's own) during its first handshake, and asks the CA about
// no other name.
func TestACMEAllow(t *testing.T) {
	p := testsupport.StartPebble(t, testsupport.PebbleOptions{})
	dataDir := t.TempDir()
	src, _, addr := acmeFront(t, ACMEOptions{
		DataDir: dataDir, Directory: p.Directory, Email: "ops@example.test", CARoot: p.HTTPSRoot,
		Domains: []string{"gateway.example.test"},
	})
	src.Allow(func(name string) bool { return name == "marathon.apps.example.test" })
	var leaf *x509.Certificate
	testsupport.Eventually(t, "the framework UI host's certificate", 30*time.Second, func() bool {
		var err error
		leaf, err = served(addr, "marathon.apps.example.test", p.IssuingRoots)
		return err == nil
	})
	if len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "marathon.apps.example.test" || !strings.Contains(leaf.Issuer.CommonName, "Pebble") {
		t.Errorf("served a certificate for %v from %q", leaf.DNSNames, leaf.Issuer.CommonName)
	}
	if _, err := dial(addr, &tls.Config{ServerName: "chronos.apps.example.test", InsecureSkipVerify: true}); err == nil {
		t.Error("a host not allowed got a certificate")
	}
	if strings.Contains(p.Log.String(), "chronos.apps.example.test") {
		t.Errorf("pebble was asked about a host not allowed:\n%s", p.Log)
	}
}
