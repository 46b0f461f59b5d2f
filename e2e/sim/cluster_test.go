package sim

import (
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
)

// TestOptionsRefused: bad options are all reported at once, each saying
// what to do.
func TestOptionsRefused(t *testing.T) {
	_, err := Start(Options{
		Modes:    []Mode{"tls"},
		Agents:   -1,
		Hostname: "example.invalid",
		WebUIDir: t.TempDir(),
		PKI:      testPKI,
	})
	if err == nil {
		t.Fatal("Start accepted bad options")
	}
	for _, want := range []string{`unknown mode "tls"`, "must not be negative", `hostname "example.invalid"`, "nor master/static/index.html (Mesos 0.23 to 1.5) under"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q lacks %q", err, want)
		}
	}
}

// TestIPHostname: with Hostname "127.0.0.1" members advertise the IP, and
// redirects and webui_url use it.
func TestIPHostname(t *testing.T) {
	c := start(t, Options{Masters: 2, Agents: 1, Hostname: "127.0.0.1", Modes: []Mode{SSL}})
	leader, standby := c.Masters()[0], c.Masters()[1]
	if r := get(t, standby.URL()+"/master/state"); r.header.Get("Location") != "//127.0.0.1:"+strconv.Itoa(leader.Port())+"/master/state" {
		t.Errorf("Location %q", r.header.Get("Location"))
	}
	var s masterStateJSON
	getJSON(t, leader.URL()+"/master/state", &s)
	if s.LeaderInfo.Hostname != "127.0.0.1" || s.Hostname != "127.0.0.1" {
		t.Errorf("leader_info.hostname %q, hostname %q", s.LeaderInfo.Hostname, s.Hostname)
	}
	// The shared certificate covers the IP: this client verifies it.
	if r := get(t, c.Agents()[0].URL()+"/slave(1)/health"); r.status != 200 {
		t.Errorf("TLS to 127.0.0.1: %d", r.status)
	}
	if u := c.Frameworks()[0].WebUIURL(); !strings.HasPrefix(u, "http://127.0.0.1:") {
		t.Errorf("webui_url %q", u)
	}
}

// TestDirectRequests: only requests from a browser that came straight to
// a member are logged; a gateway's (X-Forwarded-For) and tools' are not.
func TestDirectRequests(t *testing.T) {
	c := start(t, Options{Agents: 1, Frameworks: []FrameworkSpec{}})
	a := c.Agents()[0]
	send := func(ua, xff string) {
		req, _ := http.NewRequest("GET", a.URL()+"/slave(1)/health?ua="+url.QueryEscape(ua)+"&xff="+xff, nil)
		req.Header.Set("User-Agent", ua)
		if xff != "" {
			req.Header.Set("X-Forwarded-For", xff)
		}
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Fatalf("health: %d", resp.StatusCode)
		}
	}
	send("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/140.0", "")
	send("Mozilla/5.0 (X11; Linux x86_64) HeadlessChrome/140.0", "127.0.0.1")
	send("curl/8.14.1", "")
	send("Go-http-client/1.1", "")
	got := c.DirectRequests()
	if len(got) != 1 || got[0].Member != a.Addr() || got[0].Role != RoleAgent || !strings.Contains(got[0].URI, "HeadlessChrome") || strings.Contains(got[0].URI, "xff=127") {
		t.Errorf("DirectRequests = %+v, want the one browser request without X-Forwarded-For", got)
	}
	if len(a.DirectRequests()) != 1 {
		t.Errorf("the agent's own log has %d entries", len(a.DirectRequests()))
	}
}

// TestRemoveFramework: a torn-down framework moves to completed_frameworks
// with its tasks killed, on the master and on its agents, and its UI stops.
func TestRemoveFramework(t *testing.T) {
	c := start(t, Options{Agents: 2, Frameworks: []FrameworkSpec{{Name: "marathon"}, {Name: "chronos"}}})
	f := c.Frameworks()[0]
	if err := c.RemoveFramework(f.ID()); err != nil {
		t.Fatal(err)
	}
	if err := c.RemoveFramework(f.ID()); err == nil {
		t.Errorf("removing it twice succeeded")
	}
	if len(c.Frameworks()) != 1 || f.UI().Running() {
		t.Errorf("after removal: %d frameworks, UI running %v", len(c.Frameworks()), f.UI().Running())
	}
	var s masterStateJSON
	getJSON(t, c.Leader().URL()+"/master/state", &s)
	if len(s.Frameworks) != 1 || len(s.CompletedFrameworks) != 1 || s.CompletedFrameworks[0].ID != f.ID() {
		t.Fatalf("state: %d frameworks, %d completed", len(s.Frameworks), len(s.CompletedFrameworks))
	}
	killed := 0
	for _, task := range s.CompletedFrameworks[0].CompletedTasks {
		if task.State == "TASK_KILLED" {
			killed++
		}
	}
	if killed != 1 || len(s.CompletedFrameworks[0].Tasks) != 0 {
		t.Errorf("completed framework: %d killed tasks, %d active", killed, len(s.CompletedFrameworks[0].Tasks))
	}
	var as agentStateJSON
	getJSON(t, c.Agents()[0].URL()+"/slave(1)/state", &as)
	if len(as.CompletedFrameworks) != 1 || as.CompletedFrameworks[0].ID != f.ID() {
		t.Errorf("agent state: completed frameworks %+v", as.CompletedFrameworks)
	}
	// A new agent runs the remaining framework's task.
	a, err := c.AddAgent(Plain)
	if err != nil {
		t.Fatal(err)
	}
	sb := sandbox(t, a)
	if sb.FrameworkID != c.Frameworks()[0].ID() {
		t.Errorf("new agent runs %s, want %s", sb.FrameworkID, c.Frameworks()[0].ID())
	}
}
