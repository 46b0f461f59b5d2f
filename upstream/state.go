package upstream

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
)

// This file reads the masters' state: the fields of /master/state and
// /master/state-summary the gateway maps (master/readonly_handler.cpp,
// common/http.cpp). Both list slaves[] with id, hostname, pid and active,
// and frameworks[] with id, name, webui_url (empty or null when the
// framework registered none) and active. Only /master/state names the
// master itself (id, pid) and the leader (leader_info).

// maxStateBytes bounds a state document: a cluster of 10,000 agents
// answers tens of megabytes, this is far beyond.
const maxStateBytes = 1 << 30

// state is what a master's state says, reduced to what is mapped.
type state struct {
	id, pid, hostname string
	leader            *leaderInfo
	agents            []agentInfo
	frameworks        []Framework
}

type leaderInfo struct {
	ID       string `json:"id"`
	PID      string `json:"pid"`
	Hostname string `json:"hostname"`
	Port     int    `json:"port"`
}

// stateJSON is the JSON both endpoints share.
type stateJSON struct {
	ID         string      `json:"id"`
	PID        string      `json:"pid"`
	Hostname   string      `json:"hostname"`
	LeaderInfo *leaderInfo `json:"leader_info"`
	Slaves     *[]struct {
		ID       string `json:"id"`
		Hostname string `json:"hostname"`
		PID      string `json:"pid"`
		Port     int    `json:"port"`
		Active   bool   `json:"active"`
	} `json:"slaves"`
	Frameworks *[]struct {
		ID       string `json:"id"`
		Name     string `json:"name"`
		WebUIURL string `json:"webui_url"`
		Active   bool   `json:"active"`
	} `json:"frameworks"`
}

// parseState reads a master's state. A document that is not JSON, or not
// a master's state (no slaves and frameworks lists), is an error: the
// caller keeps the last good map.
func parseState(r io.Reader) (*state, error) {
	var js stateJSON
	dec := json.NewDecoder(io.LimitReader(r, maxStateBytes))
	if err := dec.Decode(&js); err != nil {
		var syntax *json.SyntaxError
		var typ *json.UnmarshalTypeError
		switch {
		case errors.As(err, &syntax):
			return nil, fmt.Errorf("malformed state JSON at byte %d: %v", syntax.Offset, err)
		case errors.As(err, &typ):
			return nil, fmt.Errorf("malformed state JSON: %s is a %s, not a %s", typ.Field, typ.Value, typ.Type)
		case errors.Is(err, io.EOF), errors.Is(err, io.ErrUnexpectedEOF):
			return nil, errors.New("malformed state JSON: the document ends early")
		}
		return nil, fmt.Errorf("malformed state JSON: %w", err)
	}
	if js.Slaves == nil || js.Frameworks == nil {
		return nil, errors.New(`not a Mesos master's state: no "slaves" and "frameworks" lists`)
	}
	s := &state{id: js.ID, pid: js.PID, hostname: js.Hostname, leader: js.LeaderInfo}
	s.agents = make([]agentInfo, 0, len(*js.Slaves))
	for _, a := range *js.Slaves {
		s.agents = append(s.agents, agentInfo{id: a.ID, hostname: a.Hostname, pid: a.PID, port: a.Port, active: a.Active})
	}
	s.frameworks = make([]Framework, 0, len(*js.Frameworks))
	for _, f := range *js.Frameworks {
		s.frameworks = append(s.frameworks, Framework{ID: f.ID, Name: f.Name, WebUIURL: f.WebUIURL, Active: f.Active})
	}
	return s, nil
}

func joinHostPort(host string, port int) string {
	return net.JoinHostPort(host, strconv.Itoa(port))
}
