package server

import (
	"context"
	"errors"
	"log/slog"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/mesosgate/mesosgate/rewrite"
	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/web"
)

// This file is the server's side of the cluster: the small interface it
// needs (upstream's *Cluster satisfies it), the link table built from a
// snapshot and kept per snapshot generation, and what the cluster's errors
// mean for a request.

// Cluster is the cluster behind the gateway, as the server uses it.
// upstream's *Cluster satisfies it.
type Cluster interface {
	// Wait blocks until the first discovery has finished; see
	// upstream.Cluster.Wait.
	Wait(ctx context.Context) error
	// Target resolves a route key to a member or framework UI and its
	// transport; its errors wrap upstream's sentinels.
	Target(kind upstream.Kind, key string) (*upstream.Target, error)
	// Snapshot is the current cluster map.
	Snapshot() *upstream.Snapshot
	// Report is the map as `mesosgate probe --json` prints it.
	Report() *upstream.Report
	// Stats are upstream's counts (retries, probe sweeps) for the
	// metrics.
	Stats() upstream.Stats
}

var _ Cluster = (*upstream.Cluster)(nil)

// Gateway paths.
const (
	gatewayPrefix  = "/gateway/"
	mastersPrefix  = "/gateway/masters/"
	apiClusterPath = "/gateway/api/cluster"
	leaderAlias    = "/mesos"
)

// linkTable keeps the rewrite.Mappers of the current snapshot generation:
// built on the first request after the cluster changed (35 ms for 10,000
// agents), then shared by every request until the next change. There are
// two: one injects the browser runtime into pages a browser loads as a
// document; the other rewrites HTML that scripts fetch (AngularJS's
// templates), into which the runtime must not go again (see isDocument).
type linkTable struct {
	mode      rewrite.Mode
	noRuntime bool
	log       *slog.Logger

	cur atomic.Pointer[builtMapper]
	mu  sync.Mutex // one build at a time
}

type builtMapper struct {
	gen      uint64
	table    rewrite.Table
	mapper   *rewrite.Mapper
	once     sync.Once
	noInject *rewrite.Mapper
}

// mappers returns the mappers of the cluster's current generation.
func (t *linkTable) mappers(c Cluster) *builtMapper {
	s := c.Snapshot()
	if b := t.cur.Load(); b != nil && b.gen == s.Generation {
		return b
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if b := t.cur.Load(); b != nil && b.gen == s.Generation {
		return b
	}
	b := &builtMapper{gen: s.Generation, table: tableOf(c, s)}
	b.mapper = rewrite.NewMapper(b.table, rewrite.Options{Mode: t.mode, Logger: t.log, NoRuntime: t.noRuntime})
	if t.noRuntime {
		b.once.Do(func() { b.noInject = b.mapper })
	}
	t.cur.Store(b)
	return b
}

// forPage returns the mapper for a page: with the runtime for a document,
// without it for HTML a script fetched.
func (b *builtMapper) forPage(document bool, t *linkTable) *rewrite.Mapper {
	if document {
		return b.mapper
	}
	b.once.Do(func() {
		b.noInject = rewrite.NewMapper(b.table, rewrite.Options{Mode: t.mode, NoRuntime: true})
	})
	return b.noInject
}

// tableOf is the link table of a snapshot: the leader at the root, standbys
// under /gateway/masters/{host:port}, agents under /agent/{id}, and each
// framework UI under /service/{name}, or /framework/{id} when another
// framework of the same name holds /service/{name} (see frameworkPaths).
func tableOf(c Cluster, s *upstream.Snapshot) rewrite.Table {
	t := rewrite.Table{LeaderAlias: leaderAlias}
	if s.Leader != nil {
		t.Members = append(t.Members, rewrite.Member{Addresses: s.Leader.Addresses, Prefix: "", Scheme: s.Leader.Scheme()})
	}
	for _, m := range s.Standbys {
		t.Members = append(t.Members, rewrite.Member{Addresses: m.Addresses, Prefix: masterPath(m), Scheme: m.Scheme()})
	}
	for _, m := range s.Agents {
		t.Members = append(t.Members, rewrite.Member{Addresses: m.Addresses, Prefix: agentPath(m.ID), Scheme: m.Scheme()})
	}
	paths := frameworkPaths(c, s)
	for _, f := range s.Frameworks {
		if f.WebUIURL != "" {
			t.Frameworks = append(t.Frameworks, rewrite.Framework{URL: f.WebUIURL, Prefix: paths[f.ID]})
		}
	}
	return t
}

// masterPath is a master's gateway prefix, by the address it is
// configured with.
func masterPath(m *upstream.Member) string {
	return strings.TrimSuffix(mastersPrefix, "/") + "/" + url.PathEscape(m.Address)
}

// agentPath is an agent's gateway prefix.
func agentPath(id string) string { return "/agent/" + url.PathEscape(id) }

// frameworkPaths gives every framework with a web UI its gateway prefix.
// Names may repeat in Mesos (two Spark jobs are both "spark"); the name
// leads to the framework upstream resolves it to (the active one with a
// web UI, the most recent id among equals), and the others are linked by
// id, which always works.
func frameworkPaths(c Cluster, s *upstream.Snapshot) map[string]string {
	paths := make(map[string]string, len(s.Frameworks))
	byName := map[string]string{}
	for _, f := range s.Frameworks {
		if f.WebUIURL == "" {
			continue
		}
		owner, seen := byName[f.Name]
		if !seen {
			owner = ""
			if t, err := c.Target(upstream.KindFrameworkName, f.Name); err == nil && t.Framework != nil {
				owner = t.Framework.ID
			}
			byName[f.Name] = owner
		}
		if f.ID == owner && f.Name != "" {
			paths[f.ID] = "/service/" + url.PathEscape(f.Name)
		} else {
			paths[f.ID] = "/framework/" + url.PathEscape(f.ID)
		}
	}
	return paths
}

// lookupError is a route key the cluster could not resolve.
type lookupError struct {
	kind upstream.Kind
	key  string
	err  error
}

func (e *lookupError) Error() string { return e.err.Error() }
func (e *lookupError) Unwrap() error { return e.err }

// discoveryError is the first discovery failing (or not finishing in
// time) when a request needs the cluster.
type discoveryError struct{ err error }

func (e *discoveryError) Error() string { return "waiting for the first discovery: " + e.err.Error() }
func (e *discoveryError) Unwrap() error { return e.err }

// clusterProblem maps the cluster's errors; ok is false for other errors.
func (g *Gateway) clusterProblem(ref web.Ref, err error) (web.Problem, bool) {
	var le *lookupError
	var ue *upstream.UnreachableError
	var de *discoveryError
	switch {
	case errors.As(err, &de):
		return notDiscovered(), true
	case errors.Is(err, upstream.ErrStale):
		s := g.opts.Cluster.Snapshot()
		return web.Stale(s.Age, g.staleLimit, s.Error), true
	case errors.Is(err, upstream.ErrNoLeader):
		return web.NoLeader(), true
	case errors.Is(err, upstream.ErrNotReady):
		return notDiscovered(), true
	case errors.As(err, &le) && (errors.Is(err, upstream.ErrUnknown) || errors.Is(err, upstream.ErrNoWebUI)):
		switch le.kind {
		case upstream.KindAgent:
			return web.UnknownAgent(le.key), true
		case upstream.KindMaster:
			return web.UnknownMaster(le.key), true
		default:
			return web.UnknownFramework(le.key), true
		}
	case errors.As(err, &ue):
		return web.Unreachable(ref, ue.Reason), true
	case errors.Is(err, upstream.ErrTLSRequired):
		return web.Unreachable(ref, "it speaks plain HTTP only, and the gateway runs with --upstream-tls=required"), true
	}
	return web.Problem{}, false
}

// notDiscovered is the 503 while no master has answered the gateway yet.
func notDiscovered() web.Problem {
	return web.Problem{
		Status: 503,
		Type:   "tag:mesosgate.github.io,2025:not-discovered",
		Title:  "Cluster not discovered yet",
		Detail: "The gateway has not yet learned the cluster's members from its masters.",
		Action: "Check that the masters given with --master are running and reachable from the gateway (its dashboard and log say what each answered). " +
			"Pages are served as soon as one answers.",
		Retry: true,
	}
}
