package main

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// TestProbeCommand runs `mesosgate probe` against a simulated mixed
// cluster and reads its output as a user or a script would.
func TestProbeCommand(t *testing.T) {
	sc, err := sim.Start(sim.Options{
		Masters:     2,
		MasterModes: []sim.Mode{sim.Downgrade, sim.Plain},
		Modes:       []sim.Mode{sim.Plain, sim.Downgrade, sim.SSL, sim.SSLClientCert},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { sc.Close() })
	certFile, keyFile := sc.ClientCertFiles()
	masters := "http://" + sc.Masters()[1].HostPort() + "," + sc.Masters()[0].HostPort()
	env := []string{"LIBPROCESS_SSL_CA_FILE=" + sc.CAFile()}

	t.Run("json, every member reachable: exit 0", func(t *testing.T) {
		code, out, errOut := runMain(t, env, "probe", "--master", masters, "--json", "--ssl-cert-file", certFile, "--ssl-key-file", keyFile)
		if code != 0 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		var report struct {
			Phase     string   `json:"phase"`
			NextSteps []string `json:"next_steps"`
			Members   []struct {
				Role, ID, Address, Hostname, Speaks, Error string
				TLS                                        *struct{ Version, Cipher string }
				Cert                                       *struct {
					Subject  string
					SANs     []string
					Verified bool
				}
			} `json:"members"`
		}
		if err := json.Unmarshal([]byte(out), &report); err != nil {
			t.Fatalf("output is not JSON: %v\n%s", err, out)
		}
		if report.Phase != "phase-1" || len(report.NextSteps) == 0 || len(report.Members) != 6 {
			t.Fatalf("report: phase %q, %d steps, %d members", report.Phase, len(report.NextSteps), len(report.Members))
		}
		want := []struct{ role, id, speaks string }{
			{"leader", sc.Masters()[0].ID(), "ssl-downgrade"},
			{"standby", "", "plain-only"},
			{"agent", sc.Agents()[0].ID(), "plain-only"},
			{"agent", sc.Agents()[1].ID(), "ssl-downgrade"},
			{"agent", sc.Agents()[2].ID(), "ssl-only"},
			{"agent", sc.Agents()[3].ID(), "ssl-only"},
		}
		for i, w := range want {
			m := report.Members[i]
			if m.Role != w.role || m.ID != w.id || m.Speaks != w.speaks || m.Hostname != "localhost" {
				t.Errorf("member %d: %+v, want %+v", i, m, w)
			}
			if strings.HasPrefix(w.speaks, "ssl") && (m.TLS == nil || m.TLS.Version != "TLS 1.2" || m.Cert == nil || !m.Cert.Verified || m.Cert.Subject != "CN=localhost,O=mesosgate") {
				t.Errorf("member %d: TLS %+v, cert %+v", i, m.TLS, m.Cert)
			}
		}
	})
	t.Run("table, an unreachable member: exit 1", func(t *testing.T) {
		code, out, errOut := runMain(t, env, "probe", "--master", masters)
		if code != 1 || errOut != "" {
			t.Fatalf("exit %d, stderr %q", code, errOut)
		}
		for _, want := range []string{
			"ROLE     ID ", "SPEAKS ", "VERIFIED", "\nphase: phase-1\n", "next steps:\n  1. ",
			sc.Agents()[3].Addr() + "  localhost  unreachable",
			"TLS handshake failed: the member requires a client certificate and none is configured",
		} {
			if !strings.Contains(out, want) {
				t.Errorf("output lacks %q:\n%s", want, out)
			}
		}
	})
	t.Run("no master answers: exit 2 with the reason", func(t *testing.T) {
		code, out, errOut := runMain(t, env, "probe", "--master", "127.0.0.1:1", "--probe-timeout", "2s")
		if code != 2 || !strings.Contains(errOut, "mesosgate probe: discovery found no leader: master 127.0.0.1:1 is unreachable: connection refused; check --master") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
		if !strings.Contains(out, "127.0.0.1:1  127.0.0.1  unreachable") {
			t.Errorf("the table lacks the master:\n%s", out)
		}
	})
	t.Run("usage errors: exit 2, one line each", func(t *testing.T) {
		code, _, errOut := runMain(t, nil, "probe", "--master", "m1:5050", "--ssl-cert-file", "/nonexistent/cert.pem", "--ssl-key-file", "/nonexistent/key.pem")
		lines := strings.Split(strings.TrimSpace(errOut), "\n")
		if code != 2 || len(lines) != 2 || !strings.HasPrefix(lines[0], "mesosgate probe: --ssl-cert-file=") {
			t.Errorf("exit %d, stderr %q", code, errOut)
		}
	})
}
