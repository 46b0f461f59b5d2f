package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// This file runs real web applications from Debian's packages as
// framework UIs (issue 16): each a child process of the test on a free
// loopback port, with a data directory and configuration of its own in
// the test's temporary directory, never a system service, and never told
// about the prefix or origin the gateway serves it under. make test
// installs the packages; without them the tests skip, or fail under
// CI=true.

// app is a running web application.
type app struct {
	url string // http://127.0.0.1:port, what a framework registers as webui_url
	log *testsupport.Buffer
}

// startApp runs cmd until the test ends and waits until GET url+ready
// answers 200. cmd's output goes to the app's log, shown when the test
// fails.
func startApp(t *testing.T, name string, cmd *exec.Cmd, url, ready string) *app {
	t.Helper()
	a := &app{url: url, log: &testsupport.Buffer{}}
	cmd.Stdout, cmd.Stderr = a.log, a.log
	done := startProcess(t, name, cmd, func() string { return "log:\n" + a.log.String() })
	testsupport.Eventually(t, name+" ready", 60*time.Second, func() bool {
		select {
		case <-done:
			t.Fatalf("%s exited:\n%s", name, a.log)
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		req, _ := http.NewRequestWithContext(ctx, "GET", url+ready, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	})
	return a
}

// startProcess starts cmd and stops it at the end of the test or
// benchmark (SIGTERM, then SIGKILL after 10 s), logging report() if it
// failed. The channel closes when the process has exited.
func startProcess(tb testing.TB, name string, cmd *exec.Cmd, report func() string) <-chan struct{} {
	tb.Helper()
	if err := cmd.Start(); err != nil {
		tb.Fatalf("start %s: %v", name, err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	tb.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-exited:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			<-exited
		}
		if tb.Failed() {
			tb.Logf("%s %s", name, report())
		}
	})
	return exited
}

// prometheusConfig scrapes Prometheus itself every second and loads one
// rule file, so the Targets, Service Discovery, Rules and Alerts pages
// have something to show.
const prometheusConfig = `global:
  scrape_interval: 1s
  evaluation_interval: 1s
rule_files:
  - rules.yml
scrape_configs:
  - job_name: prometheus
    static_configs:
      - targets: ['127.0.0.1:%PORT%']
`

const prometheusRules = `groups:
  - name: mesosgate-e2e
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
      - alert: GatewayTestAlwaysFiring
        expr: vector(1)
        labels:
          severity: none
        annotations:
          summary: an alert that always fires, for the Alerts page
`

// startPrometheus runs Debian's prometheus on a free loopback port.
func startPrometheus(t *testing.T) *app {
	t.Helper()
	bin := testsupport.Command(t, "prometheus", "prometheus")
	dir := t.TempDir()
	port := strconv.Itoa(freePort(t))
	write(t, filepath.Join(dir, "prometheus.yml"), strings.ReplaceAll(prometheusConfig, "%PORT%", port))
	write(t, filepath.Join(dir, "rules.yml"), prometheusRules)
	cmd := exec.Command(bin,
		"--config.file="+filepath.Join(dir, "prometheus.yml"),
		"--storage.tsdb.path="+filepath.Join(dir, "data"),
		"--web.listen-address=127.0.0.1:"+port)
	cmd.Dir = dir
	a := startApp(t, "prometheus", cmd, "http://127.0.0.1:"+port, "/-/ready")
	// A query shows something once the first scrape is in.
	testsupport.Eventually(t, "prometheus's first scrape", 30*time.Second, func() bool {
		var r struct {
			Data struct{ Result []any }
		}
		req, _ := http.NewRequest("GET", a.url+"/api/v1/query?query=up", nil)
		getJSON(t, req, &r)
		return len(r.Data.Result) > 0
	})
	return a
}

// syncthingOptions turn a generated configuration into one for a test:
// no discovery, relays, NAT, usage reports, crash reports or upgrades
// (nothing leaves loopback), the sync protocol on a port of the kernel's
// choosing, no browser started, no notification about GUI credentials.
var syncthingOptions = map[string]string{
	"<listenAddress>default</listenAddress>":                                       "<listenAddress>tcp://127.0.0.1:0</listenAddress>",
	"<globalAnnounceEnabled>true</globalAnnounceEnabled>":                          "<globalAnnounceEnabled>false</globalAnnounceEnabled>",
	"<localAnnounceEnabled>true</localAnnounceEnabled>":                            "<localAnnounceEnabled>false</localAnnounceEnabled>",
	"<relaysEnabled>true</relaysEnabled>":                                          "<relaysEnabled>false</relaysEnabled>",
	"<natEnabled>true</natEnabled>":                                                "<natEnabled>false</natEnabled>",
	"<startBrowser>true</startBrowser>":                                            "<startBrowser>false</startBrowser>",
	"<urAccepted>0</urAccepted>":                                                   "<urAccepted>-1</urAccepted>",
	"<crashReportingEnabled>true</crashReportingEnabled>":                          "<crashReportingEnabled>false</crashReportingEnabled>",
	"<autoUpgradeIntervalH>12</autoUpgradeIntervalH>":                              "<autoUpgradeIntervalH>0</autoUpgradeIntervalH>",
	"<unackedNotificationID>authenticationUserAndPassword</unackedNotificationID>": "",
}

// syncthing is a running Syncthing with its GUI.
type syncthing struct {
	*app
	home   string // its configuration directory
	apiKey string // for the test's own REST calls
}

// startSyncthing runs Debian's syncthing with its GUI on a free loopback
// port and one folder, "Sandbox", shared with no one.
func startSyncthing(t *testing.T) *syncthing {
	t.Helper()
	bin := testsupport.Command(t, "syncthing", "syncthing")
	dir := t.TempDir()
	home := filepath.Join(dir, "home")
	env := append(os.Environ(), "HOME="+dir, "STNOUPGRADE=1")
	gen := exec.Command(bin, "generate", "--home="+home, "--no-default-folder", "--skip-port-probing")
	gen.Env = env
	if out, err := gen.CombinedOutput(); err != nil {
		t.Fatalf("syncthing generate: %v\n%s", err, out)
	}
	b, err := os.ReadFile(filepath.Join(home, "config.xml"))
	if err != nil {
		t.Fatal(err)
	}
	config := string(b)
	for from, to := range syncthingOptions {
		if !strings.Contains(config, from) {
			t.Fatalf("syncthing's generated config.xml has no %s: this test knows syncthing 1.19's", from)
		}
		config = strings.Replace(config, from, to, 1)
	}
	device := regexp.MustCompile(`<device id="([A-Z0-9-]+)"`).FindStringSubmatch(config)
	key := regexp.MustCompile(`<apikey>([^<]+)</apikey>`).FindStringSubmatch(config)
	gui := regexp.MustCompile(`<gui [^>]*>\s*<address>([^<]+)</address>`).FindStringSubmatch(config)
	if device == nil || key == nil || gui == nil {
		t.Fatalf("syncthing's config.xml lacks a device id, API key or GUI address:\n%s", config)
	}
	port := strconv.Itoa(freePort(t))
	config = strings.Replace(config, "<address>"+gui[1]+"</address>", "<address>127.0.0.1:"+port+"</address>", 1)
	folder := `<folder id="sandbox" label="Sandbox" path="` + filepath.Join(dir, "sandbox") + `" type="sendreceive"><device id="` + device[1] + `"></device></folder>`
	config = strings.Replace(config, "<gui ", folder+"\n    <gui ", 1)
	write(t, filepath.Join(home, "config.xml"), config)
	cmd := exec.Command(bin, "serve", "--home="+home, "--no-browser", "--no-restart", "--no-upgrade")
	cmd.Env = env
	a := startApp(t, "syncthing", cmd, "http://127.0.0.1:"+port, "/")
	return &syncthing{app: a, home: home, apiKey: key[1]}
}

// deviceName reads this device's name from Syncthing's REST API.
func (s *syncthing) deviceName(t *testing.T) string {
	t.Helper()
	req, _ := http.NewRequest("GET", s.url+"/rest/config/devices", nil)
	req.Header.Set("X-API-Key", s.apiKey)
	var devices []map[string]any
	getJSON(t, req, &devices)
	if len(devices) == 0 {
		t.Fatal("syncthing lists no device")
	}
	name, _ := devices[0]["name"].(string)
	return name
}

// getJSON sends req and decodes its 200 answer into v.
func getJSON(t *testing.T, req *http.Request, v any) {
	t.Helper()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("%s %s: %s", req.Method, req.URL, resp.Status)
	}
	if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL, err)
	}
}

func write(t *testing.T, path, content string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o644); err != nil {
		t.Fatal(err)
	}
}
