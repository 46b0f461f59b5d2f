package e2e

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/internal/testsupport"
	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/upstream"
)

// This file holds the isolation tests of issue 14 that need no browser,
// run against the real gateway binary in front of a simulated cluster
// whose state names hostile frameworks and agents: the address policy
// (the gateway is no way into the network), the loop guard, stalled
// bodies and slow clients, dot segments, and the checks at start. The
// browser's side is isolation_browser_test.go.

// reply is what a client got from the gateway.
type reply struct {
	status int
	header http.Header
	body   string
}

// problem decodes a problem+json body, nil when the body is not one.
func (r reply) problem() map[string]any {
	if !strings.HasPrefix(r.header.Get("Content-Type"), "application/problem+json") {
		return nil
	}
	var p map[string]any
	if json.Unmarshal([]byte(r.body), &p) != nil {
		return nil
	}
	return p
}

// send makes one request through the gateway as an API client (Accept:
// application/json) with the header pairs given.
func (g *gateway) send(t testing.TB, method, path string, body io.Reader, header ...string) reply {
	t.Helper()
	req, err := http.NewRequest(method, g.url+path, body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept", "application/json")
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	resp, err := g.client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// countingListener is a service on the network that the gateway must
// never reach: it counts the connections it accepts, and answers each
// request with a secret.
type countingListener struct {
	net.Listener
	accepted atomic.Int64
}

func (l *countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.accepted.Add(1)
	}
	return c, err
}

// internalService starts such a service on addr ("127.0.0.2:0": another
// loopback address, no member's).
func internalService(t *testing.T, addr string) *countingListener {
	t.Helper()
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		t.Skipf("cannot listen on %s (%v): this machine's loopback has one address", addr, err)
	}
	l := &countingListener{Listener: ln}
	srv := &http.Server{Handler: http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "internal secret")
	}), ReadHeaderTimeout: 5 * time.Second}
	go srv.Serve(l)
	t.Cleanup(func() { srv.Close() })
	return l
}

// portsAndIDs takes what differs between two answers that must say the
// same (ports, request ids, framework names) out of a body.
var portsAndIDs = regexp.MustCompile(`:[0-9]{2,5}\b|"request_id": "[^"]*"|internal-(open|closed)`)

// TestAddressPolicy: the master's state names framework UIs and agents
// at addresses the gateway must not connect to. For each, a client
// asking the real gateway gets a 403 problem naming the setting
// (--service-allow) and the rule, nothing reaches the address, and an
// open port cannot be told from a closed one: not by the answer, not by
// /gateway/api/cluster. Covered:
//   - framework UIs at a non-member address (an internal service on
//     another loopback address, open and closed ports), at the cloud
//     metadata address (IPv4, and IPv4-mapped IPv6), at the gateway's own
//     listening address, and at a name (localhost) that resolves to the
//     gateway's own address;
//   - agents whose pid is the metadata address or the gateway's own.
//
// A framework UI on a member's host is served (the control: the policy
// does not refuse everything).
func TestAddressPolicy(t *testing.T) {
	t.Parallel()
	open := internalService(t, "127.0.0.2:0")
	closedLn, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := closedLn.Addr().String()
	closedLn.Close()
	port := strconv.Itoa(freePort(t))
	self := "127.0.0.1:" + port
	uis := []sim.FrameworkSpec{
		{Name: "marathon"},
		{Name: "internal-open", WebUIURL: "http://" + open.Addr().String() + "/"},
		{Name: "internal-closed", WebUIURL: "http://" + closed + "/"},
		{Name: "metadata", WebUIURL: "http://169.254.169.254/latest/meta-data/"},
		{Name: "metadata-mapped", WebUIURL: "http://[::ffff:169.254.169.254]:80/"},
		{Name: "gateway-self", WebUIURL: "https://" + self + "/"},
		{Name: "gateway-by-name", WebUIURL: "https://localhost:" + port + "/"},
	}
	c := startCluster(t, sim.Options{Modes: []sim.Mode{sim.Plain, sim.Plain, sim.Plain}, Frameworks: uis})
	agents := c.Agents()
	agents[1].ClaimPID("169.254.169.254:5051")
	agents[2].ClaimPID(self)
	g := startGatewayWith(t, c, gatewayOptions{Listen: self})

	if r := g.send(t, "GET", "/service/marathon/api/info", nil); r.status != 200 {
		t.Fatalf("a framework UI on a member's host: %d %.300s", r.status, r.body)
	}
	refused := func(t *testing.T, path, rule string) reply {
		t.Helper()
		r := g.send(t, "GET", path, nil)
		p := r.problem()
		detail, _ := p["detail"].(string)
		action, _ := p["action"].(string)
		if r.status != http.StatusForbidden || p == nil || p["title"] != "Address not allowed" ||
			!strings.Contains(detail, rule) || !strings.Contains(action, "--service-allow") {
			t.Errorf("GET %s: %d %s\nwant 403 \"Address not allowed\" saying %q and naming --service-allow", path, r.status, r.body, rule)
		}
		return r
	}
	const notMember = "is neither a cluster member's host nor in --service-allow"
	const metadata = "is a link-local or cloud metadata address"
	const own = "is the gateway's own address"
	t.Run("framework_UIs", func(t *testing.T) {
		openReply := refused(t, "/service/internal-open/", notMember)
		closedReply := refused(t, "/service/internal-closed/", notMember)
		if a, b := portsAndIDs.ReplaceAllString(openReply.body, ""), portsAndIDs.ReplaceAllString(closedReply.body, ""); a != b {
			t.Errorf("an open and a closed port get different answers:\n%s\n%s", openReply.body, closedReply.body)
		}
		refused(t, "/service/metadata/latest/meta-data/iam/", metadata)
		refused(t, "/service/metadata-mapped/", metadata)
		refused(t, "/service/gateway-self/gateway/api/cluster", own)
		refused(t, "/service/gateway-by-name/", own)
		if n := open.accepted.Load(); n != 0 {
			t.Errorf("the internal service accepted %d connections", n)
		}
	})
	t.Run("agents", func(t *testing.T) {
		refused(t, "/agent/"+agents[1].ID()+"/slave(1)/state", metadata)
		refused(t, "/agent/"+agents[2].ID()+"/slave(1)/state", own)
	})
	t.Run("cluster_report", func(t *testing.T) {
		var rep upstream.Report
		r := g.send(t, "GET", "/gateway/api/cluster", nil)
		if err := json.Unmarshal([]byte(r.body), &rep); err != nil {
			t.Fatalf("/gateway/api/cluster: %v", err)
		}
		for _, want := range []struct{ addr, rule string }{{"169.254.169.254:5051", metadata}, {self, own}} {
			m := memberAt(&rep, want.addr)
			if m == nil {
				t.Errorf("no member at %s in the report", want.addr)
				continue
			}
			if m.Speaks != upstream.Unreachable || !strings.Contains(m.Error+m.TLSError+m.PlainError, want.rule) {
				t.Errorf("the agent at %s: speaks %q, error %q / %q / %q, want unreachable by the rule %q", want.addr, m.Speaks, m.Error, m.TLSError, m.PlainError, want.rule)
			}
		}
		// Framework UIs are never probed: the report says where each
		// claims to be, and nothing about what answers there.
		var fws []string
		for _, f := range rep.Frameworks {
			if strings.HasPrefix(f.Name, "internal-") {
				b, _ := json.Marshal(f)
				fws = append(fws, portsAndIDs.ReplaceAllString(strings.ReplaceAll(string(b), f.ID, ""), ""))
			}
		}
		if len(fws) != 2 || fws[0] != fws[1] {
			t.Errorf("the report tells the open and the closed port apart: %v", fws)
		}
		if n := open.accepted.Load(); n != 0 {
			t.Errorf("the internal service accepted %d connections", n)
		}
	})
}

// forwarder is a TCP load balancer in front of addr: the public address a
// framework may have been configured with. It counts the connections it
// accepted.
func forwarder(t *testing.T, addr string) (string, *atomic.Int64) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	var accepted atomic.Int64
	go func() {
		for {
			in, err := ln.Accept()
			if err != nil {
				return
			}
			accepted.Add(1)
			go func() {
				defer in.Close()
				out, err := net.Dial("tcp", addr)
				if err != nil {
					return
				}
				defer out.Close()
				go func() { io.Copy(out, in); out.(*net.TCPConn).CloseWrite() }()
				io.Copy(in, out)
			}()
		}
	}()
	return ln.Addr().String(), &accepted
}

// fdCount is how many file descriptors process pid holds.
func fdCount(pid int) int {
	entries, _ := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/fd")
	return len(entries)
}

// resources samples a process's RSS and file descriptors until stop.
type resources struct {
	pid            int
	peakRSS        float64
	peakFDs        int
	stop, finished chan struct{}
}

func sampleResources(pid int) *resources {
	r := &resources{pid: pid, stop: make(chan struct{}), finished: make(chan struct{})}
	go func() {
		defer close(r.finished)
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			r.peakRSS = max(r.peakRSS, procStatusMB(pid, "VmRSS:"))
			r.peakFDs = max(r.peakFDs, fdCount(pid))
			select {
			case <-r.stop:
				return
			case <-tick.C:
			}
		}
	}()
	return r
}

func (r *resources) end() { close(r.stop); <-r.finished }

// requestCount sums mesosgate_http_requests_total for a route class and
// status code ("" for any).
func (g *gateway) requestCount(t testing.TB, route, code string) int {
	t.Helper()
	r := g.send(t, "GET", "/gateway/metrics", nil)
	n := 0
	for _, line := range strings.Split(r.body, "\n") {
		rest, ok := strings.CutPrefix(line, "mesosgate_http_requests_total{")
		if !ok || !strings.Contains(rest, `route="`+route+`"`) || code != "" && !strings.Contains(rest, `code="`+code+`"`) {
			continue
		}
		v, _ := strconv.ParseFloat(rest[strings.LastIndexByte(rest, ' ')+1:], 64)
		n += int(v)
	}
	return n
}

// TestLoopGuard: a framework configured with its public URL behind the
// gateway (its webui_url leads back to the gateway through a load
// balancer) makes each request come back to the gateway once, where it is
// answered 508 at once: rounds of 3 and of 100 concurrent requests, each
// answered 508 within a browser's patience, the gateway serving exactly
// two requests per request (the client's and its own come back) and
// refusing exactly one, with RSS and file descriptors flat. (The issue
// measured 5,149 chained requests, 8,318 descriptors and 1.58 GB for
// three.) The numbers are logged.
func TestLoopGuard(t *testing.T) {
	t.Parallel()
	c := startCluster(t, sim.Options{Frameworks: []sim.FrameworkSpec{}})
	g := startGatewayWith(t, c, gatewayOptions{})
	public, accepted := forwarder(t, strings.TrimPrefix(g.url, "https://localhost"))
	if _, err := c.AddFramework(sim.FrameworkSpec{Name: "loop", WebUIURL: "https://localhost:" + strings.Split(public, ":")[1] + "/service/loop/"}); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "the framework in the gateway's map", 20*time.Second, func() bool {
		return strings.Contains(g.send(t, "GET", "/gateway/api/cluster", nil).body, `"name": "loop"`)
	})
	pid := g.cmd.Process.Pid
	client := *g.client
	client.Timeout = 4 * time.Second // the issue's client
	for _, n := range []int{3, 100} {
		before := struct {
			rss             float64
			fds, loops, svc int
		}{g.rss(), fdCount(pid), g.requestCount(t, "refused", "508"), g.requestCount(t, "service", "")}
		conns := accepted.Load()
		g.resetPeak()
		res := sampleResources(pid)
		statuses := make(chan int, n)
		for range n {
			go func() {
				resp, err := client.Get(g.url + "/service/loop/jobs")
				if err != nil {
					statuses <- 0
					return
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				statuses <- resp.StatusCode
			}()
		}
		var got []int
		for range n {
			got = append(got, <-statuses)
		}
		res.end()
		for _, s := range got {
			if s != http.StatusLoopDetected {
				t.Errorf("%d requests: a request got %d, want 508 (all: %v)", n, s, got)
				break
			}
		}
		loops, svc := g.requestCount(t, "refused", "508")-before.loops, g.requestCount(t, "service", "")-before.svc
		if loops != n || svc != n {
			t.Errorf("%d requests: the gateway refused %d looped requests and served %d to the framework, want %d each", n, loops, svc, n)
		}
		// Idle connections through the balancer are kept, two descriptors
		// each (the gateway's to the balancer, the balancer's to it).
		settled := fdCount(pid)
		t.Logf("loop, %d concurrent requests: RSS %.1f MiB before, peak %.1f (VmHWM %.1f), %.1f after; fds %d before, peak %d, %d after; %d connections through the balancer",
			n, before.rss, res.peakRSS, g.peakRSS(), g.rss(), before.fds, res.peakFDs, settled, accepted.Load()-conns)
		if res.peakFDs > before.fds+4*n+16 {
			t.Errorf("%d requests held %d descriptors (from %d)", n, res.peakFDs, before.fds)
		}
		if res.peakRSS > before.rss+64 {
			t.Errorf("%d requests took RSS from %.1f to %.1f MiB", n, before.rss, res.peakRSS)
		}
	}
	if logged := strings.Count(g.stderr.String(), "msg=\"request loop: "); logged != 103 {
		t.Errorf("%d loops logged, want 103", logged)
	}
}

// TestDotSegmentsRefused sends, with curl --path-as-is, paths whose
// segments climb out of their route the ways servers behind a proxy read
// them: "..;" (Tomcat and Jetty drop a segment's ;parameters), "..;x",
// encoded dots and semicolons, backslashes. Each is a 400 problem saying
// the path leaves its route, and no member or framework UI receives it.
func TestDotSegmentsRefused(t *testing.T) {
	t.Parallel()
	testsupport.Command(t, "curl", "curl")
	members := &memberLog{}
	c := startCluster(t, sim.Options{Modes: []sim.Mode{sim.Plain}, Frameworks: []sim.FrameworkSpec{{Name: "marathon"}, {Name: "jenkins", UIPath: "/jenkins/"}}, Observe: members.observe})
	g := startGateway(t, c)
	agent := "/agent/" + c.Agents()[0].ID()
	for _, path := range []string{
		"/service/marathon/..;/jenkins/",
		"/service/jenkins/..;/..;/master/state",
		"/service/marathon/..;x=1/api/info",
		"/service/marathon/%2e%2e;/api/info",
		"/service/marathon/..%3b/api/info",
		"/service/marathon/.;/..;/api/info",
		`/service/marathon/..\api\info`,
		"/service/marathon/..%5capi/info",
		agent + "/..;/..;/master/state",
		"/mesos/..;/gateway/api/cluster",
	} {
		t.Run(path, func(t *testing.T) {
			r := curl(t, "--path-as-is", "-H", "Accept: application/json", g.url+path)
			if r.status != http.StatusBadRequest || !strings.Contains(r.header, "application/problem+json") || !strings.Contains(r.body, "Path leaves its route") {
				t.Errorf("%s", r)
			}
		})
	}
	// A path parameter that climbs nowhere is the framework's to read
	// (the simulated UI answers it 404, its own answer).
	curl(t, g.url+"/service/marathon/api/info;jsessionid=1")
	if got := members.find("GET", "/api/info;jsessionid=1"); len(got) != 1 {
		t.Errorf("the framework received %v, want the path with its parameter", got)
	}
	for _, m := range members.all() {
		if strings.Contains(m.URI, "..") || strings.Contains(strings.ToLower(m.URI), "%2e") || strings.Contains(m.URI, `\`) {
			t.Errorf("the %s %s received %s %s", m.Role, m.Member, m.Method, m.URI)
		}
	}
}

// TestBadStartIsolation starts the real binary with the settings issue 14
// found checked too late or said twice: TLS 1.2 and 1.3 both disabled
// (the internal CA and its key were written before the error), a CA file
// that holds no certificate (only a warning), and a front certificate
// that does not load (garbage, a key of another certificate, an encrypted
// key without or with a wrong passphrase, in both of OpenSSL's encrypted
// forms), which also printed "SSL is enabled but has no certificate".
// Each is one line naming the setting, exit status 2, and an empty data
// directory.
func TestBadStartIsolation(t *testing.T) {
	openssl := testsupport.Command(t, "openssl", "openssl")
	dir := t.TempDir()
	file := func(name, content string) string {
		p := dir + "/" + name
		writeFile(t, p, content)
		return p
	}
	pair := func(name string) (string, string) {
		leaf, err := pki.CA.Issue(tlsx.LeafRequest{DNSNames: []string{"localhost"}})
		if err != nil {
			t.Fatal(err)
		}
		cert, key := dir+"/"+name+".pem", dir+"/"+name+"-key.pem"
		if err := leaf.WriteFiles(cert, key); err != nil {
			t.Fatal(err)
		}
		return cert, key
	}
	cert, key := pair("gw")
	otherCert, _ := pair("other")
	garbage := file("garbage.pem", "not a certificate\n")
	right, wrong := file("pass", "correct horse\n"), file("wrong-pass", "battery staple\n")
	encrypted := func(name string, traditional bool) string {
		out := dir + "/" + name
		args := []string{"pkey", "-in", key, "-out", out, "-aes256", "-passout", "file:" + right}
		if traditional {
			args = append(args, "-traditional")
		}
		if b, err := exec.Command(openssl, args...).CombinedOutput(); err != nil {
			t.Fatalf("openssl %v: %v\n%s", args, err, b)
		}
		return out
	}
	pkcs8, legacy := encrypted("pkcs8.pem", false), encrypted("legacy.pem", true)
	files := func(cert, key string, more ...string) []string {
		return append([]string{"LIBPROCESS_SSL_CERT_FILE=" + cert, "LIBPROCESS_SSL_KEY_FILE=" + key}, more...)
	}
	tests := []struct {
		name string
		env  []string
		want string
	}{
		{"no_TLS_version", []string{"LIBPROCESS_SSL_ENABLE_TLS_V1_2=false", "LIBPROCESS_SSL_ENABLE_TLS_V1_3=false"}, "every TLS version is disabled"},
		{"CA_file_without_certificate", []string{"LIBPROCESS_SSL_CA_FILE=" + garbage}, `LIBPROCESS_SSL_CA_FILE "` + garbage + `" holds no PEM certificate`},
		{"garbage_certificate", files(garbage, key), `LIBPROCESS_SSL_CERT_FILE "` + garbage + `" holds no PEM certificate`},
		{"key_of_another_certificate", files(otherCert, key), "does not match the certificate"},
		{"encrypted_PKCS8_key_without_passphrase", files(cert, pkcs8), "the key is encrypted: give its passphrase"},
		{"encrypted_legacy_key_without_passphrase", files(cert, legacy), "the key is encrypted: give its passphrase"},
		{"encrypted_PKCS8_key_wrong_passphrase", files(cert, pkcs8, "MESOSGATE_SSL_KEY_PASSPHRASE_FILE="+wrong), "the passphrase does not decrypt this key"},
		{"encrypted_legacy_key_wrong_passphrase", files(cert, legacy, "MESOSGATE_SSL_KEY_PASSPHRASE_FILE="+wrong), "the passphrase does not decrypt this key"},
	}
	master := closedPort(t)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			assertBadStart(t, []string{"--master", master}, tt.env, tt.want, "")
		})
	}
	// The control: the right passphrase starts the gateway (MESOSGATE_SSL_*
	// over the harness's LIBPROCESS_SSL_* files).
	t.Run("encrypted_key_right_passphrase", func(t *testing.T) {
		c := startCluster(t, sim.Options{Frameworks: []sim.FrameworkSpec{}})
		g := startGatewayWith(t, c, gatewayOptions{Env: []string{"MESOSGATE_SSL_CERT_FILE=" + cert, "MESOSGATE_SSL_KEY_FILE=" + legacy, "MESOSGATE_SSL_KEY_PASSPHRASE_FILE=" + right}})
		if !strings.Contains(g.stderr.String(), "cert_file="+cert) {
			t.Errorf("the gateway did not load %s:\n%s", cert, g.stderr)
		}
	})
}
