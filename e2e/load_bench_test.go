package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"
)

// This file is how the side-by-side benchmarks load a proxy: wrk for
// small requests over HTTP/1.1 keep-alive, h2load for HTTP/2 (one
// connection per client carrying several streams, as Chromium does), both
// C programs that cost the two shared cores far less than a Go client
// would; the Go client itself for pages and downloads, whose bodies are
// checked. Each side is measured for a fixed time per round, and the
// rounds go round-robin over the sides (interleaved), so that whatever
// else the machine runs lands on every side alike; the table
// (benchtable_test.go) reports each side's median round.

var (
	wrkProgram    = peerProgram{"wrk", "wrk"}
	h2loadProgram = peerProgram{"h2load", "nghttp2-client"}
)

// Concurrency of the small-request benchmarks: 16 requests in flight, as
// the measurements (wrk -c 16) and a WebUI polling a page of
// agents.
const (
	loadConnections = 16
	h2Connections   = 4 // h2load: 4 connections of 4 streams each
	h2Streams       = 4
)

// sample is what one side measured in one round.
type sample struct {
	ops     int64         // requests, pages or downloads completed
	bytes   int64         // body bytes received
	elapsed time.Duration // wall time of the round
	p99     time.Duration // 99th percentile latency; 0 when not measured
	cpu     time.Duration // the proxy's CPU time (all its processes) over the round
	rss     float64       // the proxy's peak RSS in MiB during the round (the gateway only)
}

func (s sample) rate() float64 { return float64(s.ops) / s.elapsed.Seconds() }
func (s sample) mbps() float64 { return float64(s.bytes) / s.elapsed.Seconds() / 1e6 }

// cpuPerOp is the proxy's CPU time per operation in microseconds.
func (s sample) cpuPerOp() float64 {
	if s.ops == 0 {
		return 0
	}
	return float64(s.cpu.Microseconds()) / float64(s.ops)
}

// benchRounds and benchSeconds are how often and how long each side is
// measured: MESOSGATE_BENCH_ROUNDS (default 3) rounds of
// MESOSGATE_BENCH_SECONDS (default 3) each.
func benchRounds() int { return envInt("MESOSGATE_BENCH_ROUNDS", 3) }
func benchSeconds() time.Duration {
	return time.Duration(envInt("MESOSGATE_BENCH_SECONDS", 3)) * time.Second
}

func envInt(name string, def int) int {
	if v, err := strconv.Atoi(os.Getenv(name)); err == nil && v > 0 {
		return v
	}
	return def
}

// wrkRun loads url with wrk: loadConnections keep-alive connections over
// HTTP/1.1 (wrk offers no ALPN) on two threads for d.
func wrkRun(ctx context.Context, url string, d time.Duration) (sample, error) {
	bin, skip := wrkProgram.find()
	if skip != "" {
		return sample{}, fmt.Errorf("%s", skip)
	}
	out, err := exec.CommandContext(ctx, bin, "-t", "2", "-c", strconv.Itoa(loadConnections),
		"-d", fmt.Sprintf("%.0fs", d.Seconds()), "--latency", url).CombinedOutput()
	if err != nil {
		return sample{}, fmt.Errorf("wrk: %v\n%s", err, out)
	}
	return parseWrk(out)
}

var (
	wrkTotal = regexp.MustCompile(`(\d+) requests in ([\d.]+)(us|ms|s|m),`)
	wrkP99   = regexp.MustCompile(`(?m)^\s+99%\s+([\d.]+)(us|ms|s)`)
	wrkBad   = regexp.MustCompile(`Non-2xx or 3xx responses: (\d+)|Socket errors: .*`)
)

// parseWrk reads wrk's summary: the requests and time, and the 99th
// percentile of --latency. Failed requests fail the round.
func parseWrk(out []byte) (sample, error) {
	if m := wrkBad.Find(out); m != nil {
		return sample{}, fmt.Errorf("wrk: %s\n%s", m, out)
	}
	t, p := wrkTotal.FindSubmatch(out), wrkP99.FindSubmatch(out)
	if t == nil || p == nil {
		return sample{}, fmt.Errorf("wrk: unexpected output:\n%s", out)
	}
	n, _ := strconv.ParseInt(string(t[1]), 10, 64)
	return sample{ops: n, elapsed: unitDuration(t[2], t[3]), p99: unitDuration(p[1], p[2])}, nil
}

func unitDuration(num, unit []byte) time.Duration {
	f, _ := strconv.ParseFloat(string(num), 64)
	scale := map[string]time.Duration{"us": time.Microsecond, "ms": time.Millisecond, "s": time.Second, "m": time.Minute}[string(unit)]
	return time.Duration(f * float64(scale))
}

// h2loadRun loads url with h2load over HTTP/2: h2Connections connections
// with h2Streams concurrent streams each, for d; the 99th percentile
// comes from its per-request log.
func h2loadRun(ctx context.Context, url string, d time.Duration, dir string) (sample, error) {
	bin, skip := h2loadProgram.find()
	if skip != "" {
		return sample{}, fmt.Errorf("%s", skip)
	}
	log := filepath.Join(dir, "h2load.log")
	// h2load appends to its log: each run starts a new one.
	if err := os.Remove(log); err != nil && !os.IsNotExist(err) {
		return sample{}, err
	}
	out, err := exec.CommandContext(ctx, bin, "-c", strconv.Itoa(h2Connections), "-m", strconv.Itoa(h2Streams),
		"-t", "1", "-D", fmt.Sprintf("%.0f", d.Seconds()), "--log-file="+log, url).CombinedOutput()
	if err != nil {
		return sample{}, fmt.Errorf("h2load: %v\n%s", err, out)
	}
	if !bytes.Contains(out, []byte("Application protocol: h2")) {
		return sample{}, fmt.Errorf("h2load did not speak h2:\n%s", out)
	}
	return parseH2load(out, log)
}

var h2Finished = regexp.MustCompile(`finished in ([\d.]+)(us|ms|s),`)

// parseH2load reads h2load's log (one line per request: start, status,
// microseconds to the end of the response) for the requests, failures
// and latencies, and its summary for the time.
func parseH2load(out []byte, log string) (sample, error) {
	f := h2Finished.FindSubmatch(out)
	if f == nil {
		return sample{}, fmt.Errorf("h2load: unexpected output:\n%s", out)
	}
	file, err := os.Open(log)
	if err != nil {
		return sample{}, err
	}
	defer file.Close()
	var lat []time.Duration
	sc := bufio.NewScanner(file)
	for sc.Scan() {
		fields := strings.Split(sc.Text(), "\t")
		if len(fields) < 3 {
			continue
		}
		if fields[1] != "200" {
			return sample{}, fmt.Errorf("h2load: a request ended with status %s\n%s", fields[1], out)
		}
		us, _ := strconv.ParseInt(fields[2], 10, 64)
		lat = append(lat, time.Duration(us)*time.Microsecond)
	}
	if len(lat) == 0 {
		return sample{}, fmt.Errorf("h2load: no request completed\n%s", out)
	}
	return sample{ops: int64(len(lat)), elapsed: unitDuration(f[1], f[2]), p99: percentile(lat, 0.99)}, nil
}

// clientRun sends s's request again and again for d (at least once) on
// one keep-alive connection, reading each body whole and checking it with
// ok when given; ops counts the responses.
func clientRun(s side, d time.Duration, ok func([]byte) bool) (sample, error) {
	var body bytes.Buffer
	var smp sample
	start := time.Now()
	for smp.ops == 0 || time.Since(start) < d {
		resp, err := s.get()
		if err != nil {
			return sample{}, err
		}
		body.Reset()
		var n int64
		if ok != nil {
			n, err = body.ReadFrom(resp.Body)
		} else {
			n, err = io.Copy(io.Discard, resp.Body)
		}
		resp.Body.Close()
		if err != nil || resp.StatusCode != http.StatusOK {
			return sample{}, fmt.Errorf("%s: status %d after %d bytes: %v", s.url, resp.StatusCode, n, err)
		}
		if ok != nil && !ok(body.Bytes()) {
			return sample{}, fmt.Errorf("%s: the body is not what it should be", s.url)
		}
		smp.ops++
		smp.bytes += n
	}
	smp.elapsed = time.Since(start)
	return smp, nil
}

// profiler collects the gateway's own profiles while it is measured, when
// MESOSGATE_BENCH_PROFILE names a directory: the harness then builds the
// binary with -tags pprof and starts it with MESOSGATE_PPROF. Each
// measured gateway round of a benchmark writes NAME.cpu.pprof (the round's
// CPU), NAME.allocs.pprof and NAME.allocs-base.pprof (allocations before
// and after: go tool pprof -sample_index=alloc_space
// -diff_base=NAME.allocs-base.pprof). With MESOSGATE_BENCH_PERF=1 it also
// records NAME.perf.data with Linux perf (cpu-clock, call graphs), which
// sees the kernel's share (TLS writes, copies) that pprof cannot.
func profileDir() string { return os.Getenv("MESOSGATE_BENCH_PROFILE") }

// profileRound profiles the gateway g over one round named name, running
// measure meanwhile.
func profileRound(tb testing.TB, g *gateway, name string, d time.Duration, measure func() (sample, error)) (sample, error) {
	dir := profileDir()
	if dir == "" || g == nil || g.pprof == "" {
		return measure()
	}
	base := filepath.Join(dir, sanitize(name))
	fetch := func(path, file string) {
		resp, err := http.Get("http://" + g.pprof + path)
		if err != nil {
			tb.Logf("profile %s: %v", path, err)
			return
		}
		defer resp.Body.Close()
		f, err := os.Create(file)
		if err != nil {
			tb.Logf("profile %s: %v", path, err)
			return
		}
		defer f.Close()
		io.Copy(f, resp.Body)
	}
	fetch("/debug/pprof/allocs", base+".allocs-base.pprof")
	done := make(chan struct{})
	go func() {
		defer close(done)
		// The round's time less a margin for the tools' start and stop.
		secs := max(1, int(d.Seconds())-1)
		fetch(fmt.Sprintf("/debug/pprof/profile?seconds=%d", secs), base+".cpu.pprof")
	}()
	var perf *exec.Cmd
	if os.Getenv("MESOSGATE_BENCH_PERF") == "1" {
		perf = exec.Command("perf", "record", "-q", "-e", "cpu-clock", "-g", "-p", strconv.Itoa(g.cmd.Process.Pid), "-o", base+".perf.data")
		if err := perf.Start(); err != nil {
			tb.Logf("perf: %v", err)
			perf = nil
		}
	}
	s, err := measure()
	if perf != nil {
		perf.Process.Signal(os.Interrupt)
		perf.Wait()
	}
	<-done
	fetch("/debug/pprof/allocs", base+".allocs.pprof")
	return s, err
}

func sanitize(name string) string {
	return strings.Map(func(r rune) rune {
		if r == '/' || r == ' ' || r == '#' {
			return '-'
		}
		return r
	}, name)
}

// median is the sample of median rate among samples.
func median(samples []sample, rate func(sample) float64) sample {
	s := append([]sample(nil), samples...)
	sort.Slice(s, func(i, j int) bool { return rate(s[i]) < rate(s[j]) })
	return s[len(s)/2]
}
