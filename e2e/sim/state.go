package sim

import (
	"time"
)

// This file renders the leading master's view of the cluster: the JSON of
// /master/state, /master/state-summary, /master/slaves,
// /master/frameworks, /master/roles and /metrics/snapshot, with the fields
// and shapes of master/readonly_handler.cpp and common/http.cpp.

// masterInfoJSON is json(MasterInfo), the leader_info object.
type masterInfoJSON struct {
	ID       string `json:"id"`
	PID      string `json:"pid"`
	Port     int    `json:"port"`
	Hostname string `json:"hostname"`
}

func (m *Master) info() masterInfoJSON {
	return masterInfoJSON{ID: m.id, PID: m.PID(), Port: m.Port(), Hostname: m.hostname}
}

// slaveJSON is SlaveWriter's output.
type slaveJSON struct {
	ID                  string               `json:"id"`
	Hostname            string               `json:"hostname"`
	Port                int                  `json:"port"`
	Attributes          map[string]any       `json:"attributes"`
	PID                 string               `json:"pid"`
	RegisteredTime      float64              `json:"registered_time"`
	Resources           resources            `json:"resources"`
	UsedResources       resources            `json:"used_resources"`
	OfferedResources    resources            `json:"offered_resources"`
	ReservedResources   map[string]resources `json:"reserved_resources"`
	UnreservedResources resources            `json:"unreserved_resources"`
	Active              bool                 `json:"active"`
	Deactivated         bool                 `json:"deactivated"`
	Version             string               `json:"version"`
	Capabilities        []string             `json:"capabilities"`
}

// frameworkSummaryJSON is json(Summary<Framework>).
type frameworkSummaryJSON struct {
	ID               string    `json:"id"`
	Name             string    `json:"name"`
	PID              string    `json:"pid,omitempty"`
	UsedResources    resources `json:"used_resources"`
	OfferedResources resources `json:"offered_resources"`
	Capabilities     []string  `json:"capabilities"`
	Hostname         string    `json:"hostname"`
	WebUIURL         string    `json:"webui_url"`
	Active           bool      `json:"active"`
	Connected        bool      `json:"connected"`
	Recovered        bool      `json:"recovered"`
}

// frameworkJSON is FullFrameworkWriter's output.
type frameworkJSON struct {
	frameworkSummaryJSON
	User             string         `json:"user"`
	FailoverTimeout  float64        `json:"failover_timeout"`
	Checkpoint       bool           `json:"checkpoint"`
	RegisteredTime   float64        `json:"registered_time"`
	UnregisteredTime float64        `json:"unregistered_time"`
	Principal        string         `json:"principal"`
	Resources        resources      `json:"resources"`
	Role             string         `json:"role"`
	Tasks            []taskJSON     `json:"tasks"`
	UnreachableTasks []taskJSON     `json:"unreachable_tasks"`
	CompletedTasks   []taskJSON     `json:"completed_tasks"`
	Offers           []any          `json:"offers"`
	Executors        []any          `json:"executors"`
	OfferConstraints map[string]any `json:"offer_constraints"`
}

// masterStateJSON is /master/state.
type masterStateJSON struct {
	Version                string            `json:"version"`
	BuildDate              string            `json:"build_date"`
	BuildTime              float64           `json:"build_time"`
	BuildUser              string            `json:"build_user"`
	StartTime              float64           `json:"start_time"`
	ElectedTime            float64           `json:"elected_time,omitempty"`
	ID                     string            `json:"id"`
	PID                    string            `json:"pid"`
	Hostname               string            `json:"hostname"`
	Capabilities           []string          `json:"capabilities"`
	ActivatedSlaves        float64           `json:"activated_slaves"`
	DeactivatedSlaves      float64           `json:"deactivated_slaves"`
	UnreachableSlaves      float64           `json:"unreachable_slaves"`
	Leader                 string            `json:"leader,omitempty"`
	LeaderInfo             *masterInfoJSON   `json:"leader_info,omitempty"`
	Cluster                string            `json:"cluster,omitempty"`
	LogDir                 string            `json:"log_dir"`
	Flags                  map[string]string `json:"flags"`
	Slaves                 []slaveJSON       `json:"slaves"`
	RecoveredSlaves        []any             `json:"recovered_slaves"`
	Frameworks             []frameworkJSON   `json:"frameworks"`
	CompletedFrameworks    []frameworkJSON   `json:"completed_frameworks"`
	OrphanTasks            []any             `json:"orphan_tasks"`
	UnregisteredFrameworks []any             `json:"unregistered_frameworks"`
}

// view is the leader's model of the cluster at one moment: agents and
// frameworks with the tasks each runs. It is computed under c.mu and
// rendered afterwards.
type view struct {
	leader     *Master
	electedAt  time.Time
	agents     []agentView
	frameworks []*frameworkView
}

type agentView struct {
	a       *Agent
	running bool
	used    resources
	counts  map[string]int
	fwIDs   []string
}

type frameworkView struct {
	f         *Framework
	connected bool
	used      resources
	tasks     []taskJSON
	completed []taskJSON
	counts    map[string]int
	agentIDs  []string
}

// view snapshots the model. Tasks of removed frameworks count for their
// agents but not among the registered frameworks.
func (c *Cluster) view() *view {
	c.mu.RLock()
	defer c.mu.RUnlock()
	v := &view{leader: c.leader, electedAt: c.electedAt}
	byFW := map[*Framework]*frameworkView{}
	for _, f := range c.frameworks {
		fv := &frameworkView{f: f, connected: f.connected(), tasks: []taskJSON{}, completed: []taskJSON{}, counts: map[string]int{}}
		byFW[f] = fv
		v.frameworks = append(v.frameworks, fv)
	}
	for _, a := range c.agents {
		av := agentView{a: a, running: a.Running(), counts: map[string]int{}}
		seen := map[*Framework]bool{}
		for _, e := range append(append([]*executor(nil), a.executors...), a.completed...) {
			fv := byFW[e.fw]
			av.counts[e.state]++
			fv.counts[e.state]++
			if e.running() {
				av.used = av.used.plus(e.allocated())
				fv.used = fv.used.plus(e.allocated())
				fv.tasks = append(fv.tasks, e.taskJSON())
			} else {
				fv.completed = append(fv.completed, e.taskJSON())
			}
			if !seen[e.fw] {
				seen[e.fw] = true
				av.fwIDs = append(av.fwIDs, e.fw.id)
				fv.agentIDs = append(fv.agentIDs, a.id)
			}
		}
		v.agents = append(v.agents, av)
	}
	return v
}

// view is the model as master m reports it: the cluster's for the
// leader; a standby, which only answers itself where masters before Mesos
// 1.0 did (Cluster.answeringStandbys), has registered no agent and no
// framework, and knows only who leads.
func (m *Master) view() *view {
	v := m.c.view()
	if v.leader == m {
		return v
	}
	return &view{leader: v.leader}
}

func (av agentView) json() slaveJSON {
	a := av.a
	return slaveJSON{
		ID:                  a.id,
		Hostname:            a.hostname,
		Port:                a.Port(),
		Attributes:          map[string]any{},
		PID:                 a.PID(),
		RegisteredTime:      secs(a.registered),
		Resources:           agentResources,
		UsedResources:       av.used,
		OfferedResources:    resources{},
		ReservedResources:   map[string]resources{},
		UnreservedResources: agentResources,
		// A master marks an agent whose connection broke inactive.
		Active:       av.running,
		Version:      mesosVersion,
		Capabilities: agentCapabilities,
	}
}

func (fv *frameworkView) summary() frameworkSummaryJSON {
	f := fv.f
	return frameworkSummaryJSON{
		ID:               f.id,
		Name:             f.name,
		PID:              f.pid(),
		UsedResources:    fv.used,
		OfferedResources: resources{},
		Capabilities:     []string{"PARTITION_AWARE", "TASK_KILLING_STATE", "REGION_AWARE"},
		Hostname:         f.c.hostname,
		WebUIURL:         f.WebUIURL(),
		Active:           fv.connected && !f.removed,
		Connected:        fv.connected && !f.removed,
	}
}

func (fv *frameworkView) json() frameworkJSON {
	f := fv.f
	out := frameworkJSON{
		frameworkSummaryJSON: fv.summary(),
		User:                 f.user(),
		FailoverTimeout:      604800,
		Checkpoint:           true,
		RegisteredTime:       secs(f.registered),
		Principal:            f.name,
		Resources:            fv.used,
		Role:                 f.role(),
		Tasks:                fv.tasks,
		UnreachableTasks:     []taskJSON{},
		CompletedTasks:       fv.completed,
		Offers:               []any{},
		Executors:            []any{},
		OfferConstraints:     map[string]any{},
	}
	if f.removed {
		// A torn-down framework's tasks are all completed.
		out.CompletedTasks = append(append([]taskJSON{}, fv.tasks...), fv.completed...)
		out.Tasks = []taskJSON{}
	}
	return out
}

func (m *Master) state() masterStateJSON {
	v := m.view()
	s := masterStateJSON{
		Version:                mesosVersion,
		BuildDate:              buildTime.Format("2006-01-02 15:04:05"),
		BuildTime:              secs(buildTime),
		BuildUser:              buildUser,
		StartTime:              secs(m.started),
		ID:                     m.id,
		PID:                    m.PID(),
		Hostname:               m.hostname,
		Capabilities:           []string{"AGENT_UPDATE", "AGENT_DRAINING", "QUOTA_V2"},
		Cluster:                m.c.opts.Name,
		LogDir:                 m.logDir,
		Flags:                  m.flags(),
		Slaves:                 []slaveJSON{},
		RecoveredSlaves:        []any{},
		Frameworks:             []frameworkJSON{},
		CompletedFrameworks:    []frameworkJSON{},
		OrphanTasks:            []any{},
		UnregisteredFrameworks: []any{},
	}
	if v.leader != nil {
		info := v.leader.info()
		s.Leader, s.LeaderInfo = info.PID, &info
		if v.leader == m {
			s.ElectedTime = secs(v.electedAt)
		}
	}
	for _, av := range v.agents {
		s.Slaves = append(s.Slaves, av.json())
		if av.running {
			s.ActivatedSlaves++
		} else {
			s.DeactivatedSlaves++
		}
	}
	for _, fv := range v.frameworks {
		if fv.f.removed {
			s.CompletedFrameworks = append(s.CompletedFrameworks, fv.json())
		} else {
			s.Frameworks = append(s.Frameworks, fv.json())
		}
	}
	return s
}

// taskCounts are the TASK_* fields of state-summary.
type taskCounts struct {
	Staging     int `json:"TASK_STAGING"`
	Starting    int `json:"TASK_STARTING"`
	Running     int `json:"TASK_RUNNING"`
	Killing     int `json:"TASK_KILLING"`
	Finished    int `json:"TASK_FINISHED"`
	Killed      int `json:"TASK_KILLED"`
	Failed      int `json:"TASK_FAILED"`
	Lost        int `json:"TASK_LOST"`
	Error       int `json:"TASK_ERROR"`
	Unreachable int `json:"TASK_UNREACHABLE"`
}

func countsOf(m map[string]int) taskCounts {
	return taskCounts{
		Running:  m["TASK_RUNNING"],
		Finished: m["TASK_FINISHED"],
		Killed:   m["TASK_KILLED"],
	}
}

type summarySlaveJSON struct {
	slaveJSON
	taskCounts
	FrameworkIDs []string `json:"framework_ids"`
}

type summaryFrameworkJSON struct {
	frameworkSummaryJSON
	taskCounts
	SlaveIDs []string `json:"slave_ids"`
}

type stateSummaryJSON struct {
	Hostname   string                 `json:"hostname"`
	Cluster    string                 `json:"cluster,omitempty"`
	Slaves     []summarySlaveJSON     `json:"slaves"`
	Frameworks []summaryFrameworkJSON `json:"frameworks"`
}

func (m *Master) stateSummary() stateSummaryJSON {
	v := m.view()
	s := stateSummaryJSON{Hostname: m.hostname, Cluster: m.c.opts.Name, Slaves: []summarySlaveJSON{}, Frameworks: []summaryFrameworkJSON{}}
	for _, av := range v.agents {
		s.Slaves = append(s.Slaves, summarySlaveJSON{av.json(), countsOf(av.counts), orEmpty(av.fwIDs)})
	}
	for _, fv := range v.frameworks {
		if !fv.f.removed {
			s.Frameworks = append(s.Frameworks, summaryFrameworkJSON{fv.summary(), countsOf(fv.counts), orEmpty(fv.agentIDs)})
		}
	}
	return s
}

func orEmpty(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}

// slaves is /master/slaves.
func (m *Master) slaves() map[string]any {
	v := m.view()
	list := []slaveJSON{}
	for _, av := range v.agents {
		list = append(list, av.json())
	}
	return map[string]any{"slaves": list, "recovered_slaves": []any{}}
}

// frameworks is /master/frameworks.
func (m *Master) frameworks() map[string]any {
	v := m.view()
	active, completed := []frameworkJSON{}, []frameworkJSON{}
	for _, fv := range v.frameworks {
		if fv.f.removed {
			completed = append(completed, fv.json())
		} else {
			active = append(active, fv.json())
		}
	}
	return map[string]any{"frameworks": active, "completed_frameworks": completed, "unregistered_frameworks": []any{}}
}

// roleJSON is one entry of /master/roles.
type roleJSON struct {
	Name       string             `json:"name"`
	Weight     float64            `json:"weight"`
	Quota      roleQuotaJSON      `json:"quota"`
	Resources  map[string]float64 `json:"resources"`
	Allocated  map[string]float64 `json:"allocated"`
	Offered    map[string]float64 `json:"offered"`
	Reserved   map[string]float64 `json:"reserved"`
	Frameworks []string           `json:"frameworks"`
}

type roleQuotaJSON struct {
	Role      string             `json:"role"`
	Guarantee map[string]float64 `json:"guarantee"`
	Limit     map[string]float64 `json:"limit"`
	Consumed  map[string]float64 `json:"consumed"`
}

// roles lists the roles frameworks registered with, with what they use.
func (m *Master) roles() map[string]any {
	v := m.view()
	byName := map[string]*roleJSON{}
	var names []string
	for _, fv := range v.frameworks {
		if fv.f.removed {
			continue
		}
		name := fv.f.role()
		r := byName[name]
		if r == nil {
			r = &roleJSON{Name: name, Weight: 1, Quota: roleQuotaJSON{Role: name, Guarantee: map[string]float64{}, Limit: map[string]float64{}, Consumed: map[string]float64{}},
				Allocated: map[string]float64{}, Offered: map[string]float64{}, Reserved: map[string]float64{}, Frameworks: []string{}}
			byName[name] = r
			names = append(names, name)
		}
		r.Frameworks = append(r.Frameworks, fv.f.id)
		for k, q := range map[string]float64{"cpus": fv.used.CPUs, "mem": fv.used.Mem, "disk": fv.used.Disk} {
			if q > 0 {
				r.Allocated[k] += q
			}
		}
	}
	out := []roleJSON{}
	for _, name := range names {
		r := byName[name]
		r.Resources = r.Allocated
		out = append(out, *r)
	}
	return map[string]any{"roles": out}
}

// metrics is the master's /metrics/snapshot: what the WebUI's home page
// reads (master/tasks_*) and the usual gauges. A standby reports itself
// not elected.
func (m *Master) metrics() map[string]float64 {
	v := m.c.view()
	elected := 0.0
	if v.leader == m {
		elected = 1
	}
	out := map[string]float64{
		"master/elected":     elected,
		"master/uptime_secs": time.Since(m.started).Seconds(),
	}
	if elected == 0 {
		return out
	}
	var total, used resources
	counts := map[string]int{}
	active, inactive := 0, 0
	for _, av := range v.agents {
		total = total.plus(agentResources)
		used = used.plus(av.used)
		for k, n := range av.counts {
			counts[k] += n
		}
		if av.running {
			active++
		} else {
			inactive++
		}
	}
	connected := 0
	for _, fv := range v.frameworks {
		if fv.connected && !fv.f.removed {
			connected++
		}
	}
	for k, val := range map[string]float64{
		"master/slaves_active":        float64(active),
		"master/slaves_inactive":      float64(inactive),
		"master/slaves_connected":     float64(active),
		"master/slaves_disconnected":  float64(inactive),
		"master/frameworks_active":    float64(connected),
		"master/frameworks_connected": float64(connected),
		"master/tasks_staging":        0,
		"master/tasks_starting":       0,
		"master/tasks_running":        float64(counts["TASK_RUNNING"]),
		"master/tasks_killing":        0,
		"master/tasks_finished":       float64(counts["TASK_FINISHED"]),
		"master/tasks_killed":         float64(counts["TASK_KILLED"]),
		"master/tasks_failed":         0,
		"master/tasks_lost":           0,
		"master/tasks_error":          0,
		"master/tasks_unreachable":    0,
		"master/cpus_total":           total.CPUs,
		"master/cpus_used":            used.CPUs,
		"master/mem_total":            total.Mem,
		"master/mem_used":             used.Mem,
		"master/disk_total":           total.Disk,
		"master/disk_used":            used.Disk,
		"master/gpus_total":           0,
		"master/gpus_used":            0,
		"system/cpus_total":           2,
		"system/load_1min":            0.42,
	} {
		out[k] = val
	}
	return out
}
