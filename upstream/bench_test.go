package upstream

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
	"os"
	"runtime"
	"runtime/metrics"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/tlsx"
)

// BenchmarkProbeSweep measures a full probe sweep (ProbeAll) of a
// simulated cluster of N agents and one master, all in this process: the
// members' side of every connection and handshake costs CPU here too.
// Besides the time per sweep it reports the time per member, the heap the
// sweep adds at its peak, the process's peak resident set (the simulated
// cluster included) and the TLS handshakes per sweep. "plain" sweeps the
// same cluster with every member plain-only: the prober's own cost,
// without the members' RSA. 10,000 agents run only with
// MESOSGATE_SIM_SCALE=1 (they need about 12,000 open files):
//
//	MESOSGATE_SIM_SCALE=1 go test ./upstream -run '^$' -bench 'ProbeSweep$' -benchtime 3x
//	go test ./upstream -run '^$' -bench MemberRSA
func BenchmarkProbeSweep(b *testing.B) {
	sizes := []int{1000}
	if os.Getenv("MESOSGATE_SIM_SCALE") == "1" {
		sizes = append(sizes, 10000)
	}
	mixes := []struct {
		name  string
		modes []sim.Mode
	}{
		{"mixed", []sim.Mode{sim.Plain, sim.Downgrade, sim.SSL, sim.SSL}},
		{"plain", []sim.Mode{sim.Plain}},
	}
	for _, n := range sizes {
		for _, mix := range mixes {
			b.Run(fmt.Sprintf("agents=%d/modes=%s", n, mix.name), func(b *testing.B) {
				benchmarkSweep(b, n, mix.modes)
			})
		}
	}
}

func benchmarkSweep(b *testing.B, n int, pattern []sim.Mode) {
	modes := make([]sim.Mode, n)
	for i := range modes {
		modes[i] = pattern[i%len(pattern)]
	}
	sc := startSim(b, sim.Options{Modes: modes, Frameworks: []sim.FrameworkSpec{}})
	c := newCluster(b, sc, Config{})
	ctx := context.Background()
	if err := c.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	if got := len(c.Snapshot().Agents); got != n {
		b.Fatalf("%d agents discovered, want %d", got, n)
	}
	members := n + 1
	runtime.GC()
	heap := startHeapWatch()
	cpu := cpuTime()
	for b.Loop() {
		c.ProbeAll(ctx)
	}
	cpu = cpuTime() - cpu
	peak := heap.stop()
	b.StopTimer()

	s := c.Snapshot()
	handshakes := 0
	for _, m := range s.Members() {
		want := PlainOnly
		if m.Role == RoleAgent {
			want = Speaks(sim.ModeAt(modes, indexOf(sc, m.ID)).Speaks())
		}
		if m.Speaks() != want {
			b.Fatalf("%s %s speaks %q (%s), want %s", m.Role, m.Address, m.Speaks(), m.Probe.Reason, want)
		}
		if m.Probe.TLS != nil {
			handshakes++
		}
	}
	perSweep := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(perSweep.Milliseconds()), "ms/sweep")
	b.ReportMetric(float64(perSweep.Microseconds())/float64(members), "µs/member")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/sweep")
	b.ReportMetric(float64(handshakes), "handshakes/sweep")
	b.ReportMetric(float64(peak)/(1<<20), "MB-heap-added")
	b.ReportMetric(peakRSSMB(), "MB-peak-rss")
}

// BenchmarkProbeSweepExternal sweeps a cluster running in another process,
// given by MESOSGATE_BENCH_MASTER=host:port and MESOSGATE_BENCH_CA=FILE
// (the CA file `mesosgate sim` prints). cpu-ms/sweep is then the prober's
// own CPU, without the members' (sim's --modes repeats its last entry,
// so the four modes in turn are spelt out for every agent):
//
//	mesosgate sim --agents 10000 --modes $(python3 -c "print(','.join(['plain','downgrade','ssl','ssl']*2500))") &
//	MESOSGATE_BENCH_MASTER=localhost:PORT MESOSGATE_BENCH_CA=/tmp/mesosgate-sim-.../pki/ca.pem \
//	  go test ./upstream -run '^$' -bench ProbeSweepExternal -benchtime 3x
func BenchmarkProbeSweepExternal(b *testing.B) {
	master, ca := os.Getenv("MESOSGATE_BENCH_MASTER"), os.Getenv("MESOSGATE_BENCH_CA")
	if master == "" {
		b.Skip("MESOSGATE_BENCH_MASTER is not set")
	}
	c, err := New(Config{Masters: []Master{{Address: master}}, TLS: newTLS(b, tlsx.Settings{CAFile: ca, EnableTLSv13: tlsx.On})})
	if err != nil {
		b.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()
	if err := c.Refresh(ctx); err != nil {
		b.Fatal(err)
	}
	members := len(c.Snapshot().Members())
	runtime.GC()
	heap := startHeapWatch()
	cpu := cpuTime()
	for b.Loop() {
		c.ProbeAll(ctx)
	}
	cpu = cpuTime() - cpu
	peak := heap.stop()
	handshakes := 0
	for _, m := range c.Snapshot().Members() {
		if m.Speaks() == "" || m.Speaks() == Unreachable {
			b.Fatalf("%s %s: %q (%s)", m.Role, m.Address, m.Speaks(), m.Probe.Reason)
		}
		if m.Probe.TLS != nil {
			handshakes++
		}
	}
	perSweep := b.Elapsed() / time.Duration(b.N)
	b.ReportMetric(float64(members), "members")
	b.ReportMetric(float64(perSweep.Milliseconds()), "ms/sweep")
	b.ReportMetric(float64(perSweep.Microseconds())/float64(members), "µs/member")
	b.ReportMetric(float64(cpu.Milliseconds())/float64(b.N), "cpu-ms/sweep")
	b.ReportMetric(float64(handshakes), "handshakes/sweep")
	b.ReportMetric(float64(peak)/(1<<20), "MB-heap-added")
	b.ReportMetric(peakRSSMB(), "MB-peak-rss")
}

// indexOf returns an agent's index in the simulated cluster.
func indexOf(sc *sim.Cluster, id string) int {
	for i, a := range sc.Agents() {
		if a.ID() == id {
			return i
		}
	}
	return -1
}

// BenchmarkMemberRSA is the baseline for the sweep: the RSA private-key
// operation a simulated member performs for every TLS handshake (TLS
// RSA key exchange with the members' 2048-bit key), on every core at once.
// A sweep of the "mixed" cluster cannot take less than handshakes/sweep
// times this.
func BenchmarkMemberRSA(b *testing.B) {
	key, ok := testPKI.Member.Key.(*rsa.PrivateKey)
	if !ok {
		b.Skip("the simulated members' key is not RSA")
	}
	ciphertext, err := rsa.EncryptPKCS1v15(rand.Reader, &key.PublicKey, make([]byte, 48))
	if err != nil {
		b.Fatal(err)
	}
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := rsa.DecryptPKCS1v15(nil, key, ciphertext); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// cpuTime is the CPU time (user and system) the process has used: the
// prober's and the simulated members' together.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// heapWatch samples the live heap while a benchmark runs and remembers
// its peak above the starting point.
type heapWatch struct {
	base, peak uint64
	done       chan struct{}
	wg         sync.WaitGroup
}

func startHeapWatch() *heapWatch {
	w := &heapWatch{done: make(chan struct{})}
	w.base = heapBytes()
	w.wg.Go(func() {
		tick := time.NewTicker(5 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-w.done:
				return
			case <-tick.C:
				w.peak = max(w.peak, heapBytes())
			}
		}
	})
	return w
}

func (w *heapWatch) stop() uint64 {
	close(w.done)
	w.wg.Wait()
	if w.peak < w.base {
		return 0
	}
	return w.peak - w.base
}

func heapBytes() uint64 {
	s := []metrics.Sample{{Name: "/memory/classes/heap/objects:bytes"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// peakRSSMB is the process's peak resident set size (VmHWM) in MiB.
func peakRSSMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmHWM:"); ok {
			kb, _ := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			return kb / 1024
		}
	}
	return 0
}
