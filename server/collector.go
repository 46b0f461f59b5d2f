package server

import (
	"math"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/upstream"
)

// This file is the metrics read at scrape time: the cluster as its
// snapshot shows it, upstream's counts, and the certificates. A scrape
// walks the snapshot once (10,000 agents: see BenchmarkScrape); no
// goroutine keeps gauges up to date between scrapes.

// clusterCollector is a prometheus.Collector over the cluster.
type clusterCollector struct {
	cluster Cluster
	front   func() []tlsx.CertInfo
	now     func() time.Time

	members, phase, leader, age          *prometheus.Desc
	retries, reprobes, sweeps, lastSweep *prometheus.Desc
	frontDays, memberDays                *prometheus.Desc
}

var _ prometheus.Collector = (*clusterCollector)(nil)

// The label values the collector always exports, so that a series does
// not vanish when its count falls to zero.
var (
	memberRoles  = []upstream.Role{upstream.RoleLeader, upstream.RoleStandby, upstream.RoleAgent}
	memberSpeaks = []upstream.Speaks{upstream.SSLOnly, upstream.SSLDowngrade, upstream.PlainOnly, upstream.Unreachable, unprobed}
	phases       = []upstream.Phase{upstream.PhaseUnknown, upstream.PhaseNotStarted, upstream.Phase1, upstream.Phase2, upstream.PhaseComplete}
)

// unprobed is the speaks label of a member not yet probed.
const unprobed upstream.Speaks = "unprobed"

func newClusterCollector(o MetricsOptions) *clusterCollector {
	return &clusterCollector{
		cluster: o.Cluster,
		front:   o.FrontCertificates,
		now:     o.Now,
		members: prometheus.NewDesc("mesosgate_members",
			"Masters and agents in the cluster map, by role and by what their latest probe found they speak.",
			[]string{"role", "speaks"}, nil),
		phase: prometheus.NewDesc("mesosgate_migration_phase",
			"Where the cluster's migration to SSL stands: 1 for the current phase, 0 for the others.",
			[]string{"phase"}, nil),
		leader: prometheus.NewDesc("mesosgate_cluster_leader",
			"1 while a leading master is known, 0 otherwise.", nil, nil),
		age: prometheus.NewDesc("mesosgate_cluster_map_age_seconds",
			"Time since the masters last confirmed the cluster map (absent before the first discovery).", nil, nil),
		retries: prometheus.NewDesc("mesosgate_upstream_retries_total",
			"Requests sent to a member a second time after their connection failed and a re-probe said how to reach it now.", nil, nil),
		reprobes: prometheus.NewDesc("mesosgate_upstream_reprobes_total",
			"Members probed again because a connection to them failed.", nil, nil),
		sweeps: prometheus.NewDesc("mesosgate_probe_sweep_duration_seconds",
			"Full probe sweeps of every member: how many, and their total duration.", nil, nil),
		lastSweep: prometheus.NewDesc("mesosgate_probe_sweep_last_duration_seconds",
			"Duration of the latest full probe sweep (absent before the first ends).", nil, nil),
		frontDays: prometheus.NewDesc("mesosgate_front_certificate_days_left",
			"Days until the certificate the gateway presents expires (the soonest, if it presents several), by certificate source; negative once expired.",
			[]string{"source"}, nil),
		memberDays: prometheus.NewDesc("mesosgate_member_certificate_days_left",
			"Days until the soonest-expiring certificate among members of a role expires, as their latest probes saw them; negative once expired. Absent for a role with no certificate seen.",
			[]string{"role"}, nil),
	}
}

// Describe implements prometheus.Collector.
func (c *clusterCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range []*prometheus.Desc{c.members, c.phase, c.leader, c.age, c.retries, c.reprobes,
		c.sweeps, c.lastSweep, c.frontDays, c.memberDays} {
		ch <- d
	}
}

// Collect implements prometheus.Collector.
func (c *clusterCollector) Collect(ch chan<- prometheus.Metric) {
	now := c.now()
	s := c.cluster.Snapshot()
	c.collectMembers(ch, s, now)
	for _, p := range phases {
		ch <- prometheus.MustNewConstMetric(c.phase, prometheus.GaugeValue, boolValue(s.Phase == p), string(p))
	}
	ch <- prometheus.MustNewConstMetric(c.leader, prometheus.GaugeValue, boolValue(s.Leader != nil))
	if !s.Updated.IsZero() {
		ch <- prometheus.MustNewConstMetric(c.age, prometheus.GaugeValue, s.Age.Seconds())
	}

	st := c.cluster.Stats()
	ch <- prometheus.MustNewConstMetric(c.retries, prometheus.CounterValue, float64(st.Retries))
	ch <- prometheus.MustNewConstMetric(c.reprobes, prometheus.CounterValue, float64(st.Reprobes))
	ch <- prometheus.MustNewConstSummary(c.sweeps, st.Sweeps, st.SweepTime.Seconds(), nil)
	if st.Sweeps > 0 {
		ch <- prometheus.MustNewConstMetric(c.lastSweep, prometheus.GaugeValue, st.LastSweep.Seconds())
	}
	c.collectFront(ch, now)
}

// collectMembers counts members by role and speaks, and finds each role's
// soonest certificate expiry, in one pass over the snapshot.
func (c *clusterCollector) collectMembers(ch chan<- prometheus.Metric, s *upstream.Snapshot, now time.Time) {
	var counts [3][5]int
	var soonest [3]time.Time
	count := func(role int, m *upstream.Member) {
		counts[role][speaksIndex(m.Speaks())]++
		if m.Probe != nil && m.Probe.Cert != nil {
			if na := m.Probe.Cert.NotAfter; soonest[role].IsZero() || na.Before(soonest[role]) {
				soonest[role] = na
			}
		}
	}
	if s.Leader != nil {
		count(0, s.Leader)
	}
	for _, m := range s.Standbys {
		count(1, m)
	}
	for _, m := range s.Agents {
		count(2, m)
	}
	for i, role := range memberRoles {
		for j, sp := range memberSpeaks {
			ch <- prometheus.MustNewConstMetric(c.members, prometheus.GaugeValue, float64(counts[i][j]), string(role), string(sp))
		}
		if !soonest[i].IsZero() {
			ch <- prometheus.MustNewConstMetric(c.memberDays, prometheus.GaugeValue, daysLeft(soonest[i], now), string(role))
		}
	}
}

// speaksIndex is a verdict's index in memberSpeaks.
func speaksIndex(s upstream.Speaks) int {
	switch s {
	case upstream.SSLOnly:
		return 0
	case upstream.SSLDowngrade:
		return 1
	case upstream.PlainOnly:
		return 2
	case upstream.Unreachable:
		return 3
	}
	return 4
}

// collectFront exports the front certificate's days left, the soonest
// per source.
func (c *clusterCollector) collectFront(ch chan<- prometheus.Metric, now time.Time) {
	if c.front == nil {
		return
	}
	soonest := map[string]time.Time{}
	for _, ci := range c.front() {
		if na, ok := soonest[ci.Source]; !ok || ci.NotAfter.Before(na) {
			soonest[ci.Source] = ci.NotAfter
		}
	}
	for src, na := range soonest {
		ch <- prometheus.MustNewConstMetric(c.frontDays, prometheus.GaugeValue, daysLeft(na, now), src)
	}
}

// daysLeft is the days from now to notAfter, to the second.
func daysLeft(notAfter, now time.Time) float64 {
	return math.Round(notAfter.Sub(now).Seconds()) / 86400
}

func boolValue(b bool) float64 {
	if b {
		return 1
	}
	return 0
}
