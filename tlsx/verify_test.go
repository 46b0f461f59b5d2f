package tlsx

import (
	"context"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// TestMatchHostname: OpenSSL's X509_check_host rules without flags, the
// ones libprocess's openssl scheme uses. The same table runs against the
// openssl binary in TestOpenSSLCheckHost.
var hostnameCases = []struct {
	name, pattern, host string
	want                bool
}{
	{"exact", "agent1.example.com", "agent1.example.com", true},
	{"case-insensitive", "Agent1.Example.COM", "agent1.example.com", true},
	{"different", "agent1.example.com", "agent2.example.com", false},
	{"whole-label wildcard", "*.example.com", "agent1.example.com", true},
	{"wildcard covers one label", "*.example.com", "a.b.example.com", false},
	{"wildcard needs two labels after it", "*.com", "example.com", false},
	{"wildcard not on the parent", "*.example.com", "example.com", false},
	{"partial wildcard at the end", "agent*.example.com", "agent12.example.com", true},
	{"partial wildcard at the start", "*1.example.com", "agent1.example.com", true},
	{"partial wildcard may match nothing", "agent*.example.com", "agent.example.com", true},
	{"partial wildcard mismatch", "agent*.example.com", "master1.example.com", false},
	{"wildcard in the middle is literal", "ag*nt.example.com", "agent.example.com", false},
	{"wildcard past the first label is literal", "agent.*.com", "agent.example.com", false},
	{"two wildcards are literal", "*.*.example.com", "a.b.example.com", false},
	{"partial wildcard never matches IDNA", "x*.example.com", "xn--bcher-kva.example.com", false},
	{"whole-label wildcard matches IDNA", "*.example.com", "xn--bcher-kva.example.com", true},
	{"no wildcard in an IDNA label", "xn--*.example.com", "xn--abc.example.com", false},
}

func TestMatchHostname(t *testing.T) {
	for _, tt := range hostnameCases {
		t.Run(tt.name, func(t *testing.T) {
			if got := matchHostname(tt.pattern, tt.host); got != tt.want {
				t.Errorf("matchHostname(%q, %q) = %v, want %v", tt.pattern, tt.host, got, tt.want)
			}
		})
	}
}

// TestLegacyScheme covers what the legacy scheme takes from libprocess's
// verify() beyond the handshake tests: the first common name, IPv4 SANs
// only, and REQUIRE_CLIENT_CERT refusing an unknown peer name on the
// connecting side too.
func TestLegacyScheme(t *testing.T) {
	p := newTestPKI(t)
	ip6 := netip.MustParseAddr("::1")
	issue := func(req LeafRequest) *x509.Certificate {
		t.Helper()
		l, err := p.ca.Issue(req)
		if err != nil {
			t.Fatal(err)
		}
		return l.Cert
	}
	twoCNs := issueWithSubject(t, p.ca, pkix.Name{ExtraNames: []pkix.AttributeTypeAndValue{
		{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "agent1.example"},
		{Type: asn1.ObjectIdentifier{2, 5, 4, 3}, Value: "agent2.example"},
	}})
	tests := []struct {
		name    string
		leaf    *x509.Certificate
		s       Settings
		lookup  string // reverse-lookup answer; "" means the lookup fails
		ip      netip.Addr
		wantErr string
	}{
		{"first common name is checked", twoCNs, Settings{}, "agent1.example", loopback, ""},
		{"later common names are not", twoCNs, Settings{}, "agent2.example", loopback, "does not match"},
		{"IPv4 SAN with VERIFY_IPADD", issue(LeafRequest{IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}), Settings{VerifyIPAdd: true}, "", loopback, ""},
		{"IPv6 SAN never matches", issue(LeafRequest{CommonName: "x", IPAddresses: []net.IP{net.IPv6loopback}}), Settings{VerifyIPAdd: true}, "", ip6, "does not match"},
		{"unknown name accepted without REQUIRE_CLIENT_CERT", issue(LeafRequest{DNSNames: []string{"elsewhere"}}), Settings{}, "", loopback, ""},
		{"unknown name refused with REQUIRE_CLIENT_CERT", issue(LeafRequest{DNSNames: []string{"elsewhere"}}), Settings{RequireClientCert: true}, "", loopback, "hostname is unknown"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.s.VerifyServerCert, tt.s.CAFile = true, p.caFile
			lookup := lookupAs(tt.lookup)
			if tt.lookup == "" {
				lookup = lookupFails
			}
			c := mustContext(t, tt.s, Options{LookupAddr: lookup})
			err := c.Verify([]*x509.Certificate{tt.leaf}, "", tt.ip)
			checkErr(t, err, tt.wantErr)
		})
	}
}

// TestTrustStoreLikeOpenSSL: only self-signed certificates of CA_FILE end a
// chain; intermediates there link to their root and count against the
// depth, and an intermediate alone verifies nothing (OpenSSL without
// X509_V_FLAG_PARTIAL_CHAIN). TestOpenSSLVerifyDepth checks the same
// files with openssl verify.
func TestTrustStoreLikeOpenSSL(t *testing.T) {
	tc := newTrustChain(t)
	tests := []struct {
		name    string
		caFile  string
		depth   int
		wantErr string
	}{
		{"trusted intermediates count against depth 1", tc.all, 1, "more than the verify depth 1"},
		{"depth 2 allows them", tc.all, 2, ""},
		{"intermediates alone are no anchor", tc.intersOnly, 4, "does not verify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustContext(t, Settings{VerifyServerCert: true, CAFile: tt.caFile, VerifyDepth: tt.depth, HostnameValidationScheme: HostnameOpenSSL}, Options{})
			// The member sends its leaf alone: the chain is built from
			// the trust store.
			err := c.Verify([]*x509.Certificate{tc.leaf.Cert}, "agent1.example", loopback)
			checkErr(t, err, tt.wantErr)
		})
	}
}

// trustChain is root -> inter 1 -> inter 2 -> leaf, with CA files holding
// all three authorities, or the intermediates alone.
type trustChain struct {
	leaf            *Leaf
	leafFile        string
	all, intersOnly string
}

func newTrustChain(t *testing.T) *trustChain {
	t.Helper()
	p := newTestPKI(t)
	inter1, err := p.ca.NewIntermediate("inter 1", 0)
	if err != nil {
		t.Fatal(err)
	}
	inter2, err := inter1.NewIntermediate("inter 2", 0)
	if err != nil {
		t.Fatal(err)
	}
	leaf, err := inter2.Issue(LeafRequest{DNSNames: []string{"agent1.example"}})
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	write := func(name string, pems ...[]byte) string {
		path := filepath.Join(dir, name)
		var b []byte
		for _, p := range pems {
			b = append(b, p...)
		}
		if err := os.WriteFile(path, b, 0o644); err != nil {
			t.Fatal(err)
		}
		return path
	}
	return &trustChain{
		leaf:       leaf,
		leafFile:   write("leaf.pem", (&CA{Cert: leaf.Cert}).CertPEM()),
		all:        write("all.pem", inter2.CertPEM(), inter1.CertPEM(), p.ca.CertPEM()),
		intersOnly: write("inters.pem", inter2.CertPEM(), inter1.CertPEM()),
	}
}

// issueWithSubject signs a leaf with a subject built by hand.
func issueWithSubject(t *testing.T, ca *CA, subject pkix.Name) *x509.Certificate {
	t.Helper()
	l, err := ca.Issue(LeafRequest{CommonName: "placeholder"})
	if err != nil {
		t.Fatal(err)
	}
	tmpl := *l.Cert
	tmpl.Subject = subject
	tmpl.RawSubject = nil
	der, err := x509.CreateCertificate(rand.Reader, &tmpl, ca.Cert, l.Key.Public(), ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return cert
}

// checkErr fails unless err is nil for want "" or contains want.
func checkErr(t *testing.T, err error, want string) {
	t.Helper()
	switch {
	case want == "" && err != nil:
		t.Fatalf("unexpected error: %v", err)
	case want != "" && err == nil:
		t.Fatalf("no error, want one containing %q", want)
	case want != "" && !strings.Contains(err.Error(), want):
		t.Fatalf("error %q does not contain %q", err, want)
	}
}

// TestSystemRoots: without CA_FILE and CA_DIR, peers are verified against
// the system roots, which follow SSL_CERT_FILE and SSL_CERT_DIR as
// OpenSSL's default verify paths do for libprocess. Go reads them once per
// process, so each case runs this test binary again with its environment.
func TestSystemRoots(t *testing.T) {
	if leaf := os.Getenv("TLSX_TEST_SYSTEM_ROOTS_LEAF"); leaf != "" {
		c := mustContext(t, Settings{VerifyServerCert: true, HostnameValidationScheme: HostnameOpenSSL}, Options{})
		err := c.Verify([]*x509.Certificate{loadLeaf(t, leaf)}, "agent1.example", loopback)
		if want := os.Getenv("TLSX_TEST_SYSTEM_ROOTS_WANT") == "verifies"; (err == nil) != want {
			t.Fatalf("SSL_CERT_FILE=%q SSL_CERT_DIR=%q: verify error %v, want success %v", os.Getenv("SSL_CERT_FILE"), os.Getenv("SSL_CERT_DIR"), err, want)
		}
		return
	}
	p := newTestPKI(t)
	leafFile, _ := p.leaf(t, p.ca, "member", LeafRequest{DNSNames: []string{"agent1.example"}})
	empty, withCA := t.TempDir(), t.TempDir()
	if err := os.WriteFile(filepath.Join(withCA, "cluster-ca.pem"), p.ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	missing := filepath.Join(empty, "none.pem")
	tests := []struct {
		name, file, dir string
		verifies        bool
	}{
		{"SSL_CERT_FILE holds the CA", p.caFile, empty, true},
		{"SSL_CERT_DIR holds the CA", missing, withCA, true},
		{"SSL_CERT_DIR lists several directories", missing, empty + ":" + withCA, true},
		{"neither holds the CA", missing, empty, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(os.Args[0], "-test.run=^TestSystemRoots$", "-test.count=1", "-test.v")
			cmd.Env = append(slices.DeleteFunc(os.Environ(), func(kv string) bool {
				return strings.HasPrefix(kv, "SSL_CERT_") || strings.HasPrefix(kv, "TLSX_TEST_")
			}), "SSL_CERT_FILE="+tt.file, "SSL_CERT_DIR="+tt.dir, "TLSX_TEST_SYSTEM_ROOTS_LEAF="+leafFile)
			if tt.verifies {
				cmd.Env = append(cmd.Env, "TLSX_TEST_SYSTEM_ROOTS_WANT=verifies")
			}
			out, err := cmd.CombinedOutput()
			if err != nil || !strings.Contains(string(out), "--- PASS: TestSystemRoots") {
				t.Fatalf("%v\n%s", err, out)
			}
		})
	}
}

// TestReverseLookupCached: the legacy scheme asks the resolver once per IP
// within the cache's lifetime, failures included.
func TestReverseLookupCached(t *testing.T) {
	var calls atomic.Int32
	now := time.Now()
	c := mustContext(t, Settings{VerifyServerCert: true}, Options{
		Now: func() time.Time { return now },
		LookupAddr: func(context.Context, string) ([]string, error) {
			calls.Add(1)
			return []string{"agent1.example."}, nil
		},
	})
	for range 3 {
		if got := c.reverseName("fallback", loopback); got != "agent1.example" {
			t.Fatalf("reverseName = %q", got)
		}
	}
	if n := calls.Load(); n != 1 {
		t.Errorf("resolver asked %d times within the TTL, want 1", n)
	}
	now = now.Add(rdnsTTL + time.Second)
	c.reverseName("fallback", loopback)
	if n := calls.Load(); n != 2 {
		t.Errorf("resolver asked %d times after the TTL, want 2", n)
	}
}
