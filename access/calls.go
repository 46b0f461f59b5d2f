package access

import "strconv"

// This file is the table of the v1 operator API's calls: the number each
// Call.Type has on the wire and whether the call changes the cluster. The
// numbers are those of Mesos 1.11.0 (the newest release), from
// include/mesos/v1/master/master.proto and include/mesos/v1/agent/agent.proto,
// message Call, enum Type. A number or name missing here is unknown, and an
// unknown call is a write.
//
// Reads are the calls whose proto comment says they retrieve something
// (GET_*), SUBSCRIBE (a stream of the same state GET_STATE returns) and
// LIST_FILES/READ_FILE (the calls behind /files/browse and /files/read, which
// a viewer may GET anyway). Everything else is a write, including three
// calls that look like reads but are not a viewer's business:
//   - WAIT_CONTAINER and WAIT_NESTED_CONTAINER: Mesos authorizes them with
//     the container-lifecycle actions (WAIT_NESTED_CONTAINER,
//     WAIT_STANDALONE_CONTAINER in src/slave/http.cpp), not with a view
//     permission; they belong to the launch/wait/remove sequence of whoever
//     launched the container, and each holds an agent connection open until
//     the container exits.
//   - ATTACH_CONTAINER_OUTPUT: attaches to the I/O switchboard of a running
//     container, the output half of an interactive session
//     (LAUNCH_NESTED_CONTAINER_SESSION, ATTACH_CONTAINER_INPUT); Mesos gives
//     it its own authorization action.

// masterCallNames are the master's Call.Type names, indexed by number.
var masterCallNames = []string{
	0: "UNKNOWN", 1: "GET_HEALTH", 2: "GET_FLAGS", 3: "GET_VERSION",
	4: "GET_METRICS", 5: "GET_LOGGING_LEVEL", 6: "SET_LOGGING_LEVEL",
	7: "LIST_FILES", 8: "READ_FILE", 9: "GET_STATE", 10: "GET_AGENTS",
	11: "GET_FRAMEWORKS", 12: "GET_EXECUTORS", 13: "GET_TASKS", 14: "GET_ROLES",
	15: "GET_WEIGHTS", 16: "UPDATE_WEIGHTS", 17: "GET_MASTER", 18: "SUBSCRIBE",
	19: "RESERVE_RESOURCES", 20: "UNRESERVE_RESOURCES", 21: "CREATE_VOLUMES",
	22: "DESTROY_VOLUMES", 23: "GET_MAINTENANCE_STATUS",
	24: "GET_MAINTENANCE_SCHEDULE", 25: "UPDATE_MAINTENANCE_SCHEDULE",
	26: "START_MAINTENANCE", 27: "STOP_MAINTENANCE", 28: "GET_QUOTA",
	29: "SET_QUOTA", 30: "REMOVE_QUOTA", 31: "TEARDOWN", 32: "MARK_AGENT_GONE",
	33: "GET_OPERATIONS", 34: "GROW_VOLUME", 35: "SHRINK_VOLUME",
	36: "UPDATE_QUOTA", 37: "DRAIN_AGENT", 38: "DEACTIVATE_AGENT",
	39: "REACTIVATE_AGENT",
}

// agentCallNames are the agent's Call.Type names, indexed by number.
var agentCallNames = []string{
	0: "UNKNOWN", 1: "GET_HEALTH", 2: "GET_FLAGS", 3: "GET_VERSION",
	4: "GET_METRICS", 5: "GET_LOGGING_LEVEL", 6: "SET_LOGGING_LEVEL",
	7: "LIST_FILES", 8: "READ_FILE", 9: "GET_STATE", 10: "GET_CONTAINERS",
	11: "GET_FRAMEWORKS", 12: "GET_EXECUTORS", 13: "GET_TASKS",
	14: "LAUNCH_NESTED_CONTAINER", 15: "WAIT_NESTED_CONTAINER",
	16: "KILL_NESTED_CONTAINER", 17: "LAUNCH_NESTED_CONTAINER_SESSION",
	18: "ATTACH_CONTAINER_INPUT", 19: "ATTACH_CONTAINER_OUTPUT", 20: "GET_AGENT",
	21: "REMOVE_NESTED_CONTAINER", 22: "LAUNCH_CONTAINER", 23: "WAIT_CONTAINER",
	24: "KILL_CONTAINER", 25: "REMOVE_CONTAINER", 26: "GET_RESOURCE_PROVIDERS",
	27: "ADD_RESOURCE_PROVIDER_CONFIG", 28: "UPDATE_RESOURCE_PROVIDER_CONFIG",
	29: "REMOVE_RESOURCE_PROVIDER_CONFIG", 30: "PRUNE_IMAGES",
	31: "GET_OPERATIONS", 32: "MARK_RESOURCE_PROVIDER_GONE",
}

// callName returns the name of number n in calls, or "" when n is not one.
func callName(calls []string, n uint64) string {
	if n < uint64(len(calls)) {
		return calls[n]
	}
	return ""
}

// masterRead reports whether a master call, by name, only reads.
func masterRead(name string) bool {
	switch name {
	case "GET_HEALTH", "GET_FLAGS", "GET_VERSION", "GET_METRICS",
		"GET_LOGGING_LEVEL", "LIST_FILES", "READ_FILE", "GET_STATE",
		"GET_AGENTS", "GET_FRAMEWORKS", "GET_EXECUTORS", "GET_OPERATIONS",
		"GET_TASKS", "GET_ROLES", "GET_WEIGHTS", "GET_MASTER", "SUBSCRIBE",
		"GET_MAINTENANCE_STATUS", "GET_MAINTENANCE_SCHEDULE", "GET_QUOTA":
		return true
	}
	return false
}

// agentRead reports whether an agent call, by name, only reads.
func agentRead(name string) bool {
	switch name {
	case "GET_HEALTH", "GET_FLAGS", "GET_VERSION", "GET_METRICS",
		"GET_LOGGING_LEVEL", "LIST_FILES", "READ_FILE", "GET_STATE",
		"GET_CONTAINERS", "GET_FRAMEWORKS", "GET_EXECUTORS",
		"GET_OPERATIONS", "GET_TASKS", "GET_AGENT", "GET_RESOURCE_PROVIDERS":
		return true
	}
	return false
}

// callByName classifies a call named in JSON. A name one API lacks is not
// a call of that API: Mesos parses it as an unset type (stout's protobuf.hpp
// drops an unknown enum name of an optional field) and refuses the call, so
// for a member of unknown kind a name is a read when it is a read in every
// API that defines it.
func callByName(m Member, name string) (call string, read bool) {
	switch m {
	case Master:
		return name, masterRead(name)
	case Agent:
		return name, agentRead(name)
	}
	if masterRead(name) || agentRead(name) {
		return name, !definesWrite(name)
	}
	return name, false
}

// definesWrite reports whether either API defines name as a write.
func definesWrite(name string) bool {
	for _, m := range masterCallNames {
		if m == name && !masterRead(m) {
			return true
		}
	}
	for _, a := range agentCallNames {
		if a == name && !agentRead(a) {
			return true
		}
	}
	return false
}

// callByNumber classifies a call given as a protobuf enum number. The same
// number names different calls in the two APIs (14 is the master's
// GET_ROLES and the agent's LAUNCH_NESTED_CONTAINER), so for a member of
// unknown kind a number is a read only when it is a read in both.
func callByNumber(m Member, n uint64) (call string, read bool) {
	master, agent := callName(masterCallNames, n), callName(agentCallNames, n)
	switch m {
	case Master:
		return numbered(master, n), masterRead(master)
	case Agent:
		return numbered(agent, n), agentRead(agent)
	}
	if master == agent {
		return numbered(master, n), masterRead(master) && agentRead(agent)
	}
	return "master " + numbered(master, n) + " or agent " + numbered(agent, n), false
}

// numbered is a call's name for logs, or its number when it has none.
func numbered(name string, n uint64) string {
	if name == "" {
		return "UNKNOWN(" + strconv.FormatUint(n, 10) + ")"
	}
	return name
}
