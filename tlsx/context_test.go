package tlsx

import (
	"crypto/tls"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestClientVerification runs a member (accepting side) and a connecting
// side through each verification rule of SPEC section 4.
func TestClientVerification(t *testing.T) {
	p := newTestPKI(t)
	inter1, err := p.ca.NewIntermediate("inter 1", 0)
	if err != nil {
		t.Fatal(err)
	}
	inter2, err := inter1.NewIntermediate("inter 2", 0)
	if err != nil {
		t.Fatal(err)
	}
	other := newTestPKI(t)

	type member struct {
		ca  *CA
		req LeafRequest
	}
	hostCert := member{p.ca, LeafRequest{DNSNames: []string{"agent1.example"}}}
	tests := []struct {
		name     string
		member   member
		client   Settings
		lookup   string // reverse-lookup answer for the legacy scheme
		hostname string
		wantErr  string // "" means the handshake succeeds
	}{
		{"no verification accepts anything", member{other.ca, LeafRequest{DNSNames: []string{"elsewhere"}}}, Settings{}, "", "agent1.example", ""},
		{"openssl scheme matches hostname", hostCert, Settings{VerifyServerCert: true, HostnameValidationScheme: HostnameOpenSSL}, "", "agent1.example", ""},
		{"openssl scheme rejects hostname mismatch", hostCert, Settings{VerifyServerCert: true, HostnameValidationScheme: HostnameOpenSSL}, "", "agent2.example", "does not match hostname"},
		{"openssl scheme wildcard", member{p.ca, LeafRequest{DNSNames: []string{"*.mesos.example"}}}, Settings{VerifyServerCert: true, HostnameValidationScheme: HostnameOpenSSL}, "", "agent1.mesos.example", ""},
		{"openssl scheme wildcard covers one label", member{p.ca, LeafRequest{DNSNames: []string{"*.mesos.example"}}}, Settings{VerifyServerCert: true, HostnameValidationScheme: HostnameOpenSSL}, "", "a.b.mesos.example", "does not match hostname"},
		{"untrusted chain rejected", member{other.ca, LeafRequest{DNSNames: []string{"agent1.example"}}}, Settings{VerifyServerCert: true, HostnameValidationScheme: HostnameOpenSSL}, "", "agent1.example", "does not verify"},
		{"require client cert implies verify", member{other.ca, LeafRequest{DNSNames: []string{"agent1.example"}}}, Settings{RequireClientCert: true, HostnameValidationScheme: HostnameOpenSSL}, "", "agent1.example", "does not verify"},
		{"legacy uses reverse lookup", hostCert, Settings{VerifyServerCert: true}, "agent1.example", "whatever", ""},
		{"legacy rejects when reverse name differs", hostCert, Settings{VerifyServerCert: true}, "agent9.example", "agent1.example", "does not match"},
		{"legacy no wildcard", member{p.ca, LeafRequest{DNSNames: []string{"*.example"}}}, Settings{VerifyServerCert: true}, "agent1.example", "", "does not match"},
		{"ip-only cert without VERIFY_IPADD", member{p.ca, LeafRequest{IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}}, Settings{VerifyServerCert: true}, "localhost", "", "does not match"},
		{"ip-only cert with VERIFY_IPADD (legacy)", member{p.ca, LeafRequest{IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}}, Settings{VerifyServerCert: true, VerifyIPAdd: true}, "localhost", "", ""},
		{"ip-only cert with VERIFY_IPADD (openssl, no hostname)", member{p.ca, LeafRequest{IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}}, Settings{VerifyServerCert: true, VerifyIPAdd: true, HostnameValidationScheme: HostnameOpenSSL}, "", "", ""},
		{"openssl without hostname or VERIFY_IPADD", member{p.ca, LeafRequest{IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}}}, Settings{VerifyServerCert: true, HostnameValidationScheme: HostnameOpenSSL}, "", "", "VERIFY_IPADD is off"},
		{"depth 1 rejects two intermediates", member{inter2, LeafRequest{DNSNames: []string{"agent1.example"}}}, Settings{VerifyServerCert: true, VerifyDepth: 1, HostnameValidationScheme: HostnameOpenSSL}, "", "agent1.example", "more than the verify depth 1"},
		{"depth 2 accepts two intermediates", member{inter2, LeafRequest{DNSNames: []string{"agent1.example"}}}, Settings{VerifyServerCert: true, VerifyDepth: 2, HostnameValidationScheme: HostnameOpenSSL}, "", "agent1.example", ""},
		{"default depth 4 accepts two intermediates", member{inter2, LeafRequest{DNSNames: []string{"agent1.example"}}}, Settings{VerifyServerCert: true, HostnameValidationScheme: HostnameOpenSSL}, "", "agent1.example", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			certFile, keyFile := p.leaf(t, tt.member.ca, "member", tt.member.req)
			srv := mustContext(t, Settings{Enabled: On, CertFile: certFile, KeyFile: keyFile}, Options{})
			addr := serveTLS(t, srv, nil)
			tt.client.CAFile = p.caFile
			cli := mustContext(t, tt.client, Options{LookupAddr: lookupAs(tt.lookup)})
			_, err := dial(addr, cli.ClientConfig(tt.hostname, loopback))
			switch {
			case tt.wantErr == "" && err != nil:
				t.Fatalf("handshake failed: %v", err)
			case tt.wantErr != "" && err == nil:
				t.Fatalf("handshake succeeded, want error containing %q", tt.wantErr)
			case tt.wantErr != "" && !strings.Contains(err.Error(), tt.wantErr):
				t.Fatalf("error %q does not contain %q", err, tt.wantErr)
			}
		})
	}
}

// TestRequireClientCert: a member with REQUIRE_CLIENT_CERT refuses a client
// without a certificate and accepts one signed by its CA_FILE whose name
// matches the client's reverse-resolved address (legacy scheme).
func TestRequireClientCert(t *testing.T) {
	p := newTestPKI(t)
	memberCert, memberKey := p.leaf(t, p.ca, "member", LeafRequest{DNSNames: []string{"localhost"}})
	clientCert, clientKey := p.leaf(t, p.ca, "client", LeafRequest{DNSNames: []string{"localhost"}})
	strangerCA := newTestPKI(t)
	strangerCert, strangerKey := p.leaf(t, strangerCA.ca, "stranger", LeafRequest{DNSNames: []string{"localhost"}})
	wrongName, wrongNameKey := p.leaf(t, p.ca, "wrongname", LeafRequest{DNSNames: []string{"gateway.example"}})

	srv := mustContext(t, Settings{Enabled: On, CertFile: memberCert, KeyFile: memberKey, RequireClientCert: true, CAFile: p.caFile}, Options{LookupAddr: lookupAs("localhost")})
	addr := serveTLS(t, srv, nil)

	tests := []struct {
		name      string
		cert, key string
		ok        bool
	}{
		{"no client certificate", "", "", false},
		{"certificate from the member's CA", clientCert, clientKey, true},
		{"certificate from another CA", strangerCert, strangerKey, false},
		{"certificate not naming the client's host", wrongName, wrongNameKey, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cli := mustContext(t, Settings{CertFile: tt.cert, KeyFile: tt.key}, Options{})
			_, err := dial(addr, cli.ClientConfig("localhost", loopback))
			if tt.ok != (err == nil) {
				t.Fatalf("handshake error = %v, want success %v", err, tt.ok)
			}
		})
	}
}

// TestStockMemberCiphers: a member restricted to libprocess's default
// cipher list (RSA key exchange only on TLS 1.2) is reachable by the
// default client configuration, and a client restricted by CIPHERS
// negotiates what it names.
func TestStockMemberCiphers(t *testing.T) {
	p := newTestPKI(t)
	certFile, keyFile := p.leaf(t, p.ca, "member", LeafRequest{DNSNames: []string{"localhost"}, RSABits: 2048})
	stock := "AES128-SHA:AES256-SHA:RC4-SHA:DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA:DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA"
	srv := mustContext(t, Settings{Enabled: On, CertFile: certFile, KeyFile: keyFile, Ciphers: stock}, Options{})
	if w := srv.Warnings(); len(w) != 1 || !strings.Contains(w[0], "RC4-SHA") || !strings.Contains(w[0], "DHE-DSS-AES256-SHA") {
		t.Errorf("warnings = %q, want one naming the skipped ciphers", w)
	}
	addr := serveTLS(t, srv, nil)

	cli := mustContext(t, Settings{}, Options{})
	cs, err := dial(addr, cli.ClientConfig("localhost", loopback))
	if err != nil {
		t.Fatalf("default client to a stock member: %v", err)
	}
	if cs.Version != tls.VersionTLS12 || cs.CipherSuite != tls.TLS_RSA_WITH_AES_128_CBC_SHA {
		t.Errorf("negotiated %s %s, want TLS 1.2 %s", tls.VersionName(cs.Version), tls.CipherSuiteName(cs.CipherSuite), tls.CipherSuiteName(tls.TLS_RSA_WITH_AES_128_CBC_SHA))
	}
	only256 := mustContext(t, Settings{Ciphers: "AES256-SHA"}, Options{})
	cs, err = dial(addr, only256.ClientConfig("localhost", loopback))
	if err != nil || cs.CipherSuite != tls.TLS_RSA_WITH_AES_256_CBC_SHA {
		t.Errorf("client restricted to AES256-SHA: %v, %s", err, tls.CipherSuiteName(cs.CipherSuite))
	}
	modern := mustContext(t, Settings{Ciphers: "ECDHE-RSA-AES128-GCM-SHA256"}, Options{})
	if _, err := dial(addr, modern.ClientConfig("localhost", loopback)); err == nil {
		t.Error("a client offering only ECDHE-RSA-AES128-GCM-SHA256 reached a member that accepts only RSA key exchange")
	}
}

// TestVersions: TLS 1.3 is off for a libprocess member unless enabled, TLS
// 1.0 and 1.1 are refused unless enabled, and a disabled version between
// two enabled ones stays refused on the accepting side.
func TestVersions(t *testing.T) {
	p := newTestPKI(t)
	certFile, keyFile := p.leaf(t, p.ca, "member", LeafRequest{DNSNames: []string{"localhost"}})
	tests := []struct {
		name        string
		server      Settings
		client      Settings
		wantVersion uint16 // 0 means the handshake fails
	}{
		{"libprocess default is TLS 1.2", Settings{}, Settings{EnableTLSv13: On}, tls.VersionTLS12},
		{"TLS 1.3 when enabled", Settings{EnableTLSv13: On}, Settings{EnableTLSv13: On}, tls.VersionTLS13},
		{"TLS 1.0 client refused by default", Settings{}, Settings{EnableTLSv10: true, EnableTLSv12: Off}, 0},
		{"TLS 1.0 accepted when enabled", Settings{EnableTLSv10: true}, Settings{EnableTLSv10: true, EnableTLSv12: Off}, tls.VersionTLS10},
		{"TLS 1.1 accepted when enabled", Settings{EnableTLSv11: true}, Settings{EnableTLSv11: true, EnableTLSv12: Off}, tls.VersionTLS11},
		{"TLS 1.1 client refused by default", Settings{}, Settings{EnableTLSv11: true, EnableTLSv12: Off}, 0},
		{"TLS 1.2 disabled refuses a TLS 1.2 client", Settings{EnableTLSv12: Off, EnableTLSv13: On}, Settings{}, 0},
		{"TLS 1.3 off refuses a TLS 1.3-only client", Settings{}, Settings{EnableTLSv12: Off, EnableTLSv13: On}, 0},
		// libprocess's server checks each version on its own: with 1.0 and
		// 1.2 on, 1.1 stays refused, and a client offering 1.0 and 1.1
		// gets 1.0 (OpenSSL's ssl_choose_server_version).
		{"gap: TLS 1.1 stays refused", Settings{EnableTLSv10: true}, Settings{EnableTLSv11: true, EnableTLSv12: Off}, 0},
		{"gap: client up to 1.1 gets 1.0", Settings{EnableTLSv10: true}, Settings{EnableTLSv10: true, EnableTLSv11: true, EnableTLSv12: Off}, tls.VersionTLS10},
		{"gap: client up to 1.2 gets 1.2", Settings{EnableTLSv10: true}, Settings{EnableTLSv10: true}, tls.VersionTLS12},
		{"gap with TLS 1.3: 1.3 client gets 1.3", Settings{EnableTLSv10: true, EnableTLSv12: Off, EnableTLSv13: On}, Settings{EnableTLSv13: On}, tls.VersionTLS13},
		{"gap with TLS 1.3: 1.2 refused", Settings{EnableTLSv10: true, EnableTLSv12: Off, EnableTLSv13: On}, Settings{}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.server.Enabled, tt.server.CertFile, tt.server.KeyFile = On, certFile, keyFile
			addr := serveTLS(t, mustContext(t, tt.server, Options{}), nil)
			cs, err := dial(addr, mustContext(t, tt.client, Options{}).ClientConfig("localhost", loopback))
			if tt.wantVersion == 0 {
				if err == nil {
					t.Fatalf("handshake succeeded with %s, want refusal", tls.VersionName(cs.Version))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cs.Version != tt.wantVersion {
				t.Errorf("version %s, want %s", tls.VersionName(cs.Version), tls.VersionName(tt.wantVersion))
			}
		})
	}
}

// TestNewContextErrors: each bad setting is reported, all at once, naming
// the setting as the user wrote it.
func TestNewContextErrors(t *testing.T) {
	p := newTestPKI(t)
	certFile, _ := p.leaf(t, p.ca, "a", LeafRequest{DNSNames: []string{"a"}})
	_, otherKey := p.leaf(t, p.ca, "b", LeafRequest{DNSNames: []string{"b"}})
	tests := []struct {
		name string
		s    Settings
		want []string
	}{
		{"sslv3", Settings{EnableSSLv3: true}, []string{"SSLv3"}},
		{"no versions", Settings{EnableTLSv12: Off}, []string{"every TLS version is disabled"}},
		{"no usable cipher", Settings{Ciphers: "RC4-SHA:DHE-RSA-AES128-SHA"}, []string{"LIBPROCESS_SSL_CIPHERS", "none of the ciphers"}},
		{"bad curve", Settings{ECDHCurves: "P-256:brainpool"}, []string{"LIBPROCESS_SSL_ECDH_CURVES", "brainpool"}},
		{"enabled without certificate", Settings{Enabled: On}, []string{"no certificate", "LIBPROCESS_SSL_CERT_FILE"}},
		{"key without cert", Settings{KeyFile: otherKey}, []string{"LIBPROCESS_SSL_KEY_FILE is set but LIBPROCESS_SSL_CERT_FILE is not"}},
		{"mismatched key", Settings{CertFile: certFile, KeyFile: otherKey}, []string{"does not match the certificate"}},
		{"missing CA file", Settings{VerifyServerCert: true, CAFile: "/nonexistent/ca.pem"}, []string{"LIBPROCESS_SSL_CA_FILE", "/nonexistent/ca.pem"}},
		{"missing CA dir with REQUIRE_CLIENT_CERT", Settings{RequireClientCert: true, CADir: "/nonexistent/certs"}, []string{"LIBPROCESS_SSL_CA_DIR", "/nonexistent/certs"}},
		{"several at once", Settings{EnableSSLv3: true, ECDHCurves: "nope", VerifyServerCert: true, CAFile: "/nonexistent"}, []string{"SSLv3", "nope", "/nonexistent"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewContext(tt.s, Options{ReloadInterval: -1})
			if err == nil {
				t.Fatal("NewContext succeeded")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not mention %q", err, w)
				}
			}
		})
	}
	_, err := NewContext(Settings{VerifyServerCert: true, CAFile: "/nonexistent"}, Options{ReloadInterval: -1, Name: func(s string) string { return "--ssl-" + strings.ToLower(strings.ReplaceAll(s, "_", "-")) }})
	if err == nil || !strings.Contains(err.Error(), "--ssl-ca-file") {
		t.Errorf("with Options.Name the error names the flag: %v", err)
	}
}

// TestBadCAFileRefused: a CA_FILE that does not load is an error even
// with verification off (libprocess would not read it then): the gateway
// reads it to report whether members verify, and a garbage or missing file
// is a mistake to fix at start. Each problem is one line.
func TestBadCAFileRefused(t *testing.T) {
	dir := t.TempDir()
	garbage := filepath.Join(dir, "garbage.pem")
	if err := os.WriteFile(garbage, []byte("not a certificate\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct{ name, file, want string }{
		{"missing", "/nonexistent/ca.pem", `read LIBPROCESS_SSL_CA_FILE "/nonexistent/ca.pem"`},
		{"garbage", garbage, "holds no PEM certificate: give a PEM bundle of CA certificates"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := NewContext(Settings{CAFile: tt.file}, Options{ReloadInterval: -1})
			if err == nil || !strings.Contains(err.Error(), tt.want) || strings.Count(err.Error(), "\n") != 0 {
				t.Errorf("error %v, want one line with %q", err, tt.want)
			}
		})
	}
}
