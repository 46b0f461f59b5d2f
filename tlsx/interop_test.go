package tlsx

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// The tests of this file put tlsx against real OpenSSL and curl on
// loopback: openssl s_client and curl as clients of a tlsx accepting side,
// openssl s_server as a libprocess member for tlsx's connecting side.

// legacyCompat lets OpenSSL 3's client speak TLS 1.0 and 1.1 at all: at its
// default security level it refuses them itself.
const legacyCompat = "DEFAULT@SECLEVEL=0"

// TestOpenSSLProtocols: each ENABLE_* switch, seen by openssl s_client.
func TestOpenSSLProtocols(t *testing.T) {
	testsupport.Command(t, "openssl", "openssl")
	p := newTestPKI(t)
	certFile, keyFile := p.leaf(t, p.ca, "member", LeafRequest{DNSNames: []string{"localhost"}})
	tests := []struct {
		name   string
		server Settings
		client []string
		want   string // negotiated protocol; "" means refused
	}{
		{"TLS 1.0 refused by default", Settings{}, []string{"-tls1", "-cipher", legacyCompat}, ""},
		{"TLS 1.0 accepted when enabled", Settings{EnableTLSv10: true}, []string{"-tls1", "-cipher", legacyCompat}, "TLSv1"},
		{"TLS 1.1 refused by default", Settings{}, []string{"-tls1_1", "-cipher", legacyCompat}, ""},
		{"TLS 1.1 accepted when enabled", Settings{EnableTLSv11: true}, []string{"-tls1_1", "-cipher", legacyCompat}, "TLSv1.1"},
		{"TLS 1.1 refused between enabled 1.0 and 1.2", Settings{EnableTLSv10: true}, []string{"-tls1_1", "-cipher", legacyCompat}, ""},
		{"TLS 1.2 by default", Settings{}, []string{"-tls1_2"}, "TLSv1.2"},
		{"TLS 1.2 refused when disabled", Settings{EnableTLSv12: Off, EnableTLSv13: On}, []string{"-tls1_2"}, ""},
		{"TLS 1.3 refused by default (libprocess)", Settings{}, []string{"-tls1_3"}, ""},
		{"TLS 1.3 accepted when enabled", Settings{EnableTLSv13: On}, []string{"-tls1_3"}, "TLSv1.3"},
		{"highest enabled is chosen", Settings{EnableTLSv13: On}, nil, "TLSv1.3"},
		{"TLS 1.3 refused when set off", Settings{EnableTLSv13: Off}, []string{"-tls1_3"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.server.Enabled, tt.server.CertFile, tt.server.KeyFile = On, certFile, keyFile
			addr := serveTLS(t, mustContext(t, tt.server, Options{}), nil)
			r := sClient(t, addr, tt.client...)
			if tt.want == "" {
				if r.served || r.protocol != "" {
					t.Fatalf("openssl %v was served with %s; want refusal\n%s", tt.client, r.protocol, r.output)
				}
				return
			}
			if !r.served || r.protocol != tt.want {
				t.Fatalf("openssl %v: served %v with %q, want %s\n%s", tt.client, r.served, r.protocol, tt.want, r.output)
			}
		})
	}
}

// TestProtocolsMatchOpenSSLServer runs the same openssl s_client
// attempts against tlsx and against openssl s_server configured as
// libprocess configures OpenSSL for the same switches (SSL_OP_NO_* per
// disabled version), and expects the same outcome, gaps included. The
// system's MinProtocol and security level are lifted on both peers so only
// the switches decide.
func TestProtocolsMatchOpenSSLServer(t *testing.T) {
	testsupport.Command(t, "openssl", "openssl")
	p := newTestPKI(t)
	certFile, keyFile := p.leaf(t, p.ca, "member", LeafRequest{DNSNames: []string{"localhost"}})
	clients := []string{"-tls1", "-tls1_1", "-tls1_2", "-tls1_3"}
	for _, tt := range []struct {
		name string
		s    Settings
	}{
		{"libprocess defaults", Settings{}},
		{"TLS 1.0 on", Settings{EnableTLSv10: true}},
		{"TLS 1.1 and 1.3 on", Settings{EnableTLSv11: true, EnableTLSv13: On}},
		{"TLS 1.0 and 1.3 on, 1.2 off", Settings{EnableTLSv10: true, EnableTLSv12: Off, EnableTLSv13: On}},
		{"TLS 1.3 only", Settings{EnableTLSv12: Off, EnableTLSv13: On}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			s := tt.s
			s.Enabled, s.CertFile, s.KeyFile = On, certFile, keyFile
			ours := serveTLS(t, mustContext(t, s, Options{}), nil)
			args := []string{"-cert", certFile, "-key", keyFile, "-min_protocol", "TLSv1", "-cipher", legacyCompat}
			for flag, on := range map[string]bool{"-no_tls1": s.EnableTLSv10, "-no_tls1_1": s.EnableTLSv11, "-no_tls1_2": s.EnableTLSv12.Or(true), "-no_tls1_3": s.EnableTLSv13.Or(false)} {
				if !on {
					args = append(args, flag)
				}
			}
			theirs := sServer(t, args...)
			for _, client := range clients {
				a := sClient(t, ours, client, "-cipher", legacyCompat)
				b := sClient(t, theirs, client, "-cipher", legacyCompat)
				if a.protocol != b.protocol {
					t.Errorf("openssl s_client %s: tlsx negotiated %q, openssl s_server %q", client, a.protocol, b.protocol)
				}
			}
		})
	}
}

// stockCiphers is libprocess's default LIBPROCESS_SSL_CIPHERS, what a stock
// Mesos member runs with.
const stockCiphers = "AES128-SHA:AES256-SHA:RC4-SHA:DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA:DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA"

// TestOpenSSLServerCiphers: CIPHERS restricts what the accepting side
// negotiates with openssl s_client, the stock list included.
func TestOpenSSLServerCiphers(t *testing.T) {
	testsupport.Command(t, "openssl", "openssl")
	p := newTestPKI(t)
	rsaCert, rsaKey := p.leaf(t, p.ca, "rsa", LeafRequest{DNSNames: []string{"localhost"}, RSABits: 2048})
	ecCert, ecKey := p.leaf(t, p.ca, "ec", LeafRequest{DNSNames: []string{"localhost"}})
	tests := []struct {
		name      string
		cert, key string
		ciphers   string
		client    []string
		want      string // OpenSSL's name of the negotiated suite; "" means refused
	}{
		{"one suite named", rsaCert, rsaKey, "ECDHE-RSA-AES256-GCM-SHA384", []string{"-tls1_2"}, "ECDHE-RSA-AES256-GCM-SHA384"},
		{"client without the named suite refused", rsaCert, rsaKey, "ECDHE-RSA-AES256-GCM-SHA384", []string{"-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"}, ""},
		{"ECDSA suite with an ECDSA certificate", ecCert, ecKey, "ECDHE-ECDSA-CHACHA20-POLY1305", []string{"-tls1_2"}, "ECDHE-ECDSA-CHACHA20-POLY1305"},
		{"default list is forward-secret AEAD", rsaCert, rsaKey, "", []string{"-tls1_2", "-cipher", "AES128-SHA:AES256-SHA"}, ""},
		{"libprocess default list, stock client", rsaCert, rsaKey, stockCiphers, []string{"-tls1_2"}, "AES"},
		{"libprocess default list, AES256-SHA client", rsaCert, rsaKey, stockCiphers, []string{"-tls1_2", "-cipher", "AES256-SHA"}, "AES256-SHA"},
		{"libprocess default list refuses ECDHE", rsaCert, rsaKey, stockCiphers, []string{"-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Settings{Enabled: On, CertFile: tt.cert, KeyFile: tt.key, Ciphers: tt.ciphers}
			addr := serveTLS(t, mustContext(t, s, Options{}), nil)
			r := sClient(t, addr, tt.client...)
			switch {
			case tt.want == "" && (r.served || r.cipher != ""):
				t.Fatalf("served with %s, want refusal\n%s", r.cipher, r.output)
			case tt.want == "":
			case tt.want == "AES":
				// The stock list leaves the order to the server; either
				// RSA key exchange suite is what a member negotiates.
				if !r.served || (r.cipher != "AES128-SHA" && r.cipher != "AES256-SHA") {
					t.Fatalf("served %v with %q, want AES128-SHA or AES256-SHA\n%s", r.served, r.cipher, r.output)
				}
			case !r.served || r.cipher != tt.want:
				t.Fatalf("served %v with %q, want %s\n%s", r.served, r.cipher, tt.want, r.output)
			}
		})
	}
}

// TestOpenSSLMemberCiphers: tlsx's connecting side against openssl s_server
// configured as a stock Mesos member (libprocess's cipher list, TLS 1.2
// only) and against one restricted to a modern suite.
func TestOpenSSLMemberCiphers(t *testing.T) {
	testsupport.Command(t, "openssl", "openssl")
	p := newTestPKI(t)
	certFile, keyFile := p.leaf(t, p.ca, "member", LeafRequest{DNSNames: []string{"localhost"}, RSABits: 2048})
	stock := sServer(t, "-cert", certFile, "-key", keyFile, "-no_tls1_3", "-cipher", stockCiphers)
	modern := sServer(t, "-cert", certFile, "-key", keyFile, "-no_tls1_3", "-cipher", "ECDHE-RSA-AES256-GCM-SHA384")
	tests := []struct {
		name   string
		member string
		client Settings
		want   uint16 // 0 means the handshake fails
	}{
		{"default client reaches a stock member", stock, Settings{}, tls.TLS_RSA_WITH_AES_128_CBC_SHA},
		{"gateway defaults (TLS 1.3 on) reach a stock member", stock, Settings{EnableTLSv13: On}, tls.TLS_RSA_WITH_AES_128_CBC_SHA},
		{"client restricted to AES256-SHA", stock, Settings{Ciphers: "AES256-SHA"}, tls.TLS_RSA_WITH_AES_256_CBC_SHA},
		{"client restricted to ECDHE cannot reach a stock member", stock, Settings{Ciphers: "ECDHE-RSA-AES128-GCM-SHA256"}, 0},
		{"default client reaches a modern member", modern, Settings{}, tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384},
		{"client restricted to the stock list cannot reach a modern member", modern, Settings{Ciphers: stockCiphers}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := mustContext(t, tt.client, Options{})
			cs, err := dialMember(tt.member, c.ClientConfig("localhost", loopback))
			if tt.want == 0 {
				if err == nil {
					t.Fatalf("connected with %s, want failure", tls.CipherSuiteName(cs.CipherSuite))
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if cs.CipherSuite != tt.want {
				t.Errorf("negotiated %s, want %s", tls.CipherSuiteName(cs.CipherSuite), tls.CipherSuiteName(tt.want))
			}
		})
	}
}

// TestOpenSSLRequireClientCert: REQUIRE_CLIENT_CERT against openssl
// s_client and curl, over TLS 1.2 and TLS 1.3 (where the refusal comes
// after the client thinks the handshake is done).
func TestOpenSSLRequireClientCert(t *testing.T) {
	testsupport.Command(t, "openssl", "openssl")
	p := newTestPKI(t)
	memberCert, memberKey := p.leaf(t, p.ca, "member", LeafRequest{DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
	clientCert, clientKey := p.leaf(t, p.ca, "client", LeafRequest{DNSNames: []string{"localhost"}, Usage: ClientOnly})
	stranger := newTestPKI(t)
	strangerCert, strangerKey := p.leaf(t, stranger.ca, "stranger", LeafRequest{DNSNames: []string{"localhost"}, Usage: ClientOnly})
	otherName, otherNameKey := p.leaf(t, p.ca, "othername", LeafRequest{DNSNames: []string{"gateway.example"}, Usage: ClientOnly})

	for _, scheme := range []HostnameScheme{HostnameLegacy, HostnameOpenSSL} {
		s := Settings{Enabled: On, CertFile: memberCert, KeyFile: memberKey, RequireClientCert: true, CAFile: p.caFile, HostnameValidationScheme: scheme, EnableTLSv13: On}
		// Legacy: the client's address 127.0.0.1 reverse-resolves to
		// localhost, which the client certificate must name.
		addr := serveTLS(t, mustContext(t, s, Options{LookupAddr: lookupAs("localhost")}), nil)
		tests := []struct {
			name      string
			cert, key string
			ok        bool
		}{
			{"no certificate", "", "", false},
			{"certificate from CA_FILE", clientCert, clientKey, true},
			{"certificate from another CA", strangerCert, strangerKey, false},
			// The openssl scheme checks no client name (libprocess).
			{"certificate not naming the client", otherName, otherNameKey, scheme == HostnameOpenSSL},
		}
		for _, version := range []string{"-tls1_2", "-tls1_3"} {
			for _, tt := range tests {
				t.Run(string(scheme)+"/openssl "+version+"/"+tt.name, func(t *testing.T) {
					args := []string{version}
					if tt.cert != "" {
						args = append(args, "-cert", tt.cert, "-key", tt.key)
					}
					if r := sClient(t, addr, args...); r.served != tt.ok {
						t.Fatalf("served = %v, want %v\n%s", r.served, tt.ok, r.output)
					}
				})
			}
		}
		for _, tt := range tests {
			t.Run(string(scheme)+"/curl/"+tt.name, func(t *testing.T) {
				// --http0.9: serveTLS answers a bare line, not HTTP.
				args := []string{"--cacert", p.caFile, "--http0.9"}
				if tt.cert != "" {
					args = append(args, "--cert", tt.cert, "--key", tt.key)
				}
				out, err := curl(t, append(args, "https://"+addr+"/")...)
				if served := err == nil && strings.Contains(out, servedToken); served != tt.ok {
					t.Fatalf("served = %v, want %v: %v\n%s", served, tt.ok, err, out)
				}
			})
		}
	}
}

// TestOpenSSLMemberRequiresClientCert: the connecting side presents
// CERT_FILE to an openssl s_server that demands a client certificate.
func TestOpenSSLMemberRequiresClientCert(t *testing.T) {
	testsupport.Command(t, "openssl", "openssl")
	p := newTestPKI(t)
	memberCert, memberKey := p.leaf(t, p.ca, "member", LeafRequest{DNSNames: []string{"localhost"}})
	clientCert, clientKey := p.leaf(t, p.ca, "client", LeafRequest{DNSNames: []string{"gateway"}})
	member := sServer(t, "-cert", memberCert, "-key", memberKey, "-Verify", "4", "-CAfile", p.caFile, "-verify_return_error")
	for _, tt := range []struct {
		name string
		s    Settings
		ok   bool
	}{
		{"with CERT_FILE", Settings{CertFile: clientCert, KeyFile: clientKey, EnableTLSv13: On}, true},
		{"with CERT_FILE over TLS 1.2", Settings{CertFile: clientCert, KeyFile: clientKey}, true},
		{"without a certificate", Settings{EnableTLSv13: On}, false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := dialMember(member, mustContext(t, tt.s, Options{}).ClientConfig("localhost", loopback))
			if (err == nil) != tt.ok {
				t.Fatalf("error %v, want success %v", err, tt.ok)
			}
		})
	}
}

// TestOpenSSLVerifyDepth: a member (openssl s_server) sending a chain with
// two intermediates is rejected at VERIFY_DEPTH 1 and accepted at 2, and
// openssl verify agrees on the same files.
func TestOpenSSLVerifyDepth(t *testing.T) {
	testsupport.Command(t, "openssl", "openssl")
	p := newTestPKI(t)
	inter1, err := p.ca.NewIntermediate("inter 1", 0)
	if err != nil {
		t.Fatal(err)
	}
	inter2, err := inter1.NewIntermediate("inter 2", 0)
	if err != nil {
		t.Fatal(err)
	}
	leafFile, keyFile := p.leaf(t, inter2, "member", LeafRequest{DNSNames: []string{"localhost"}})
	chainFile := filepath.Join(p.dir, "chain.pem")
	if err := os.WriteFile(chainFile, append(inter2.CertPEM(), inter1.CertPEM()...), 0o644); err != nil {
		t.Fatal(err)
	}
	// Leaf.WriteFiles put the intermediates after the leaf already; s_server
	// takes the leaf from -cert and the chain from -cert_chain.
	onlyLeaf := filepath.Join(p.dir, "leaf-only.pem")
	leafPEM, _ := os.ReadFile(leafFile)
	first, _, _ := strings.Cut(string(leafPEM), "-----END CERTIFICATE-----")
	if err := os.WriteFile(onlyLeaf, []byte(first+"-----END CERTIFICATE-----\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	member := sServer(t, "-cert", onlyLeaf, "-cert_chain", chainFile, "-key", keyFile)
	for _, tt := range []struct {
		depth int
		ok    bool
	}{{1, false}, {2, true}, {4, true}} {
		t.Run("depth "+strconv.Itoa(tt.depth), func(t *testing.T) {
			s := Settings{VerifyServerCert: true, CAFile: p.caFile, VerifyDepth: tt.depth, HostnameValidationScheme: HostnameOpenSSL}
			_, err := dialMember(member, mustContext(t, s, Options{}).ClientConfig("localhost", loopback))
			if (err == nil) != tt.ok {
				t.Fatalf("error %v, want success %v", err, tt.ok)
			}
			out, verr := run(t, nil, "openssl", "verify", "-CAfile", p.caFile, "-untrusted", chainFile, "-verify_depth", strconv.Itoa(tt.depth), onlyLeaf)
			if (verr == nil) != tt.ok {
				t.Errorf("openssl verify -verify_depth %d disagrees: %v\n%s", tt.depth, verr, out)
			}
		})
	}
	// Intermediates in CA_FILE count as OpenSSL counts them.
	tc := newTrustChain(t)
	for _, tt := range []struct {
		depth int
		ok    bool
	}{{1, false}, {2, true}} {
		t.Run("trusted intermediates depth "+strconv.Itoa(tt.depth), func(t *testing.T) {
			out, err := run(t, nil, "openssl", "verify", "-CAfile", tc.all, "-verify_depth", strconv.Itoa(tt.depth), tc.leafFile)
			if (err == nil) != tt.ok {
				t.Errorf("openssl verify: %v, want success %v\n%s", err, tt.ok, out)
			}
		})
	}
	t.Run("intermediates alone in CA_FILE", func(t *testing.T) {
		if out, err := run(t, nil, "openssl", "verify", "-CAfile", tc.intersOnly, tc.leafFile); err == nil {
			t.Errorf("openssl verify accepted a chain ending at a trusted intermediate\n%s", out)
		}
	})
}

// TestOpenSSLHostnames: VERIFY_IPADD and hostname mismatches under both
// hostname validation schemes, against openssl s_server members.
func TestOpenSSLHostnames(t *testing.T) {
	testsupport.Command(t, "openssl", "openssl")
	p := newTestPKI(t)
	ipCert, ipKey := p.leaf(t, p.ca, "ip", LeafRequest{CommonName: "member", IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)}})
	nameCert, nameKey := p.leaf(t, p.ca, "name", LeafRequest{DNSNames: []string{"agent1.example"}})
	ipOnly := sServer(t, "-cert", ipCert, "-key", ipKey)
	named := sServer(t, "-cert", nameCert, "-key", nameKey)
	tests := []struct {
		name     string
		member   string
		scheme   HostnameScheme
		ipAdd    bool
		hostname string
		lookup   string // what 127.0.0.1 reverse-resolves to (legacy)
		ok       bool
	}{
		{"openssl: IP-only certificate with VERIFY_IPADD", ipOnly, HostnameOpenSSL, true, "", "", true},
		{"openssl: IP-only certificate without VERIFY_IPADD", ipOnly, HostnameOpenSSL, false, "", "", false},
		{"openssl: IP-only certificate, connected by name", ipOnly, HostnameOpenSSL, true, "agent1.example", "", false},
		{"openssl: hostname matches", named, HostnameOpenSSL, false, "agent1.example", "", true},
		{"openssl: hostname mismatch", named, HostnameOpenSSL, false, "agent2.example", "", false},
		{"legacy: IP-only certificate with VERIFY_IPADD", ipOnly, HostnameLegacy, true, "", "localhost", true},
		{"legacy: IP-only certificate without VERIFY_IPADD", ipOnly, HostnameLegacy, false, "", "localhost", false},
		{"legacy: reverse name matches", named, HostnameLegacy, false, "whatever", "agent1.example", true},
		{"legacy: reverse name mismatch", named, HostnameLegacy, false, "agent1.example", "agent2.example", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := Settings{VerifyServerCert: true, CAFile: p.caFile, VerifyIPAdd: tt.ipAdd, HostnameValidationScheme: tt.scheme}
			c := mustContext(t, s, Options{LookupAddr: lookupAs(tt.lookup)})
			_, err := dialMember(tt.member, c.ClientConfig(tt.hostname, loopback))
			if (err == nil) != tt.ok {
				t.Fatalf("error %v, want success %v", err, tt.ok)
			}
		})
	}
}

// TestOpenSSLCheckHost: matchHostname agrees with openssl x509 -checkhost
// on every case of hostnameCases.
func TestOpenSSLCheckHost(t *testing.T) {
	testsupport.Command(t, "openssl", "openssl")
	p := newTestPKI(t)
	for i, tt := range hostnameCases {
		t.Run(tt.name, func(t *testing.T) {
			certFile, _ := p.leaf(t, p.ca, "host"+strconv.Itoa(i), LeafRequest{CommonName: "x", DNSNames: []string{tt.pattern}})
			out := mustRun(t, "openssl", "x509", "-noout", "-in", certFile, "-checkhost", tt.host)
			got := !strings.Contains(out, "does NOT match")
			if got != tt.want {
				t.Errorf("openssl says %q for %q against %q; the table says %v", strings.TrimSpace(out), tt.host, tt.pattern, tt.want)
			}
		})
	}
}

// TestOpenSSLCADir: CA_DIR as a hashed directory made by openssl rehash,
// holding nothing but the hash-named file, used by both sides.
func TestOpenSSLCADir(t *testing.T) {
	testsupport.Command(t, "openssl", "openssl")
	p := newTestPKI(t)
	dir := t.TempDir()
	caPath := filepath.Join(dir, "cluster-ca.pem")
	if err := os.WriteFile(caPath, p.ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	mustRun(t, "openssl", "rehash", dir)
	hash := strings.TrimSpace(mustRun(t, "openssl", "x509", "-noout", "-subject_hash", "-in", caPath))
	link := filepath.Join(dir, hash+".0")
	if _, err := os.Lstat(link); err != nil {
		t.Fatalf("openssl rehash made no %s.0: %v", hash, err)
	}
	// Keep only the hash-named file, as c_rehash copies on systems without
	// symbolic links: the directory is then readable only by hash.
	if err := os.Remove(link); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(caPath, link); err != nil {
		t.Fatal(err)
	}
	memberCert, memberKey := p.leaf(t, p.ca, "member", LeafRequest{DNSNames: []string{"localhost"}})
	stranger := newTestPKI(t)
	strangerCert, strangerKey := p.leaf(t, stranger.ca, "stranger", LeafRequest{DNSNames: []string{"localhost"}})

	t.Run("connecting side verifies an openssl member", func(t *testing.T) {
		c := mustContext(t, Settings{VerifyServerCert: true, CADir: dir, HostnameValidationScheme: HostnameOpenSSL}, Options{})
		if _, err := dialMember(sServer(t, "-cert", memberCert, "-key", memberKey), c.ClientConfig("localhost", loopback)); err != nil {
			t.Errorf("member signed by the CA in CA_DIR: %v", err)
		}
		if _, err := dialMember(sServer(t, "-cert", strangerCert, "-key", strangerKey), c.ClientConfig("localhost", loopback)); err == nil {
			t.Error("member signed by another CA verified")
		}
	})
	t.Run("accepting side verifies openssl clients", func(t *testing.T) {
		s := Settings{Enabled: On, CertFile: memberCert, KeyFile: memberKey, RequireClientCert: true, CADir: dir, HostnameValidationScheme: HostnameOpenSSL}
		addr := serveTLS(t, mustContext(t, s, Options{}), nil)
		// The client verifies the server with the same directory.
		r := sClient(t, addr, "-CApath", dir, "-verify_return_error", "-cert", memberCert, "-key", memberKey)
		if !r.served {
			t.Errorf("client with a certificate from the CA in CA_DIR was refused\n%s", r.output)
		}
		if r := sClient(t, addr, "-cert", strangerCert, "-key", strangerKey); r.served {
			t.Errorf("client with a certificate from another CA was served\n%s", r.output)
		}
	})
}

// TestOpenSSLEncryptedKeys: keys written by openssl genrsa -des3 (PKCS#8
// PBES2 in OpenSSL 3), genrsa -des3 -traditional (legacy PEM encryption)
// and genpkey -aes-256-cbc load with their passphrase file and serve
// openssl s_client; a wrong or missing passphrase is a clear error.
func TestOpenSSLEncryptedKeys(t *testing.T) {
	testsupport.Command(t, "openssl", "openssl")
	dir := t.TempDir()
	pass := filepath.Join(dir, "pass")
	wrong := filepath.Join(dir, "wrong")
	if err := os.WriteFile(pass, []byte("correct horse\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(wrong, []byte("battery staple\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		gen    []string
		header string // what the key file must look like
	}{
		{"genrsa -des3", []string{"genrsa", "-des3", "-passout", "file:" + pass, "-out", "KEY", "2048"}, "BEGIN ENCRYPTED PRIVATE KEY"},
		{"genrsa -des3 -traditional", []string{"genrsa", "-des3", "-traditional", "-passout", "file:" + pass, "-out", "KEY", "2048"}, "Proc-Type: 4,ENCRYPTED"},
		{"genpkey EC -aes-256-cbc", []string{"genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-aes-256-cbc", "-pass", "file:" + pass, "-out", "KEY"}, "BEGIN ENCRYPTED PRIVATE KEY"},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			keyFile := filepath.Join(dir, "key"+strconv.Itoa(i)+".pem")
			certFile := filepath.Join(dir, "cert"+strconv.Itoa(i)+".pem")
			gen := slices.Clone(tt.gen)
			gen[slices.Index(gen, "KEY")] = keyFile
			mustRun(t, "openssl", gen...)
			if b, _ := os.ReadFile(keyFile); !strings.Contains(string(b), tt.header) {
				t.Fatalf("openssl wrote an unexpected key format:\n%s", b)
			}
			mustRun(t, "openssl", "req", "-new", "-x509", "-key", keyFile, "-passin", "file:"+pass, "-subj", "/CN=localhost", "-days", "1", "-out", certFile)

			s := Settings{Enabled: On, CertFile: certFile, KeyFile: keyFile, KeyPassphraseFile: pass}
			addr := serveTLS(t, mustContext(t, s, Options{}), nil)
			if r := sClient(t, addr); !r.served {
				t.Errorf("openssl s_client was not served with the decrypted key\n%s", r.output)
			}

			s.KeyPassphraseFile = wrong
			_, err := NewContext(s, Options{ReloadInterval: -1})
			checkErr(t, err, "the passphrase does not decrypt this key")
			checkErr(t, err, "LIBPROCESS_SSL_KEY_FILE")
			if strings.Contains(err.Error(), "battery") {
				t.Errorf("the error shows the passphrase: %v", err)
			}
			s.KeyPassphraseFile = ""
			_, err = NewContext(s, Options{ReloadInterval: -1})
			checkErr(t, err, "the key is encrypted: give its passphrase")
		})
	}
}

// TestCurlDowngrade: with SUPPORT_DOWNGRADE, curl's http:// and https://
// (HTTP/1.1, and HTTP/2 through ALPN) are served by net/http on one port;
// without it, a plain request gets nothing from the application.
func TestCurlDowngrade(t *testing.T) {
	testsupport.Command(t, "curl", "curl")
	on := downgradeServer(t, Settings{SupportDowngrade: true}, time.Second)
	off := downgradeServer(t, Settings{}, time.Second)
	tests := []struct {
		name string
		args []string
		want string // the whole output; "" means: anything but the application
	}{
		{"downgrade on: plain", []string{"http://" + on.addr + "/"}, "app says HTTP/1.1 tls=false"},
		{"downgrade on: TLS", []string{"--http1.1", "--cacert", on.caFile, "https://" + on.addr + "/"}, "app says HTTP/1.1 tls=true"},
		{"downgrade on: HTTP/2 over TLS", []string{"--http2", "--cacert", on.caFile, "-w", " via %{http_version}", "https://" + on.addr + "/"}, "app says HTTP/2.0 tls=true via 2"},
		{"downgrade off: TLS", []string{"--http2", "--cacert", off.caFile, "https://" + off.addr + "/"}, "app says HTTP/2.0 tls=true"},
		{"downgrade off: plain gets nothing from the application", []string{"http://" + off.addr + "/"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := curl(t, tt.args...)
			if tt.want == "" {
				if strings.Contains(out, "app says") {
					t.Fatalf("the application answered: %q", out)
				}
				return
			}
			if err != nil || out != tt.want {
				t.Fatalf("curl %v: %q, %v; want %q", tt.args, out, err, tt.want)
			}
		})
	}
}

// TestDowngradeGarbage: garbage and silence on the downgrade port are
// closed (silence by the listener at its deadline, garbage by TLS or HTTP
// parsing, a stalled handshake or request by the http.Server's
// ReadHeaderTimeout) while curl is served on the same port.
func TestDowngradeGarbage(t *testing.T) {
	testsupport.Command(t, "curl", "curl")
	srv := downgradeServerWith(t, Settings{SupportDowngrade: true}, 300*time.Millisecond, time.Second)
	random := func(prefix ...byte) []byte {
		b := make([]byte, 4096)
		rand.Read(b)
		return append(prefix, b...)
	}
	tests := []struct {
		name    string
		payload []byte
	}{
		{"silence", nil},
		{"random bytes", random()},
		{"TLS record header, then random bytes", random(0x16, 0x03, 0x01, 0x00, 0x40, 0x01)},
		{"SSLv2 hello header, then random bytes", random(0x80, 0x40, 0x01)},
		{"TLS header announcing a record never sent", []byte{0x16, 0x03, 0x01, 0x3f, 0xff, 0x01, 0x00}},
		{"NUL bytes", make([]byte, 64)},
		{"HTTP request line without an end", []byte("GET / HTTP/1.1\r\nHost: x")},
	}
	conns := make([]net.Conn, len(tests))
	for i, tt := range tests {
		c, err := net.Dial("tcp", srv.addr)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		if _, err := c.Write(tt.payload); err != nil {
			t.Fatalf("%s: write: %v", tt.name, err)
		}
		conns[i] = c
	}
	// Everything above is still open or being closed: others are served.
	if out, err := curl(t, "http://"+srv.addr+"/"); err != nil || out != "app says HTTP/1.1 tls=false" {
		t.Errorf("plain request next to the garbage: %q, %v", out, err)
	}
	if out, err := curl(t, "--cacert", srv.caFile, "https://"+srv.addr+"/"); err != nil || out != "app says HTTP/2.0 tls=true" {
		t.Errorf("TLS request next to the garbage: %q, %v", out, err)
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := conns[i]
			start := time.Now()
			c.SetReadDeadline(time.Now().Add(15 * time.Second))
			reply, err := io.ReadAll(c)
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				t.Fatalf("not closed after %v; read %q", time.Since(start), reply)
			}
			if strings.Contains(string(reply), "app says") {
				t.Errorf("garbage reached the application: %q", reply)
			}
			t.Logf("closed after %v with %q (%v)", time.Since(start).Round(time.Millisecond), truncate(reply, 60), err)
		})
	}
}

func truncate(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// TestCADirNeedsHashLinks: a certificate copied into CA_DIR without
// `openssl rehash` is invisible to OpenSSL's lookup, so it is not trusted
// here either, and the error says what to run. After rehashing, it is.
func TestCADirNeedsHashLinks(t *testing.T) {
	p := newTestPKI(t)
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "cluster-ca.pem"), p.ca.CertPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := NewContext(Settings{VerifyServerCert: true, CADir: dir}, Options{ReloadInterval: -1})
	if err == nil || !strings.Contains(err.Error(), "openssl rehash") {
		t.Fatalf("unhashed CA_DIR: error %v, want one saying to run openssl rehash", err)
	}
	testsupport.Command(t, "openssl", "openssl")
	mustRun(t, "openssl", "rehash", dir)
	c := mustContext(t, Settings{VerifyServerCert: true, CADir: dir, HostnameValidationScheme: HostnameOpenSSL}, Options{})
	leaf, err := p.ca.Issue(LeafRequest{DNSNames: []string{"localhost"}})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Verify([]*x509.Certificate{leaf.Cert}, "localhost", loopback); err != nil {
		t.Errorf("after openssl rehash: %v", err)
	}
}
