package server

import (
	"bufio"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// accessLine waits for the access log line of the request with id and
// returns it.
func (ts *tester) accessLine(id string) string {
	ts.t.Helper()
	if id == "" {
		ts.t.Fatal("no request id to look for")
	}
	var found string
	testsupport.Eventually(ts.t, "the access line of request "+id, 10*time.Second, func() bool {
		for l := range strings.Lines(ts.logs.String()) {
			if strings.Contains(l, " msg=request ") && strings.Contains(l, "request_id="+id+" ") {
				found = l
				return true
			}
		}
		return false
	})
	return found
}

// assertCut checks that an access line names the cut, its level and the
// words an operator reads.
func assertCut(t *testing.T, line, level, cut string, words ...string) {
	t.Helper()
	if !strings.Contains(line, "level="+level+" ") || !strings.Contains(line, " cut="+cut+" ") {
		t.Errorf("want level=%s cut=%s:\n%s", level, cut, line)
	}
	for _, w := range words {
		if !strings.Contains(line, w) {
			t.Errorf("the line does not say %q:\n%s", w, line)
		}
	}
}

// TestStallCut: a client that takes nothing of a download is cut once one
// write has waited StallTimeout, over HTTP/1.1 and HTTP/2, and the access
// line says so at warn; a long poll that stays quiet for longer than the
// stall timeout is not cut (the timeout counts time a write is blocked,
// not time without data: over HTTP/2 a deadline left set would reset the
// stream).
func TestStallCut(t *testing.T) {
	ts := newTester(t, testerOptions{
		sim:     sim.Options{Modes: []sim.Mode{sim.Plain}, LargeFileSize: 64 << 20},
		gateway: func(o *Options) { o.StallTimeout = 500 * time.Millisecond },
	})
	agent, fw := ts.sim.Agents()[0], ts.sim.Frameworks()[0]
	sb, err := agent.Sandboxes()
	if err != nil {
		t.Fatal(err)
	}
	download := "/agent/" + agent.ID() + "/files/download?path=" + url.QueryEscape(sb[0].Directory+"/"+sim.LargeFile)
	for _, h2 := range []bool{false, true} {
		proto := map[bool]string{false: "http1", true: "h2"}[h2]
		t.Run(proto+"/stalled download", func(t *testing.T) {
			resp, err := ts.newClient(h2).Get(ts.url + download)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			if resp.StatusCode != 200 || h2 != (resp.ProtoMajor == 2) {
				t.Fatalf("%s %d", resp.Proto, resp.StatusCode)
			}
			// Read nothing: the gateway's writes block, and the first to
			// wait 500ms fails.
			assertCut(t, ts.accessLine(resp.Header.Get("X-Request-Id")), "WARN", "stall", "status=-1", "took nothing for 500ms (stall timeout)")
		})
		t.Run(proto+"/quiet long poll", func(t *testing.T) {
			start := time.Now()
			resp, body := ts.do(ts.newClient(h2), "GET", "/service/"+fw.Name()+"/poll?after=2s&header=first")
			if resp.StatusCode != 200 || !strings.Contains(body, `"waited":"2s"`) || time.Since(start) < 2*time.Second {
				t.Fatalf("the poll: %s %d after %s: %q", resp.Proto, resp.StatusCode, time.Since(start), body)
			}
			if line := ts.accessLine(resp.Header.Get("X-Request-Id")); strings.Contains(line, " cut=") || !strings.Contains(line, "status=200") {
				t.Errorf("a complete poll logged as cut:\n%s", line)
			}
		})
	}
}

// TestClientGoneCut: a client that leaves an event stream is logged at
// debug as gone, not as a failure.
func TestClientGoneCut(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{}})
	fw := ts.sim.Frameworks()[0]
	for _, h2 := range []bool{false, true} {
		t.Run(map[bool]string{false: "http1", true: "h2"}[h2], func(t *testing.T) {
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			req, _ := http.NewRequestWithContext(ctx, "GET", ts.url+"/service/"+fw.Name()+"/events", nil)
			resp, err := ts.newClient(h2).Do(req)
			if err != nil {
				t.Fatal(err)
			}
			if _, err := bufio.NewReader(resp.Body).ReadString('\n'); err != nil {
				t.Fatal(err)
			}
			cancel()
			resp.Body.Close()
			assertCut(t, ts.accessLine(resp.Header.Get("X-Request-Id")), "DEBUG", "client-gone", `err="the client went away`)
		})
	}
}

// TestShutdownTimeoutCut: a long poll still running at the shutdown
// timeout is cut, and its access line says the shutdown cut it. (Streams
// ended at once: TestShutdown.)
func TestShutdownTimeoutCut(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{}, serve: ServeOptions{ShutdownTimeout: 500 * time.Millisecond}})
	poll, err := ts.newClient(true).Get(ts.url + "/service/" + ts.sim.Frameworks()[0].Name() + "/poll?after=1m&header=first")
	if err != nil {
		t.Fatal(err)
	}
	defer poll.Body.Close()
	ts.stop()
	assertCut(t, ts.accessLine(poll.Header.Get("X-Request-Id")), "INFO", "shutdown", `err="the gateway shut down, and the request was still running at the shutdown timeout"`)
	if !strings.Contains(ts.logs.String(), `msg="requests still running at the shutdown timeout were cut" timeout=500ms`) {
		t.Errorf("the shutdown's own line is missing")
	}
}

// TestPanicCut: a handler that panics after the header was sent is cut;
// the panic is logged with its stack and the access line names it.
func TestPanicCut(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{}})
	srv := httptest.NewServer(ts.gw.middleware(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		io.WriteString(w, "begun")
		http.NewResponseController(w).Flush()
		panic("a bug")
	})))
	defer srv.Close()
	resp, err := srv.Client().Get(srv.URL)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if _, err := io.ReadAll(resp.Body); err == nil {
		t.Errorf("the cut response looks complete")
	}
	id := resp.Header.Get("X-Request-Id")
	assertCut(t, ts.accessLine(id), "WARN", "panic", "status=-1")
	if !strings.Contains(ts.logs.String(), `msg="panic serving request" request_id=`+id) {
		t.Errorf("the panic is not logged under the request id")
	}
}
