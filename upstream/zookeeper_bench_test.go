package upstream

import (
	"context"
	"fmt"
	"runtime"
	"slices"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/zookeeper"
	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// The benchmarks of this file measure discovery through ZooKeeper against
// the configured masters' polling and SUBSCRIBE stream, each against a
// simulated cluster whose masters register in a real ZooKeeper. They run
// their measurement once whatever b.N (-benchtime 1x is enough) and report
// milliseconds and bytes as metrics:
//
//	go test -run '^$' -bench 'Failover|FirstMap|WatchMemory' -benchtime 1x ./upstream/

// failovers is how many leader changes BenchmarkFailover measures.
const failovers = 10

// BenchmarkFailover ends the leading master's ZooKeeper session ten times
// and measures the time from the session's end to the first request for
// the leader that the new leader answers, with the gateway following
// ZooKeeper, the SUBSCRIBE stream (the masters' addresses configured; the
// old leader ends the stream) and polling alone (--refresh 10s).
func BenchmarkFailover(b *testing.B) {
	for _, mode := range []struct {
		name string
		cfg  func(sc *sim.Cluster, u *zookeeper.URL) Config
	}{
		{"zookeeper", func(_ *sim.Cluster, u *zookeeper.URL) Config { return Config{ZooKeeper: u} }},
		{"subscribe", func(sc *sim.Cluster, _ *zookeeper.URL) Config { return Config{Masters: addresses(sc)} }},
		{"polling-10s", func(sc *sim.Cluster, _ *zookeeper.URL) Config {
			return Config{Masters: addresses(sc), NoSubscribe: true, Refresh: 10 * time.Second}
		}},
	} {
		b.Run(mode.name, func(b *testing.B) {
			sc, u := benchZKSim(b, 3)
			c := newCluster(b, sc, mode.cfg(sc, u))
			run(b, c)
			waitReady(b, c)
			var took []time.Duration
			for b.Loop() {
				took = took[:0]
				for range failovers {
					_, d, err := sc.FailOver(time.Minute, func(next *sim.Master) bool { return leaderID(b, c) == next.ID() })
					if err != nil {
						b.Fatal(err)
					}
					took = append(took, d)
				}
			}
			slices.Sort(took)
			b.ReportMetric(ms(took[len(took)/2]), "median-ms")
			b.ReportMetric(ms(took[len(took)-1]), "max-ms")
			b.Logf("%s: %d failovers, routed to the new leader after %v", mode.name, len(took), took)
		})
	}
}

// BenchmarkFirstMap measures, ten times, the time from Run to the first
// map with a leader (Wait returns, the leader's state read), finding the
// masters through ZooKeeper or asking the configured masters.
func BenchmarkFirstMap(b *testing.B) {
	sc, u := benchZKSim(b, 3)
	for _, mode := range []struct {
		name string
		cfg  Config
	}{{"zookeeper", Config{ZooKeeper: u}}, {"addresses", Config{Masters: addresses(sc)}}} {
		b.Run(mode.name, func(b *testing.B) {
			var took []time.Duration
			for b.Loop() {
				took = took[:0]
				for range 10 {
					c := newCluster(b, sc, mode.cfg)
					ctx, cancel := context.WithCancel(context.Background())
					done := make(chan struct{})
					start := time.Now()
					go func() { defer close(done); c.Run(ctx) }()
					waitReady(b, c)
					for c.Snapshot().Leader == nil {
						time.Sleep(time.Millisecond)
					}
					took = append(took, time.Since(start))
					cancel()
					<-done
				}
			}
			slices.Sort(took)
			b.ReportMetric(ms(took[len(took)/2]), "median-ms")
			b.ReportMetric(ms(took[len(took)-1]), "max-ms")
		})
	}
}

// BenchmarkWatchMemory measures the heap a gateway's watch of the group
// holds, with 3 and 100 simulated masters: zookeeper.Watch alone (the
// session, the watch, the decoded group), and the whole Cluster following
// the group (masters' state, probes, the snapshot), each as the live heap
// after a GC once the group is read, less the heap before.
func BenchmarkWatchMemory(b *testing.B) {
	for _, n := range []int{3, 100} {
		b.Run(fmt.Sprintf("masters-%d", n), func(b *testing.B) {
			sc, u := benchZKSim(b, n)
			var watch, cluster uint64
			for b.Loop() {
				before := liveHeap()
				ctx, cancel := context.WithCancel(context.Background())
				got := make(chan zookeeper.Group, 1)
				done := make(chan struct{})
				go func() {
					defer close(done)
					zookeeper.Watch(ctx, *u, zookeeper.Options{OnChange: func(g zookeeper.Group) {
						if len(g.Masters) == n {
							select {
							case got <- g:
							default:
							}
						}
					}})
				}()
				<-got
				watch = liveHeap() - before
				cancel()
				<-done

				before = liveHeap()
				c := newCluster(b, sc, Config{ZooKeeper: u})
				run(b, c)
				waitReady(b, c)
				sweep(b, c)
				cluster = liveHeap() - before
			}
			b.ReportMetric(float64(watch), "watch-B")
			b.ReportMetric(float64(cluster), "cluster-B")
			runtime.KeepAlive(sc)
		})
	}
}

// benchZKSim starts n simulated masters (one plain agent) registered in
// the package's ZooKeeper.
func benchZKSim(b *testing.B, n int) (*sim.Cluster, *zookeeper.URL) {
	b.Helper()
	srv := zkServer.Server(b)
	path := zktest.Path(b)
	sc := startSim(b, sim.Options{Masters: n, Modes: []sim.Mode{sim.Plain}, ZK: srv.URL(path)})
	u, err := zookeeper.ParseURL(srv.URL(path))
	if err != nil {
		b.Fatal(err)
	}
	return sc, &u
}

// addresses configures the simulated masters by address.
func addresses(sc *sim.Cluster) []Master {
	var out []Master
	for _, m := range sc.Masters() {
		out = append(out, Master{Address: m.Addr()})
	}
	return out
}

// liveHeap is the heap in use after a full collection.
func liveHeap() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }
