package upstream

import (
	"sync/atomic"
	"time"
)

// This file counts what the cluster does on its own, for the gateway's
// metrics: requests retried after a re-probe and probe sweeps. Counting is
// an atomic add where it happens; Stats reads the counts at scrape time.

// Stats are counts since New. They only grow.
type Stats struct {
	// Retries counts requests sent a second time after their connection
	// failed and a re-probe said how to reach the member now (roundTrip:
	// GET and HEAD without a body, once each).
	Retries uint64
	// Reprobes counts re-probes after a failed connection to a member,
	// whether or not the request could then be retried.
	Reprobes uint64
	// Sweeps counts full probe sweeps (ProbeAll: every ProbeInterval, and
	// the probe command's one); SweepTime is their total duration and
	// LastSweep the duration of the latest, zero before the first ends.
	Sweeps    uint64
	SweepTime time.Duration
	LastSweep time.Duration
}

// stats are the counters behind Stats.
type stats struct {
	retries, reprobes, sweeps atomic.Uint64
	sweepNanos, lastSweep     atomic.Int64
}

// sweepDone records a sweep that took d.
func (s *stats) sweepDone(d time.Duration) {
	s.sweepNanos.Add(int64(d))
	s.lastSweep.Store(int64(d))
	s.sweeps.Add(1)
}

// Stats returns the counts so far. It is cheap: a few atomic loads.
func (c *Cluster) Stats() Stats {
	return Stats{
		Retries:   c.stats.retries.Load(),
		Reprobes:  c.stats.reprobes.Load(),
		Sweeps:    c.stats.sweeps.Load(),
		SweepTime: time.Duration(c.stats.sweepNanos.Load()),
		LastSweep: time.Duration(c.stats.lastSweep.Load()),
	}
}
