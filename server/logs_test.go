package server

import (
	"bufio"
	"context"
	"encoding/json"
	"net"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/upstream"
)

// wireTap records the request ids the gateway writes on plain connections
// to members: what each member received, read off the wire.
type wireTap struct {
	mu  sync.Mutex
	ids map[string]string // request id -> the address it was sent to
}

var requestIDHeader = regexp.MustCompile(`(?i)\r\nX-Request-Id: ([^\r\n]*)\r\n`)

// dial is an upstream.Config.Dial that taps what is written.
func (w *wireTap) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	c, err := (&net.Dialer{}).DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	return &tappedConn{Conn: c, tap: w, addr: addr}, nil
}

type tappedConn struct {
	net.Conn
	tap  *wireTap
	addr string
}

func (c *tappedConn) Write(p []byte) (int, error) {
	c.tap.mu.Lock()
	for _, m := range requestIDHeader.FindAllSubmatch(p, -1) {
		c.tap.ids[string(m[1])] = c.addr
	}
	c.tap.mu.Unlock()
	return c.Conn.Write(p)
}

func (w *wireTap) sentTo(id string) string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.ids[id]
}

// TestJSONLogRequestIDs runs the gateway with a JSON log at debug level
// and checks that every line is a JSON object, and that every line about a
// request (served, failed, refused, retried) carries the request id the
// client got back in X-Request-Id, which is also what the member received
// on the wire.
func TestJSONLogRequestIDs(t *testing.T) {
	tap := &wireTap{ids: map[string]string{}}
	ts := newTester(t, testerOptions{
		sim:      sim.Options{Modes: []sim.Mode{sim.Plain, sim.SSL}},
		jsonLog:  true,
		upstream: func(c *upstream.Config) { c.Dial = tap.dial },
	})
	plain, ssl := ts.sim.Agents()[0], ts.sim.Agents()[1]
	var marathon *sim.Framework
	for _, f := range ts.sim.Frameworks() {
		if f.Name() == "marathon" {
			marathon = f
		}
	}

	// Each request: what the log must say about it under its id.
	type sent struct {
		name, id string
		msgs     []string
		member   string // the address that must have received the id
	}
	var requests []sent
	get := func(name, path string, status int, member string, msgs ...string) string {
		t.Helper()
		resp, body := ts.get(path)
		if resp.StatusCode != status {
			t.Fatalf("%s: GET %s: %d, want %d\n%.300s", name, path, resp.StatusCode, status, body)
		}
		id := resp.Header.Get("X-Request-Id")
		requests = append(requests, sent{name, id, msgs, member})
		return id
	}
	get("plain agent", "/agent/"+plain.ID()+"/slave(1)/state", 200, plain.Addr(), "request")
	ui, err := url.Parse(marathon.WebUIURL())
	if err != nil {
		t.Fatal(err)
	}
	// The gateway dials the address a name resolves to (the address policy
	// checks it): localhost is 127.0.0.1 here.
	get("framework UI", "/service/marathon/", 200, net.JoinHostPort("127.0.0.1", ui.Port()), "request")
	get("leader", "/master/state", 200, ts.sim.Leader().Addr(), "request")
	get("unknown agent", "/agent/no-such-agent/slave(1)/state", 404, "", "request failed", "request")
	if err := ssl.Stop(); err != nil {
		t.Fatal(err)
	}
	get("stopped agent", "/agent/"+ssl.ID()+"/slave(1)/state", 502, "", "request failed", "request")
	// The plain agent comes back speaking TLS only: the request fails to
	// connect, upstream re-probes and retries (and says so under the id).
	if err := plain.Restart(sim.SSL); err != nil {
		t.Fatal(err)
	}
	get("restarted agent", "/agent/"+plain.ID()+"/slave(1)/state", 200, plain.Addr(), "retrying after a failed connection", "request")
	raw := ts.raw("GET http://example.com/ HTTP/1.1\r\nHost: example.com\r\n\r\n")
	m := regexp.MustCompile(`(?i)\r\nX-Request-Id: (\S+)\r\n`).FindStringSubmatch(raw)
	if m == nil {
		t.Fatalf("an absolute-form request got no request id:\n%s", raw)
	}
	requests = append(requests, sent{"refused", m[1], []string{"request refused", "request"}, ""})

	// The access line is written once the handler returns, which may be
	// just after the client has read the response.
	var lines []map[string]any
	testsupport.Eventually(t, "every request logged", 10*time.Second, func() bool {
		lines = parseJSONLog(t, ts.logs.String())
		n := 0
		for _, l := range lines {
			if l["msg"] == "request" {
				n++
			}
		}
		return n >= len(requests)
	})
	byID := map[string][]string{}
	for _, l := range lines {
		id, _ := l["request_id"].(string)
		msg, _ := l["msg"].(string)
		if _, perRequest := l["path"]; perRequest && id == "" {
			t.Errorf("a line about a request without its id: %v", l)
		}
		if id != "" {
			byID[id] = append(byID[id], msg)
		}
	}
	for _, r := range requests {
		if r.id == "" {
			t.Errorf("%s: no X-Request-Id in the response", r.name)
			continue
		}
		for _, msg := range r.msgs {
			if !slices.Contains(byID[r.id], msg) {
				t.Errorf("%s: no %q line with request_id %s; its lines: %q", r.name, msg, r.id, byID[r.id])
			}
		}
		if got := tap.sentTo(r.id); r.member != "" && got != r.member {
			t.Errorf("%s: request id %s reached %q on the wire, want the member at %s", r.name, r.id, got, r.member)
		}
	}
}

// parseJSONLog parses a JSON log, failing on a line that is not a JSON
// object.
func parseJSONLog(t *testing.T, log string) []map[string]any {
	t.Helper()
	var out []map[string]any
	sc := bufio.NewScanner(strings.NewReader(log))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l map[string]any
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			t.Fatalf("a log line that is not JSON: %v\n%s", err, sc.Text())
		}
		out = append(out, l)
	}
	return out
}
