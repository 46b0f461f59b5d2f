package server

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/klauspost/compress/zstd"
	"golang.org/x/net/websocket"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/upstream"
)

// frameworkInfo is what a simulated framework UI reports at api/info.
type frameworkInfo struct {
	Path            string `json:"path"`
	Host            string `json:"host"`
	Cookie          string `json:"cookie"`
	XForwardedFor   string `json:"x_forwarded_for"`
	XForwardedProto string `json:"x_forwarded_proto"`
	XForwardedHost  string `json:"x_forwarded_host"`
}

func (ts *tester) frameworkInfo(path string, headers ...string) frameworkInfo {
	ts.t.Helper()
	resp, body := ts.get(path, headers...)
	var info frameworkInfo
	if resp.StatusCode != 200 || json.Unmarshal([]byte(body), &info) != nil {
		ts.t.Fatalf("GET %s: %d\n%s", path, resp.StatusCode, body)
	}
	return info
}

// TestForwardingHeaders checks what a member learns about the client:
// spoofed forwarding headers are dropped, a trusted proxy's are kept and
// extended.
func TestForwardingHeaders(t *testing.T) {
	spoof := []string{
		"X-Forwarded-For", "6.6.6.6",
		"X-Forwarded-Proto", "http",
		"X-Forwarded-Host", "evil.example",
		"Forwarded", "for=6.6.6.6;host=evil.example",
	}
	t.Run("untrusted", func(t *testing.T) {
		ts := newTester(t, testerOptions{sim: sim.Options{}})
		fw := ts.sim.Frameworks()[0]
		info := ts.frameworkInfo("/service/"+fw.Name()+"/api/info", spoof...)
		// The client asked for "localhost" (SNI) on 127.0.0.1.
		_, port, _ := net.SplitHostPort(ts.addr)
		validated := net.JoinHostPort("localhost", port)
		want := frameworkInfo{Path: "/api/info", Host: fw.UI().HostPort(), XForwardedFor: "127.0.0.1", XForwardedProto: "https", XForwardedHost: validated}
		if info != want {
			t.Errorf("the framework saw %+v, want %+v", info, want)
		}
		// A Host header of the client's choosing is not the gateway's
		// name: the member learns the name the connection proved.
		req, _ := http.NewRequest("GET", ts.url+"/service/"+fw.Name()+"/api/info", nil)
		req.Host = "evil.example"
		resp, err := ts.client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var forged frameworkInfo
		if err := json.NewDecoder(resp.Body).Decode(&forged); err != nil || forged.XForwardedHost != validated {
			t.Errorf("with Host: evil.example the framework saw X-Forwarded-Host %q (%v), want %q", forged.XForwardedHost, err, validated)
		}
	})
	t.Run("trusted proxy", func(t *testing.T) {
		ts := newTester(t, testerOptions{sim: sim.Options{}, gateway: func(o *Options) {
			o.TrustedProxies = []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8")}
		}})
		fw := ts.sim.Frameworks()[0]
		info := ts.frameworkInfo("/service/"+fw.Name()+"/api/info", spoof...)
		want := frameworkInfo{Path: "/api/info", Host: fw.UI().HostPort(), XForwardedFor: "6.6.6.6, 127.0.0.1", XForwardedProto: "http", XForwardedHost: "evil.example"}
		if info != want {
			t.Errorf("the framework saw %+v, want %+v", info, want)
		}
	})
}

// TestFrameworkUnderAPath serves a UI registered as http://host:port/jenkins/
// at /service/jenkins/, its own root-relative links included.
func TestFrameworkUnderAPath(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{Frameworks: []sim.FrameworkSpec{{Name: "jenkins", UIPath: "/jenkins/"}}}})
	for path, want := range map[string]string{
		"/service/jenkins/api/info":         "/jenkins/api/info",
		"/service/jenkins/jenkins/api/info": "/jenkins/api/info", // a root-relative link, rewritten
	} {
		if got := ts.frameworkInfo(path).Path; got != want {
			t.Errorf("GET %s reached %s, want %s", path, got, want)
		}
	}
	resp, body := ts.get("/service/jenkins/")
	if resp.StatusCode != 200 || !strings.Contains(body, `href="/service/jenkins/jenkins/jobs"`) || !strings.Contains(body, `href="/service/jenkins/jobs"`) {
		t.Errorf("the page's links:\n%s", body)
	}
	for _, link := range []string{"/service/jenkins/jenkins/jobs", "/service/jenkins/jobs"} {
		if resp, _ := ts.get(link); resp.StatusCode != 200 {
			t.Errorf("GET %s: %d", link, resp.StatusCode)
		}
	}
	resp, _ = ts.get("/service/jenkins/redirect")
	if loc := resp.Header.Get("Location"); resp.StatusCode != 302 || loc != "/service/jenkins/jobs" {
		t.Errorf("redirect: %d %q", resp.StatusCode, loc)
	}
}

// TestAuthorizationPassesThrough sends the browser's credentials to the
// addressed member unchanged, and the member's 401 back to the browser.
func TestAuthorizationPassesThrough(t *testing.T) {
	creds := &sim.Credentials{Principal: "ops", Secret: "s3cret"}
	// The gateway discovers with credentials of its own (upstream's
	// Config.Credentials); proxied requests carry only the browser's.
	ts := newTester(t, testerOptions{sim: sim.Options{Modes: []sim.Mode{sim.SSL}, Auth: creds},
		credentials: &upstream.Credentials{Principal: creds.Principal, Secret: creds.Secret}})
	agent := ts.sim.Agents()[0]
	path := "/agent/" + agent.ID() + "/slave(1)/state"
	resp, _ := ts.get(path)
	if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), sim.RealmAgentReadOnly) {
		t.Errorf("without credentials: %d %q", resp.StatusCode, resp.Header.Get("WWW-Authenticate"))
	}
	req, _ := http.NewRequest("GET", ts.url+path, nil)
	req.SetBasicAuth(creds.Principal, creds.Secret)
	r, err := ts.client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	r.Body.Close()
	if r.StatusCode != 200 {
		t.Errorf("with the browser's credentials: %d", r.StatusCode)
	}
}

// TestEventStreamFirstEvent reads a framework's event stream through the
// gateway: the first event arrives while the stream goes on.
func TestEventStreamFirstEvent(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{}})
	fw := ts.sim.Frameworks()[0]
	for _, h2 := range []bool{false, true} {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		req, _ := http.NewRequestWithContext(ctx, "GET", ts.url+"/service/"+fw.Name()+"/events", nil)
		req.Header.Set("Accept", "text/event-stream")
		req.Header.Set("Accept-Encoding", "gzip")
		resp, err := ts.newClient(h2).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(resp.Body).ReadString('\n')
		if err != nil || line != "event: tick\n" {
			t.Errorf("h2=%v: first line %q, %v", h2, line, err)
		}
		if ce := resp.Header.Get("Content-Encoding"); ce != "" {
			t.Errorf("h2=%v: event stream sent with Content-Encoding %q", h2, ce)
		}
		resp.Body.Close()
		cancel()
	}
}

// TestWebSocket talks to a framework UI's WebSocket through the gateway.
func TestWebSocket(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{}, metrics: true})
	fw := ts.sim.Frameworks()[0]
	cfg, err := websocket.NewConfig("wss://"+ts.addr+"/service/"+fw.Name()+"/ws", ts.url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.TlsConfig = &tls.Config{RootCAs: testRoots, ServerName: "localhost"}
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatalf("dial the WebSocket through the gateway: %v", err)
	}
	defer ws.Close()
	ws.SetDeadline(time.Now().Add(10 * time.Second))
	var msg string
	if err := websocket.Message.Receive(ws, &msg); err != nil || msg != "welcome to "+fw.Name() {
		t.Fatalf("greeting %q, %v", msg, err)
	}
	websocket.Message.Send(ws, "hello")
	if err := websocket.Message.Receive(ws, &msg); err != nil || msg != "echo: hello" {
		t.Fatalf("echo %q, %v", msg, err)
	}
	// Counted as the 101 it was once it ends, though the status line went
	// out on the hijacked connection.
	ws.Close()
	testsupport.Eventually(t, "the WebSocket counted", 10*time.Second, func() bool {
		v, _ := ts.scrape().value("mesosgate_http_requests_total", "route", "service", "code", "101")
		return v == 1
	})
}

// TestMemberDiesMidDownload stops an agent while a large file streams
// through the gateway: the client's read fails promptly, it does not hang
// and does not see a complete file. The access log says why under the
// request's id (cut=member-body, at warn), and the metrics count the
// aborted response.
func TestMemberDiesMidDownload(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{Modes: []sim.Mode{sim.SSL, sim.Plain}, LargeFileSize: 256 << 20}, metrics: true})
	aborted := 0
	for _, agent := range ts.sim.Agents() {
		for _, h2 := range []bool{false, true} {
			t.Run(agent.Mode().String()+map[bool]string{false: "/http1", true: "/h2"}[h2], func(t *testing.T) {
				sb, err := agent.Sandboxes()
				if err != nil {
					t.Fatal(err)
				}
				path := "/agent/" + agent.ID() + "/files/download?path=" + url.QueryEscape(sb[0].Directory+"/"+sim.LargeFile)
				resp, err := ts.newClient(h2).Get(ts.url + path)
				if err != nil {
					t.Fatal(err)
				}
				defer resp.Body.Close()
				if resp.StatusCode != 200 || resp.ContentLength != 256<<20 {
					t.Fatalf("status %d, length %d", resp.StatusCode, resp.ContentLength)
				}
				if _, err := io.CopyN(io.Discard, resp.Body, 1<<20); err != nil {
					t.Fatalf("first MiB: %v", err)
				}
				if err := agent.Stop(); err != nil {
					t.Fatal(err)
				}
				defer agent.Restart(agent.Mode())
				done := make(chan error, 1)
				start := time.Now()
				go func() {
					n, err := io.Copy(io.Discard, resp.Body)
					if err == nil && n+1<<20 < resp.ContentLength {
						err = errors.New("the body ended early without an error")
					}
					done <- err
				}()
				select {
				case err := <-done:
					if err == nil {
						t.Fatalf("the whole file arrived although the agent died")
					}
					t.Logf("the client saw %q after %s", err, time.Since(start).Round(time.Millisecond))
				case <-time.After(20 * time.Second):
					t.Fatalf("the download hangs after the agent died")
				}
				aborted++
				line := "request_id=" + resp.Header.Get("X-Request-Id") + " method=GET"
				testsupport.Eventually(t, "the aborted response logged", 10*time.Second, func() bool {
					for l := range strings.Lines(ts.logs.String()) {
						if strings.Contains(l, line) && strings.Contains(l, "level=WARN") && strings.Contains(l, "status=-1") &&
							strings.Contains(l, "cut=member-body") && strings.Contains(l, `err="read from the member: `) {
							return true
						}
					}
					return false
				})
				testsupport.Eventually(t, "the aborted response counted", 10*time.Second, func() bool {
					v, _ := ts.scrape().value("mesosgate_http_responses_aborted_total", "route", "agent")
					return v == float64(aborted)
				})
			})
		}
	}
}

// TestModeSwitchBetweenRequests restarts an agent from plain HTTP to
// SSL-only between two requests on one keep-alive connection: the second
// succeeds (upstream re-probes and retries).
func TestModeSwitchBetweenRequests(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{Modes: []sim.Mode{sim.Plain}}})
	agent := ts.sim.Agents()[0]
	path := "/agent/" + agent.ID() + "/slave(1)/state"
	for i, mode := range []sim.Mode{sim.Plain, sim.Downgrade, sim.SSL, sim.SSLClientCert, sim.Plain} {
		if i > 0 {
			if err := agent.Restart(mode); err != nil {
				t.Fatal(err)
			}
		}
		if resp, body := ts.get(path); resp.StatusCode != 200 {
			t.Fatalf("after the switch to %s: %d\n%s", mode, resp.StatusCode, body)
		}
	}
}

// TestCompression checks the codings on both sides: pages are gzipped
// toward a browser that accepts gzip and sent plain to one that does not;
// a download and JSONP pass byte for byte.
func TestCompression(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{Modes: []sim.Mode{sim.Plain}}})
	agent := ts.sim.Agents()[0]

	resp, body := ts.get("/", "Accept-Encoding", "gzip")
	if vary := strings.Join(resp.Header.Values("Vary"), ","); resp.Header.Get("Content-Encoding") != "gzip" || !strings.Contains(vary, "Accept-Encoding") {
		t.Fatalf("page with gzip accepted: Content-Encoding %q, Vary %q", resp.Header.Get("Content-Encoding"), vary)
	}
	zr, err := gzip.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	page, err := io.ReadAll(zr)
	if err != nil || !strings.Contains(string(page), "data-mesosgate") {
		t.Errorf("gzipped page: %v, runtime injected: %v", err, strings.Contains(string(page), "data-mesosgate"))
	}
	resp, body = ts.get("/", "Accept-Encoding", "identity")
	if resp.Header.Get("Content-Encoding") != "" || body != string(page) {
		t.Errorf("page without gzip: Content-Encoding %q, same page: %v", resp.Header.Get("Content-Encoding"), body == string(page))
	}

	// JSONP: exactly the member's bytes.
	direct, err := http.Get("http://" + agent.Addr() + "/slave(1)/state?jsonp=cb")
	if err != nil {
		t.Fatal(err)
	}
	want, _ := io.ReadAll(direct.Body)
	direct.Body.Close()
	resp, got := ts.get("/agent/"+agent.ID()+"/slave(1)/state?jsonp=cb", "Accept-Encoding", "identity")
	if resp.Header.Get("Content-Type") != direct.Header.Get("Content-Type") || !strings.HasPrefix(got, "cb(") {
		t.Errorf("JSONP: %q %.40q", resp.Header.Get("Content-Type"), got)
	}
	if len(got) != len(want) {
		t.Errorf("JSONP through the gateway is %d bytes, the member's %d", len(got), len(want))
	}

	// A browser that takes zstd (Chromium and Firefox say
	// "gzip, deflate, br, zstd") gets zstd, the same page.
	resp, body = ts.get("/", "Accept-Encoding", "gzip, deflate, br, zstd")
	if resp.Header.Get("Content-Encoding") != "zstd" {
		t.Fatalf("page with zstd accepted: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}
	zd, err := zstd.NewReader(strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer zd.Close()
	if unzstd, err := io.ReadAll(zd); err != nil || string(unzstd) != string(page) {
		t.Errorf("zstd page: %v, same page: %v", err, string(unzstd) == string(page))
	}
	if resp, _ := ts.get("/", "Accept-Encoding", "gzip;q=1, zstd;q=0.5"); resp.Header.Get("Content-Encoding") != "gzip" {
		t.Errorf("gzip preferred by q: Content-Encoding %q", resp.Header.Get("Content-Encoding"))
	}

	// A download is the user's file: never recoded.
	sb, _ := agent.Sandboxes()
	for _, ae := range []string{"gzip", "gzip, deflate, br, zstd"} {
		resp, got = ts.get("/agent/"+agent.ID()+"/files/download?path="+url.QueryEscape(sb[0].Directory+"/stdout"), "Accept-Encoding", ae)
		if resp.Header.Get("Content-Encoding") != "" || !strings.Contains(got, "Starting task") {
			t.Errorf("download, %s accepted: Content-Encoding %q, %.60q", ae, resp.Header.Get("Content-Encoding"), got)
		}
	}
}

// TestHTTP2AndHSTS checks the front: HTTP/2 by ALPN, HSTS without
// downgrade, none with it.
func TestHTTP2AndHSTS(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{}})
	resp, _ := ts.do(ts.newClient(true), "GET", "/gateway/healthz")
	if resp.Proto != "HTTP/2.0" {
		t.Errorf("proto %s, want HTTP/2.0", resp.Proto)
	}
	if resp.Header.Get("Strict-Transport-Security") == "" {
		t.Error("no HSTS with TLS and downgrade off")
	}
	if resp.Header.Get("Content-Security-Policy") == "" || resp.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Error("the gateway's own page lacks its security headers")
	}

	down := newTester(t, testerOptions{sim: sim.Options{}, settings: func(s *tlsx.Settings) { s.SupportDowngrade = true }})
	resp, _ = down.get("/gateway/healthz")
	if resp.Header.Get("Strict-Transport-Security") != "" {
		t.Error("HSTS sent although downgrade is on")
	}
	plain, err := http.Get("http://" + down.addr + "/gateway/healthz")
	if err != nil {
		t.Fatal(err)
	}
	plain.Body.Close()
	if plain.StatusCode != 200 {
		t.Errorf("plain HTTP on the downgrade port: %d", plain.StatusCode)
	}
}

// TestSlowClientsCut opens connections that never finish their headers (or
// their TLS handshake): the gateway closes them at ReadHeaderTimeout.
func TestSlowClientsCut(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{}, serve: ServeOptions{ReadHeaderTimeout: 500 * time.Millisecond}})
	closedWithin := func(t *testing.T, conn net.Conn) {
		t.Helper()
		start := time.Now()
		conn.SetReadDeadline(time.Now().Add(10 * time.Second))
		_, err := io.Copy(io.Discard, conn)
		if ne, ok := err.(net.Error); ok && ne.Timeout() {
			t.Fatalf("the gateway kept a slow client for 10 s")
		}
		if d := time.Since(start); d < 400*time.Millisecond {
			t.Errorf("closed after %s, before the timeout", d)
		}
	}
	t.Run("headers", func(t *testing.T) {
		conn, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: testRoots, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		io.WriteString(conn, "GET /master/state HTTP/1.1\r\nHost: localhost\r\n")
		closedWithin(t, conn)
	})
	t.Run("handshake", func(t *testing.T) {
		conn, err := net.Dial("tcp", ts.addr)
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		closedWithin(t, conn)
	})
}

// TestRuntimeOnlyInDocuments injects the rewriter's runtime into pages the
// browser loads as documents, not into HTML a script fetches (AngularJS's
// templates), whose links are still rewritten.
func TestRuntimeOnlyInDocuments(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{}})
	fw := ts.sim.Frameworks()[0]
	for _, c := range []struct {
		dest    string
		runtime bool
	}{{"", true}, {"document", true}, {"iframe", true}, {"empty", false}} {
		resp, body := ts.get("/service/"+fw.Name()+"/", "Sec-Fetch-Dest", c.dest)
		if got := strings.Contains(body, "data-mesosgate"); got != c.runtime {
			t.Errorf("Sec-Fetch-Dest %q: runtime injected %v, want %v", c.dest, got, c.runtime)
		}
		if !strings.Contains(body, `href="/service/`+fw.Name()+`/jobs"`) {
			t.Errorf("Sec-Fetch-Dest %q: links not rewritten", c.dest)
		}
		if !strings.Contains(strings.Join(resp.Header.Values("Vary"), ","), "Sec-Fetch-Dest") {
			t.Errorf("Sec-Fetch-Dest %q: Vary %q", c.dest, resp.Header.Values("Vary"))
		}
	}
}

// TestShutdown ends the gateway while an event stream and a WebSocket are
// open and a download is running: the streams end at once (browsers
// reconnect them), the download may finish, and Serve returns. The event
// stream's access line says the shutdown cut it.
func TestShutdown(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{}, serve: ServeOptions{ShutdownTimeout: 20 * time.Second}})
	fw := ts.sim.Frameworks()[0]
	resp, err := ts.client.Get(ts.url + "/service/" + fw.Name() + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	events := bufio.NewReader(resp.Body)
	if _, err := events.ReadString('\n'); err != nil {
		t.Fatal(err)
	}
	streamEnded := make(chan error, 1)
	cfg, _ := websocket.NewConfig("wss://"+ts.addr+"/service/"+fw.Name()+"/ws", ts.url)
	cfg.TlsConfig = &tls.Config{RootCAs: testRoots, ServerName: "localhost"}
	ws, err := websocket.DialConfig(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	var msg string
	if err := websocket.Message.Receive(ws, &msg); err != nil {
		t.Fatal(err)
	}

	start := time.Now()
	ts.stop()
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %s with a stream open", d)
	}
	ws.SetDeadline(time.Now().Add(5 * time.Second))
	if err := websocket.Message.Receive(ws, &msg); err == nil {
		t.Errorf("the WebSocket still delivers after shutdown: %q", msg)
	}
	go func() {
		_, err := io.Copy(io.Discard, events)
		streamEnded <- err
	}()
	select {
	case <-streamEnded:
	case <-time.After(5 * time.Second):
		t.Errorf("the event stream goes on after shutdown")
	}
	if _, err := net.DialTimeout("tcp", ts.addr, time.Second); err == nil {
		t.Errorf("the listener still accepts after shutdown")
	}
	assertCut(t, ts.accessLine(resp.Header.Get("X-Request-Id")), "INFO", "shutdown", `err="the gateway shut down, which ends streams at once (browsers reconnect them)"`)
}

// TestOutgoingRequest checks what the member receives, with an httptest
// backend behind the gateway's proxy: the path below the route, the query
// as sent, hop-by-hop headers gone, the request id the client got back,
// gzip or identity only, and the member's own Host.
func TestOutgoingRequest(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{}})
	got := make(chan *http.Request, 1)
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got <- r
		w.Header().Set("Connection", "X-Member-Hop")
		w.Header().Set("X-Member-Hop", "1")
		w.Header().Set("Keep-Alive", "timeout=5")
		io.WriteString(w, "ok")
	}))
	defer member.Close()
	u, _ := url.Parse(member.URL)
	h := ts.gw.middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.gw.proxy(w, r, testDestination(r, u, "S1"), member.Client().Transport)
	}))
	for _, c := range []struct{ acceptEncoding, want string }{{"gzip, deflate, br, zstd", "gzip"}, {"br", "identity"}, {"", "identity"}} {
		req := httptest.NewRequest("GET", "/agent/S1/slave(1)/files/read?path=%2Ftmp%2Fa%20b&offset=0", nil)
		req.Header.Set("Connection", "X-Client-Hop")
		req.Header.Set("X-Client-Hop", "1")
		req.Header.Set("Te", "gzip")
		req.Header.Set("Proxy-Authorization", "Basic c2VjcmV0")
		req.Header.Set("X-Request-Id", "forged")
		if c.acceptEncoding != "" {
			req.Header.Set("Accept-Encoding", c.acceptEncoding)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		r := <-got
		if r.URL.RequestURI() != "/slave(1)/files/read?path=%2Ftmp%2Fa%20b&offset=0" {
			t.Errorf("the member got %s", r.URL.RequestURI())
		}
		for _, hop := range []string{"X-Client-Hop", "Te", "Proxy-Authorization", "Connection"} {
			if v := r.Header.Get(hop); v != "" {
				t.Errorf("hop-by-hop %s reached the member: %q", hop, v)
			}
		}
		if id := r.Header.Get("X-Request-Id"); id == "forged" || id == "" || id != rec.Header().Get("X-Request-Id") {
			t.Errorf("request id upstream %q, to the client %q", id, rec.Header().Get("X-Request-Id"))
		}
		if ae := r.Header.Get("Accept-Encoding"); ae != c.want {
			t.Errorf("Accept-Encoding %q from the browser: the member was asked for %q, want %q", c.acceptEncoding, ae, c.want)
		}
		if r.Host != u.Host {
			t.Errorf("Host %q, want the member's %q", r.Host, u.Host)
		}
		if rec.Header().Get("X-Member-Hop") != "" || rec.Header().Get("Keep-Alive") != "" || rec.Body.String() != "ok" {
			t.Errorf("response: %v %q", rec.Header(), rec.Body)
		}
	}
}

// testDestination sends a request on an agent's route to a test backend at
// u, as if upstream had resolved the route to it.
func testDestination(r *http.Request, u *url.URL, agent string) *upstream.Destination {
	route := upstream.ParseRoute(r.URL.EscapedPath())
	return &upstream.Destination{
		Route: route, Member: &upstream.Member{Role: upstream.RoleAgent, ID: agent, Address: u.Host},
		Scheme: u.Scheme, Address: u.Host, Host: u.Host, Path: route.Tail, KeepAuthorization: true,
	}
}
