package tlsx

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// The tests of this file run the internal CA source the way the gateway
// does: a Context whose Certificates is the source, serving on loopback,
// and clients that trust nothing but the CA file it wrote. certmagic keeps
// process-wide state per name (who is obtaining what), so these tests do
// not run in parallel.

// newInternal starts an internal source with o (DataDir defaults to a
// fresh directory, Logger to a recorder) and closes it at cleanup.
func newInternal(t testing.TB, o InternalOptions) (*ManagedSource, *logRecorder) {
	t.Helper()
	if o.DataDir == "" {
		o.DataDir = t.TempDir()
	}
	log := &logRecorder{}
	if o.Logger == nil {
		o.Logger = slog.New(log)
	}
	src, err := NewInternalSource(o)
	if err != nil {
		t.Fatalf("NewInternalSource: %v", err)
	}
	t.Cleanup(func() { src.Close() })
	if err := src.Start(context.Background()); err != nil {
		t.Fatalf("Start: %v", err)
	}
	return src, log
}

// frontOf serves src's certificates on loopback as the gateway's front and
// returns the Context and the address.
func frontOf(t testing.TB, src CertSource) (*Context, string) {
	t.Helper()
	c := mustContext(t, Settings{Enabled: On, EnableTLSv13: On}, Options{Certificates: src})
	return c, serveTLS(t, c, nil)
}

// caPool reads a CA file into a pool: all a client trusts.
func caPool(t testing.TB, file string) *x509.CertPool {
	t.Helper()
	b, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(b) {
		t.Fatalf("%s holds no certificate", file)
	}
	return pool
}

// served connects to addr with SNI name ("" sends none and verifies the
// address) trusting only roots, and returns the leaf presented.
func served(addr, name string, roots *x509.CertPool) (*x509.Certificate, error) {
	cfg := &tls.Config{RootCAs: roots, ServerName: name}
	if name == "" {
		host, _, _ := net.SplitHostPort(addr)
		cfg.ServerName = host // an IP: Go verifies it and sends no SNI
	}
	cs, err := dial(addr, cfg)
	if err != nil {
		return nil, err
	}
	return cs.PeerCertificates[0], nil
}

func TestInternalSource(t *testing.T) {
	dataDir := t.TempDir()
	src, log := newInternal(t, InternalOptions{
		DataDir: dataDir,
		Names:   []string{"localhost", "Gateway.Example.Test"},
		IPs:     []netip.Addr{loopback},
	})
	c, addr := frontOf(t, src)
	_, port, _ := net.SplitHostPort(addr)
	roots := caPool(t, src.CAFile())

	t.Run("CA files", func(t *testing.T) {
		if want := filepath.Join(dataDir, "ca", "mesosgate-ca.pem"); src.CAFile() != want {
			t.Errorf("CAFile = %s, want %s", src.CAFile(), want)
		}
		fi, err := os.Stat(filepath.Join(dataDir, "ca", "mesosgate-ca-key.pem"))
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("CA key: %v, mode %v; want 0600", err, fi.Mode().Perm())
		}
		if !log.has("INFO", "ca_file="+src.CAFile()) {
			t.Errorf("the CA file's path is not logged:\n%s", log)
		}
	})
	for _, tt := range []struct{ name, sni, want string }{
		{"localhost", "localhost", "localhost"},
		{"configured name, any case", "GATEWAY.example.test", "gateway.example.test"},
		{"by IP, no SNI", "", "127.0.0.1"},
	} {
		t.Run("Go client trusting only the CA/"+tt.name, func(t *testing.T) {
			leaf, err := served(addr, tt.sni, roots)
			if err != nil {
				t.Fatalf("handshake: %v", err)
			}
			if names := append(leaf.DNSNames, ipStrings(leaf.IPAddresses)...); len(names) != 1 || names[0] != tt.want {
				t.Errorf("certificate names %v, want [%s] (one name per certificate)", names, tt.want)
			}
			if left := time.Until(leaf.NotAfter); left < 6*24*time.Hour || left > DefaultInternalValidity {
				t.Errorf("certificate lifetime left %v, want about %v", left, DefaultInternalValidity)
			}
		})
	}
	for _, tt := range []struct{ name, url string }{
		{"localhost", "https://localhost:" + port + "/"},
		{"configured name", "https://gateway.example.test:" + port + "/"},
		{"by IP", "https://127.0.0.1:" + port + "/"},
	} {
		t.Run("curl --cacert/"+tt.name, func(t *testing.T) {
			out, err := curl(t, "--cacert", src.CAFile(), "--http0.9",
				"--resolve", "localhost:"+port+":127.0.0.1", "--resolve", "gateway.example.test:"+port+":127.0.0.1", tt.url)
			if err != nil || !strings.Contains(out, servedToken) {
				t.Fatalf("curl %s: %v\n%s", tt.url, err, out)
			}
		})
	}
	t.Run("a name not configured is refused and nothing is issued", func(t *testing.T) {
		_, err := served(addr, "evil.example.test", nil)
		if err == nil {
			t.Fatal("the handshake for an unconfigured name succeeded")
		}
		cfg := &tls.Config{ServerName: "evil.example.test", InsecureSkipVerify: true}
		if _, err := dial(addr, cfg); err == nil {
			t.Fatal("a certificate was presented for an unconfigured name")
		}
		if found := findFiles(t, dataDir, "evil"); len(found) > 0 {
			t.Errorf("storage holds files for the refused name: %v", found)
		}
		for _, info := range src.Certificates() {
			if strings.Contains(strings.Join(info.SANs, ","), "evil") {
				t.Errorf("a certificate for the refused name is in use: %+v", info)
			}
		}
	})
	t.Run("FrontCertificates reports each certificate", func(t *testing.T) {
		infos := c.FrontCertificates()
		if len(infos) != 3 {
			t.Fatalf("%d certificates reported, want 3: %+v", len(infos), infos)
		}
		for _, info := range infos {
			if info.Source != SourceInternal || !strings.HasPrefix(info.Issuer, "CN=mesosgate CA ") || info.SHA256 == "" {
				t.Errorf("certificate facts %+v", info)
			}
			if d := info.DaysLeft(time.Now()); d < 6.9 || d > 7.01 {
				t.Errorf("days left %.2f, want about 7", d)
			}
		}
		if got := infos[2].SANs; len(got) != 1 || got[0] != loopback.String() {
			t.Errorf("the third certificate is for %v, want 127.0.0.1 (the order given)", got)
		}
	})
	t.Run("expiry is logged", func(t *testing.T) {
		if n := log.count("INFO", "front certificate obtained"); n != 3 {
			t.Errorf("%d certificates logged as obtained, want 3:\n%s", n, log)
		}
		if !log.has("INFO", "not_after=") || !log.has("INFO", "days_left=") {
			t.Errorf("the expiry is not logged:\n%s", log)
		}
	})
	t.Run("client certificate accepted by a member trusting the CA", func(t *testing.T) {
		cert, err := c.ClientCertificate()
		if err != nil || cert == nil {
			t.Fatalf("ClientCertificate: %v, %v", cert, err)
		}
		leaf := cert.Leaf
		if got := append(leaf.DNSNames, ipStrings(leaf.IPAddresses)...); strings.Join(got, ",") != "localhost,gateway.example.test,127.0.0.1" {
			t.Errorf("client certificate names %v", got)
		}
		for _, scheme := range []HostnameScheme{HostnameLegacy, HostnameOpenSSL} {
			member := mustContext(t, Settings{RequireClientCert: true, CAFile: src.CAFile(), HostnameValidationScheme: scheme},
				Options{LookupAddr: lookupAs("localhost")})
			if err := member.verifyClient([]*x509.Certificate{leaf}, loopback); err != nil {
				t.Errorf("%s scheme: a member requiring client certificates refuses the gateway's: %v", scheme, err)
			}
		}
		again, _ := c.ClientCertificate()
		if again != cert {
			t.Error("the client certificate is issued anew on every call")
		}
	})
}

// TestInternalClientCertRenewal: the client certificate is issued again
// once two thirds of its lifetime have passed.
func TestInternalClientCertRenewal(t *testing.T) {
	now := time.Now()
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	src, _ := newInternal(t, InternalOptions{Names: []string{"localhost"}, Now: clock})
	first, err := src.ClientCertificate()
	if err != nil {
		t.Fatal(err)
	}
	mu.Lock()
	now = now.Add(DefaultInternalValidity / 2)
	mu.Unlock()
	if same, _ := src.ClientCertificate(); same != first {
		t.Error("renewed at half its lifetime")
	}
	mu.Lock()
	now = now.Add(DefaultInternalValidity / 4)
	mu.Unlock()
	if next, _ := src.ClientCertificate(); next == first || next.Leaf.SerialNumber.Cmp(first.Leaf.SerialNumber) == 0 {
		t.Error("not renewed at three quarters of its lifetime")
	}
}

// TestInternalRestart: a second start on the same data directory reuses
// the CA and the stored certificates; nothing is issued.
func TestInternalRestart(t *testing.T) {
	dataDir := t.TempDir()
	opts := InternalOptions{DataDir: dataDir, Names: []string{"localhost"}, IPs: []netip.Addr{loopback}}
	first, _ := newInternal(t, opts)
	_, addr := frontOf(t, first)
	before, err := served(addr, "localhost", caPool(t, first.CAFile()))
	if err != nil {
		t.Fatal(err)
	}
	caBefore, _ := os.ReadFile(first.CAFile())
	first.Close()

	second, log := newInternal(t, opts)
	caAfter, _ := os.ReadFile(second.CAFile())
	if string(caAfter) != string(caBefore) {
		t.Fatal("the CA was minted again")
	}
	_, addr = frontOf(t, second)
	after, err := served(addr, "localhost", caPool(t, second.CAFile()))
	if err != nil {
		t.Fatal(err)
	}
	if !after.Equal(before) {
		t.Errorf("a new certificate was served after the restart (serial %v, was %v)", after.SerialNumber, before.SerialNumber)
	}
	if log.has("INFO", "obtained") || log.has("INFO", "internal CA created") {
		t.Errorf("the restart issued something:\n%s", log)
	}
	if n := log.count("INFO", "front certificate in use"); n != 2 {
		t.Errorf("%d certificates logged in use at start, want 2:\n%s", n, log)
	}
}

// TestInternalRenewal: a certificate with a short lifetime is renewed in
// the background before it expires, and the new one is served.
func TestInternalRenewal(t *testing.T) {
	src, log := newInternal(t, InternalOptions{
		Names:    []string{"localhost"},
		Validity: 6 * time.Second,
		Renewal:  Renewal{CheckInterval: 100 * time.Millisecond, WindowRatio: 0.5},
	})
	_, addr := frontOf(t, src)
	roots := caPool(t, src.CAFile())
	first, err := served(addr, "localhost", roots)
	if err != nil {
		t.Fatal(err)
	}
	var next *x509.Certificate
	testsupport.Eventually(t, "the renewed certificate to be served", 10*time.Second, func() bool {
		next, err = served(addr, "localhost", roots)
		return err == nil && !next.Equal(first)
	})
	if !time.Now().Before(first.NotAfter) {
		t.Errorf("the certificate was renewed only after it expired at %v", first.NotAfter)
	}
	if !next.NotAfter.After(first.NotAfter) {
		t.Errorf("the renewed certificate expires at %v, not after the first's %v", next.NotAfter, first.NotAfter)
	}
	testsupport.Eventually(t, "the renewal to be logged", 10*time.Second, func() bool { return log.has("INFO", "front certificate renewed") })
}

// TestInternalWithoutSNI: a client connecting by an address that is not
// configured gets the first name's certificate; nothing is issued for the
// address.
func TestInternalWithoutSNI(t *testing.T) {
	dataDir := t.TempDir()
	src, _ := newInternal(t, InternalOptions{DataDir: dataDir, Names: []string{"gateway.example.test", "localhost"}})
	_, addr := frontOf(t, src)
	cs, err := dial(addr, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatalf("handshake without SNI: %v", err)
	}
	if leaf := cs.PeerCertificates[0]; len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "gateway.example.test" {
		t.Errorf("served %v, want the first name's certificate", leaf.DNSNames)
	}
	if found := findFiles(t, dataDir, "127.0.0.1"); len(found) > 0 {
		t.Errorf("a certificate was issued for the unconfigured address: %v", found)
	}
}

// TestInternalSharedDataDir: two gateways starting together on one data
// directory mint one CA and share the certificates.
func TestInternalSharedDataDir(t *testing.T) {
	opts := InternalOptions{DataDir: t.TempDir(), Names: []string{"localhost"}, Logger: slog.New(slog.DiscardHandler)}
	srcs := startTogether(t, opts, opts)
	a, b := srcs[0].Certificates(), srcs[1].Certificates()
	if len(a) != 1 || len(b) != 1 || a[0].SHA256 != b[0].SHA256 {
		t.Errorf("the gateways serve different certificates: %+v and %+v", a, b)
	}
}

// startTogether starts an internal source per options at the same time, as
// gateways starting together do, and closes them at cleanup.
func startTogether(t *testing.T, opts ...InternalOptions) []*ManagedSource {
	t.Helper()
	srcs := make([]*ManagedSource, len(opts))
	errs := make([]error, len(opts))
	var wg sync.WaitGroup
	for i, o := range opts {
		wg.Go(func() {
			srcs[i], errs[i] = NewInternalSource(o)
			if errs[i] == nil {
				errs[i] = srcs[i].Start(context.Background())
			}
		})
	}
	wg.Wait()
	for i, err := range errs {
		if srcs[i] != nil {
			t.Cleanup(func() { srcs[i].Close() })
		}
		if err != nil {
			t.Fatalf("gateway %d: %v", i, err)
		}
	}
	return srcs
}

func TestInternalSourceErrors(t *testing.T) {
	t.Run("bad names", func(t *testing.T) {
		_, err := NewInternalSource(InternalOptions{DataDir: t.TempDir(), Names: []string{"*.example.test", "a b"}})
		if err == nil || !strings.Contains(err.Error(), "wildcard names are not supported") || !strings.Contains(err.Error(), `"a b" is not a DNS name`) {
			t.Errorf("error %v", err)
		}
	})
	t.Run("no names", func(t *testing.T) {
		_, err := NewInternalSource(InternalOptions{DataDir: t.TempDir()})
		if err == nil || !strings.Contains(err.Error(), "no names to issue certificates for") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("no data directory", func(t *testing.T) {
		_, err := NewInternalSource(InternalOptions{Names: []string{"localhost"}})
		if err == nil || !strings.Contains(err.Error(), "--data-dir") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("CA key missing", func(t *testing.T) {
		dataDir := t.TempDir()
		src, _ := newInternal(t, InternalOptions{DataDir: dataDir, Names: []string{"localhost"}})
		src.Close()
		if err := os.Remove(filepath.Join(dataDir, "ca", "mesosgate-ca-key.pem")); err != nil {
			t.Fatal(err)
		}
		_, err := NewInternalSource(InternalOptions{DataDir: dataDir, Names: []string{"localhost"}})
		if err == nil || !strings.Contains(err.Error(), "key") || !strings.Contains(err.Error(), "is missing") {
			t.Errorf("error %v", err)
		}
	})
	t.Run("CA key readable by others warns", func(t *testing.T) {
		dataDir := t.TempDir()
		src, _ := newInternal(t, InternalOptions{DataDir: dataDir, Names: []string{"localhost"}})
		src.Close()
		if err := os.Chmod(filepath.Join(dataDir, "ca", "mesosgate-ca-key.pem"), 0o644); err != nil {
			t.Fatal(err)
		}
		_, log := newInternal(t, InternalOptions{DataDir: dataDir, Names: []string{"localhost"}})
		if !log.has("WARN", "chmod 600") {
			t.Errorf("no warning about the key's mode:\n%s", log)
		}
	})
}

// TestFilesFrontCertificates: the files source is the Context's own
// CERT_FILE, described by FrontCertificates and reloaded with its expiry
// logged.
func TestFilesFrontCertificates(t *testing.T) {
	p := newTestPKI(t)
	certFile, keyFile := p.leaf(t, p.ca, "front", LeafRequest{DNSNames: []string{"localhost"}, Validity: 20 * time.Minute})
	log := &logRecorder{}
	c := mustContext(t, Settings{Enabled: On, CertFile: certFile, KeyFile: keyFile}, Options{Logger: slog.New(log), ReloadInterval: reloadEvery})
	addr := serveTLS(t, c, nil)
	infos := c.FrontCertificates()
	if len(infos) != 1 || infos[0].Source != SourceFiles || infos[0].SANs[0] != "localhost" || infos[0].NotAfter.After(time.Now().Add(20*time.Minute)) {
		t.Fatalf("FrontCertificates = %+v", infos)
	}
	if !log.has("INFO", "tls certificate loaded") || !log.has("INFO", "not_after=") {
		t.Errorf("the certificate's expiry is not logged at start:\n%s", log)
	}
	next, err := p.ca.Issue(LeafRequest{DNSNames: []string{"localhost"}, Validity: 40 * time.Minute})
	if err != nil {
		t.Fatal(err)
	}
	if err := next.WriteFiles(certFile, keyFile); err != nil {
		t.Fatal(err)
	}
	roots := caPool(t, p.caFile)
	testsupport.Eventually(t, "the new certificate to be served", 10*time.Second, func() bool {
		leaf, err := served(addr, "localhost", roots)
		return err == nil && leaf.Equal(next.Cert)
	})
	if infos := c.FrontCertificates(); len(infos) != 1 || !infos[0].NotAfter.Equal(next.Cert.NotAfter) {
		t.Errorf("FrontCertificates after the reload = %+v", infos)
	}
	testsupport.Eventually(t, "the reload to be logged with the new expiry", 10*time.Second, func() bool {
		return log.has("INFO", "tls files reloaded") && log.has("INFO", next.Cert.NotAfter.UTC().Format(time.RFC3339))
	})
}

// findFiles returns the paths under dir whose name contains substr.
func findFiles(t *testing.T, dir, substr string) []string {
	t.Helper()
	var found []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if strings.Contains(d.Name(), substr) {
			found = append(found, path)
		}
		return nil
	})
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	return found
}

func ipStrings(ips []net.IP) []string {
	var out []string
	for _, ip := range ips {
		out = append(out, ip.String())
	}
	return out
}

func TestInternalNames(t *testing.T) {
	hostname := func() (string, error) { return "Gateway-1", nil }
	addrs := func() ([]net.Addr, error) {
		var out []net.Addr
		for _, p := range []string{"127.0.0.1/8", "::1/128", "192.0.2.10/24", "fe80::1/64"} {
			ip, n, _ := net.ParseCIDR(p)
			out = append(out, &net.IPNet{IP: ip, Mask: n.Mask})
		}
		return out, nil
	}
	for _, tt := range []struct {
		name, listen string
		names        []string
		ips          []string
		err          string
	}{
		{"loopback", "127.0.0.1:8443", []string{"localhost"}, []string{"127.0.0.1"}, ""},
		{"IPv6 loopback", "[::1]:8443", []string{"localhost"}, []string{"::1"}, ""},
		{"one address", "192.0.2.10:443", []string{"gateway-1"}, []string{"192.0.2.10"}, ""},
		{"a DNS name", "Mesos.Example.Test:443", []string{"mesos.example.test"}, nil, ""},
		{"every interface", ":8443", []string{"localhost", "gateway-1"}, []string{"127.0.0.1", "::1", "192.0.2.10"}, ""},
		{"unspecified", "0.0.0.0:8443", []string{"localhost", "gateway-1"}, []string{"127.0.0.1", "::1", "192.0.2.10"}, ""},
		{"no port", "localhost", nil, nil, "missing port"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			names, ips, err := internalNames(tt.listen, hostname, addrs)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("error %v, want %q", err, tt.err)
				}
				return
			}
			var got []string
			for _, ip := range ips {
				got = append(got, ip.String())
			}
			if err != nil || strings.Join(names, ",") != strings.Join(tt.names, ",") || strings.Join(got, ",") != strings.Join(tt.ips, ",") {
				t.Errorf("names %v, ips %v, err %v; want %v, %v", names, got, err, tt.names, tt.ips)
			}
		})
	}
}

func TestInternalNamesWithServerNames(t *testing.T) {
	names, ips := withExtraNames([]string{"localhost"}, []netip.Addr{netip.MustParseAddr("127.0.0.1")},
		[]string{"Mesos.Example.Test.", "localhost", "10.0.0.5", "::ffff:127.0.0.1", "2001:db8::1"})
	var got []string
	for _, ip := range ips {
		got = append(got, ip.String())
	}
	if strings.Join(names, ",") != "localhost,mesos.example.test" || strings.Join(got, ",") != "127.0.0.1,10.0.0.5,2001:db8::1" {
		t.Errorf("names %v, ips %v", names, got)
	}
}

// TestInternalAllow: the hosts Allow admits (framework UIs' own, with
// --service-domain) get a certificate from the CA at their first
// handshake; any other name, before or after, is refused without one
// being made, and a host the function no longer admits (a framework gone)
// gets none issued anew.
func TestInternalAllow(t *testing.T) {
	dataDir := t.TempDir()
	src, _ := newInternal(t, InternalOptions{DataDir: dataDir, Names: []string{"localhost"}})
	_, addr := frontOf(t, src)
	roots := caPool(t, src.CAFile())
	if _, err := served(addr, "marathon.apps.example.test", roots); err == nil {
		t.Fatal("a framework UI's host got a certificate before Allow")
	}
	var known atomic.Value
	known.Store("marathon.apps.example.test")
	src.Allow(func(name string) bool { return name == known.Load() })
	leaf, err := served(addr, "marathon.apps.example.test", roots)
	if err != nil || len(leaf.DNSNames) != 1 || leaf.DNSNames[0] != "marathon.apps.example.test" {
		t.Fatalf("an allowed host: %v %v", leaf, err)
	}
	if again, err := served(addr, "marathon.apps.example.test", roots); err != nil || !again.Equal(leaf) {
		t.Errorf("the allowed host's second handshake: a new certificate or %v", err)
	}
	for _, name := range []string{"chronos.apps.example.test", "apps.example.test", "x.marathon.apps.example.test"} {
		if _, err := served(addr, name, roots); err == nil {
			t.Errorf("%s got a certificate", name)
		}
		var found []string
		for _, f := range findFiles(t, dataDir, name) {
			if b := filepath.Base(f); b == name || strings.HasPrefix(b, name+".") {
				found = append(found, f)
			}
		}
		if len(found) > 0 {
			t.Errorf("storage holds files for the refused name %s: %v", name, found)
		}
	}
	known.Store("chronos.apps.example.test") // marathon is gone
	if _, err := served(addr, "chronos.apps.example.test", roots); err != nil {
		t.Errorf("the newly allowed host: %v", err)
	}
	if _, err := served(addr, "gateway.example.test", roots); err == nil {
		t.Error("a name neither configured nor allowed got a certificate")
	}
}
