package server

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/web"
)

// problemOf reads an application/problem+json answer.
func problemOf(t *testing.T, resp *http.Response, body string) web.Problem {
	t.Helper()
	var p web.Problem
	if ct := resp.Header.Get("Content-Type"); ct != "application/problem+json" {
		t.Fatalf("Content-Type %q, want application/problem+json; body:\n%.300s", ct, body)
	}
	if err := json.Unmarshal([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	return p
}

// TestUnreachableMember stops an agent: its routes answer 502 with the
// probe's reason, and serve again once it is back.
func TestUnreachableMember(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{Modes: []sim.Mode{sim.SSL}}})
	agent := ts.sim.Agents()[0]
	path := "/agent/" + agent.ID() + "/slave(1)/state"
	agent.Stop()
	resp, body := ts.get(path, "Accept", "application/json")
	p := problemOf(t, resp, body)
	if resp.StatusCode != http.StatusBadGateway || !strings.HasSuffix(p.Type, ":member-unreachable") || !strings.Contains(p.Detail, "refused") {
		t.Errorf("%d %+v", resp.StatusCode, p)
	}
	if strings.Contains(body, "dial tcp") {
		t.Errorf("internal error text reached the client:\n%s", body)
	}
	if err := agent.Restart(sim.SSL); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "the agent served again", 10*time.Second, func() bool {
		resp, _ := ts.get(path)
		return resp.StatusCode == 200
	})
}

// TestNoLeader answers 503 while no master leads, for the leader's routes;
// an agent's routes keep working from the map the gateway has.
func TestNoLeader(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{Masters: 2, Modes: []sim.Mode{sim.Plain}}})
	agent := ts.sim.Agents()[0]
	ts.sim.SetLeader(nil)
	testsupport.Eventually(t, "the gateway to see no leader", 15*time.Second, func() bool {
		return ts.cluster.Snapshot().Leader == nil
	})
	resp, body := ts.get("/master/state", "Accept", "application/json")
	if p := problemOf(t, resp, body); resp.StatusCode != http.StatusServiceUnavailable || !strings.HasSuffix(p.Type, ":no-leader") {
		t.Errorf("%d %+v", resp.StatusCode, p)
	}
	if resp, _ := ts.get("/agent/" + agent.ID() + "/slave(1)/state"); resp.StatusCode != 200 {
		t.Errorf("agent route without a leader: %d", resp.StatusCode)
	}
	ts.sim.SetLeader(ts.sim.Masters()[1])
	testsupport.Eventually(t, "the new leader served", 15*time.Second, func() bool {
		resp, _ := ts.get("/master/state")
		return resp.StatusCode == 200
	})
}

// TestStaleMap stops every master: past the hard limit, routes answer 503
// saying how old the map is.
func TestStaleMap(t *testing.T) {
	ts := newTester(t, testerOptions{
		sim:      sim.Options{Modes: []sim.Mode{sim.Plain}},
		upstream: func(c *upstream.Config) { c.StaleSoftLimit, c.StaleHardLimit = time.Second, 2*time.Second },
	})
	agent := ts.sim.Agents()[0]
	for _, m := range ts.sim.Masters() {
		m.Stop()
	}
	testsupport.Eventually(t, "the map to expire", 20*time.Second, func() bool { return ts.cluster.Snapshot().Expired })
	resp, body := ts.get("/agent/"+agent.ID()+"/slave(1)/state", "Accept", "application/json")
	p := problemOf(t, resp, body)
	if resp.StatusCode != http.StatusServiceUnavailable || !strings.HasSuffix(p.Type, ":stale-cluster-map") || !strings.Contains(p.Detail, "2 s") && !strings.Contains(p.Detail, "2s") {
		t.Errorf("%d %+v", resp.StatusCode, p)
	}
	// The dashboard still answers, and says so.
	if resp, body := ts.get("/gateway/", "Accept", "text/html"); resp.StatusCode != 200 || !strings.Contains(strings.ToLower(body), "stale") && !strings.Contains(body, "out of date") {
		t.Errorf("dashboard: %d", resp.StatusCode)
	}
}

// TestResponseHeaderTimeout: a member that accepts a request and never
// answers gets the client a 504 at ResponseHeaderTimeout, not a hang; an
// agent's answer to a v1 call that holds it by design and a framework UI's
// long poll that holds its header for longer are answered.
func TestResponseHeaderTimeout(t *testing.T) {
	ts := newTester(t, testerOptions{sim: sim.Options{}, gateway: func(o *Options) { o.ResponseHeaderTimeout = 300 * time.Millisecond }})
	stuck := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { <-r.Context().Done() }))
	defer stuck.Close()
	u, _ := url.Parse(stuck.URL)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ts.gw.proxy(w, r, testDestination(r, u, "S9"), stuck.Client().Transport)
	})
	rec := httptest.NewRecorder()
	start := time.Now()
	ts.gw.middleware(h).ServeHTTP(rec, httptest.NewRequest("GET", "/agent/S9/x", nil))
	if rec.Code != http.StatusGatewayTimeout || !strings.Contains(rec.Body.String(), "upstream-timeout") {
		t.Errorf("%d\n%s", rec.Code, rec.Body)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Errorf("answered after %s", d)
	}

	// An agent holds its answer to WAIT_NESTED_CONTAINER until the
	// container exits: the call, classified as authorize does, is awaited.
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		time.Sleep(time.Second)
		io.WriteString(w, `{"type":"WAIT_NESTED_CONTAINER","wait_nested_container":{"exit_status":0}}`)
	}))
	defer slow.Close()
	su, _ := url.Parse(slow.URL)
	for _, tt := range []struct {
		call string
		want int
	}{{"WAIT_NESTED_CONTAINER", http.StatusOK}, {"KILL_NESTED_CONTAINER", http.StatusGatewayTimeout}} {
		h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			requestOf(r).write = &access.Operation{Call: tt.call, Reason: "a v1 call"}
			ts.gw.proxy(w, r, testDestination(r, su, "S9"), slow.Client().Transport)
		})
		rec := httptest.NewRecorder()
		start := time.Now()
		ts.gw.middleware(h).ServeHTTP(rec, httptest.NewRequest("POST", "/agent/S9/api/v1", strings.NewReader(`{"type":"`+tt.call+`"}`)))
		if rec.Code != tt.want {
			t.Errorf("%s held 1 s: %d after %s, want %d\n%s", tt.call, rec.Code, time.Since(start), tt.want, rec.Body)
		}
	}

	fw := ts.sim.Frameworks()[0]
	start = time.Now()
	resp, body := ts.get("/service/" + fw.Name() + "/poll?after=1s")
	if resp.StatusCode != http.StatusOK || !strings.Contains(body, `"waited":"1s"`) || time.Since(start) < time.Second {
		t.Errorf("a framework UI's long poll: %d after %s\n%s", resp.StatusCode, time.Since(start), body)
	}
}
