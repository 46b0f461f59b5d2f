package server

import (
	"context"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/mesosgate/mesosgate/rewrite"
	"github.com/mesosgate/mesosgate/upstream"
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
	// Resolve decides where a request on a route goes; its errors are
	// *upstream.Error.
	Resolve(ctx context.Context, route upstream.Route) (*upstream.Destination, error)
	// Transport sends requests to their destination.
	Transport() http.RoundTripper
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
	apiClusterPath = "/gateway/api/cluster"
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
	// origin, when framework UIs have hosts of their own, is a host's
	// origin as browsers reach it; nil serves them under /service/.
	origin func(host string) string

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
	b := &builtMapper{gen: s.Generation, table: tableOf(s, t.origin)}
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

// tableOf is the link table of a snapshot: every member and framework UI
// under the prefix upstream gives it, a framework UI with a host of its own
// at that host's origin (origin(host)).
func tableOf(s *upstream.Snapshot, origin func(host string) string) rewrite.Table {
	t := rewrite.Table{LeaderAlias: upstream.LeaderAlias}
	for _, m := range s.Members() {
		t.Members = append(t.Members, rewrite.Member{Addresses: m.Addresses, Prefix: m.Prefix, Scheme: m.Scheme()})
	}
	for _, f := range s.Frameworks {
		switch {
		case f.Host != "" && origin != nil:
			t.Frameworks = append(t.Frameworks, rewrite.Framework{URL: f.WebUIURL, Origin: origin(f.Host)})
		case f.Prefix != "":
			t.Frameworks = append(t.Frameworks, rewrite.Framework{URL: f.WebUIURL, Prefix: f.Prefix})
		}
	}
	return t
}
