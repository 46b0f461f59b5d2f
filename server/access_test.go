package server

import (
	"bufio"
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/caddyserver/certmagic"
	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/internal/testsupport"
	"github.com/mesosgate/mesosgate/upstream"
)

// send makes a request with a body through the gateway.
func (ts *tester) send(method, path, body string, headers ...string) (*http.Response, string) {
	ts.t.Helper()
	req, err := http.NewRequest(method, ts.url+path, strings.NewReader(body))
	if err != nil {
		ts.t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := ts.client.Do(req)
	if err != nil {
		ts.t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestWritesRefusedByDefault: a gateway without authentication is
// read-only. What an attacker tried first reaches no member: an anonymous
// POST /master/teardown from a foreign page, a v1 TEARDOWN, libprocess's
// /logging/toggle over GET. Reads pass, a v1 GET_STATE included; the
// refusal names the setting; every write is audited and counted.
func TestWritesRefusedByDefault(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{Modes: []sim.Mode{sim.Plain}}, metrics: true})
	agent := ts.sim.Agents()[0].ID()
	refused := []struct {
		name, method, path, body string
		headers                  []string
	}{
		{"teardown from a foreign origin", "POST", "/master/teardown", "frameworkId=F1", []string{"Origin", "https://evil.example", "Content-Type", "application/x-www-form-urlencoded"}},
		{"v1 TEARDOWN", "POST", "/api/v1", `{"type":"TEARDOWN","teardown":{"framework_id":{"value":"F1"}}}`, []string{"Content-Type", "application/json"}},
		{"v1 TEARDOWN under /mesos", "POST", "/mesos/master/api/v1", `{"type":"TEARDOWN"}`, []string{"Content-Type", "application/json"}},
		{"agent v1 KILL_CONTAINER", "POST", "/agent/" + agent + "/api/v1", `{"type":"KILL_CONTAINER"}`, []string{"Content-Type", "application/json"}},
		{"logging toggle over GET", "GET", "/logging/toggle?level=3&duration=1hrs", "", nil},
		{"v1 call of no known type", "POST", "/api/v1", `{"type":"NOT_A_CALL"}`, []string{"Content-Type", "application/json"}},
		{"v1 body that is not JSON", "POST", "/api/v1", `not json`, []string{"Content-Type", "application/json"}},
		{"DELETE to a framework UI", "DELETE", "/service/marathon/v2/apps/x", "", nil},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			resp, body := ts.send(tt.method, tt.path, tt.body, tt.headers...)
			if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "--allow-writes") || !strings.Contains(body, "2025:forbidden") {
				t.Errorf("%d %s", resp.StatusCode, body)
			}
		})
	}
	t.Run("reads pass, a v1 read call included", func(t *testing.T) {
		resp, body := ts.send("POST", "/api/v1", `{"type":"GET_STATE"}`, "Content-Type", "application/json")
		if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"get_state"`) {
			t.Errorf("GET_STATE: %d %.200s", resp.StatusCode, body)
		}
		if resp, _ := ts.get("/master/state"); resp.StatusCode != http.StatusOK {
			t.Errorf("GET /master/state: %d", resp.StatusCode)
		}
	})
	t.Run("audited and counted", func(t *testing.T) {
		logs := ts.logs.String()
		for _, want := range []string{`msg="write refused"`, "identity=anonymous", "role=viewer", "call=TEARDOWN", "status=403", "route=agent"} {
			if !strings.Contains(logs, want) {
				t.Errorf("the audit log lacks %s", want)
			}
		}
		_, metrics := ts.get("/gateway/metrics")
		for _, want := range []string{`mesosgate_access_decisions_total{decision="refused",operation="write"} 8`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

// TestAllowWrites: with --allow-writes everyone may write, but a write
// from a page of another site is refused all the same (CSRF).
func TestAllowWrites(t *testing.T) {
	a, err := access.New(context.Background(), access.Config{AllowWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTester(t, testerOptions{sim: sim.Options{Modes: []sim.Mode{sim.Plain}}, gateway: func(o *Options) { o.Access = a }})
	call := `{"type":"GET_HEALTH"}`
	// A write the simulated master does not implement: it answers 501,
	// which shows the request reached it.
	resp, body := ts.send("POST", "/api/v1", `{"type":"TEARDOWN"}`, "Content-Type", "application/json")
	if resp.StatusCode != http.StatusNotImplemented || !strings.Contains(body, "does not implement TEARDOWN") {
		t.Errorf("allowed write: %d %s", resp.StatusCode, body)
	}
	resp, body = ts.send("POST", "/api/v1", `{"type":"TEARDOWN"}`, "Content-Type", "application/json", "Origin", "https://evil.example")
	if resp.StatusCode != http.StatusForbidden || !strings.Contains(body, "another site") {
		t.Errorf("cross-site write: %d %s", resp.StatusCode, body)
	}
	resp, _ = ts.send("POST", "/api/v1", `{"type":"TEARDOWN"}`, "Content-Type", "application/json", "Origin", ts.url)
	if resp.StatusCode != http.StatusNotImplemented {
		t.Errorf("same-origin write: %d", resp.StatusCode)
	}
	resp, _ = ts.send("POST", "/api/v1", call, "Content-Type", "application/json", "Sec-Fetch-Site", "cross-site")
	if resp.StatusCode != http.StatusOK {
		t.Errorf("a cross-site read call is a read: %d", resp.StatusCode)
	}
	if logs := ts.logs.String(); !strings.Contains(logs, `msg="write allowed"`) || !strings.Contains(logs, "status=501") {
		t.Errorf("the allowed write is not audited with its status:\n%s", logs)
	}
}

// TestStalledBody: a client that stops sending its request body midway is
// cut after the body idle timeout with 408, logged with why, and the
// member connection the body was streaming to is released: the member's
// in-flight slot is free for the next request even with one slot per
// member. The body goes to a libprocess endpoint (/master/teardown), which
// the gateway streams to the member unread (a v1 call's JSON is read by
// access control first).
func TestStalledBody(t *testing.T) {
	a, err := access.New(context.Background(), access.Config{AllowWrites: true})
	if err != nil {
		t.Fatal(err)
	}
	ts := newTester(t, testerOptions{
		sim:      sim.Options{Modes: []sim.Mode{sim.Plain}},
		gateway:  func(o *Options) { o.Access, o.BodyIdleTimeout = a, 300*time.Millisecond },
		upstream: func(c *upstream.Config) { c.MaxInFlight, c.BusyWait = 1, 100*time.Millisecond },
	})
	conn, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: testRoots, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	fmt.Fprintf(conn, "POST /master/teardown HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nframeworkId=")
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
	if err != nil {
		t.Fatalf("no answer to the stalled body: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusRequestTimeout || time.Since(start) > 5*time.Second {
		t.Errorf("stalled body: %d after %s, want 408 after about 300ms", resp.StatusCode, time.Since(start))
	}
	if logs := ts.logs.String(); !strings.Contains(logs, `msg="request failed" request_id=`+resp.Header.Get("X-Request-Id")) ||
		!strings.Contains(logs, `err="the request body went quiet for 300ms (body idle timeout)`) {
		t.Errorf("the 408 is not logged with why:\n%s", logs)
	}
	if r, body := ts.get("/master/state"); r.StatusCode != http.StatusOK {
		t.Errorf("the next request to the leader: %d %.200s", r.StatusCode, body)
	}
}

// TestUnreadBodyAnswered: a request answered before its body was read (a
// write refused, a member whose bound is full) gets its answer at once on
// a connection that then closes, even when the client sends no more of
// its body: net/http would read the rest of the body before sending the
// header, and wait for it as long as the client liked (found by e2e
// TestStalledBodiesAndSlowClients: stalled bodies answered 503 over
// HTTP/1.1 never got the answer).
func TestUnreadBodyAnswered(t *testing.T) {
	for _, tt := range []struct {
		name        string
		allowWrites bool
		path        string
		status      int
	}{
		{"write refused", false, "/master/teardown", http.StatusForbidden},
		{"member busy", true, "/master/teardown", http.StatusServiceUnavailable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			a, err := access.New(context.Background(), access.Config{AllowWrites: tt.allowWrites})
			if err != nil {
				t.Fatal(err)
			}
			ts := newTester(t, testerOptions{
				sim:      sim.Options{Modes: []sim.Mode{sim.Plain}},
				gateway:  func(o *Options) { o.Access, o.BodyIdleTimeout = a, time.Minute },
				upstream: func(c *upstream.Config) { c.MaxInFlight, c.BusyWait = 1, 100*time.Millisecond },
			})
			// send sends a POST whose body stops after a few bytes.
			send := func() net.Conn {
				conn, err := tls.Dial("tcp", ts.addr, &tls.Config{RootCAs: testRoots, ServerName: "localhost", NextProtos: []string{"http/1.1"}})
				if err != nil {
					t.Fatal(err)
				}
				t.Cleanup(func() { conn.Close() })
				fmt.Fprintf(conn, "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 1000\r\n\r\nframeworkId=", tt.path)
				return conn
			}
			if tt.status == http.StatusServiceUnavailable {
				send() // holds the member's one slot (a minute)
				testsupport.Eventually(t, "the member's slot taken", 10*time.Second, func() bool {
					r, _ := ts.get("/master/state")
					return r.StatusCode == http.StatusServiceUnavailable
				})
			}
			start := time.Now()
			conn := send()
			conn.SetReadDeadline(time.Now().Add(20 * time.Second))
			resp, err := http.ReadResponse(bufio.NewReader(conn), nil)
			if err != nil {
				t.Fatalf("no answer: %v", err)
			}
			resp.Body.Close()
			if took := time.Since(start); resp.StatusCode != tt.status || !resp.Close || took > 10*time.Second {
				t.Errorf("%d (closing: %v) after %s, want %d at once on a closing connection", resp.StatusCode, resp.Close, took, tt.status)
			}
		})
	}
}

// TestMemberBusy: beyond the bound of requests in flight to one member, a
// request waits a moment, then gets 503 saying so.
func TestMemberBusy(t *testing.T) {
	ts := newTester(t, testerOptions{
		sim:      sim.Options{},
		upstream: func(c *upstream.Config) { c.MaxInFlight, c.BusyWait = 1, 200*time.Millisecond },
	})
	fw := ts.sim.Frameworks()[0]
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", ts.url+"/service/"+fw.Name()+"/events", nil)
	stream, err := ts.client.Do(req) // an event stream holds the one slot
	if err != nil {
		t.Fatal(err)
	}
	defer stream.Body.Close()
	resp, body := ts.get("/service/" + fw.Name() + "/api/info")
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.Contains(body, "member-busy") || resp.Header.Get("Retry-After") == "" {
		t.Errorf("with the slot taken: %d %s", resp.StatusCode, body)
	}
	cancel()
	stream.Body.Close()
	testsupport.Eventually(t, "the slot freed", 5*time.Second, func() bool {
		r, _ := ts.get("/service/" + fw.Name() + "/api/info")
		return r.StatusCode == http.StatusOK
	})
}

// TestSessionSecret: without --session-key-file, the key sealing sessions
// is made once in the storage, 32 random bytes readable by the gateway's
// user only, and every gateway sharing the storage gets the same, even
// when they start together; another storage makes another key.
func TestSessionSecret(t *testing.T) {
	dir := t.TempDir()
	storage := &certmagic.FileStorage{Path: filepath.Join(dir, "certmagic")}
	keys := make([][]byte, 8)
	var wg sync.WaitGroup
	for i := range keys {
		wg.Go(func() {
			k, err := sessionSecret(storage, slog.New(slog.DiscardHandler))(context.Background())
			if err != nil {
				t.Error(err)
			}
			keys[i] = k
		})
	}
	wg.Wait()
	for i, k := range keys {
		if len(k) != 32 || !bytes.Equal(k, keys[0]) {
			t.Fatalf("gateway %d got %x, gateway 0 %x", i, k, keys[0])
		}
	}
	fi, err := os.Stat(filepath.Join(dir, "certmagic", "mesosgate", "session.key"))
	if err != nil || fi.Mode().Perm() != 0o600 {
		t.Errorf("the key's file: %v, mode %v; want 0600", err, fi.Mode().Perm())
	}
	other, err := sessionSecret(&certmagic.FileStorage{Path: t.TempDir()}, slog.New(slog.DiscardHandler))(context.Background())
	if err != nil || len(other) != 32 || bytes.Equal(other, keys[0]) {
		t.Errorf("another storage's key %x (%v), the first's %x", other, err, keys[0])
	}
}
