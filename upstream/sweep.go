package upstream

import (
	"context"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// This file schedules probes: every new member at once, every member each
// ProbeInterval (jittered), a member again at once after a failed
// connection to it. A member is never probed twice at the same time:
// whoever wants a probe while one is under way waits for it.

// ProbeAll probes every known member once, ProbeConcurrency at a time, and
// returns when all are done (or ctx ends).
func (c *Cluster) ProbeAll(ctx context.Context) {
	start := time.Now()
	defer func() { c.stats.sweepDone(time.Since(start)) }()
	c.mu.RLock()
	all := make([]*member, 0, len(c.members))
	for _, m := range c.members {
		all = append(all, m)
	}
	c.mu.RUnlock()
	c.probeMembers(ctx, all)
}

// probeMembers probes ms with a bounded pool of workers. A member probed
// since the sweep began (on demand, say) is not probed again.
func (c *Cluster) probeMembers(ctx context.Context, ms []*member) {
	after := c.probeSeq.Load()
	var next atomic.Int64
	var wg sync.WaitGroup
	for range min(c.cfg.ProbeConcurrency, len(ms)) {
		wg.Go(func() {
			for ctx.Err() == nil {
				i := next.Add(1) - 1
				if i >= int64(len(ms)) {
					return
				}
				c.probeAfter(ctx, ms[i], after)
			}
		})
	}
	wg.Wait()
}

// probeAfter returns a probe of m that started after the probe numbered
// after: one under way that qualifies, one finished that does, or a new
// one. The probe itself does not end with ctx (a request that gives up
// must not leave a probe that says "canceled"); only the wait does, and
// then the latest probe is returned as it is.
func (c *Cluster) probeAfter(ctx context.Context, m *member, after uint64) *Probe {
	for {
		if p := m.probe.Load(); p != nil && p.seq > after {
			return p
		}
		m.mu.Lock()
		f := m.flight
		if f == nil {
			f = &flight{seq: c.probeSeq.Add(1), done: make(chan struct{})}
			m.flight = f
			m.mu.Unlock()
			c.runProbe(context.WithoutCancel(ctx), m, f)
			return f.p
		}
		m.mu.Unlock()
		select {
		case <-f.done:
			if f.seq > after {
				return f.p
			}
		case <-ctx.Done():
			if p := m.probe.Load(); p != nil {
				return p
			}
			return &Probe{Speaks: Unreachable, Reason: "gave up waiting for a probe: " + ctx.Err().Error(), finished: time.Now()}
		}
	}
}

// runProbe probes m for the flight f and publishes the result.
func (c *Cluster) runProbe(ctx context.Context, m *member, f *flight) {
	p := c.probe(ctx, m)
	p.seq = f.seq
	old := m.probe.Swap(p)
	m.mu.Lock()
	f.p = p
	m.flight = nil
	m.mu.Unlock()
	close(f.done)
	c.changed(old == nil || old.Speaks != p.Speaks)
	if old != nil && old.Speaks != p.Speaks {
		c.log.Info("member changed", "member", m.addr, "hostname", m.hostname, "was", old.Speaks, "speaks", p.Speaks, "reason", p.Reason)
	}
}

// probeLoop probes new members as discovery finds them, and every member
// each ProbeInterval, jittered by a tenth either way so that many
// gateways do not probe a cluster in step.
func (c *Cluster) probeLoop(ctx context.Context) {
	timer := time.NewTimer(jitter(c.cfg.ProbeInterval))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-c.wake:
			c.probeMembers(ctx, c.takePending())
		case <-timer.C:
			c.takePending()
			c.ProbeAll(ctx)
			timer.Reset(jitter(c.cfg.ProbeInterval))
		}
	}
}

// takePending returns the members awaiting their first probe that are
// still known.
func (c *Cluster) takePending() []*member {
	c.mu.Lock()
	defer c.mu.Unlock()
	ms := c.pending[:0:0]
	for _, m := range c.pending {
		if c.members[memberKey{m.addr, m.hostname}] == m && m.probe.Load() == nil {
			ms = append(ms, m)
		}
	}
	c.pending = nil
	return ms
}

// jitter returns d give or take a tenth.
func jitter(d time.Duration) time.Duration {
	return d - d/10 + rand.N(d/5+1)
}
