package upstream

import (
	"net/netip"
	"strings"
)

// This file keeps the cluster map: the leader, the agents and the
// frameworks, replaced whole by a poll or SUBSCRIBED and changed one by one
// by SUBSCRIBE's events. Every function here runs with c.mu held for
// writing and reports whether anything a gateway maps changed.

// agentInfo is an agent as a state or an event describes it.
type agentInfo struct {
	id, hostname, pid string
	port              int
	active            bool
}

// Framework is a framework the leader knows, and where its web UI is.
// Names may repeat; WebUIURL may be empty (many frameworks register none).
type Framework struct {
	ID       string
	Name     string
	WebUIURL string
	// Active is whether the framework is connected to the master.
	Active bool
	// Prefix is the gateway prefix its web UI is served under
	// (ServicePrefix or FrameworkPrefix); "" without a web UI. Only a
	// Snapshot's frameworks carry it.
	Prefix string
	// Host is the host name of its web UI's own origin with a service
	// domain ("marathon.apps.example.com"), "" without one or without a
	// web UI. Only a Snapshot's frameworks carry it.
	Host string
}

// setAgentsLocked makes list the agents.
func (c *Cluster) setAgentsLocked(list []agentInfo) bool {
	changed := false
	next := make(map[string]*agentState, len(list))
	for _, a := range list {
		if _, dup := next[a.id]; dup || a.id == "" {
			continue
		}
		old := c.agents[a.id]
		if old.same(a) {
			next[a.id] = old
			continue
		}
		if st := c.newAgentLocked(a); st != nil {
			next[a.id] = st
			changed = true
		}
	}
	for id, old := range c.agents {
		if next[id] != old {
			c.releaseLocked(old.m)
			changed = true
		}
	}
	c.agents = next
	return changed
}

// upsertAgentLocked adds an agent or changes it.
func (c *Cluster) upsertAgentLocked(a agentInfo) bool {
	old := c.agents[a.id]
	if a.id == "" || old.same(a) {
		return false
	}
	st := c.newAgentLocked(a)
	if st == nil {
		return false
	}
	if old != nil {
		c.releaseLocked(old.m)
	}
	c.agents[a.id] = st
	return true
}

// removeAgentLocked forgets an agent.
func (c *Cluster) removeAgentLocked(id string) bool {
	old := c.agents[id]
	if old == nil {
		return false
	}
	c.releaseLocked(old.m)
	delete(c.agents, id)
	return true
}

// newAgentLocked makes an agent's state, or nil (with a warning) when
// neither its pid nor its hostname and port say where it is.
func (c *Cluster) newAgentLocked(a agentInfo) *agentState {
	addr, ip, ok := agentAddress(a.pid, a.hostname, a.port)
	if !ok {
		c.log.Warn("skipping an agent whose pid and hostname give no address", "agent", a.id, "pid", a.pid, "hostname", a.hostname)
		return nil
	}
	hostname := a.hostname
	if hostname == "" {
		hostname = ip.String()
	}
	return &agentState{id: a.id, hostname: a.hostname, pid: a.pid, active: a.active, m: c.memberLocked(addr, hostname, ip)}
}

func (st *agentState) same(a agentInfo) bool {
	return st != nil && st.hostname == a.hostname && st.pid == a.pid && st.active == a.active
}

// setFrameworksLocked makes list the frameworks.
func (c *Cluster) setFrameworksLocked(list []Framework) bool {
	next := make(map[string]*Framework, len(list))
	changed := false
	for _, f := range list {
		if f.ID == "" {
			continue
		}
		if old := c.frameworks[f.ID]; old != nil && *old == f {
			next[f.ID] = old
			continue
		}
		f := f
		next[f.ID] = &f
		changed = true
	}
	for id, old := range c.frameworks {
		if next[id] != old {
			changed = true
		}
	}
	c.frameworks = next
	return changed
}

// upsertFrameworkLocked adds a framework or changes it.
func (c *Cluster) upsertFrameworkLocked(f Framework) bool {
	if old := c.frameworks[f.ID]; f.ID == "" || old != nil && *old == f {
		return false
	}
	c.frameworks[f.ID] = &f
	return true
}

// removeFrameworkLocked forgets a framework.
func (c *Cluster) removeFrameworkLocked(id string) bool {
	if c.frameworks[id] == nil {
		return false
	}
	delete(c.frameworks, id)
	return true
}

// setLeaderLocked makes ms the leader (nil: none). A leader that was not
// configured is forgotten once it no longer leads.
func (c *Cluster) setLeaderLocked(ms *masterState) bool {
	old := c.leader
	if old == ms {
		return false
	}
	c.leader = ms
	close(c.leaderCh)
	c.leaderCh = make(chan struct{})
	if old != nil && !old.configured {
		c.releaseLocked(old.m)
	}
	return true
}

// masterNamedLocked returns the known master that host:port names, or nil.
func (c *Cluster) masterNamedLocked(hostPort string) *masterState {
	for _, ms := range c.masters {
		if ms.named(hostPort) {
			return ms
		}
	}
	if c.leader != nil && c.leader.named(hostPort) {
		return c.leader
	}
	return nil
}

// masterForLocked returns the master at host:port, as a new unconfigured
// master when none is known: the leader a configured master redirected
// to. The caller makes it leader or drops it (dropMasterLocked).
func (c *Cluster) masterForLocked(hostPort string) (ms *masterState, made bool) {
	if ms := c.masterNamedLocked(hostPort); ms != nil {
		return ms, false
	}
	return c.newMasterLocked(hostPort, "", netip.Addr{}), true
}

// dropMasterLocked forgets a master masterForLocked made that did not
// become the leader.
func (c *Cluster) dropMasterLocked(ms *masterState) {
	if ms != nil && !ms.configured && ms != c.leader {
		c.releaseLocked(ms.m)
	}
}

// learnMasterLocked records what a leader's /master/state says about
// itself: its id and the names it goes by.
func (ms *masterState) learn(id, hostname string, port int, pid string) {
	if id != "" {
		ms.id = id
	}
	if hostname != "" {
		ms.hostname = hostname
		if port > 0 {
			ms.addAlias(joinHostPort(hostname, port))
		}
	}
	if _, after, ok := strings.Cut(pid, "@"); ok && after != "" {
		ms.addAlias(after)
	}
}
