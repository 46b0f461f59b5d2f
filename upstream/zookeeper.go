package upstream

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mesosgate/mesosgate/zookeeper"
)

// This file finds the masters the way Mesos's own detector does, in the
// ZooKeeper group they join (Config.ZooKeeper): every member of the group
// is a master, standbys included, with its id, hostname and address from
// its MasterInfo, and the lowest sequence leads. A watch tells of a change
// within milliseconds; the state is then read from the new leader as
// before, and each master's scheme is still found by probing (MasterInfo
// carries none). While the group cannot be read (ZooKeeper unreachable,
// not authorized) the masters last read stay, discovery falls back to
// asking them and following their redirects, the map keeps serving under
// the staleness limits, and the snapshot says why.

// zkState is what the Cluster knows of the group, guarded by Cluster.mu.
type zkState struct {
	read    bool                // a group was read
	err     error               // why the group cannot be read now; nil while it can
	since   time.Time           // when err began
	skipped []zookeeper.Skipped // children that could not be read
}

// ZooKeeperStatus is how the masters' ZooKeeper group reads now.
type ZooKeeperStatus struct {
	// URL is the group's zk:// URL, the password hidden.
	URL string `json:"url"`
	// Error says why the group cannot be read now, "" while it can: the
	// masters shown are those last read, and the map keeps serving
	// (under the staleness limits) from the masters the gateway knows.
	Error string `json:"error,omitempty"`
	// Since is when Error began; nil without one.
	Since *time.Time `json:"since,omitempty"`
	// Skipped are the group's children that name a master but could not
	// be read, each "node: reason" (garbage in a znode): Mesos's detector
	// would fail on such a child too.
	Skipped []string `json:"skipped,omitempty"`
}

// zkRetry is the first wait before discovery asks the leader ZooKeeper
// elected again when it has not taken over yet (a Mesos master recovers
// its registry before it answers as leader); the wait doubles up to
// Refresh.
const zkRetry = 100 * time.Millisecond

// watchGroup follows the group until ctx ends.
func (c *Cluster) watchGroup(ctx context.Context) {
	_ = zookeeper.Watch(ctx, *c.cfg.ZooKeeper, zookeeper.Options{Logger: c.log, OnChange: c.applyGroup})
}

// readGroup reads the group once, for a discovery without Run (the probe
// and certs commands), bounded by twice the probe timeout.
func (c *Cluster) readGroup(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*c.cfg.ProbeTimeout)
	defer cancel()
	g, err := zookeeper.Read(ctx, *c.cfg.ZooKeeper, zookeeper.Options{Logger: c.log})
	if err != nil && g.Err == nil {
		g.Err = err
	}
	c.applyGroup(g)
	if g.Err != nil {
		if err == nil {
			err = g.Err
		}
		return fmt.Errorf("discovery through ZooKeeper: %w", err)
	}
	return nil
}

// applyGroup makes a group read from ZooKeeper the masters and the
// leader, and has the new leader's state read at once. A group that
// could not be read changes nothing but the news.
func (c *Cluster) applyGroup(g zookeeper.Group) {
	c.mu.Lock()
	if g.Err != nil {
		if c.zk.err == nil {
			c.zk.since = c.cfg.Now()
		}
		c.zk.err = g.Err
		if !c.discovered {
			c.lastErr = &Error{Reason: ReasonNotReady, Detail: "the masters' ZooKeeper group cannot be read: " + g.Err.Error()}
		}
		c.mu.Unlock()
		c.changed(false)
		c.markReady() // requests waiting for the first discovery learn why
		return
	}
	c.zk.read, c.zk.err, c.zk.skipped = true, nil, g.Skipped
	leader := c.setGroupLocked(g)
	mapped := c.setLeaderLocked(leader)
	if leader == nil {
		// ZooKeeper's answer is the map's news, as masters answering
		// that none leads: no leader (the agents stay, ageing).
		c.discovered = true
		c.lastErr = &Error{Reason: ReasonNoLeader, Detail: noLeaderInGroup(g)}
	}
	c.mu.Unlock()
	c.changed(true) // masters came or went: the link table maps them
	if leader == nil {
		c.markReady()
	}
	if mapped {
		c.log.Info("ZooKeeper elected a leading master", "master", leaderAddr(leader), "masters", len(g.Masters))
	}
	signal(c.refreshNow)
}

// noLeaderInGroup says why a group read elects no master.
func noLeaderInGroup(g zookeeper.Group) string {
	if len(g.Masters) == 0 && len(g.Skipped) == 0 {
		return "no master is registered in the ZooKeeper group"
	}
	return fmt.Sprintf("the lowest child of the ZooKeeper group, %s, cannot be read (%s)", g.Skipped[0].Node, g.Skipped[0].Reason)
}

func leaderAddr(ms *masterState) string {
	if ms == nil {
		return "none"
	}
	return ms.m.addr
}

// setGroupLocked makes the group's masters the masters, in sequence
// order, keeping the state (and the probes) of those already known, and
// returns the one that leads. c.mu is held for writing.
func (c *Cluster) setGroupLocked(g zookeeper.Group) *masterState {
	next := make([]*masterState, 0, len(g.Masters))
	for _, zm := range g.Masters {
		ms := c.groupMasterLocked(zm)
		if !slices.Contains(next, ms) {
			next = append(next, ms)
		}
	}
	for _, old := range c.masters {
		if !slices.Contains(next, old) {
			c.releaseLocked(old.m)
		}
	}
	c.masters = next
	if _, ok := g.Leader(); ok {
		return next[0]
	}
	return nil
}

// groupMasterLocked returns the master a znode describes: the one known at
// its address under its hostname, or a new one. c.mu is held for writing.
func (c *Cluster) groupMasterLocked(zm zookeeper.Master) *masterState {
	addr, hostname := zm.Addr(), zm.Hostname
	if hostname == "" {
		hostname = zm.IP.String()
	}
	for _, ms := range c.masters {
		if strings.EqualFold(ms.m.addr, addr) && ms.m.hostname == hostname {
			ms.learn(zm.ID, zm.Hostname, zm.Port, zm.PID)
			return ms
		}
	}
	ms := c.newMasterLocked(addr, hostname, zm.IP)
	ms.configured = true
	ms.learn(zm.ID, zm.Hostname, zm.Port, zm.PID)
	return ms
}

// zkLeadsLocked reports whether ZooKeeper says who leads: the group was
// read and can be read now. Discovery then asks that master only, and a
// redirect from it means it has not taken over yet. c.mu is held.
func (c *Cluster) zkLeadsLocked() bool {
	return c.cfg.ZooKeeper != nil && c.zk.read && c.zk.err == nil
}

// zkStatusLocked is the snapshot's view of the group; nil without
// ZooKeeper. c.mu is held.
func (c *Cluster) zkStatusLocked() *ZooKeeperStatus {
	if c.cfg.ZooKeeper == nil {
		return nil
	}
	s := &ZooKeeperStatus{URL: c.cfg.ZooKeeper.String()}
	if c.zk.err != nil {
		since := c.zk.since
		s.Error, s.Since = c.zk.err.Error(), &since
	}
	for _, sk := range c.zk.skipped {
		s.Skipped = append(s.Skipped, sk.Node+": "+sk.Reason)
	}
	return s
}

// errNoMasterYet is a discovery before ZooKeeper named any master.
var errNoMasterYet = errors.New("no master known yet: the masters' ZooKeeper group has not been read")
