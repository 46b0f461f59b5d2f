package sim

import (
	"bufio"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"testing"
)

// BenchmarkStart measures starting a cluster of N agents (in the four
// modes in turn, one master, the default frameworks) and reports, besides
// the time per start, the process's resident memory and open files once
// the cluster runs. 10,000 agents run only with MESOSGATE_SIM_SCALE=1
// (they need about 10,000 open files):
//
//	MESOSGATE_SIM_SCALE=1 go test ./e2e/sim -run '^$' -bench Start -benchtime 1x
func BenchmarkStart(b *testing.B) {
	sizes := []int{100, 1000}
	if os.Getenv("MESOSGATE_SIM_SCALE") == "1" {
		sizes = append(sizes, 10000)
	}
	for _, n := range sizes {
		b.Run("agents="+strconv.Itoa(n), func(b *testing.B) {
			modes := make([]Mode, n)
			for i := range modes {
				modes[i] = AllModes()[i%4]
			}
			var rss, fds float64
			for b.Loop() {
				c, err := Start(Options{Modes: modes, PKI: testPKI})
				if err != nil {
					b.Fatal(err)
				}
				b.StopTimer()
				if got := len(c.Agents()); got != n {
					b.Fatalf("%d agents running, want %d", got, n)
				}
				runtime.GC()
				rss, fds = max(rss, residentMB()), max(fds, openFiles())
				c.Close()
				b.StartTimer()
			}
			b.ReportMetric(rss, "MB-rss")
			b.ReportMetric(fds, "open-files")
		})
	}
}

// residentMB is the process's resident set size in MiB.
func residentMB() float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			var kb float64
			fmt.Sscanf(strings.TrimSpace(rest), "%f", &kb)
			return kb / 1024
		}
	}
	return 0
}

// openFiles counts the process's open file descriptors.
func openFiles() float64 {
	entries, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		return 0
	}
	return float64(len(entries))
}
