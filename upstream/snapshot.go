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

// Roles lists every Role, for conversions that must cover them all.
func Roles() []Role { return []Role{RoleLeader, RoleStandby, RoleAgent} }

// Member is a master or an agent as a Snapshot or a Target shows it. It is
// immutable.
type Member struct {
	Role Role
	// ID is the agent's id, or the master's MasterInfo id: from
	// ZooKeeper, or once it has led ("" for a configured master never
	// seen leading).
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
	// Configured is whether the master was given with --master or found
	// in the masters' ZooKeeper group (rather than named by a redirect).
	Configured bool
	// Prefix is the gateway prefix the member is served under: "" for the
	// leader (at the root), MasterPrefix for a standby, AgentPrefix for an
	// agent.
	Prefix string
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
	// Standbys are the masters that do not lead: the configured ones, or
	// with ZooKeeper the group's other members, in sequence order.
	Standbys []*Member
	// Agents are the agents the leader knows, by id.
	Agents []*Member
	// Frameworks are the frameworks the leader knows, by name then id,
	// each with the prefix its web UI is served under.
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
	// SoftLimit and HardLimit are the staleness limits Stale and Expired
	// are judged by.
	SoftLimit, HardLimit time.Duration
	// Error is the latest discovery's error, "" when it succeeded.
	Error string
	// Subscribed is whether the leader's SUBSCRIBE stream keeps the map
	// current (else it is polled every Refresh).
	Subscribed bool
	// ZooKeeper is how the masters' ZooKeeper group reads; nil when the
	// masters were given as addresses.
	ZooKeeper *ZooKeeperStatus

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
	s.SoftLimit, s.HardLimit = c.cfg.StaleSoftLimit, c.cfg.StaleHardLimit
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
	s.ZooKeeper = c.zkStatusLocked()
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
	s.Frameworks = c.frameworkViewsLocked()
	sort.Slice(s.Frameworks, func(i, j int) bool {
		a, b := s.Frameworks[i], s.Frameworks[j]
		return a.Name < b.Name || a.Name == b.Name && a.ID < b.ID
	})
	s.Phase, s.NextSteps, s.Problems = assess(s.Members())
	return s
}

// frameworkViewsLocked shows the frameworks, each with its gateway
// prefix. Names may repeat in Mesos (two Spark jobs are both "spark"):
// the name leads to the framework Resolve picks for it (KindFrameworkName),
// and the others are served by id, which always works. c.mu is held.
func (c *Cluster) frameworkViewsLocked() []*Framework {
	owners := map[string]*Framework{}
	for _, f := range c.frameworks {
		if f.WebUIURL != "" && f.Name != "" && betterFramework(f, owners[f.Name]) {
			owners[f.Name] = f
		}
	}
	hosts := map[*Framework]string{}
	if d := c.cfg.ServiceDomain; d != "" {
		for l, f := range c.labelsLocked() {
			hosts[f] = l + "." + d
		}
	}
	out := make([]*Framework, 0, len(c.frameworks))
	for _, f := range c.frameworks {
		v := *f
		switch {
		case f.WebUIURL == "":
		case owners[f.Name] == f:
			v.Prefix = ServicePrefix(f.Name)
		default:
			v.Prefix = FrameworkPrefix(f.ID)
		}
		v.Host = hosts[f]
		out = append(out, &v)
	}
	return out
}

// masterViewLocked shows a master; c.mu is held.
func (c *Cluster) masterViewLocked(ms *masterState) *Member {
	role := RoleStandby
	if ms == c.leader {
		role = RoleLeader
	}
	m := &Member{
		Role: role, ID: ms.id, Address: ms.m.addr, Hostname: ms.hostname,
		Addresses: append([]string(nil), ms.aliases...), Active: true, Configured: ms.configured,
		Probe: ms.m.probe.Load(),
	}
	if role == RoleStandby {
		m.Prefix = MasterPrefix(m.Address)
	}
	return m
}

// agentView shows an agent.
func agentView(a *agentState) *Member {
	m := &Member{Role: RoleAgent, ID: a.id, Address: a.m.addr, Hostname: a.hostname, Active: a.active, Probe: a.m.probe.Load(), Prefix: AgentPrefix(a.id)}
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
