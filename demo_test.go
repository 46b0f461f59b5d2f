package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// demo is a `mesosgate demo` running in the test's process.
type demo struct {
	cluster *sim.Cluster
	url     string // https://localhost:port
	caFile  string
	// cert is the certificate the gateway presents: what a browser is
	// told to trust, and nothing else.
	cert *x509.Certificate
	// member is the members' shared certificate (for --links direct).
	member *x509.Certificate
	client *http.Client
	stdout *testsupport.Buffer
	stderr *testsupport.Buffer
}

// startDemo runs `mesosgate demo --listen 127.0.0.1:0 --data-dir <temp>`
// with args added, until the test ends; the command must then exit 0.
func startDemo(t *testing.T, hooks demoHooks, args ...string) *demo {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	d := &demo{stdout: &testsupport.Buffer{}, stderr: &testsupport.Buffer{}}
	ready := make(chan struct{})
	hooks.ready = func(c *sim.Cluster, u, caFile string) {
		d.cluster, d.url, d.caFile = c, u, caFile
		close(ready)
	}
	exit := make(chan int, 1)
	args = append([]string{"--listen", "127.0.0.1:0", "--data-dir", t.TempDir()}, args...)
	go func() { exit <- runDemo(ctx, args, []string{"HOME=" + t.TempDir()}, d.stdout, d.stderr, hooks) }()
	t.Cleanup(func() {
		cancel()
		select {
		case code := <-exit:
			if code != 0 {
				t.Errorf("mesosgate demo exited %d:\n%s", code, d.stderr)
			}
		case <-time.After(60 * time.Second):
			t.Errorf("mesosgate demo did not stop within 60 s of its interruption")
		}
	})
	select {
	case <-ready:
	case code := <-exit:
		t.Fatalf("mesosgate demo exited %d before serving:\n%s", code, d.stderr)
	case <-time.After(60 * time.Second):
		t.Fatalf("mesosgate demo did not serve within 60 s:\n%s", d.stderr)
	}
	pem, err := os.ReadFile(d.caFile)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	if !roots.AppendCertsFromPEM(pem) {
		t.Fatalf("the CA file %s holds no certificate", d.caFile)
	}
	u, _ := url.Parse(d.url)
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{RootCAs: roots})
	if err != nil {
		t.Fatalf("the gateway's certificate does not verify against the CA file the demo printed: %v", err)
	}
	d.cert = conn.ConnectionState().PeerCertificates[0]
	conn.Close()
	for _, a := range d.cluster.Agents() {
		if a.Mode() == sim.SSL {
			conn, err := tls.Dial("tcp", a.Addr(), &tls.Config{RootCAs: roots, ServerName: "localhost", CipherSuites: []uint16{tls.TLS_RSA_WITH_AES_128_CBC_SHA}, MaxVersion: tls.VersionTLS12})
			if err != nil {
				t.Fatalf("an ssl-only member's certificate does not verify against the demo's CA: %v", err)
			}
			d.member = conn.ConnectionState().PeerCertificates[0]
			conn.Close()
		}
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}, ForceAttemptHTTP2: true, DialContext: dialLocalhost}
	t.Cleanup(tr.CloseIdleConnections)
	d.client = &http.Client{Transport: tr, Timeout: 30 * time.Second}
	// Every member probed: pages carry the whole link table from the first.
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := d.client.Get(d.url + "/gateway/api/cluster")
		if err == nil {
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if !strings.Contains(string(b), `"speaks": ""`) && strings.Contains(string(b), `"phase": "phase-1"`) {
				break
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the demo's members were not all probed within 30 s")
		}
		time.Sleep(50 * time.Millisecond)
	}
	return d
}

// dialLocalhost dials names under localhost on loopback, as browsers and
// curl resolve them (Go's resolver asks DNS): the demo's framework UIs
// live at <name>.localhost.
func dialLocalhost(ctx context.Context, network, addr string) (net.Conn, error) {
	if host, port, err := net.SplitHostPort(addr); err == nil && strings.HasSuffix(host, ".localhost") {
		addr = net.JoinHostPort("127.0.0.1", port)
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// serviceURL is the URL of a framework UI on its own origin in the demo.
func (d *demo) serviceURL(name string) string {
	return strings.Replace(d.url, "://localhost:", "://"+name+".localhost:", 1) + "/"
}

// TestDemo runs the README's first command as a user would and checks
// what it prints and serves: the URL to open, the CA file that makes it
// trusted, every member's mode, the leader's WebUI, the dashboard, and
// that it stops cleanly when interrupted.
func TestDemo(t *testing.T) {
	d := startDemo(t, demoHooks{})
	out := d.stdout.String()
	for _, want := range []string{
		"  Open       " + d.url + "/\n",
		"  Trust      " + d.caFile + "\n",
		"plain-only", "ssl-downgrade", "ssl-only (client cert)",
		d.serviceURL("marathon"),
		"Running until interrupted (Ctrl-C).",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the demo's output lacks %q:\n%s", want, out)
		}
	}
	for path, want := range map[string]string{
		"/":                    "data-mesosgate", // the WebUI, with the runtime
		"/gateway/":            "phase-1",
		"/gateway/api/cluster": `"client_cert_sent": true`, // the ssl-clientcert agent
		"/service/marathon/":   "<h1>marathon</h1>",        // redirected to marathon.localhost
	} {
		resp, err := d.client.Get(d.url + path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 200 || !strings.Contains(string(b), want) {
			t.Errorf("GET %s: %d, body lacks %q", path, resp.StatusCode, want)
		}
		if resp.Proto != "HTTP/2.0" {
			t.Errorf("GET %s over %s, want HTTP/2.0", path, resp.Proto)
		}
		if path == "/service/marathon/" && resp.Request.URL.String() != d.serviceURL("marathon") {
			t.Errorf("GET %s ended at %s, want the UI's own origin %s", path, resp.Request.URL, d.serviceURL("marathon"))
		}
	}
	for _, a := range d.cluster.Agents() {
		resp, err := d.client.Get(d.url + "/agent/" + a.ID() + "/slave(1)/state")
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("agent %s (%s): %d", a.ID(), a.Mode(), resp.StatusCode)
		}
	}
	checkDemoMetrics(t, d)
}

// TestDemoBadFlags: a mistake is one line and exit status 2.
func TestDemoBadFlags(t *testing.T) {
	for _, c := range []struct {
		name string
		args []string
		want string
	}{
		{"unknown flag", []string{"--master", "x:1"}, "--master"},
		{"bad listen", []string{"--listen", "nowhere"}, "--listen"},
		{"missing webui", []string{"--webui-dir", "/nonexistent"}, "--webui-dir"},
	} {
		t.Run(c.name, func(t *testing.T) {
			var stdout, stderr testsupport.Buffer
			code := runDemo(context.Background(), c.args, []string{"HOME=" + t.TempDir()}, &stdout, &stderr, demoHooks{})
			if code != 2 || !strings.HasPrefix(stderr.String(), "mesosgate demo: ") || !strings.Contains(stderr.String(), c.want) {
				t.Errorf("exit %d, stderr %q", code, stderr.String())
			}
		})
	}
	// The address taken: one line naming --listen.
	d := startDemo(t, demoHooks{})
	u, _ := url.Parse(d.url)
	var stdout, stderr testsupport.Buffer
	code := runDemo(context.Background(), []string{"--listen", strings.Replace(u.Host, "localhost", "127.0.0.1", 1), "--data-dir", t.TempDir()}, []string{"HOME=" + t.TempDir()}, &stdout, &stderr, demoHooks{})
	if code != 2 || strings.Count(stderr.String(), "mesosgate demo: ") != 1 || !strings.Contains(stderr.String(), "--listen") {
		t.Errorf("address in use: exit %d, stderr %q", code, stderr.String())
	}
}
