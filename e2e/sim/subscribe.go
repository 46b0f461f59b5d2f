package sim

import (
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// This file is the v1 operator API (POST /api/v1, JSON only): SUBSCRIBE's
// RecordIO event stream and the GET_* calls whose answers it embeds. Shapes
// follow include/mesos/v1/master/master.proto in protobuf's JSON form
// (field names as in the .proto, enums as names, empty repeated fields
// left out, as stout's JSON::protobuf writes them).

// v1 types.
type (
	v1Time struct {
		Nanoseconds int64 `json:"nanoseconds"`
	}
	v1Scalar struct {
		Value float64 `json:"value"`
	}
	v1Resource struct {
		Name           string            `json:"name"`
		Type           string            `json:"type"`
		Scalar         *v1Scalar         `json:"scalar,omitempty"`
		Ranges         *rangesJSON       `json:"ranges,omitempty"`
		AllocationInfo map[string]string `json:"allocation_info,omitempty"`
	}
	v1Capability struct {
		Type string `json:"type"`
	}
	v1AgentInfo struct {
		Hostname  string       `json:"hostname"`
		Port      int          `json:"port"`
		Resources []v1Resource `json:"resources,omitempty"`
		ID        idJSON       `json:"id"`
	}
	v1Agent struct {
		AgentInfo          v1AgentInfo    `json:"agent_info"`
		Active             bool           `json:"active"`
		Deactivated        bool           `json:"deactivated"`
		Version            string         `json:"version"`
		PID                string         `json:"pid"`
		RegisteredTime     v1Time         `json:"registered_time"`
		TotalResources     []v1Resource   `json:"total_resources,omitempty"`
		AllocatedResources []v1Resource   `json:"allocated_resources,omitempty"`
		Capabilities       []v1Capability `json:"capabilities,omitempty"`
	}
	v1FrameworkInfo struct {
		User            string         `json:"user"`
		Name            string         `json:"name"`
		ID              idJSON         `json:"id"`
		FailoverTimeout float64        `json:"failover_timeout"`
		Checkpoint      bool           `json:"checkpoint"`
		Role            string         `json:"role"`
		Hostname        string         `json:"hostname"`
		Principal       string         `json:"principal"`
		WebUIURL        string         `json:"webui_url,omitempty"`
		Capabilities    []v1Capability `json:"capabilities,omitempty"`
	}
	v1Framework struct {
		FrameworkInfo  v1FrameworkInfo `json:"framework_info"`
		Active         bool            `json:"active"`
		Connected      bool            `json:"connected"`
		Recovered      bool            `json:"recovered"`
		RegisteredTime v1Time          `json:"registered_time"`
	}
	v1TaskStatus struct {
		TaskID    idJSON  `json:"task_id"`
		State     string  `json:"state"`
		Source    string  `json:"source"`
		AgentID   idJSON  `json:"agent_id"`
		Timestamp float64 `json:"timestamp"`
	}
	v1Task struct {
		Name        string         `json:"name"`
		TaskID      idJSON         `json:"task_id"`
		FrameworkID idJSON         `json:"framework_id"`
		AgentID     idJSON         `json:"agent_id"`
		State       string         `json:"state"`
		Resources   []v1Resource   `json:"resources,omitempty"`
		Statuses    []v1TaskStatus `json:"statuses,omitempty"`
		User        string         `json:"user,omitempty"`
	}
	v1GetAgents struct {
		Agents []v1Agent `json:"agents,omitempty"`
	}
	v1GetFrameworks struct {
		Frameworks          []v1Framework `json:"frameworks,omitempty"`
		CompletedFrameworks []v1Framework `json:"completed_frameworks,omitempty"`
	}
	v1GetTasks struct {
		Tasks          []v1Task `json:"tasks,omitempty"`
		CompletedTasks []v1Task `json:"completed_tasks,omitempty"`
	}
	v1GetState struct {
		GetTasks      v1GetTasks      `json:"get_tasks"`
		GetExecutors  struct{}        `json:"get_executors"`
		GetFrameworks v1GetFrameworks `json:"get_frameworks"`
		GetAgents     v1GetAgents     `json:"get_agents"`
	}
)

func v1Resources(r resources, role string) []v1Resource {
	var alloc map[string]string
	if role != "" {
		alloc = map[string]string{"role": role}
	}
	out := []v1Resource{
		{Name: "cpus", Type: "SCALAR", Scalar: &v1Scalar{r.CPUs}, AllocationInfo: alloc},
		{Name: "mem", Type: "SCALAR", Scalar: &v1Scalar{r.Mem}, AllocationInfo: alloc},
		{Name: "disk", Type: "SCALAR", Scalar: &v1Scalar{r.Disk}, AllocationInfo: alloc},
	}
	if r.Ports != "" {
		out = append(out, v1Resource{Name: "ports", Type: "RANGES", Ranges: &rangesJSON{[]rangeJSON{{31000, 32000}}}, AllocationInfo: alloc})
	}
	return out
}

func v1Capabilities(names []string) []v1Capability {
	out := make([]v1Capability, len(names))
	for i, n := range names {
		out[i] = v1Capability{n}
	}
	return out
}

// v1AgentOf renders an agent; c.mu is held (read or write).
func v1AgentOf(a *Agent) v1Agent {
	var used resources
	for _, e := range a.executors {
		used = used.plus(e.allocated())
	}
	agent := v1Agent{
		AgentInfo:      v1AgentInfo{Hostname: a.hostname, Port: a.Port(), Resources: v1Resources(agentResources, ""), ID: idJSON{a.id}},
		Active:         a.Running(),
		Version:        mesosVersion,
		PID:            a.PID(),
		RegisteredTime: v1Time{a.registered.UnixNano()},
		TotalResources: v1Resources(agentResources, ""),
		Capabilities:   v1Capabilities(agentCapabilities),
	}
	if len(a.executors) > 0 {
		agent.AllocatedResources = v1Resources(used, "*")
	}
	return agent
}

func v1FrameworkInfoOf(f *Framework) v1FrameworkInfo {
	return v1FrameworkInfo{
		User: f.user(), Name: f.name, ID: idJSON{f.id}, FailoverTimeout: 604800, Checkpoint: true,
		Role: f.role(), Hostname: f.c.hostname, Principal: f.name, WebUIURL: f.WebUIURL(),
		Capabilities: v1Capabilities([]string{"PARTITION_AWARE", "TASK_KILLING_STATE", "REGION_AWARE"}),
	}
}

// v1FrameworkOf renders a framework; c.mu is held.
func v1FrameworkOf(f *Framework) v1Framework {
	connected := f.connected() && !f.removed
	return v1Framework{FrameworkInfo: v1FrameworkInfoOf(f), Active: connected, Connected: connected, RegisteredTime: v1Time{f.registered.UnixNano()}}
}

func v1TaskOf(e *executor) v1Task {
	t := e.taskJSON()
	out := v1Task{Name: t.Name, TaskID: idJSON{t.ID}, FrameworkID: idJSON{t.FrameworkID}, AgentID: idJSON{t.SlaveID}, State: t.State, Resources: v1Resources(e.res, e.fw.role()), User: t.User}
	for _, s := range t.Statuses {
		out.Statuses = append(out.Statuses, v1TaskStatus{TaskID: idJSON{t.ID}, State: s.State, Source: "SOURCE_EXECUTOR", AgentID: idJSON{t.SlaveID}, Timestamp: s.Timestamp})
	}
	return out
}

// getStateLocked renders GET_STATE; c.mu is held.
func (c *Cluster) getStateLocked() v1GetState {
	var s v1GetState
	for _, a := range c.agents {
		s.GetAgents.Agents = append(s.GetAgents.Agents, v1AgentOf(a))
		for _, e := range a.executors {
			s.GetTasks.Tasks = append(s.GetTasks.Tasks, v1TaskOf(e))
		}
		for _, e := range a.completed {
			s.GetTasks.CompletedTasks = append(s.GetTasks.CompletedTasks, v1TaskOf(e))
		}
	}
	s.GetFrameworks = c.getFrameworksLocked()
	return s
}

func (c *Cluster) getFrameworksLocked() v1GetFrameworks {
	var out v1GetFrameworks
	for _, f := range c.frameworks {
		if f.removed {
			out.CompletedFrameworks = append(out.CompletedFrameworks, v1FrameworkOf(f))
		} else {
			out.Frameworks = append(out.Frameworks, v1FrameworkOf(f))
		}
	}
	return out
}

// Events.

func agentAddedEvent(a *Agent) any {
	return map[string]any{"type": "AGENT_ADDED", "agent_added": map[string]any{"agent": v1AgentOf(a)}}
}

func agentRemovedEvent(a *Agent) any {
	return map[string]any{"type": "AGENT_REMOVED", "agent_removed": map[string]any{"agent_id": idJSON{a.id}}}
}

// frameworkEvent is FRAMEWORK_ADDED or FRAMEWORK_UPDATED.
func frameworkEvent(kind string, f *Framework) any {
	return map[string]any{"type": kind, strings.ToLower(kind): map[string]any{"framework": v1FrameworkOf(f)}}
}

func frameworkRemovedEvent(f *Framework) any {
	return map[string]any{"type": "FRAMEWORK_REMOVED", "framework_removed": map[string]any{"framework_info": v1FrameworkInfoOf(f)}}
}

// recordIO frames one JSON record as Mesos's RecordIO does:
// "<length>\n<json>" (common/recordio.hpp).
func recordIO(v any) []byte {
	body, err := json.Marshal(v)
	if err != nil {
		// Every event is made of plain structs and maps of them.
		panic(fmt.Sprintf("encode event: %v", err))
	}
	return append([]byte(strconv.Itoa(len(body))+"\n"), body...)
}

// subscriber is one SUBSCRIBE stream on the leader.
type subscriber struct {
	events chan []byte
	done   chan struct{}
	once   sync.Once
}

// subscriberBuffer is how many events a slow subscriber may lag behind
// before its stream is closed.
const subscriberBuffer = 1024

// end closes the stream (leader change, cluster closed, too slow).
func (s *subscriber) end() { s.once.Do(func() { close(s.done) }) }

// publish sends an event to every SUBSCRIBE stream.
func (c *Cluster) publish(event any) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.publishLocked(event)
}

// publishLocked sends an event to every SUBSCRIBE stream; c.mu is held
// for writing, so events keep the order of the changes they describe.
func (c *Cluster) publishLocked(event any) {
	if len(c.subs) == 0 {
		return
	}
	rec := recordIO(event)
	for s := range c.subs {
		select {
		case s.events <- rec:
		default:
			c.log.Warn("closing a SUBSCRIBE stream that fell behind", "buffer", subscriberBuffer)
			s.end()
			delete(c.subs, s)
		}
	}
}

// api answers POST /api/v1 on the leader.
func (m *Master) api(w http.ResponseWriter, r *http.Request) {
	call, ok := readCall(w, r)
	if !ok {
		return
	}
	c := m.c
	switch call {
	case "SUBSCRIBE":
		m.subscribe(w, r)
	case "GET_HEALTH":
		writeJSON(w, r, map[string]any{"type": call, "get_health": map[string]bool{"healthy": true}})
	case "GET_VERSION":
		writeJSON(w, r, map[string]any{"type": call, "get_version": map[string]any{"version_info": versionInfo()}})
	case "GET_STATE":
		c.mu.RLock()
		resp := map[string]any{"type": call, "get_state": c.getStateLocked()}
		c.mu.RUnlock()
		writeJSON(w, r, resp)
	case "GET_AGENTS":
		c.mu.RLock()
		resp := map[string]any{"type": call, "get_agents": c.getStateLocked().GetAgents}
		c.mu.RUnlock()
		writeJSON(w, r, resp)
	case "GET_FRAMEWORKS":
		c.mu.RLock()
		resp := map[string]any{"type": call, "get_frameworks": c.getFrameworksLocked()}
		c.mu.RUnlock()
		writeJSON(w, r, resp)
	default:
		text(w, http.StatusNotImplemented, "the simulated master does not implement "+call+": use SUBSCRIBE, GET_STATE, GET_AGENTS, GET_FRAMEWORKS, GET_HEALTH or GET_VERSION")
	}
}

// readCall checks a v1 call as Master::Http::api does (method, content
// types, body) and returns its type. When it fails it has answered.
func readCall(w http.ResponseWriter, r *http.Request) (string, bool) {
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", "POST")
		text(w, http.StatusMethodNotAllowed, "Expecting one of { 'POST' }, but received '"+r.Method+"'")
		return "", false
	}
	ctype := r.Header.Get("Content-Type")
	if ctype == "" {
		badRequest(w, "Expecting 'Content-Type' to be present")
		return "", false
	}
	if mt, _, _ := mime.ParseMediaType(ctype); mt != "application/json" {
		text(w, http.StatusUnsupportedMediaType, "Expecting 'Content-Type' of application/json (the simulated master speaks JSON only, not protobuf)")
		return "", false
	}
	if !acceptsJSON(r.Header.Get("Accept")) {
		text(w, http.StatusNotAcceptable, "Expecting 'Accept' to allow 'application/json' (the simulated master speaks JSON only)")
		return "", false
	}
	var call struct {
		Type string `json:"type"`
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err == nil {
		err = json.Unmarshal(body, &call)
	}
	if err != nil {
		badRequest(w, "Failed to parse body into JSON: "+err.Error())
		return "", false
	}
	if call.Type == "" {
		badRequest(w, "Failed to validate master::Call: Expecting 'type' to be present")
		return "", false
	}
	return call.Type, true
}

// acceptsJSON reports whether an Accept header allows application/json;
// no header accepts anything.
func acceptsJSON(accept string) bool {
	if strings.TrimSpace(accept) == "" {
		return true
	}
	for _, part := range strings.Split(accept, ",") {
		mt, _, _ := mime.ParseMediaType(strings.TrimSpace(part))
		if mt == "application/json" || mt == "application/*" || mt == "*/*" {
			return true
		}
	}
	return false
}

// subscribe streams SUBSCRIBED with the whole state, then an event for
// every change and a HEARTBEAT every heartbeat interval (the first after
// one interval), until the client goes, the leader changes or the master
// stops.
func (m *Master) subscribe(w http.ResponseWriter, r *http.Request) {
	c := m.c
	interval := c.opts.HeartbeatInterval
	if interval == 0 {
		interval = 15 * time.Second
	}
	s := &subscriber{events: make(chan []byte, subscriberBuffer), done: make(chan struct{})}
	c.mu.Lock()
	if c.leader != m || c.closed {
		c.mu.Unlock()
		m.redirect(w, r, "/master/api/v1")
		return
	}
	first := recordIO(map[string]any{"type": "SUBSCRIBED", "subscribed": map[string]any{
		"get_state":                  c.getStateLocked(),
		"heartbeat_interval_seconds": interval.Seconds(),
	}})
	c.subs[s] = true
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		delete(c.subs, s)
		c.mu.Unlock()
	}()

	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	flusher, _ := w.(http.Flusher)
	send := func(rec []byte) bool {
		if _, err := w.Write(rec); err != nil {
			return false
		}
		if flusher != nil {
			flusher.Flush()
		}
		return true
	}
	if !send(first) {
		return
	}
	heartbeat := recordIO(map[string]string{"type": "HEARTBEAT"})
	ticker := time.NewTicker(interval)
	defer ticker.Stop()
	for {
		select {
		case rec := <-s.events:
			if !send(rec) {
				return
			}
		case <-ticker.C:
			if !send(heartbeat) {
				return
			}
		case <-s.done:
			return
		case <-r.Context().Done():
			return
		}
	}
}
