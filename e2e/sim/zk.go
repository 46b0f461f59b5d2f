package sim

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"time"

	"github.com/mesosgate/mesosgate/zookeeper"
)

// zkGroup is the cluster's side of Options.ZK: each master's membership
// in the ZooKeeper group, and a watcher that makes the cluster's leader
// whoever ZooKeeper says leads, as Mesos masters learn it from their
// detector.
type zkGroup struct {
	url      zookeeper.URL
	label    string
	cancel   context.CancelFunc
	watching sync.WaitGroup

	mu      sync.Mutex
	members map[*Master]*zookeeper.Membership
	changed chan struct{} // closed and replaced whenever the leader changes
}

// zkSettle bounds the wait for ZooKeeper to agree with a change: a stale
// znode of a master that died without closing its session (another run
// killed) leads until its 10 s session expires.
const zkSettle = 20 * time.Second

func newZKGroup(opts Options) (*zkGroup, error) {
	u, err := zookeeper.ParseURL(opts.ZK)
	if err != nil {
		return nil, err
	}
	label := zookeeper.LabelJSON
	if opts.ZKProtobuf {
		label = zookeeper.LabelProtobuf
	}
	return &zkGroup{url: u, label: label, members: map[*Master]*zookeeper.Membership{}, changed: make(chan struct{})}, nil
}

// ZK returns the zk:// URL the masters register in (Options.ZK), its
// password hidden, for people to read; "" without ZooKeeper.
func (c *Cluster) ZK() string { return zookeeper.RedactURL(c.opts.ZK) }

// startZK starts following the group; the masters join it as they start.
func (c *Cluster) startZK() {
	ctx, cancel := context.WithCancel(context.Background())
	c.zk.cancel = cancel
	c.zk.watching.Go(func() {
		zookeeper.Watch(ctx, c.zk.url, zookeeper.Options{Logger: c.log, OnChange: c.followGroup})
	})
}

// followGroup makes the cluster's leader the master ZooKeeper elects, or
// none when the leader is no master of this cluster. While ZooKeeper
// cannot be read the leader stays, as a Mesos master keeps its view.
func (c *Cluster) followGroup(g zookeeper.Group) {
	if g.Err != nil {
		return
	}
	var next *Master
	if l, ok := g.Leader(); ok {
		for _, m := range c.Masters() {
			if m.id == l.ID {
				next = m
			}
		}
	}
	c.setLeader(next)
	c.zk.mu.Lock()
	close(c.zk.changed)
	c.zk.changed = make(chan struct{})
	c.zk.mu.Unlock()
}

// awaitLeader waits until the cluster's leader is m.
func (c *Cluster) awaitLeader(m *Master) error {
	deadline := time.After(zkSettle)
	for {
		c.zk.mu.Lock()
		changed := c.zk.changed
		c.zk.mu.Unlock()
		if c.Leader() == m {
			return nil
		}
		select {
		case <-changed:
		case <-deadline:
			return fmt.Errorf("ZooKeeper group %s: %s did not lead within %v (another master's znode leads; use a path of this cluster's own)", c.zk.url, masterName(m), zkSettle)
		}
	}
}

func masterName(m *Master) string {
	if m == nil {
		return "no master"
	}
	return "master " + m.Addr()
}

// masterInfo is what m writes to its znode, as a Mesos master does.
func (m *Master) masterInfo() zookeeper.Master {
	ip := netip.MustParseAddr("127.0.0.1")
	return zookeeper.Master{ID: m.id, Hostname: m.hostname, IP: ip, Port: m.Port(), PID: m.PID(), Version: mesosVersion}
}

// joinGroup makes m contend for leadership: a new session and an
// ephemeral sequential znode at the end of the line.
func (m *Master) joinGroup() error {
	z := m.c.zk
	data, err := zookeeper.EncodeMasterInfo(z.label, m.masterInfo())
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), zkSettle)
	defer cancel()
	mem, err := zookeeper.Join(ctx, z.url, z.label, data, zookeeper.Options{Logger: m.c.log})
	if err != nil {
		return err
	}
	z.mu.Lock()
	z.members[m] = mem
	z.mu.Unlock()
	return nil
}

// leaveGroup ends m's session: its znode vanishes at once.
func (m *Master) leaveGroup() {
	z := m.c.zk
	z.mu.Lock()
	mem := z.members[m]
	delete(z.members, m)
	z.mu.Unlock()
	if mem != nil {
		mem.Leave()
	}
}

// membership returns m's place in the group, or nil.
func (m *Master) membership() *zookeeper.Membership {
	z := m.c.zk
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.members[m]
}

// syncGroup runs after every start and stop of a master in ZooKeeper
// mode: a master that stops (its process exits, closing its session)
// leaves the group; one that starts joins it.
func (m *Master) syncGroup() {
	switch running, joined := m.Running(), m.membership() != nil; {
	case running && !joined:
		if err := m.joinGroup(); err != nil {
			m.c.log.Error("simulated master could not join the ZooKeeper group", "master", m.Addr(), "err", err)
		}
	case !running && joined:
		m.leaveGroup()
	}
}

// EndSession ends the master's ZooKeeper session, as when a master loses
// its session: its znode vanishes and, if it led, the next master leads
// (the standbys redirect to it once the cluster sees the change, within
// milliseconds). The master then joins again with a new session, as a
// Mesos master restarted by its supervisor does, at the end of the line.
// Without Options.ZK it is an error.
func (m *Master) EndSession() error {
	if m.c.zk == nil {
		return errors.New("end session: the simulated cluster runs without ZooKeeper (Options.ZK)")
	}
	m.leaveGroup()
	return m.joinGroup()
}

// FailOver ends the leading master's ZooKeeper session (EndSession), as
// when a leading Mesos master loses its session, and waits until routed
// reports true for the master ZooKeeper elects next, asking every
// millisecond for at most timeout. It returns that master and the time
// from the session's end until routed reported true: how long a gateway
// took to follow. Without Options.ZK, or without a leader, it is an
// error.
func (c *Cluster) FailOver(timeout time.Duration, routed func(next *Master) bool) (*Master, time.Duration, error) {
	old := c.Leader()
	if old == nil || c.zk == nil {
		return nil, 0, errors.New("fail over: the simulated cluster runs without ZooKeeper (Options.ZK), or no master leads")
	}
	start := time.Now()
	if err := old.EndSession(); err != nil {
		return nil, 0, err
	}
	var next *Master
	for _, m := range c.Masters() {
		if mem := m.membership(); mem != nil && (next == nil || mem.Sequence < next.membership().Sequence) {
			next = m
		}
	}
	deadline := start.Add(timeout)
	for !routed(next) {
		if time.Now().After(deadline) {
			return next, 0, fmt.Errorf("fail over from %s: %s was not followed within %v", masterName(old), masterName(next), timeout)
		}
		time.Sleep(time.Millisecond)
	}
	return next, time.Since(start), nil
}

// zkSetLeader is SetLeader through ZooKeeper: the masters ahead of m end
// their sessions and join again behind it; nil makes every master leave.
// It waits until the cluster's leader follows.
func (c *Cluster) zkSetLeader(m *Master) {
	if m == nil {
		for _, x := range c.Masters() {
			x.leaveGroup()
		}
	} else {
		if m.membership() == nil {
			if err := m.joinGroup(); err != nil {
				c.log.Error("simulated cluster: leader change through ZooKeeper", "err", err)
				return
			}
		}
		mine := m.membership().Sequence
		for _, x := range c.Masters() {
			if mem := x.membership(); x != m && (mem == nil || mem.Sequence < mine) {
				x.leaveGroup()
				if err := x.joinGroup(); err != nil {
					c.log.Error("simulated master could not join the ZooKeeper group again", "master", x.Addr(), "err", err)
				}
			}
		}
	}
	if err := c.awaitLeader(m); err != nil {
		c.log.Error("simulated cluster: leader change through ZooKeeper", "err", err)
	}
}

// closeZK ends every master's session and stops following the group.
func (c *Cluster) closeZK() {
	for _, m := range c.Masters() {
		m.leaveGroup()
	}
	c.zk.cancel()
	c.zk.watching.Wait()
}
