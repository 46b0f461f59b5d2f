package server

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/upstream"
)

// BenchmarkMetricsOverhead is the cost of the metrics per request: the
// gateway's handler (ServeHTTP, in-process, no front TLS) with and without
// Options.Metrics, on the same cluster, interleaved in batches within one
// run so that the machine's noise falls on both alike. It reports each
// side's ns/req and their ratio (metrics/baseline); ns/op is one request
// of each.
//
//	go test ./server -run '^$' -bench MetricsOverhead -benchtime 2000x -count 5
func BenchmarkMetricsOverhead(b *testing.B) {
	ts := newTester(b, testerOptions{sim: sim.Options{Modes: []sim.Mode{sim.Plain, sim.SSL}}})
	m, err := NewMetrics(MetricsOptions{Cluster: ts.cluster, FrontCertificates: ts.tls.FrontCertificates})
	if err != nil {
		b.Fatal(err)
	}
	off, err := New(Options{Cluster: ts.cluster})
	if err != nil {
		b.Fatal(err)
	}
	on, err := New(Options{Cluster: ts.cluster, Metrics: m})
	if err != nil {
		b.Fatal(err)
	}
	agents := ts.sim.Agents()
	for _, c := range []struct{ name, path string }{
		// The gateway's own cheapest page: the middleware is most of it.
		{"healthz", "/gateway/healthz"},
		// A small JSON answer from a plain and from an SSL agent.
		{"agent-plain", "/agent/" + agents[0].ID() + "/slave(1)/state"},
		{"agent-ssl", "/agent/" + agents[1].ID() + "/slave(1)/state"},
		// A framework UI's page, rewritten (the rewriter's counts).
		{"page", "/service/marathon/"},
	} {
		b.Run(c.name, func(b *testing.B) {
			serve := func(h http.Handler) {
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, c.path, nil))
				if rec.Code != http.StatusOK {
					b.Fatalf("GET %s: %d", c.path, rec.Code)
				}
			}
			serve(off) // connections, link table
			serve(on)
			const batch = 16
			var tOff, tOn time.Duration
			n := 0
			for b.Loop() {
				// Alternate which side goes first.
				first, second, t1, t2 := http.Handler(off), http.Handler(on), &tOff, &tOn
				if n%2 == 1 {
					first, second, t1, t2 = on, off, &tOn, &tOff
				}
				start := time.Now()
				for range batch {
					serve(first)
				}
				mid := time.Now()
				for range batch {
					serve(second)
				}
				*t1 += mid.Sub(start)
				*t2 += time.Since(mid)
				n++
			}
			reqs := float64(n * batch)
			b.ReportMetric(float64(tOff.Nanoseconds())/reqs, "ns/req-baseline")
			b.ReportMetric(float64(tOn.Nanoseconds())/reqs, "ns/req-metrics")
			b.ReportMetric(float64(tOn)/float64(tOff), "ratio")
			b.ReportMetric(0, "ns/op") // one op is 2×16 requests: read ns/req
		})
	}
}

// BenchmarkMetricsRecord is what the metrics add to one proxied request
// alone, without the request: in flight up and down, the request counted
// by route and code, the member's response header timed, a page's
// rewrite counts. Sequential, and from every core at once (the counters
// are shared).
//
//	go test ./server -run '^$' -bench MetricsRecord
func BenchmarkMetricsRecord(b *testing.B) {
	m, err := NewMetrics(MetricsOptions{Cluster: &upstream.Cluster{}})
	if err != nil {
		b.Fatal(err)
	}
	record := func(q *request) {
		m.started()
		m.upstreamHeader(q.class, "https", 1500*time.Microsecond)
		q.rewritten, q.rewrite.In, q.rewrite.Out = true, 4096, 4200
		m.finished(q, http.StatusOK, false)
	}
	b.Run("sequential", func(b *testing.B) {
		q := &request{class: classAgent}
		for b.Loop() {
			record(q)
		}
	})
	b.Run("parallel", func(b *testing.B) {
		b.RunParallel(func(pb *testing.PB) {
			q := &request{class: classAgent}
			for pb.Next() {
				record(q)
			}
		})
	})
}

// BenchmarkScrape is one scrape of /gateway/metrics (through the gateway's
// handler, as Prometheus would ask) with N agents in the cluster map,
// every one probed: the time per scrape and the bytes it returns, plain
// and gzipped. The snapshot does not change between scrapes, as between
// probe sweeps; the collector walks it whole each time. 10,000 agents run
// only with MESOSGATE_SIM_SCALE=1 (about 12,000 open files):
//
//	MESOSGATE_SIM_SCALE=1 go test ./server -run '^$' -bench Scrape -benchtime 50x
func BenchmarkScrape(b *testing.B) {
	sizes := []int{1000}
	if os.Getenv("MESOSGATE_SIM_SCALE") == "1" {
		sizes = append(sizes, 10000)
	}
	for _, n := range sizes {
		b.Run(fmt.Sprintf("agents=%d", n), func(b *testing.B) {
			modes := make([]sim.Mode, n)
			for i := range modes {
				modes[i] = []sim.Mode{sim.Plain, sim.Downgrade, sim.SSL, sim.SSL}[i%4]
			}
			sc, err := sim.Start(sim.Options{PKI: testPKI, Modes: modes, Frameworks: []sim.FrameworkSpec{}})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { sc.Close() })
			c, err := upstream.New(upstream.Config{Masters: []upstream.Master{{Address: sc.Leader().Addr()}}, ProbeTimeout: 10 * time.Second})
			if err != nil {
				b.Fatal(err)
			}
			b.Cleanup(func() { c.Close() })
			ctx := context.Background()
			if err := c.Refresh(ctx); err != nil {
				b.Fatal(err)
			}
			c.ProbeAll(ctx)
			if got := len(c.Snapshot().Agents); got != n {
				b.Fatalf("%d agents discovered, want %d", got, n)
			}
			m, err := NewMetrics(MetricsOptions{Cluster: c})
			if err != nil {
				b.Fatal(err)
			}
			gw, err := New(Options{Cluster: c, Metrics: m})
			if err != nil {
				b.Fatal(err)
			}
			scrape := func(gzip bool) *httptest.ResponseRecorder {
				req := httptest.NewRequest(http.MethodGet, "/gateway/metrics", nil)
				if gzip {
					req.Header.Set("Accept-Encoding", "gzip")
				}
				rec := httptest.NewRecorder()
				gw.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("scrape: %d", rec.Code)
				}
				return rec
			}
			first := scrape(false).Body.String()
			if want := fmt.Sprintf(`mesosgate_members{role="agent",speaks="ssl-only"} %d`, n/2); !strings.Contains(first, want) {
				b.Fatalf("the scrape lacks %s", want)
			}
			zipped := scrape(true).Body.Len()
			for b.Loop() {
				scrape(false)
			}
			b.ReportMetric(float64(len(first)), "bytes/scrape")
			b.ReportMetric(float64(zipped), "gzip-bytes/scrape")
		})
	}
}
