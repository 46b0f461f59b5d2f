package sim

import (
	"fmt"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Agent is a simulated Mesos agent: one libprocess process "slave(1)" on
// its own port, running one task per framework share, with real sandboxes
// behind its /files endpoints.
//
// Endpoints: /slave(1)/state, /slave(1)/flags, /slave(1)/health,
// /slave(1)/monitor/statistics, /metrics/snapshot, /version,
// /files/browse|read|download|debug. JSON endpoints take ?jsonp=. The
// ".json" names of older releases are answered too (/slave(1)/state.json,
// /monitor/statistics.json, /files/browse.json, ... which the WebUI of
// Mesos 0.23 and 0.24 reads), and /monitor/statistics reaches the agent
// as it reached the "monitor" process before Mesos 1.0.
type Agent struct {
	*Member
	c          *Cluster
	id         string
	index      int
	registered time.Time
	started    time.Time
	workDir    string
	logDir     string
	files      *fileSystem

	// executors run now, completed ran; guarded by c.mu.
	executors []*executor
	completed []*executor

	// filesMu guards what prepare has written and attached.
	filesMu     sync.Mutex
	made        map[*executor]bool
	logAttached bool

	// claimed is the address ClaimPID set, "" for the agent's own.
	claimed atomic.Pointer[string]
}

// ID returns the agent's id ("<master id>-S<n>").
func (a *Agent) ID() string { return a.id }

// PID returns the agent's libprocess pid, "slave(1)@127.0.0.1:port": the
// WebUI takes the port from it and the host from the hostname.
func (a *Agent) PID() string {
	if addr := a.claimed.Load(); addr != nil {
		return "slave(1)@" + *addr
	}
	return "slave(1)@" + a.Addr()
}

// ClaimPID makes the agent register as slave(1)@addr (ip:port) wherever it
// listens: a master's state is only what agents told it, and a gateway
// must not take it as the truth about where it may connect (tests of its
// address policy). SUBSCRIBE streams see the agent removed and added
// again with the new pid; "" gives the agent its own address back.
func (a *Agent) ClaimPID(addr string) {
	if addr == "" {
		a.claimed.Store(nil)
	} else {
		a.claimed.Store(&addr)
	}
	a.c.mu.Lock()
	defer a.c.mu.Unlock()
	a.c.publishLocked(agentRemovedEvent(a))
	a.c.publishLocked(agentAddedEvent(a))
}

// addAgent makes an agent, starts it in mode and registers it.
func (c *Cluster) addAgent(mode Mode) (*Agent, error) {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil, errClosed
	}
	a := &Agent{c: c, index: c.nextAgent, registered: time.Now(), started: time.Now(), made: map[*executor]bool{}}
	a.id = fmt.Sprintf("%s-S%d", c.masterID, c.nextAgent)
	c.nextAgent++
	// The agent's id must not appear twice in a sandbox path: the stock
	// WebUI's breadcrumb (an AngularJS ng-repeat) refuses repeated segments.
	home := filepath.Join(c.dir, "agents", strconv.Itoa(a.index))
	a.workDir, a.logDir = filepath.Join(home, "work"), filepath.Join(home, "log")
	var live []*Framework
	for _, f := range c.frameworks {
		if !f.removed {
			live = append(live, f)
		}
	}
	if len(live) > 0 {
		a.executors = []*executor{newExecutor(a, live[a.index%len(live)], "TASK_RUNNING")}
	}
	c.mu.Unlock()

	a.Member = newMember(c, RoleAgent, http.HandlerFunc(a.serveHTTP))
	a.files = newFileSystem(c, RealmAgentReadOnly, a.prepare)
	if err := a.RestartWith(mode.Settings(c.pki)); err != nil {
		return nil, err
	}
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		a.Stop()
		return nil, errClosed
	}
	c.agents = append(c.agents, a)
	c.publishLocked(agentAddedEvent(a))
	c.mu.Unlock()
	return a, nil
}

// serveHTTP routes the agent's endpoints.
func (a *Agent) serveHTTP(w http.ResponseWriter, r *http.Request) {
	p := delegate(r.URL.Path, agentProcesses, "slave(1)")
	switch {
	case under(p, "/version"):
		writeJSON(w, r, versionInfo())
	case under(p, "/slave(1)/health"):
		w.WriteHeader(http.StatusOK)
	case under(p, "/slave(1)/state"), under(p, "/slave(1)/state.json"):
		if a.c.authorized(w, r, RealmAgentReadOnly) {
			writeJSON(w, r, a.state())
		}
	case under(p, "/slave(1)/flags"):
		if a.c.authorized(w, r, RealmAgentReadOnly) {
			writeJSON(w, r, map[string]any{"flags": a.flags()})
		}
	case under(p, "/slave(1)/monitor/statistics"), under(p, "/slave(1)/monitor/statistics.json"):
		if a.c.authorized(w, r, RealmAgentReadOnly) {
			writeJSON(w, r, a.statistics())
		}
	case under(p, "/metrics/snapshot"):
		if a.c.authorized(w, r, RealmAgentReadOnly) {
			writeJSON(w, r, a.metrics())
		}
	case strings.HasPrefix(p, "/files/"):
		a.files.serve(w, r, strings.Trim(strings.TrimPrefix(p, "/files/"), "/"))
	default:
		notFound(w)
	}
}

// agentStateJSON is /slave(1)/state (slave/http.cpp Http::state).
type agentStateJSON struct {
	Version                      string               `json:"version"`
	BuildDate                    string               `json:"build_date"`
	BuildTime                    float64              `json:"build_time"`
	BuildUser                    string               `json:"build_user"`
	StartTime                    float64              `json:"start_time"`
	ID                           string               `json:"id"`
	PID                          string               `json:"pid"`
	Hostname                     string               `json:"hostname"`
	Capabilities                 []string             `json:"capabilities"`
	Resources                    resources            `json:"resources"`
	ReservedResources            map[string]resources `json:"reserved_resources"`
	UnreservedResources          resources            `json:"unreserved_resources"`
	ReservedResourcesFull        map[string]any       `json:"reserved_resources_full"`
	UnreservedResourcesFull      []resourceJSON       `json:"unreserved_resources_full"`
	ReservedResourcesAllocated   map[string]resources `json:"reserved_resources_allocated"`
	UnreservedResourcesAllocated resources            `json:"unreserved_resources_allocated"`
	ResourceProviders            []any                `json:"resource_providers"`
	Attributes                   map[string]any       `json:"attributes"`
	MasterHostname               string               `json:"master_hostname,omitempty"`
	LogDir                       string               `json:"log_dir"`
	Flags                        map[string]string    `json:"flags"`
	Frameworks                   []agentFrameworkJSON `json:"frameworks"`
	CompletedFrameworks          []agentFrameworkJSON `json:"completed_frameworks"`
}

type agentFrameworkJSON struct {
	ID                 string              `json:"id"`
	Name               string              `json:"name"`
	User               string              `json:"user"`
	FailoverTimeout    float64             `json:"failover_timeout"`
	Checkpoint         bool                `json:"checkpoint"`
	Hostname           string              `json:"hostname"`
	Role               string              `json:"role"`
	Executors          []agentExecutorJSON `json:"executors"`
	CompletedExecutors []agentExecutorJSON `json:"completed_executors"`
}

type agentExecutorJSON struct {
	ID             string     `json:"id"`
	Name           string     `json:"name"`
	Source         string     `json:"source"`
	Container      string     `json:"container"`
	Directory      string     `json:"directory"`
	Resources      resources  `json:"resources"`
	Role           string     `json:"role"`
	Tasks          []taskJSON `json:"tasks"`
	QueuedTasks    []taskJSON `json:"queued_tasks"`
	CompletedTasks []taskJSON `json:"completed_tasks"`
}

// resourceJSON is a Resource protobuf in JSON (the *_full fields).
type resourceJSON struct {
	Name   string      `json:"name"`
	Type   string      `json:"type"`
	Scalar *scalarJSON `json:"scalar,omitempty"`
	Ranges *rangesJSON `json:"ranges,omitempty"`
	Role   string      `json:"role,omitempty"`
}

type scalarJSON struct {
	Value float64 `json:"value"`
}

type rangesJSON struct {
	Range []rangeJSON `json:"range"`
}

type rangeJSON struct {
	Begin int `json:"begin"`
	End   int `json:"end"`
}

// fullResources is r as a list of Resource protobufs.
func fullResources(r resources) []resourceJSON {
	out := []resourceJSON{
		{Name: "cpus", Type: "SCALAR", Scalar: &scalarJSON{r.CPUs}},
		{Name: "mem", Type: "SCALAR", Scalar: &scalarJSON{r.Mem}},
		{Name: "disk", Type: "SCALAR", Scalar: &scalarJSON{r.Disk}},
	}
	if r.Ports != "" {
		out = append(out, resourceJSON{Name: "ports", Type: "RANGES", Ranges: &rangesJSON{[]rangeJSON{{31000, 32000}}}})
	}
	return out
}

func (a *Agent) state() agentStateJSON {
	c := a.c
	c.mu.RLock()
	defer c.mu.RUnlock()
	s := agentStateJSON{
		Version:                    mesosVersion,
		BuildDate:                  buildTime.Format("2006-01-02 15:04:05"),
		BuildTime:                  secs(buildTime),
		BuildUser:                  buildUser,
		StartTime:                  secs(a.started),
		ID:                         a.id,
		PID:                        a.PID(),
		Hostname:                   a.hostname,
		Capabilities:               agentCapabilities,
		Resources:                  agentResources,
		ReservedResources:          map[string]resources{},
		UnreservedResources:        agentResources,
		ReservedResourcesFull:      map[string]any{},
		UnreservedResourcesFull:    fullResources(agentResources),
		ReservedResourcesAllocated: map[string]resources{},
		ResourceProviders:          []any{},
		Attributes:                 map[string]any{},
		LogDir:                     a.logDir,
		Flags:                      a.flags(),
		Frameworks:                 []agentFrameworkJSON{},
		CompletedFrameworks:        []agentFrameworkJSON{},
	}
	if c.leader != nil {
		s.MasterHostname = c.leader.hostname
	}
	// Group executors by framework, in framework order.
	byFW := map[*Framework]*agentFrameworkJSON{}
	var order []*Framework
	add := func(e *executor) {
		fj := byFW[e.fw]
		if fj == nil {
			fj = &agentFrameworkJSON{
				ID: e.fw.id, Name: e.fw.name, User: e.fw.user(), FailoverTimeout: 604800,
				Checkpoint: true, Hostname: a.hostname, Role: e.fw.role(),
				Executors: []agentExecutorJSON{}, CompletedExecutors: []agentExecutorJSON{},
			}
			byFW[e.fw] = fj
			order = append(order, e.fw)
		}
		ej := e.agentJSON()
		if e.running() {
			fj.Executors = append(fj.Executors, ej)
			s.UnreservedResourcesAllocated = s.UnreservedResourcesAllocated.plus(e.allocated())
		} else {
			fj.CompletedExecutors = append(fj.CompletedExecutors, ej)
		}
	}
	for _, e := range a.executors {
		add(e)
	}
	for _, e := range a.completed {
		add(e)
	}
	for _, f := range order {
		if f.removed {
			s.CompletedFrameworks = append(s.CompletedFrameworks, *byFW[f])
		} else {
			s.Frameworks = append(s.Frameworks, *byFW[f])
		}
	}
	return s
}

// agentCapabilities are what a Mesos 1.11 agent announces.
var agentCapabilities = []string{"MULTI_ROLE", "HIERARCHICAL_ROLE", "RESERVATION_REFINEMENT", "RESOURCE_PROVIDER", "RESIZE_VOLUME", "AGENT_OPERATION_FEEDBACK", "AGENT_DRAINING", "TASK_RESOURCE_LIMITS"}

func (e *executor) agentJSON() agentExecutorJSON {
	ej := agentExecutorJSON{
		ID:             e.taskID,
		Name:           fmt.Sprintf("Command Executor (Task: %s) (Command: sh -c './run.sh')", e.taskID),
		Source:         e.taskID,
		Container:      e.container,
		Directory:      e.dir,
		Resources:      e.allocated(),
		Role:           e.fw.role(),
		Tasks:          []taskJSON{},
		QueuedTasks:    []taskJSON{},
		CompletedTasks: []taskJSON{},
	}
	if e.running() {
		ej.Tasks = append(ej.Tasks, e.taskJSON())
	} else {
		ej.CompletedTasks = append(ej.CompletedTasks, e.taskJSON())
	}
	return ej
}

func (a *Agent) flags() map[string]string {
	auth := strconv.FormatBool(a.c.opts.Auth != nil)
	return map[string]string{
		"hostname":                    a.hostname,
		"ip":                          "127.0.0.1",
		"port":                        strconv.Itoa(a.Port()),
		"work_dir":                    a.workDir,
		"log_dir":                     a.logDir,
		"logging_level":               "INFO",
		"authenticate_http_readonly":  auth,
		"authenticate_http_readwrite": auth,
		"resources":                   "cpus:8;mem:15360;disk:102400;ports:[31000-32000]",
		"containerizers":              "mesos",
	}
}

// statisticsJSON is one entry of /slave(1)/monitor/statistics.
type statisticsJSON struct {
	FrameworkID  string         `json:"framework_id"`
	ExecutorID   string         `json:"executor_id"`
	ExecutorName string         `json:"executor_name"`
	Source       string         `json:"source"`
	Statistics   map[string]any `json:"statistics"`
}

// statistics reports each running executor's usage, growing with its age
// so the WebUI computes a steady CPU rate between polls.
func (a *Agent) statistics() []statisticsJSON {
	a.c.mu.RLock()
	defer a.c.mu.RUnlock()
	now := time.Now()
	out := []statisticsJSON{}
	for _, e := range a.executors {
		age := now.Sub(e.launched).Seconds()
		res := e.allocated()
		out = append(out, statisticsJSON{
			FrameworkID:  e.fw.id,
			ExecutorID:   e.taskID,
			ExecutorName: fmt.Sprintf("Command Executor (Task: %s) (Command: sh -c './run.sh')", e.taskID),
			Source:       e.taskID,
			Statistics: map[string]any{
				"timestamp":             secs(now),
				"cpus_user_time_secs":   age * 0.12 * res.CPUs,
				"cpus_system_time_secs": age * 0.03 * res.CPUs,
				"cpus_limit":            res.CPUs,
				"mem_rss_bytes":         int64(res.Mem * 0.6 * (1 << 20)),
				"mem_limit_bytes":       int64(res.Mem * (1 << 20)),
				"disk_limit_bytes":      int64(res.Disk * (1 << 20)),
				"disk_used_bytes":       int64(res.Disk * 0.2 * (1 << 20)),
			},
		})
	}
	return out
}

func (a *Agent) metrics() map[string]float64 {
	a.c.mu.RLock()
	defer a.c.mu.RUnlock()
	var used resources
	frameworks := map[*Framework]bool{}
	for _, e := range a.executors {
		used = used.plus(e.allocated())
		frameworks[e.fw] = true
	}
	counts := map[string]float64{}
	for _, e := range a.completed {
		counts[e.state]++
	}
	return map[string]float64{
		"slave/registered":        1,
		"slave/uptime_secs":       time.Since(a.started).Seconds(),
		"slave/executors_running": float64(len(a.executors)),
		"slave/frameworks_active": float64(len(frameworks)),
		"slave/tasks_staging":     0,
		"slave/tasks_starting":    0,
		"slave/tasks_running":     float64(len(a.executors)),
		"slave/tasks_killing":     0,
		"slave/tasks_finished":    counts["TASK_FINISHED"],
		"slave/tasks_killed":      counts["TASK_KILLED"],
		"slave/tasks_failed":      0,
		"slave/tasks_lost":        0,
		"slave/cpus_total":        agentResources.CPUs,
		"slave/cpus_used":         used.CPUs,
		"slave/mem_total":         agentResources.Mem,
		"slave/mem_used":          used.Mem,
		"slave/disk_total":        agentResources.Disk,
		"slave/disk_used":         used.Disk,
		"slave/gpus_total":        0,
		"slave/gpus_used":         0,
		"system/cpus_total":       agentResources.CPUs,
		"system/load_1min":        0.42,
		"system/mem_total_bytes":  agentResources.Mem * (1 << 20),
		"system/mem_free_bytes":   (agentResources.Mem - used.Mem) * (1 << 20),
	}
}

// versionJSON is /version (version/version.cpp).
type versionJSON struct {
	Version   string  `json:"version"`
	BuildDate string  `json:"build_date"`
	BuildTime float64 `json:"build_time"`
	BuildUser string  `json:"build_user"`
}

func versionInfo() versionJSON {
	return versionJSON{
		Version:   mesosVersion,
		BuildDate: buildTime.Format("2006-01-02 15:04:05"),
		BuildTime: secs(buildTime),
		BuildUser: buildUser,
	}
}
