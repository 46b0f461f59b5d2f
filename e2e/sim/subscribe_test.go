package sim

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"
)

// stream reads a SUBSCRIBE response's RecordIO records.
type stream struct {
	t      *testing.T
	body   io.ReadCloser
	events chan event
}

type event struct {
	raw  map[string]json.RawMessage
	kind string
	err  error
}

// subscribe opens a SUBSCRIBE stream on the master at base.
func subscribe(t *testing.T, base string) *stream {
	t.Helper()
	req, _ := http.NewRequest("POST", base+"/api/v1", strings.NewReader(`{"type":"SUBSCRIBE"}`))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	c := client(t)
	c.Timeout = 0 // a stream has no end
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("SUBSCRIBE: %v", err)
	}
	if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "application/json" {
		resp.Body.Close()
		t.Fatalf("SUBSCRIBE: %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	s := &stream{t: t, body: resp.Body, events: make(chan event, 100)}
	go s.read()
	t.Cleanup(func() { resp.Body.Close() })
	return s
}

// read decodes "<length>\n<json>" records until the stream ends.
func (s *stream) read() {
	defer close(s.events)
	br := bufio.NewReader(s.body)
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			s.events <- event{err: err}
			return
		}
		n, err := strconv.Atoi(strings.TrimSuffix(line, "\n"))
		if err != nil {
			s.events <- event{err: fmt.Errorf("record length %q: %v", line, err)}
			return
		}
		buf := make([]byte, n)
		if _, err := io.ReadFull(br, buf); err != nil {
			s.events <- event{err: err}
			return
		}
		var ev event
		if err := json.Unmarshal(buf, &ev.raw); err != nil {
			s.events <- event{err: fmt.Errorf("record %q: %v", buf, err)}
			return
		}
		json.Unmarshal(ev.raw["type"], &ev.kind)
		s.events <- ev
	}
}

// next returns the next event that is not a HEARTBEAT (unless heartbeats
// are asked for), failing after a deadline.
func (s *stream) next(kind string) event {
	s.t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-s.events:
			if !ok || ev.err != nil {
				s.t.Fatalf("waiting for %s: stream ended: %v", kind, ev.err)
			}
			if ev.kind == "HEARTBEAT" && kind != "HEARTBEAT" {
				continue
			}
			if ev.kind != kind {
				s.t.Fatalf("got event %s, want %s", ev.kind, kind)
			}
			return ev
		case <-deadline:
			s.t.Fatalf("no %s event within 10s", kind)
		}
	}
}

func (ev event) decode(t *testing.T, field string, v any) {
	t.Helper()
	if err := json.Unmarshal(ev.raw[field], v); err != nil {
		t.Fatalf("%s.%s: %v", ev.kind, field, err)
	}
}

// TestSubscribe follows the v1 event stream through agents and frameworks
// coming and going.
func TestSubscribe(t *testing.T) {
	c := start(t, Options{Agents: 2, HeartbeatInterval: 50 * time.Millisecond})
	s := subscribe(t, c.Leader().URL())

	var subscribed struct {
		GetState                 v1GetState `json:"get_state"`
		HeartbeatIntervalSeconds float64    `json:"heartbeat_interval_seconds"`
	}
	s.next("SUBSCRIBED").decode(t, "subscribed", &subscribed)
	if n := len(subscribed.GetState.GetAgents.Agents); n != 2 || subscribed.HeartbeatIntervalSeconds != 0.05 {
		t.Fatalf("SUBSCRIBED: %d agents, heartbeat %v s", n, subscribed.HeartbeatIntervalSeconds)
	}
	if got := subscribed.GetState.GetAgents.Agents[0]; got.AgentInfo.ID.Value != c.Agents()[0].ID() || got.PID != c.Agents()[0].PID() || got.AgentInfo.Hostname != "localhost" {
		t.Errorf("first agent: %+v", got)
	}
	if n := len(subscribed.GetState.GetFrameworks.Frameworks); n != 4 {
		t.Errorf("SUBSCRIBED: %d frameworks, want 4", n)
	}
	s.next("HEARTBEAT")

	added, err := c.AddAgent(SSL)
	if err != nil {
		t.Fatal(err)
	}
	var agentAdded struct {
		Agent v1Agent `json:"agent"`
	}
	s.next("AGENT_ADDED").decode(t, "agent_added", &agentAdded)
	if a := agentAdded.Agent; a.AgentInfo.ID.Value != added.ID() || a.PID != added.PID() || a.AgentInfo.Port != added.Port() || !a.Active {
		t.Errorf("AGENT_ADDED: %+v, want %s %s", a, added.ID(), added.PID())
	}

	removed := c.Agents()[0]
	if err := c.RemoveAgent(removed.ID()); err != nil {
		t.Fatal(err)
	}
	var agentRemoved struct {
		AgentID idJSON `json:"agent_id"`
	}
	s.next("AGENT_REMOVED").decode(t, "agent_removed", &agentRemoved)
	if agentRemoved.AgentID.Value != removed.ID() {
		t.Errorf("AGENT_REMOVED %q, want %q", agentRemoved.AgentID.Value, removed.ID())
	}
	if removed.Running() || len(c.Agents()) != 2 {
		t.Errorf("after RemoveAgent: running %v, %d agents", removed.Running(), len(c.Agents()))
	}

	f, err := c.AddFramework(FrameworkSpec{Name: "spark"})
	if err != nil {
		t.Fatal(err)
	}
	var fw struct {
		Framework v1Framework `json:"framework"`
	}
	s.next("FRAMEWORK_ADDED").decode(t, "framework_added", &fw)
	if fw.Framework.FrameworkInfo.Name != "spark" || fw.Framework.FrameworkInfo.WebUIURL != f.WebUIURL() || !fw.Framework.Connected {
		t.Errorf("FRAMEWORK_ADDED: %+v", fw.Framework)
	}
	f.UI().Stop()
	s.next("FRAMEWORK_UPDATED").decode(t, "framework_updated", &fw)
	if fw.Framework.Connected || fw.Framework.Active {
		t.Errorf("FRAMEWORK_UPDATED after the UI stopped: connected %v active %v", fw.Framework.Connected, fw.Framework.Active)
	}
	f.UI().Restart(Plain)
	s.next("FRAMEWORK_UPDATED").decode(t, "framework_updated", &fw)
	if !fw.Framework.Connected {
		t.Errorf("FRAMEWORK_UPDATED after the UI restarted: not connected")
	}
	if err := c.RemoveFramework(f.ID()); err != nil {
		t.Fatal(err)
	}
	var fwRemoved struct {
		FrameworkInfo v1FrameworkInfo `json:"framework_info"`
	}
	s.next("FRAMEWORK_REMOVED").decode(t, "framework_removed", &fwRemoved)
	if fwRemoved.FrameworkInfo.ID.Value != f.ID() {
		t.Errorf("FRAMEWORK_REMOVED %q, want %q", fwRemoved.FrameworkInfo.ID.Value, f.ID())
	}

	// The leader steps down: its streams end, as when a Mesos master
	// loses leadership.
	c.SetLeader(c.Masters()[0])
	c.SetLeader(nil)
	for ev := range s.events {
		if ev.err != nil {
			if !errors.Is(ev.err, io.EOF) && !errors.Is(ev.err, io.ErrUnexpectedEOF) {
				t.Errorf("stream ended with %v, want EOF", ev.err)
			}
			return
		}
	}
}

// TestOperatorAPI checks the non-streaming calls and refusals.
func TestOperatorAPI(t *testing.T) {
	c := start(t, Options{Masters: 2, Agents: 1})
	post := func(base, ctype, accept, body string) response {
		req, _ := http.NewRequest("POST", base+"/api/v1", strings.NewReader(body))
		if ctype != "" {
			req.Header.Set("Content-Type", ctype)
		}
		if accept != "" {
			req.Header.Set("Accept", accept)
		}
		resp, err := client(t).Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return response{resp.StatusCode, resp.Header, b}
	}
	leader := c.Leader().URL()
	tests := []struct {
		name, base, ctype, accept, body string
		status                          int
		contains                        string
	}{
		{"get_health", leader, "application/json", "", `{"type":"GET_HEALTH"}`, 200, `"healthy":true`},
		{"get_version", leader, "application/json", "application/json", `{"type":"GET_VERSION"}`, 200, `"version":"` + mesosVersion},
		{"get_agents", leader, "application/json", "", `{"type":"GET_AGENTS"}`, 200, c.Agents()[0].PID()},
		{"get_state", leader, "application/json", "", `{"type":"GET_STATE"}`, 200, `"get_frameworks"`},
		{"no_content_type", leader, "", "", `{"type":"GET_HEALTH"}`, 400, "Content-Type"},
		{"protobuf", leader, "application/x-protobuf", "", `x`, 415, "JSON only"},
		{"bad_json", leader, "application/json", "", `{`, 400, "Failed to parse body into JSON"},
		{"not_acceptable", leader, "application/json", "application/x-protobuf", `{"type":"GET_HEALTH"}`, 406, "Accept"},
		{"unimplemented", leader, "application/json", "", `{"type":"GET_QUOTA"}`, 501, "GET_QUOTA"},
		{"standby_redirects", c.Masters()[1].URL(), "application/json", "", `{"type":"SUBSCRIBE"}`, 307, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			r := post(tc.base, tc.ctype, tc.accept, tc.body)
			if r.status != tc.status || !strings.Contains(string(r.body), tc.contains) {
				t.Errorf("got %d %q, want %d containing %q", r.status, truncate(r.body), tc.status, tc.contains)
			}
			if tc.status == 307 && r.header.Get("Location") != "//localhost:"+strconv.Itoa(c.Leader().Port())+"/master/api/v1" {
				t.Errorf("Location %q", r.header.Get("Location"))
			}
		})
	}
}

// TestAgentClaimPID: an agent that claims another address is reported
// there by the master's state and the SUBSCRIBE stream (removed, then
// added with the claimed pid), and gets its own back with "".
func TestAgentClaimPID(t *testing.T) {
	c := start(t, Options{Agents: 1, Frameworks: []FrameworkSpec{}})
	a := c.Agents()[0]
	own := a.PID()
	s := subscribe(t, c.Leader().URL())
	s.next("SUBSCRIBED")
	a.ClaimPID("169.254.169.254:5051")
	s.next("AGENT_REMOVED")
	var added struct {
		Agent v1Agent `json:"agent"`
	}
	s.next("AGENT_ADDED").decode(t, "agent_added", &added)
	if added.Agent.PID != "slave(1)@169.254.169.254:5051" {
		t.Errorf("AGENT_ADDED pid %q", added.Agent.PID)
	}
	var state masterStateJSON
	getJSON(t, c.Leader().URL()+"/master/state", &state)
	if len(state.Slaves) != 1 || state.Slaves[0].PID != "slave(1)@169.254.169.254:5051" {
		t.Errorf("/master/state slaves: %+v", state.Slaves)
	}
	a.ClaimPID("")
	if a.PID() != own {
		t.Errorf("after ClaimPID(\"\"): %q, want %q", a.PID(), own)
	}
}
