package testsupport

import (
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"io"
	"log"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/letsencrypt/challtestsrv"
)

// This file runs the ACME peers of the tests: Pebble, Let's Encrypt's test
// ACME server, built from the module's tool dependency and run as a child
// process on loopback ports, and a DNS server that resolves the test's
// names to loopback for Pebble's validation.

// Pebble is a running Pebble.
type Pebble struct {
	// Directory is the ACME directory URL.
	Directory string
	// HTTPSRoot is the file of the root signing Pebble's own HTTPS
	// certificate (its test minica): what --acme-ca-root is given.
	HTTPSRoot string
	// IssuingRoots holds the root that signs the certificates Pebble
	// issues, fetched from its management endpoint.
	IssuingRoots *x509.CertPool
	// Log is Pebble's output, shown when a test fails.
	Log *Buffer
}

// PebbleOptions adjust a Pebble run.
type PebbleOptions struct {
	// Validate makes Pebble really validate challenges, resolving names
	// through DNSServer and connecting to TLSPort for TLS-ALPN-01.
	// Without it Pebble accepts every challenge (PEBBLE_VA_ALWAYS_VALID).
	Validate  bool
	DNSServer string
	TLSPort   int
}

// StartPebble builds and starts Pebble, waits for its directory and
// fetches its issuing root. Pebble is killed and waited for at cleanup, so
// no process outlives the test.
func StartPebble(tb testing.TB, o PebbleOptions) *Pebble {
	tb.Helper()
	Command(tb, "go", "go")
	dir := tb.TempDir()
	bin := filepath.Join(dir, "pebble")
	if out, err := exec.Command("go", "build", "-o", bin, "github.com/letsencrypt/pebble/v2/cmd/pebble").CombinedOutput(); err != nil {
		tb.Fatalf("build pebble (a tool dependency in go.mod): %v\n%s", err, out)
	}
	modDir, err := exec.Command("go", "list", "-m", "-f", "{{.Dir}}", "github.com/letsencrypt/pebble/v2").Output()
	if err != nil {
		tb.Fatalf("find pebble's module directory: %v", err)
	}
	certs := filepath.Join(strings.TrimSpace(string(modDir)), "test", "certs")
	acmeAddr, mgmtAddr := FreeAddr(tb), FreeAddr(tb)
	tlsPort := o.TLSPort
	if tlsPort == 0 {
		tlsPort = 5001
	}
	cfg := map[string]any{"pebble": map[string]any{
		"listenAddress":           acmeAddr,
		"managementListenAddress": mgmtAddr,
		"certificate":             filepath.Join(certs, "localhost", "cert.pem"),
		"privateKey":              filepath.Join(certs, "localhost", "key.pem"),
		"httpPort":                5002,
		"tlsPort":                 tlsPort,
		"ocspResponderURL":        "",
		"retryAfter":              map[string]int{"authz": 0, "order": 0},
		"keyAlgorithm":            "ecdsa",
		"profiles":                map[string]any{"default": map[string]any{"description": "test", "validityPeriod": 7776000}},
	}}
	cfgFile := filepath.Join(dir, "pebble.json")
	b, _ := json.Marshal(cfg)
	if err := os.WriteFile(cfgFile, b, 0o644); err != nil {
		tb.Fatal(err)
	}
	args := []string{"-config", cfgFile}
	if o.DNSServer != "" {
		args = append(args, "-dnsserver", o.DNSServer)
	}
	cmd := exec.Command(bin, args...)
	// No nonce rejections: Pebble refuses 5% of nonces by default to test
	// clients' retries, which would make timings noisy.
	cmd.Env = append(os.Environ(), "PEBBLE_VA_NOSLEEP=1", "PEBBLE_WFE_NONCEREJECT=0")
	if !o.Validate {
		cmd.Env = append(cmd.Env, "PEBBLE_VA_ALWAYS_VALID=1")
	}
	p := &Pebble{Directory: "https://" + acmeAddr + "/dir", HTTPSRoot: filepath.Join(certs, "pebble.minica.pem"), Log: &Buffer{}}
	cmd.Stdout, cmd.Stderr = p.Log, p.Log
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start pebble: %v", err)
	}
	tb.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
		if tb.Failed() {
			tb.Logf("pebble's output:\n%s", p.Log)
		}
	})
	roots := x509.NewCertPool()
	roots.AddCert(ReadCert(tb, p.HTTPSRoot))
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}}
	tb.Cleanup(client.CloseIdleConnections)
	Eventually(tb, "pebble's directory", 10*time.Second, func() bool {
		resp, err := client.Get(p.Directory)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	resp, err := client.Get("https://" + mgmtAddr + "/roots/0")
	if err != nil {
		tb.Fatalf("fetch pebble's issuing root: %v", err)
	}
	defer resp.Body.Close()
	root, _ := io.ReadAll(resp.Body)
	p.IssuingRoots = x509.NewCertPool()
	if !p.IssuingRoots.AppendCertsFromPEM(root) {
		tb.Fatalf("pebble's /roots/0 is not PEM: %q", root)
	}
	return p
}

// Issued counts the certificates Pebble has issued so far.
func (p *Pebble) Issued() int { return strings.Count(p.Log.String(), "Issued certificate serial") }

// FakeDNS runs a DNS server on loopback, until the test ends, that
// resolves each of names to 127.0.0.1 (Pebble's validation looks names up
// there: PebbleOptions.DNSServer), and returns its address.
func FakeDNS(tb testing.TB, names ...string) string {
	tb.Helper()
	addr := freeUDPAndTCPAddr(tb)
	srv, err := challtestsrv.New(challtestsrv.Config{DNSAddrs: []string{addr}, Log: log.New(io.Discard, "", 0)})
	if err != nil {
		tb.Fatal(err)
	}
	srv.SetDefaultDNSIPv6("")
	for _, n := range names {
		srv.AddDNSARecord(n, []string{"127.0.0.1"})
	}
	srv.Run()
	tb.Cleanup(srv.Shutdown)
	return addr
}

// FreeAddr returns a loopback address with a port free a moment ago.
func FreeAddr(tb testing.TB) string {
	tb.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		tb.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// freeUDPAndTCPAddr returns a loopback address whose port was free for
// both UDP and TCP a moment ago (a DNS server binds both).
func freeUDPAndTCPAddr(tb testing.TB) string {
	tb.Helper()
	for range 20 {
		pc, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			tb.Fatal(err)
		}
		addr := pc.LocalAddr().String()
		l, err := net.Listen("tcp", addr)
		pc.Close()
		if err == nil {
			l.Close()
			return addr
		}
	}
	tb.Fatal("no port free for both UDP and TCP")
	return ""
}
