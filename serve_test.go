package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// TestServe runs `mesosgate serve` in front of a simulated cluster with the
// default certificate source (the internal CA in --data-dir), reads the URL
// it logs, uses it with the CA it created (also under a --server-name, as
// a browser using a DNS alias would), and stops it as SIGTERM would.
func TestServe(t *testing.T) {
	c, err := sim.Start(sim.Options{Modes: []sim.Mode{sim.Plain, sim.SSL}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	dataDir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testsupport.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- serveCommand(ctx, []string{"--master", c.Leader().Addr(), "--listen", "127.0.0.1:0", "--data-dir", dataDir, "--server-name", "Mesos.Example.Test"},
			[]string{"HOME=" + t.TempDir()}, &stdout, &stderr)
	}()
	re := regexp.MustCompile(`msg=serving url=(\S+)`)
	var url string
	for deadline := time.Now().Add(30 * time.Second); url == ""; {
		if m := re.FindStringSubmatch(stderr.String()); m != nil {
			url = m[1]
		}
		select {
		case code := <-exit:
			t.Fatalf("serve exited %d:\n%s", code, stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve logged no URL:\n%s", stderr.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	pem, err := os.ReadFile(filepath.Join(dataDir, "ca", "mesosgate-ca.pem"))
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(pem)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}, Timeout: 30 * time.Second}
	defer client.CloseIdleConnections()
	for _, path := range []string{"/master/state", "/agent/" + c.Agents()[1].ID() + "/slave(1)/state", "/gateway/readyz"} {
		resp, err := client.Get(url + path)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Strict-Transport-Security") == "" {
			t.Errorf("GET %s: %d, HSTS %q", path, resp.StatusCode, resp.Header.Get("Strict-Transport-Security"))
		}
	}
	conn, err := tls.Dial("tcp", strings.TrimPrefix(url, "https://"), &tls.Config{RootCAs: roots, ServerName: "mesos.example.test"})
	if err != nil {
		t.Errorf("the front's certificate under --server-name: %v", err)
	} else {
		conn.Close()
	}
	cancel()
	select {
	case code := <-exit:
		if code != 0 {
			t.Errorf("serve exited %d after its interruption:\n%s", code, stderr.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("serve did not stop")
	}
}

// TestServeBadSettings: what stops the gateway from starting is one line
// per problem, naming the setting, exit status 2, and nothing written (the
// internal CA's data directory stays empty).
func TestServeBadSettings(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.pem")
	os.WriteFile(bad, []byte("not a certificate"), 0o600)
	pki, err := sim.NewPKI(filepath.Join(dir, "pki"))
	if err != nil {
		t.Fatal(err)
	}
	other, err := sim.NewPKI(filepath.Join(dir, "other"))
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		args []string
		env  []string
		want string
	}{
		{"no master", nil, nil, "--master"},
		{"unreadable certificate", []string{"--master", "127.0.0.1:1"},
			[]string{"LIBPROCESS_SSL_CERT_FILE=" + bad, "LIBPROCESS_SSL_KEY_FILE=" + bad}, "LIBPROCESS_SSL_CERT_FILE"},
		{"key of another certificate", []string{"--master", "127.0.0.1:1"},
			[]string{"LIBPROCESS_SSL_CERT_FILE=" + pki.CertFile, "LIBPROCESS_SSL_KEY_FILE=" + other.KeyFile}, "LIBPROCESS_SSL_KEY_FILE"},
		{"bad address", []string{"--master", "127.0.0.1:1", "--listen", "256.0.0.1:80", "--ssl-enabled=false"}, nil, "--listen"},
		{"no TLS version", []string{"--master", "127.0.0.1:1"}, []string{"LIBPROCESS_SSL_ENABLE_TLS_V1_2=false", "MESOSGATE_SSL_ENABLE_TLS_V1_3=false"}, "every TLS version is disabled"},
		{"garbage CA file", []string{"--master", "127.0.0.1:1"}, []string{"LIBPROCESS_SSL_CA_FILE=" + bad}, "LIBPROCESS_SSL_CA_FILE"},
		{"unknown role entry", []string{"--master", "127.0.0.1:1", "--client-ca", pki.CAFile, "--viewers", "team:x"}, nil, "--viewers"},
		{"unreachable issuer", []string{"--master", "127.0.0.1:1", "--oidc-issuer", "http://127.0.0.1:1/", "--oidc-client-id", "gw",
			"--session-key-file", pki.KeyFile, "--server-name", "gw.example.com", "--viewers", "*"}, nil, "--oidc-issuer"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr testsupport.Buffer
			data := filepath.Join(t.TempDir(), "data")
			args := append([]string{"--listen", "127.0.0.1:0", "--data-dir", data}, c.args...)
			env := append([]string{"HOME=" + t.TempDir()}, c.env...)
			code := serveCommand(context.Background(), args, env, &stdout, &stderr)
			msg := stderr.String()
			if code != 2 || !strings.Contains(msg, c.want) || strings.Contains(msg, "goroutine ") || strings.Contains(msg, "has no certificate") {
				t.Errorf("exit %d, stderr:\n%s", code, msg)
			}
			if lines := strings.Count(strings.TrimSpace(msg), "\n") + 1; lines != 1 {
				t.Errorf("%d lines, want one:\n%s", lines, msg)
			}
			if entries, _ := os.ReadDir(data); len(entries) != 0 {
				t.Errorf("%d entries written into the data directory", len(entries))
			}
		})
	}
}
