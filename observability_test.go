package main

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// scrapeMetrics reads url's /gateway/metrics and parses it with the
// Prometheus text parser.
func scrapeMetrics(t *testing.T, client *http.Client, url string) map[string]*dto.MetricFamily {
	t.Helper()
	resp, err := client.Get(url + "/gateway/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET /gateway/metrics: %d", resp.StatusCode)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mf, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse /gateway/metrics: %v", err)
	}
	return mf
}

// gauge returns the value of a gauge or counter series with exactly the
// given label name, value pairs.
func gauge(mf map[string]*dto.MetricFamily, name string, labels ...string) (float64, bool) {
	f := mf[name]
	if f == nil {
		return 0, false
	}
next:
	for _, m := range f.Metric {
		if len(m.Label) != len(labels)/2 {
			continue
		}
		for i, l := range m.Label {
			// Labels come sorted by name; the callers pass them so.
			if l.GetName() != labels[2*i] || l.GetValue() != labels[2*i+1] {
				continue next
			}
		}
		if m.Gauge != nil {
			return m.Gauge.GetValue(), true
		}
		return m.Counter.GetValue(), true
	}
	return 0, false
}

// checkDemoMetrics: the demo's /gateway/metrics (Run wires them for demo
// as for serve) shows its members by what their modes speak, phase 1, and
// the days left of the certificate the gateway presents.
func checkDemoMetrics(t *testing.T, d *demo) {
	t.Helper()
	mf := scrapeMetrics(t, d.client, d.url)
	want := map[[2]string]float64{}
	for _, m := range d.cluster.Masters() {
		role := "standby"
		if m.Leading() {
			role = "leader"
		}
		want[[2]string{role, m.Mode().Speaks()}]++
	}
	for _, a := range d.cluster.Agents() {
		want[[2]string{"agent", a.Mode().Speaks()}]++
	}
	for _, role := range []string{"leader", "standby", "agent"} {
		for _, speaks := range []string{"ssl-only", "ssl-downgrade", "plain-only", "unreachable", "unprobed"} {
			v, ok := gauge(mf, "mesosgate_members", "role", role, "speaks", speaks)
			if w := want[[2]string{role, speaks}]; !ok || v != w {
				t.Errorf("mesosgate_members{role=%s,speaks=%s}: %v (present: %v), want %v", role, speaks, v, ok, w)
			}
		}
	}
	if v, _ := gauge(mf, "mesosgate_migration_phase", "phase", "phase-1"); v != 1 {
		t.Errorf("phase-1: %v, want 1", v)
	}
	days, ok := gauge(mf, "mesosgate_front_certificate_days_left", "source", "internal")
	if w := time.Until(d.cert.NotAfter).Hours() / 24; !ok || math.Abs(days-w) > 0.01 {
		t.Errorf("front certificate: %v days left (present: %v), want %.3f (NotAfter %s)", days, ok, w, d.cert.NotAfter)
	}
}

// TestServeLogsNoSecret runs `mesosgate serve` at debug level with a JSON
// log in front of masters that demand credentials, with the front's key
// encrypted under a passphrase, sends requests through it (a browser's
// Authorization included), and scans everything it logged: every line is
// a JSON object, and neither the masters' secret (nor its Basic form) nor
// the key's passphrase appears anywhere. Its metrics show the front
// certificate's days left.
func TestServeLogsNoSecret(t *testing.T) {
	openssl := testsupport.Command(t, "openssl", "openssl") // it makes the encrypted key
	secret, passphrase := "master-secret-"+randomHex(t), "key-passphrase-"+randomHex(t)
	c, err := sim.Start(sim.Options{Modes: []sim.Mode{sim.Plain, sim.SSL}, Auth: &sim.Credentials{Principal: "gateway", Secret: secret}})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()

	dir := t.TempDir()
	creds := filepath.Join(dir, "credentials.json")
	writeFile(t, creds, `{"principal": "gateway", "secret": "`+secret+`"}`)
	pass := filepath.Join(dir, "passphrase")
	writeFile(t, pass, passphrase+"\n")
	cert, key := filepath.Join(dir, "front.pem"), filepath.Join(dir, "front-key.pem")
	out, err := exec.Command(openssl, "req", "-x509", "-newkey", "rsa:2048", "-keyout", key, "-passout", "file:"+pass,
		"-out", cert, "-days", "30", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1").CombinedOutput()
	if err != nil {
		t.Fatalf("openssl req: %v\n%s", err, out)
	}
	if k, _ := os.ReadFile(key); !strings.Contains(string(k), "ENCRYPTED") {
		t.Fatalf("openssl wrote an unencrypted key")
	}

	ctx, cancel := context.WithCancel(context.Background())
	var stdout, stderr testsupport.Buffer
	exit := make(chan int, 1)
	go func() {
		exit <- serveCommand(ctx, []string{"--master", c.Leader().Addr(), "--listen", "127.0.0.1:0", "--log-format", "json",
			"--log-level", "debug", "--master-credentials", creds, "--ssl-key-passphrase-file", pass, "--data-dir", dir},
			[]string{"HOME=" + t.TempDir(), "LIBPROCESS_SSL_CERT_FILE=" + cert, "LIBPROCESS_SSL_KEY_FILE=" + key}, &stdout, &stderr)
	}()
	stopped := false
	stop := func() {
		if stopped {
			return
		}
		stopped = true
		cancel()
		select {
		case code := <-exit:
			if code != 0 {
				t.Errorf("serve exited %d:\n%s", code, stderr.String())
			}
		case <-time.After(30 * time.Second):
			t.Error("serve did not stop")
		}
	}
	defer stop()
	url := servingURL(t, &stderr, exit)

	pemBytes, _ := os.ReadFile(cert)
	block, _ := pem.Decode(pemBytes)
	front, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(front)
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: roots}}
	defer tr.CloseIdleConnections()
	client := &http.Client{Transport: tr, Timeout: 30 * time.Second}
	for _, r := range []struct {
		path string
		auth bool
		want int
	}{
		{"/master/state", true, 200}, // the browser's own credentials pass through
		{"/master/state", false, 401},
		{"/agent/" + c.Agents()[0].ID() + "/slave(1)/state", true, 200},
		{"/agent/no-such-agent/slave(1)/state", false, 404},
		{"/gateway/readyz", false, 200},
	} {
		req, _ := http.NewRequest("GET", url+r.path, nil)
		if r.auth {
			req.SetBasicAuth("gateway", secret)
		}
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != r.want {
			t.Errorf("GET %s: %d, want %d", r.path, resp.StatusCode, r.want)
		}
	}
	mf := scrapeMetrics(t, client, url)
	days, ok := gauge(mf, "mesosgate_front_certificate_days_left", "source", "files")
	if w := time.Until(front.NotAfter).Hours() / 24; !ok || math.Abs(days-w) > 0.01 || days > 30 {
		t.Errorf("front certificate: %v days left (present: %v), want %.3f", days, ok, w)
	}
	stop()

	log := stderr.String()
	basic := base64.StdEncoding.EncodeToString([]byte("gateway:" + secret))
	for name, s := range map[string]string{"the masters' secret": secret, "its Basic authorization": basic, "the key's passphrase": passphrase} {
		if strings.Contains(log, s) || strings.Contains(stdout.String(), s) {
			t.Errorf("%s is in the output", name)
		}
	}
	lines, requests := 0, 0
	sc := bufio.NewScanner(strings.NewReader(log))
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("a log line that is not JSON: %v\n%s", err, sc.Text())
		}
		lines++
		if l["msg"] == "request" {
			requests++
			if id, _ := l["request_id"].(string); id == "" {
				t.Errorf("an access log line without a request id: %s", sc.Text())
			}
		}
	}
	if requests < 6 {
		t.Errorf("%d access log lines in %d lines, want the 6 requests at debug level:\n%s", requests, lines, log)
	}
}

// servingURL waits for serve's JSON "serving" line and returns its URL.
func servingURL(t *testing.T, stderr *testsupport.Buffer, exit chan int) string {
	t.Helper()
	for deadline := time.Now().Add(30 * time.Second); ; {
		for _, line := range strings.Split(stderr.String(), "\n") {
			var l struct{ Msg, URL string }
			if json.Unmarshal([]byte(line), &l) == nil && l.Msg == "serving" && l.URL != "" {
				return l.URL
			}
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
}

func randomHex(t *testing.T) string {
	var b [8]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

func writeFile(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
}
