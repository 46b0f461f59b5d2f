package upstream

import (
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/tlsx"
)

// TestMixedCluster probes a cluster in every mode through real HTTP and
// TLS and checks what each member is found to speak, with and without the
// gateway's client certificate and with and without trusting the CA.
func TestMixedCluster(t *testing.T) {
	sc := startSim(t, sim.Options{
		MasterModes: []sim.Mode{sim.Downgrade},
		Modes:       []sim.Mode{sim.Plain, sim.Downgrade, sim.SSL, sim.SSLClientCert},
	})
	agents := sc.Agents()
	tests := []struct {
		name        string
		settings    tlsx.Settings
		clientCert  Speaks // what the ssl-clientcert agent is found to speak
		certReason  string
		verified    bool
		verifyError string
	}{
		{"client certificate, CA trusted", gatewayTLS(true), SSLOnly, "", true, ""},
		{"no client certificate", gatewayTLS(false), Unreachable,
			"TLS handshake failed: the member requires a client certificate and none is configured; set LIBPROCESS_SSL_CERT_FILE and LIBPROCESS_SSL_KEY_FILE", true, ""},
		{"CA not trusted", tlsx.Settings{CertFile: testPKI.ClientCertFile, KeyFile: testPKI.ClientKeyFile, EnableTLSv13: tlsx.On}, SSLOnly, "", false,
			"does not verify: x509: certificate signed by unknown authority"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, sc, Config{TLS: newTLS(t, tt.settings)})
			discover(t, c)
			if st := c.Stats(); st.Sweeps != 1 || st.LastSweep <= 0 || st.SweepTime != st.LastSweep {
				t.Errorf("stats after one sweep: %+v", st)
			}
			s := c.Snapshot()
			if s.Leader == nil || s.Leader.Speaks() != SSLDowngrade || s.Leader.ID != sc.Leader().ID() {
				t.Fatalf("leader %+v", s.Leader)
			}
			want := map[string]Speaks{agents[0].ID(): PlainOnly, agents[1].ID(): SSLDowngrade, agents[2].ID(): SSLOnly, agents[3].ID(): tt.clientCert}
			for id, speaks := range want {
				m := agentMember(t, s, id)
				if m.Speaks() != speaks {
					t.Errorf("agent %s: speaks %q (%+v), want %q", id, m.Speaks(), m.Probe, speaks)
				}
			}

			plain := agentMember(t, s, agents[0].ID()).Probe
			if plain.TLS != nil || plain.Cert != nil || !strings.HasPrefix(plain.TLSError, "not TLS") || !strings.HasPrefix(plain.Plain, "HTTP/1.1 200") {
				t.Errorf("plain-only agent's probe: %+v", plain)
			}
			ssl := agentMember(t, s, agents[2].ID()).Probe
			if ssl.TLS == nil || ssl.TLS.Version != "TLS 1.2" || !strings.HasPrefix(ssl.TLS.Cipher, "TLS_RSA_WITH_AES_") || ssl.TLS.ClientCertRequested {
				t.Errorf("ssl-only agent's TLS: %+v", ssl.TLS)
			}
			if ssl.Plain != "" || ssl.PlainError != "connection closed without an HTTP answer" {
				t.Errorf("ssl-only agent's plain half: %q, %q", ssl.Plain, ssl.PlainError)
			}
			cert := ssl.Cert
			if cert == nil || cert.Key != "RSA 2048" || !strings.Contains(cert.Issuer, "CN=") || !slices.Contains(cert.SANs, "localhost") || !slices.Contains(cert.SANs, "127.0.0.1") || cert.DaysLeft < 300 {
				t.Fatalf("certificate facts %+v", cert)
			}
			if cert.Verified != tt.verified || !strings.Contains(cert.VerifyError, tt.verifyError) {
				t.Errorf("verified %v (%q), want %v (%q)", cert.Verified, cert.VerifyError, tt.verified, tt.verifyError)
			}
			if !tt.verified && !containsPrefix(ssl.Warnings, "certificate chain is not trusted") {
				t.Errorf("warnings %q lack the untrusted chain", ssl.Warnings)
			}

			cc := agentMember(t, s, agents[3].ID()).Probe
			if tt.clientCert == SSLOnly {
				if cc.TLS == nil || !cc.TLS.ClientCertRequested || !cc.TLS.ClientCertSent {
					t.Errorf("ssl-clientcert agent's TLS: %+v", cc.TLS)
				}
			} else if !cc.ClientCertRequested {
				t.Errorf("ssl-clientcert agent: the demand for a client certificate is not recorded")
			} else if cc.Reason != tt.certReason+" (remote error: tls: bad certificate)" && !strings.HasPrefix(cc.Reason, tt.certReason) {
				t.Errorf("ssl-clientcert agent unreachable because %q, want %q", cc.Reason, tt.certReason)
			}
		})
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, x := range list {
		if strings.HasPrefix(x, prefix) {
			return true
		}
	}
	return false
}

// TestTLS13ClientCertificate: under TLS 1.3 a member refuses a missing
// client certificate only after the client's side of the handshake is
// done; the probe's request over TLS finds it out.
func TestTLS13ClientCertificate(t *testing.T) {
	sc := startSim(t, sim.Options{Modes: []sim.Mode{sim.SSLClientCert}})
	a := sc.Agents()[0]
	s := sc.Settings(sim.SSLClientCert)
	s.EnableTLSv13, s.Ciphers = tlsx.On, ""
	if err := a.RestartWith(s); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		cert   bool
		speaks Speaks
	}{{"with the client certificate", true, SSLOnly}, {"without", false, Unreachable}} {
		t.Run(tt.name, func(t *testing.T) {
			c := newCluster(t, sc, Config{TLS: newTLS(t, gatewayTLS(tt.cert))})
			discover(t, c)
			p := agentMember(t, c.Snapshot(), a.ID()).Probe
			if p.Speaks != tt.speaks {
				t.Fatalf("speaks %s (%s)", p.Speaks, p.Reason)
			}
			if tt.cert && (p.TLS.Version != "TLS 1.3" || !p.TLS.ClientCertRequested || !p.TLS.ClientCertSent) {
				t.Errorf("TLS %+v", p.TLS)
			}
			if !tt.cert && (!p.ClientCertRequested || !strings.Contains(p.Reason, "the member requires a client certificate and none is configured")) {
				t.Errorf("reason %q", p.Reason)
			}
		})
	}
}

// TestProbeTimeout: a process that accepts connections and never answers
// (stopped with SIGSTOP, say) is unreachable after ProbeTimeout, with
// that reason.
func TestProbeTimeout(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var held []net.Conn
	var mu sync.Mutex
	done := make(chan struct{})
	go func() {
		defer close(done)
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			held = append(held, conn)
			mu.Unlock()
		}
	}()
	t.Cleanup(func() {
		ln.Close()
		<-done
		mu.Lock()
		defer mu.Unlock()
		for _, c := range held {
			c.Close()
		}
	})
	const timeout = 300 * time.Millisecond
	c, err := New(Config{Masters: []Master{{Address: ln.Addr().String()}}, ProbeTimeout: timeout, TLS: newTLS(t, gatewayTLS(false))})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.ProbeAll(context.Background())
	p := c.Snapshot().Standbys[0].Probe
	if p.Speaks != Unreachable || p.Reason != "timeout after 300ms" {
		t.Errorf("probe %+v", p)
	}
}
