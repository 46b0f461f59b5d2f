package sim

import (
	"fmt"
	"path/filepath"
	"time"
)

// Facts every member reports about its build (/version, state).
const (
	mesosVersion = "1.11.0"
	buildUser    = "mesosgate-sim"
)

// buildTime is when the simulated Mesos was "built".
var buildTime = time.Date(2024, 8, 23, 14, 59, 0, 0, time.UTC)

// resources is Mesos's summary of a set of resources (common/http.cpp
// model(Resources)): scalars always present, ranges as "[a-b]" strings.
type resources struct {
	CPUs  float64 `json:"cpus"`
	GPUs  float64 `json:"gpus"`
	Mem   float64 `json:"mem"`
	Disk  float64 `json:"disk"`
	Ports string  `json:"ports,omitempty"`
}

func (r resources) plus(o resources) resources {
	return resources{CPUs: r.CPUs + o.CPUs, GPUs: r.GPUs + o.GPUs, Mem: r.Mem + o.Mem, Disk: r.Disk + o.Disk}
}

// agentResources is what every simulated agent offers.
var agentResources = resources{CPUs: 8, Mem: 15 * 1024, Disk: 100 * 1024, Ports: "[31000-32000]"}

// executorOverhead is what a command executor adds to its task.
var executorOverhead = resources{CPUs: 0.1, Mem: 32}

// executor is a command executor running (or having run) one task on an
// agent, with its sandbox directory. Its id is the task's id, as for
// Mesos's command executor.
type executor struct {
	fw        *Framework
	agent     *Agent
	taskID    string
	taskName  string
	container string
	state     string // the task's state: TASK_RUNNING, TASK_FINISHED, TASK_KILLED
	launched  time.Time
	ended     time.Time // zero while running
	res       resources
	// dir is the sandbox: <work_dir>/slaves/<agent>/frameworks/<fw>/
	// executors/<id>/runs/<container>, created on first use.
	dir string
}

// newExecutor makes an executor of f on a. A running one launched a few
// minutes ago; a finished or killed one ran earlier and ended.
func newExecutor(a *Agent, f *Framework, state string) *executor {
	name := f.taskName()
	e := &executor{
		fw:        f,
		agent:     a,
		taskName:  name,
		taskID:    name + "." + newUUID(),
		container: newUUID(),
		state:     state,
		res:       f.taskResources(),
	}
	now := time.Now()
	e.launched = now.Add(-time.Duration(5+a.index%50) * time.Minute)
	if state != "TASK_RUNNING" {
		e.launched = now.Add(-2 * time.Hour)
		e.ended = now.Add(-90 * time.Minute)
	}
	e.dir = filepath.Join(e.runsDir(), e.container)
	return e
}

// runsDir is the executor's runs directory, which holds the "latest" link.
func (e *executor) runsDir() string {
	return filepath.Join(e.agent.workDir, "slaves", e.agent.id, "frameworks", e.fw.id, "executors", e.taskID, "runs")
}

// virtualPath is the sandbox's path in Mesos's virtual file namespace
// (slave/paths.cpp getExecutorVirtualPath).
func (e *executor) virtualPath() string {
	return fmt.Sprintf("/frameworks/%s/executors/%s/runs/latest", e.fw.id, e.taskID)
}

func (e *executor) running() bool { return e.ended.IsZero() }

// allocated is the executor's share of the agent: its task and itself.
func (e *executor) allocated() resources { return e.res.plus(executorOverhead) }

// taskStatusJSON is model(TaskStatus).
type taskStatusJSON struct {
	State           string               `json:"state"`
	Timestamp       float64              `json:"timestamp"`
	ContainerStatus *containerStatusJSON `json:"container_status,omitempty"`
	Healthy         *bool                `json:"healthy,omitempty"`
}

type containerStatusJSON struct {
	ContainerID  idJSON            `json:"container_id"`
	NetworkInfos []networkInfoJSON `json:"network_infos"`
}

type idJSON struct {
	Value string `json:"value"`
}

type networkInfoJSON struct {
	IPAddresses []ipAddressJSON `json:"ip_addresses"`
}

type ipAddressJSON struct {
	Protocol  string `json:"protocol"`
	IPAddress string `json:"ip_address"`
}

// taskJSON is json(Task) in master and agent state.
type taskJSON struct {
	ID          string           `json:"id"`
	Name        string           `json:"name"`
	FrameworkID string           `json:"framework_id"`
	ExecutorID  string           `json:"executor_id"`
	SlaveID     string           `json:"slave_id"`
	State       string           `json:"state"`
	Resources   resources        `json:"resources"`
	Role        string           `json:"role"`
	Statuses    []taskStatusJSON `json:"statuses"`
	User        string           `json:"user,omitempty"`
}

// taskJSON renders the executor's task. A command executor's task has an
// empty executor_id (the WebUI then uses the task id).
func (e *executor) taskJSON() taskJSON {
	t0 := secs(e.launched)
	cs := &containerStatusJSON{
		ContainerID:  idJSON{e.container},
		NetworkInfos: []networkInfoJSON{{IPAddresses: []ipAddressJSON{{Protocol: "IPv4", IPAddress: "127.0.0.1"}}}},
	}
	healthy := true
	statuses := []taskStatusJSON{
		{State: "TASK_STAGING", Timestamp: t0},
		{State: "TASK_STARTING", Timestamp: t0 + 1.5, ContainerStatus: cs},
		{State: "TASK_RUNNING", Timestamp: t0 + 3.2, ContainerStatus: cs, Healthy: &healthy},
	}
	if !e.running() {
		statuses = append(statuses, taskStatusJSON{State: e.state, Timestamp: secs(e.ended), ContainerStatus: cs})
	}
	return taskJSON{
		ID:          e.taskID,
		Name:        e.taskName,
		FrameworkID: e.fw.id,
		SlaveID:     e.agent.id,
		State:       e.state,
		Resources:   e.res,
		Role:        e.fw.role(),
		Statuses:    statuses,
		User:        e.fw.user(),
	}
}
