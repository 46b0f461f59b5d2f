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

// masterCallName returns the name of a master Call.Type number, or "" when
// the number is not one.
func masterCallName(n uint64) string {
	switch n {
	case 0:
		return "UNKNOWN"
	case 1:
		return "GET_HEALTH"
	case 2:
		return "GET_FLAGS"
	case 3:
		return "GET_VERSION"
	case 4:
		return "GET_METRICS"
	case 5:
		return "GET_LOGGING_LEVEL"
	case 6:
		return "SET_LOGGING_LEVEL"
	case 7:
		return "LIST_FILES"
	case 8:
		return "READ_FILE"
	case 9:
		return "GET_STATE"
	case 10:
		return "GET_AGENTS"
	case 11:
		return "GET_FRAMEWORKS"
	case 12:
		return "GET_EXECUTORS"
	case 13:
		return "GET_TASKS"
	case 14:
		return "GET_ROLES"
	case 15:
		return "GET_WEIGHTS"
	case 16:
		return "UPDATE_WEIGHTS"
	case 17:
		return "GET_MASTER"
	case 18:
		return "SUBSCRIBE"
	case 19:
		return "RESERVE_RESOURCES"
	case 20:
		return "UNRESERVE_RESOURCES"
	case 21:
		return "CREATE_VOLUMES"
	case 22:
		return "DESTROY_VOLUMES"
	case 23:
		return "GET_MAINTENANCE_STATUS"
	case 24:
		return "GET_MAINTENANCE_SCHEDULE"
	case 25:
		return "UPDATE_MAINTENANCE_SCHEDULE"
	case 26:
		return "START_MAINTENANCE"
	case 27:
		return "STOP_MAINTENANCE"
	case 28:
		return "GET_QUOTA"
	case 29:
		return "SET_QUOTA"
	case 30:
		return "REMOVE_QUOTA"
	case 31:
		return "TEARDOWN"
	case 32:
		return "MARK_AGENT_GONE"
	case 33:
		return "GET_OPERATIONS"
	case 34:
		return "GROW_VOLUME"
	case 35:
		return "SHRINK_VOLUME"
	case 36:
		return "UPDATE_QUOTA"
	case 37:
		return "DRAIN_AGENT"
	case 38:
		return "DEACTIVATE_AGENT"
	case 39:
		return "REACTIVATE_AGENT"
	}
	return ""
}

// agentCallName returns the name of an agent Call.Type number, or "" when
// the number is not one.
func agentCallName(n uint64) string {
	switch n {
	case 0:
		return "UNKNOWN"
	case 1:
		return "GET_HEALTH"
	case 2:
		return "GET_FLAGS"
	case 3:
		return "GET_VERSION"
	case 4:
		return "GET_METRICS"
	case 5:
		return "GET_LOGGING_LEVEL"
	case 6:
		return "SET_LOGGING_LEVEL"
	case 7:
		return "LIST_FILES"
	case 8:
		return "READ_FILE"
	case 9:
		return "GET_STATE"
	case 10:
		return "GET_CONTAINERS"
	case 11:
		return "GET_FRAMEWORKS"
	case 12:
		return "GET_EXECUTORS"
	case 13:
		return "GET_TASKS"
	case 14:
		return "LAUNCH_NESTED_CONTAINER"
	case 15:
		return "WAIT_NESTED_CONTAINER"
	case 16:
		return "KILL_NESTED_CONTAINER"
	case 17:
		return "LAUNCH_NESTED_CONTAINER_SESSION"
	case 18:
		return "ATTACH_CONTAINER_INPUT"
	case 19:
		return "ATTACH_CONTAINER_OUTPUT"
	case 20:
		return "GET_AGENT"
	case 21:
		return "REMOVE_NESTED_CONTAINER"
	case 22:
		return "LAUNCH_CONTAINER"
	case 23:
		return "WAIT_CONTAINER"
	case 24:
		return "KILL_CONTAINER"
	case 25:
		return "REMOVE_CONTAINER"
	case 26:
		return "GET_RESOURCE_PROVIDERS"
	case 27:
		return "ADD_RESOURCE_PROVIDER_CONFIG"
	case 28:
		return "UPDATE_RESOURCE_PROVIDER_CONFIG"
	case 29:
		return "REMOVE_RESOURCE_PROVIDER_CONFIG"
	case 30:
		return "PRUNE_IMAGES"
	case 31:
		return "GET_OPERATIONS"
	case 32:
		return "MARK_RESOURCE_PROVIDER_GONE"
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
	for n := uint64(0); n < 64; n++ {
		if m := masterCallName(n); m == name && !masterRead(m) {
			return true
		}
		if a := agentCallName(n); a == name && !agentRead(a) {
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
	master, agent := masterCallName(n), agentCallName(n)
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
