package zookeeper

import (
	"context"
	"fmt"
	"path"
	"sync"

	"github.com/go-zookeeper/zk"
)

// Membership is a place in the masters' group: an ephemeral sequential
// znode held by a session of its own, as a Mesos master's contender
// holds one (zookeeper/contender.cpp). The simulated cluster's masters
// and tests join the group with it.
type Membership struct {
	// Node is the znode's full path ("/mesos/json.info_0000000003").
	Node string
	// Sequence is its sequence number: the lowest member leads.
	Sequence int32

	c        *client
	lost     chan struct{}
	lostOnce sync.Once
	leave    sync.Once
}

// Join joins the group at u with data under label (LabelJSON for a Mesos
// master of 0.24 or later; see EncodeMasterInfo). It makes a session
// (waiting for one until ctx ends), creates the group's znode and its
// parents when missing, then the member's znode, "label_" followed by
// ZooKeeper's sequence. With credentials in u the znodes get Mesos's ACL:
// readable by all, writable by their creator.
func Join(ctx context.Context, u URL, label string, data []byte, opts Options) (*Membership, error) {
	c, err := connect(u, opts.Timeout, orDiscard(opts.Logger).With("zk", u))
	if err != nil {
		return nil, err
	}
	m, err := join(ctx, c, label, data)
	if err != nil {
		c.close()
		return nil, fmt.Errorf("join the masters' group at %s: %w", u, err)
	}
	return m, nil
}

func join(ctx context.Context, c *client, label string, data []byte) (*Membership, error) {
	if err := c.waitSession(ctx); err != nil {
		return nil, err
	}
	if err := c.ensurePath(c.url.Path, c.acl()); err != nil {
		return nil, err
	}
	prefix := c.url.Path + "/"
	if label != "" {
		prefix += label + "_"
	}
	node, err := c.conn.Create(prefix, data, zk.FlagEphemeralSequential, c.acl())
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", prefix, err)
	}
	ch, ok := parseChild(path.Base(node))
	if !ok {
		return nil, fmt.Errorf("created %s, which does not read as a member", node)
	}
	m := &Membership{Node: node, Sequence: ch.sequence, c: c, lost: make(chan struct{})}
	c.monitor(func(s zk.State) {
		if s == zk.StateExpired {
			m.lostOnce.Do(func() { close(m.lost) })
		}
	})
	return m, nil
}

// Lost is closed when the membership's session expired (ZooKeeper
// deleted its znode; a Mesos master then exits and its supervisor starts
// it again) or Leave ended it.
func (m *Membership) Lost() <-chan struct{} { return m.lost }

// Leave ends the membership's session: ZooKeeper deletes its znode at
// once, and the next member leads if this one did. It is safe to call more
// than once.
func (m *Membership) Leave() {
	m.leave.Do(func() {
		m.c.close()
		m.lostOnce.Do(func() { close(m.lost) })
	})
}
