package e2e

import (
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"text/tabwriter"
)

// This file is the table `make bench` ends with: each side's median round
// on each path, then every ratio of issue 17's targets, from the median
// rounds and as the range of the per-round ratios (a round measures the
// gateway and its baseline minutes apart at most, so the range says how
// much the machine's other work moved them).

// benchResults are the samples of the run, by path and side, in the
// order they were first recorded.
type benchResults struct {
	mu    sync.Mutex
	paths map[string]map[string][]sample
}

// results collects the run's samples for the table TestMain prints.
var results = &benchResults{paths: map[string]map[string][]sample{}}

func (r *benchResults) record(path, side string, s sample) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.paths[path] == nil {
		r.paths[path] = map[string][]sample{}
	}
	r.paths[path][side] = append(r.paths[path][side], s)
}

// column is one column of the table: a path's figure.
type column struct {
	path, head string
	value      func(sample) float64
	format     string
}

var (
	reqPerSec = func(s sample) float64 { return s.rate() }
	p99ms     = func(s sample) float64 { return s.p99.Seconds() * 1000 }
	cpuPerOp  = func(s sample) float64 { return s.cpuPerOp() }
	mbPerSec  = func(s sample) float64 { return s.mbps() }
	peakRSS   = func(s sample) float64 { return s.rss }
)

var columns = []column{
	{"jsonp-h1", "JSONP h1 req/s", reqPerSec, "%.0f"},
	{"jsonp-h1", "p99 ms", p99ms, "%.2f"},
	{"jsonp-h1", "µs CPU/req", cpuPerOp, "%.0f"},
	{"jsonp-h2", "JSONP h2 req/s", reqPerSec, "%.0f"},
	{"jsonp-h2", "p99 ms", p99ms, "%.2f"},
	{"jsonp-h2", "µs CPU/req", cpuPerOp, "%.0f"},
	{"listing", "1 MB listing MB/s", mbPerSec, "%.0f"},
	{"listing", "ms CPU/page", func(s sample) float64 { return s.cpuPerOp() / 1000 }, "%.1f"},
	{"download", "1 GiB download MB/s", mbPerSec, "%.0f"},
	{"download", "peak RSS MB", peakRSS, "%.1f"},
}

var sideOrder = []string{"direct", "nginx", "haproxy", "caddy", "apache", "gateway", "gateway-gzip", "gateway-chromium", "base", "base-gzip", "base-chromium"}

// target is one ratio of issue 17: num's figure over den's on a path,
// compared with goal (at least, or for latencies at most); a goal of 0 is
// measured and shown with no target.
type target struct {
	path, num, den, what string
	value                func(sample) float64
	atMost               bool
	goal                 float64
}

var targets = []target{
	{"jsonp-h1", "gateway", "nginx", "req/s", reqPerSec, false, 0.8},
	{"jsonp-h1", "gateway", "haproxy", "req/s", reqPerSec, false, 0},
	{"jsonp-h1", "gateway", "caddy", "req/s", reqPerSec, false, 1},
	{"jsonp-h1", "gateway", "nginx", "p99", p99ms, true, 1.5},
	{"jsonp-h1", "gateway", "nginx", "CPU/req", cpuPerOp, true, 0},
	{"jsonp-h2", "gateway", "nginx", "req/s", reqPerSec, false, 0.8},
	{"jsonp-h2", "gateway", "haproxy", "req/s", reqPerSec, false, 0},
	{"jsonp-h2", "gateway", "caddy", "req/s", reqPerSec, false, 1},
	{"jsonp-h2", "gateway", "nginx", "p99", p99ms, true, 1.5},
	{"listing", "gateway", "apache", "MB/s", mbPerSec, false, 2},
	{"listing", "gateway", "nginx", "MB/s", mbPerSec, false, 0},
	{"listing", "gateway-gzip", "direct", "MB/s", mbPerSec, false, 0},
	{"listing", "gateway-chromium", "direct", "MB/s", mbPerSec, false, 0},
	{"download", "gateway", "haproxy", "MB/s", mbPerSec, false, 0.9},
	{"download", "gateway", "direct", "MB/s", mbPerSec, false, 0},
	// Against another build of the gateway (MESOSGATE_BENCH_BASELINE).
	{"jsonp-h1", "gateway", "base", "req/s", reqPerSec, false, 0},
	{"jsonp-h1", "gateway", "base", "CPU/req", cpuPerOp, true, 0},
	{"jsonp-h2", "gateway", "base", "req/s", reqPerSec, false, 0},
	{"jsonp-h2", "gateway", "base", "CPU/req", cpuPerOp, true, 0},
	{"listing", "gateway", "base", "MB/s", mbPerSec, false, 0},
	{"listing", "gateway-gzip", "base-gzip", "MB/s", mbPerSec, false, 0},
	{"listing", "gateway-chromium", "base-chromium", "MB/s", mbPerSec, false, 0},
	{"download", "gateway", "base", "MB/s", mbPerSec, false, 0},
}

// print writes the table: nothing when no side-by-side benchmark ran.
func (r *benchResults) print(w io.Writer) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.paths) == 0 {
		return
	}
	fmt.Fprintf(w, "\nside by side: median of %d interleaved rounds of %s per side; ratios: the median [and range] of per-round ratios\n\n",
		benchRounds(), benchSeconds())
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	var cols []column
	for _, c := range columns {
		if r.paths[c.path] != nil {
			cols = append(cols, c)
		}
	}
	heads := []string{"peer"}
	for _, c := range cols {
		heads = append(heads, c.head)
	}
	fmt.Fprintln(tw, strings.Join(heads, "\t")+"\t")
	for _, name := range sideOrder {
		row, any := []string{name}, false
		for _, c := range cols {
			cell := "-"
			if ss := r.paths[c.path][name]; len(ss) > 0 {
				if v := c.value(median(ss, primary(c.path))); v > 0 {
					cell, any = fmt.Sprintf(c.format, v), true
				}
			}
			row = append(row, cell)
		}
		if any {
			fmt.Fprintln(tw, strings.Join(row, "\t")+"\t")
		}
	}
	tw.Flush()
	fmt.Fprintln(w)
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "path\tratio\tvalue\tper round\ttarget\t")
	for _, t := range targets {
		num, den := r.paths[t.path][t.num], r.paths[t.path][t.den]
		if len(num) == 0 || len(den) == 0 {
			continue
		}
		ratio, lo, hi := roundRatios(num, den, t.value)
		goal, verdict := "", ""
		if t.goal > 0 {
			op := ">="
			met := ratio >= t.goal
			if t.atMost {
				op, met = "<=", ratio <= t.goal
			}
			verdict = "met"
			if !met {
				verdict = "BELOW"
			}
			goal = fmt.Sprintf("%s %.2g %s", op, t.goal, verdict)
		}
		fmt.Fprintf(tw, "%s\t%s/%s %s\t%.2f\t[%.2f-%.2f]\t%s\t\n", t.path, t.num, t.den, t.what, ratio, lo, hi, goal)
	}
	if ss := r.paths["download"]["gateway"]; len(ss) > 0 {
		var peak float64
		for _, s := range ss {
			peak = max(peak, s.rss)
		}
		verdict := "met"
		if peak >= 64 {
			verdict = "BELOW"
		}
		fmt.Fprintf(tw, "download\tgateway peak RSS MB\t%.1f\t\t< 64 %s\t\n", peak, verdict)
	}
	tw.Flush()
}

// primary is the figure a path's median round is chosen by.
func primary(path string) func(sample) float64 {
	if strings.HasPrefix(path, "jsonp") {
		return reqPerSec
	}
	return mbPerSec
}

// roundRatios is the median and the range of num's figure over den's in
// the rounds both measured (round i of one against round i of the other).
func roundRatios(num, den []sample, value func(sample) float64) (med, lo, hi float64) {
	var rs []float64
	for i := range min(len(num), len(den)) {
		rs = append(rs, value(num[i])/value(den[i]))
	}
	slices.Sort(rs)
	return rs[len(rs)/2], rs[0], rs[len(rs)-1]
}
