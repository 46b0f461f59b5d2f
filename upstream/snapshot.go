package upstream

import (
	"net"
	"sort"
	"time"
)

// Role says what a member is.
type Role string

// The roles of members.
const (
	RoleLeader  Role = "leader"
	RoleStandby Role = "standby"
	RoleAgent   Role = "agent"
)

// Member is a master or an agent as a Snapshot or a Target shows it. It is
// immutable.
type Member struct {
	Role Role
	// ID is the agent's id, or the master's MasterInfo id once it has led
	// ("" for a master never seen leading).
	ID string
	// Address is the host:port the gateway connects to: an agent's pid
	// ip:port, a master's configured address (or, for a leader that was not
	// configured, the one a redirect named).
	Address string
	// Hostname is the name certificates are validated against and links
	// use: an agent's hostname, a master's as it reports itself.
	Hostname string
	// Addresses are every host:port form the member is known by, Address
	// first (for a master also its hostname:port and pid ip:port), so that
	// links to any of them can be mapped.
	Addresses []string
	// Active is the master's view of an agent (false while it is
	// disconnected); always true for masters.
	Active bool
	// Configured is whether the master was given with --master.
	Configured bool
	// Probe is the latest probe, nil before the first.
	Probe *Probe
}

// HostPort returns hostname:port, the form the Mesos WebUI builds links
// from ("//hostname:port/...").
func (m *Member) HostPort() string {
	_, port, err := net.SplitHostPort(m.Address)
	if err != nil || m.Hostname == "" {
		return m.Address
	}
	return net.JoinHostPort(m.Hostname, port)
}

// Speaks returns what the latest probe found, "" before the first.
func (m *Member) Speaks() Speaks {
	if m.Probe == nil {
		return ""
	}
	return m.Probe.Speaks
}

// Scheme returns the scheme requests to the member use now: "https",
// "http", or "" when it is unreachable or not yet probed.
func (m *Member) Scheme() string { return m.Probe.Scheme() }

// Snapshot is the cluster map at one moment. It is immutable: a new one is
// made when anything changes.
type Snapshot struct {
	// Generation changes whenever anything a gateway maps changes: the
	// leader, an agent (added, removed, its address or hostname), a
	// framework (its name or webui_url), or what a member speaks. A
	// gateway rebuilds its link table when it moves.
	Generation uint64
	// Leader is the leading master, nil when none is known.
	Leader *Member
	// Standbys are the configured masters that do not lead.
	Standbys []*Member
	// Agents are the agents the leader knows, by id.
	Agents []*Member
	// Frameworks are the frameworks the leader knows, by name then id.
	Frameworks []*Framework

	// Updated is when the masters last confirmed the map (a state poll, or
	// any record of the SUBSCRIBE stream); zero before the first. Age is
	// the time since. Stale is past the soft limit: the map is served
	// with a warning. Expired is past the hard limit: Target answers
	// ErrStale.
	Updated time.Time
	Age     time.Duration
	Stale   bool
	Expired bool
	// Error is the latest discovery's error, "" when it succeeded.
	Error string
	// Subscribed is whether the leader's SUBSCRIBE stream keeps the map
	// current (else it is polled every Refresh).
	Subscribed bool

	// Phase is where the migration to SSL stands (SPEC section 6),
	// NextSteps what to do next, naming members and LIBPROCESS_SSL_*
	// settings, and Problems what is wrong now (an ssl-only member while
	// others speak plain only, unreachable members).
	Phase     Phase
	NextSteps []string
	Problems  []string
}

// Members returns the leader, the standbys and the agents, in that order.
func (s *Snapshot) Members() []*Member {
	out := make([]*Member, 0, 1+len(s.Standbys)+len(s.Agents))
	if s.Leader != nil {
		out = append(out, s.Leader)
	}
	out = append(out, s.Standbys...)
	return append(out, s.Agents...)
}

// Snapshot returns the current cluster map. It is rebuilt only when
// something changed since the last call; Age, Stale and Expired are as of
// now.
func (c *Cluster) Snapshot() *Snapshot {
	seq := c.seq.Load()
	c.snapMu.Lock()
	if c.snap == nil || c.snapSeq != seq {
		c.mu.RLock()
		c.snap = c.buildLocked()
		c.mu.RUnlock()
		c.snapSeq = seq
	}
	s := *c.snap
	c.snapMu.Unlock()
	if !s.Updated.IsZero() {
		s.Age = c.cfg.Now().Sub(s.Updated)
		s.Stale = s.Age > c.cfg.StaleSoftLimit
		s.Expired = s.Age > c.cfg.StaleHardLimit
	}
	return &s
}

// buildLocked makes a Snapshot of the map; c.mu is held.
func (c *Cluster) buildLocked() *Snapshot {
	s := &Snapshot{Generation: c.gen.Load(), Updated: c.updated, Subscribed: c.stream.leader != nil && c.stream.leader == c.leader}
	if c.lastErr != nil {
		s.Error = c.lastErr.Error()
	}
	if c.leader != nil {
		s.Leader = c.masterViewLocked(c.leader)
	}
	for _, ms := range c.masters {
		if ms != c.leader {
			s.Standbys = append(s.Standbys, c.masterViewLocked(ms))
		}
	}
	s.Agents = make([]*Member, 0, len(c.agents))
	for _, a := range c.agents {
		s.Agents = append(s.Agents, agentView(a))
	}
	sort.Slice(s.Agents, func(i, j int) bool { return s.Agents[i].ID < s.Agents[j].ID })
	s.Frameworks = make([]*Framework, 0, len(c.frameworks))
	for _, f := range c.frameworks {
		s.Frameworks = append(s.Frameworks, f)
	}
	sort.Slice(s.Frameworks, func(i, j int) bool {
		a, b := s.Frameworks[i], s.Frameworks[j]
		return a.Name < b.Name || a.Name == b.Name && a.ID < b.ID
	})
	s.Phase, s.NextSteps, s.Problems = assess(s.Members())
	return s
}

// masterViewLocked shows a master; c.mu is held.
func (c *Cluster) masterViewLocked(ms *masterState) *Member {
	role := RoleStandby
	if ms == c.leader {
		role = RoleLeader
	}
	return &Member{
		Role: role, ID: ms.id, Address: ms.m.addr, Hostname: ms.hostname,
		Addresses: append([]string(nil), ms.aliases...), Active: true, Configured: ms.configured,
		Probe: ms.m.probe.Load(),
	}
}

// agentView shows an agent.
func agentView(a *agentState) *Member {
	m := &Member{Role: RoleAgent, ID: a.id, Address: a.m.addr, Hostname: a.hostname, Active: a.active, Probe: a.m.probe.Load()}
	m.Addresses = []string{a.m.addr}
	if hp := m.HostPort(); hp != a.m.addr {
		m.Addresses = append(m.Addresses, hp)
	}
	return m
}

// roleOf names m's role for errors.
func (c *Cluster) roleOf(m *member) Role {
	if !m.master {
		return RoleAgent
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.leader != nil && c.leader.m == m {
		return RoleLeader
	}
	return RoleStandby
}
