package e2e

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// The benchmarks of SPEC section 12, each measured side by side with its
// baselines in the same run: a request straight to the member ("direct"),
// the same request through the reverse proxies the targets name (nginx,
// Caddy, Apache httpd: peers_bench_test.go) and through the gateway, a
// separate mesosgate process serving HTTPS on loopback. The gateway's
// results carry its ratio to each baseline ("x-direct", "x-caddy",
// "x-nginx", "x-apache"); a peer that is not installed is skipped with the
// Debian package to install. Run them with
//
//	make bench
//	go test ./e2e -run '^$' -bench . -benchtime 3s
//	go test ./e2e -run '^$' -bench 'JSONP|ListingPage' -benchtime 3s
//
// Each proxy's CPU time per operation ("cpu-us/op", all its processes)
// is reported too: the rates move with whatever else the machine's cores
// run, the CPU a request costs much less.
//
// Loopback and one machine for everything: the gateway competes with the
// member and the client for the same cores, so the ratios are a floor for
// what separate hosts would see.

var netipLoopback = netip.MustParseAddr("127.0.0.1")

// side is one way to send the benchmark's request. A side with a skip
// message is a peer that cannot run here; pid is the proxy's process
// (none for direct requests), whose CPU time the benchmark reports.
type side struct {
	name   string
	url    string
	client *http.Client
	header http.Header
	pid    int
	skip   string
}

// peerSide sends the request for path to p.
func peerSide(p *peer, path string) side {
	if p.skip != "" {
		return side{name: p.name, skip: p.skip}
	}
	return side{name: p.name, url: p.url + path, client: p.client, pid: p.pid}
}

// reportRatios reports rate's ratio to each baseline measured before it
// in the run (a skipped one has no rate and no ratio).
func reportRatios(b *testing.B, rate float64, rates map[string]float64, baselines ...string) {
	for _, name := range baselines {
		if r := rates[name]; r > 0 {
			b.ReportMetric(rate/r, "x-"+name)
		}
	}
}

func (s side) get() (*http.Response, error) {
	req, err := http.NewRequest(http.MethodGet, s.url, nil)
	if err != nil {
		return nil, err
	}
	for k, v := range s.header {
		req.Header[k] = v
	}
	return s.client.Do(req)
}

// BenchmarkJSONP measures requests per second and the 99th percentile
// latency of a small JSONP response (an agent's /metrics/snapshot, as the
// WebUI polls it) over HTTPS keep-alive, 16 clients at once: straight from
// the member, through Caddy, through nginx (each a TLS reverse proxy
// serving the agent under the gateway's /agent/ID prefix) and through the
// gateway. Target (SPEC section 12): the gateway at least Caddy's rate
// (x-caddy >= 1) and at least 0.8 of nginx's (x-nginx >= 0.8).
func BenchmarkJSONP(b *testing.B) {
	c := startCluster(b, sim.Options{MasterModes: []sim.Mode{sim.SSL}, Modes: []sim.Mode{sim.SSL}})
	gw := startGateway(b, c)
	agent := c.Agents()[0]
	prefix := "/agent/" + agent.ID()
	path := "/metrics/snapshot?jsonp=angular.callbacks._1"
	sides := []side{
		{name: "direct", url: "https://" + agent.HostPort() + path, client: memberClient(b)},
		peerSide(startCaddy(b, agent.Addr(), prefix), prefix+path),
		peerSide(startNginx(b, agent.Addr(), prefix), prefix+path),
		{name: "gateway", url: gw.url + prefix + path, client: gw.client, pid: gw.cmd.Process.Pid},
	}
	rates := map[string]float64{}
	for _, s := range sides {
		b.Run(s.name, func(b *testing.B) {
			if s.skip != "" {
				b.Skip(s.skip)
			}
			checkBody(b, s, func(body []byte) bool { return bytes.HasPrefix(body, []byte("angular.callbacks._1(")) }, "the JSONP callback")
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(8)
			cpu := s.cpu()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				var mine []time.Duration
				for pb.Next() {
					start := time.Now()
					resp, err := s.get()
					if err != nil {
						b.Error(err)
						return
					}
					n, _ := io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					if resp.StatusCode != 200 || n == 0 {
						b.Errorf("status %d, %d bytes", resp.StatusCode, n)
						return
					}
					mine = append(mine, time.Since(start))
				}
				mu.Lock()
				lat = append(lat, mine...)
				mu.Unlock()
			})
			b.StopTimer()
			cpu.report(b)
			rate := float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "req/s")
			b.ReportMetric(percentile(lat, 0.99).Seconds()*1000, "p99-ms")
			rates[s.name] = rate
			switch s.name {
			case "caddy", "nginx":
				reportRatios(b, rate, rates, "direct")
			case "gateway":
				reportRatios(b, rate, rates, "direct", "caddy", "nginx")
			}
		})
	}
}

// checkBody sends s's request once and fails unless the answer is 200
// with a body that passes ok (described by what).
func checkBody(b *testing.B, s side, ok func([]byte) bool, what string) {
	b.Helper()
	resp, err := s.get()
	if err != nil {
		b.Fatal(err)
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil || resp.StatusCode != 200 {
		b.Fatalf("%s: status %d: %v\n%.500s", s.url, resp.StatusCode, err, body)
	}
	if !ok(body) {
		b.Fatalf("%s: the body lacks %s:\n%.500s", s.url, what, body)
	}
}

// BenchmarkDownload measures a 1 GiB sandbox download over HTTPS: MB/s,
// and through the gateway its process's peak resident memory during the
// transfer. MESOSGATE_BENCH_DOWNLOAD sets another size in bytes.
func BenchmarkDownload(b *testing.B) {
	size := int64(1 << 30)
	if v := os.Getenv("MESOSGATE_BENCH_DOWNLOAD"); v != "" {
		fmt.Sscan(v, &size)
	}
	c := startCluster(b, sim.Options{MasterModes: []sim.Mode{sim.SSL}, Modes: []sim.Mode{sim.SSL}, LargeFileSize: size})
	agent := c.Agents()[0]
	sb, err := agent.Sandboxes() // writes the file once, before timing
	if err != nil {
		b.Fatal(err)
	}
	gw := startGateway(b, c)
	path := "/files/download?path=" + url.QueryEscape(sb[0].Directory+"/"+sim.LargeFile)
	var directRate float64
	for _, s := range []side{
		{name: "direct", url: "https://" + agent.HostPort() + path, client: memberClient(b)},
		{name: "gateway", url: gw.url + "/agent/" + agent.ID() + path, client: gw.client, header: http.Header{"Accept-Encoding": {"gzip, deflate, br"}}},
	} {
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(size)
			idle := gw.rss()
			if err := gw.resetPeak(); err != nil {
				b.Logf("cannot reset the gateway's peak RSS: %v", err)
			}
			b.ResetTimer()
			for range b.N {
				resp, err := s.get()
				if err != nil {
					b.Fatal(err)
				}
				n, err := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if err != nil || n != size {
					b.Fatalf("downloaded %d of %d bytes: %v", n, size, err)
				}
			}
			b.StopTimer()
			rate := float64(size) * float64(b.N) / b.Elapsed().Seconds() / 1e6
			if s.name == "direct" {
				directRate = rate
				return
			}
			b.ReportMetric(gw.peakRSS(), "MB-peak-rss")
			b.ReportMetric(idle, "MB-idle-rss")
			if directRate > 0 {
				b.ReportMetric(rate/directRate, "x-direct")
			}
		})
	}
}

// pageCluster starts a cluster whose leader serves, besides a minimal
// WebUI, sandbox listing pages of 1 MB and 50 MB linking to its agent the
// way the WebUI's listing does (//host:port/files/...): pages the gateway
// rewrites as they stream.
func pageCluster(b *testing.B) (*sim.Cluster, map[string]int) {
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "app"), 0o755)
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html><title>Mesos</title>"), 0o644)
	c := startCluster(b, sim.Options{MasterModes: []sim.Mode{sim.SSL}, Modes: []sim.Mode{sim.SSL}, WebUIDir: dir})
	sizes := map[string]int{"1MB": 1 << 20, "50MB": 50 << 20}
	for name, n := range sizes {
		page := listingPage(c.Agents()[0].HostPort(), n)
		sizes[name] = len(page)
		if err := os.WriteFile(filepath.Join(dir, "app", "listing-"+name+".html"), page, 0o644); err != nil {
			b.Fatal(err)
		}
	}
	return c, sizes
}

// BenchmarkListingPage measures a rewritten 1 MB listing page end to end,
// in MB/s of the member's page: straight from the member, through Apache
// httpd's mod_proxy_html mapping the agent's //host:port links to
// /agent/ID as the gateway does, through the gateway to a client that
// takes no compression, and to one that takes gzip as browsers do. Target
// (SPEC section 12): the gateway at least twice Apache's throughput
// (x-apache >= 2).
func BenchmarkListingPage(b *testing.B) {
	c, sizes := pageCluster(b)
	gw := startGateway(b, c)
	leader, agent := c.Leader(), c.Agents()[0]
	apache := startApache(b, leader.Addr(), map[string]string{"//" + agent.HostPort(): "/agent/" + agent.ID()})
	path := "/app/listing-1MB.html"
	direct := side{name: "direct", url: "https://" + leader.HostPort() + path, client: memberClient(b)}
	// A rewritten page is all there, every download link mapped.
	var rows int
	checkBody(b, direct, func(page []byte) bool {
		rows = bytes.Count(page, []byte("/files/download?"))
		return rows > 1000
	}, "download links")
	mapped := []byte(`href="/agent/` + agent.ID() + `/files/download?`)
	rewritten := func(body []byte) bool {
		return bytes.Count(body, mapped) == rows && !bytes.Contains(body, []byte("//"+agent.HostPort()))
	}
	rates := map[string]float64{}
	for _, s := range []side{
		direct,
		peerSide(apache, path),
		{name: "gateway", url: gw.url + path, client: gw.client, pid: gw.cmd.Process.Pid},
		{name: "gateway-gzip", url: gw.url + path, client: gw.client, header: http.Header{"Accept-Encoding": {"gzip"}}, pid: gw.cmd.Process.Pid},
	} {
		b.Run(s.name, func(b *testing.B) {
			if s.skip != "" {
				b.Skip(s.skip)
			}
			if s.name == "apache" || s.name == "gateway" {
				checkBody(b, s, rewritten, fmt.Sprintf("%d download links rewritten to /agent/%s", rows, agent.ID()))
			}
			b.SetBytes(int64(sizes["1MB"]))
			var body bytes.Buffer
			cpu := s.cpu()
			for b.Loop() {
				resp, err := s.get()
				if err != nil {
					b.Fatal(err)
				}
				body.Reset()
				_, err = body.ReadFrom(resp.Body)
				resp.Body.Close()
				if err != nil || resp.StatusCode != 200 {
					b.Fatalf("status %d: %v", resp.StatusCode, err)
				}
			}
			cpu.report(b)
			rate := float64(sizes["1MB"]) * float64(b.N) / b.Elapsed().Seconds() / 1e6
			rates[s.name] = rate
			switch s.name {
			case "apache", "gateway-gzip":
				reportRatios(b, rate, rates, "direct")
			case "gateway":
				reportRatios(b, rate, rates, "direct", "apache")
			}
		})
	}
}

// BenchmarkTimeToFirstByte measures how long the first byte of a 1 MB and
// a 50 MB page takes, straight from the member and through the rewriting
// gateway: without whole-page buffering it does not grow with the size.
func BenchmarkTimeToFirstByte(b *testing.B) {
	c, _ := pageCluster(b)
	gw := startGateway(b, c)
	leader := c.Leader()
	direct := memberClient(b)
	for _, size := range []string{"1MB", "50MB"} {
		path := "/app/listing-" + size + ".html"
		for _, s := range []side{
			{name: "direct", url: "https://" + leader.HostPort() + path, client: direct},
			{name: "gateway", url: gw.url + path, client: gw.client, header: http.Header{"Accept-Encoding": {"gzip"}}},
		} {
			b.Run(size+"/"+s.name, func(b *testing.B) {
				var ttfb []time.Duration
				one := make([]byte, 1)
				for b.Loop() {
					start := time.Now()
					resp, err := s.get()
					if err != nil {
						b.Fatal(err)
					}
					if _, err := io.ReadFull(resp.Body, one); err != nil {
						b.Fatal(err)
					}
					ttfb = append(ttfb, time.Since(start))
					b.StopTimer()
					io.Copy(io.Discard, resp.Body)
					resp.Body.Close()
					b.StartTimer()
				}
				b.ReportMetric(percentile(ttfb, 0.5).Seconds()*1000, "ttfb-ms")
				b.ReportMetric(0, "ns/op")
			})
		}
	}
}

// listingPage is n bytes (or a little more) of a sandbox listing as the
// Mesos WebUI renders it: one row per file, each linking to read and
// download it on the agent at hostport.
func listingPage(hostport string, n int) []byte {
	var b bytes.Buffer
	b.WriteString("<!DOCTYPE html>\n<html lang=\"en\">\n<head><meta charset=\"utf-8\"><title>Mesos</title>" +
		"<link href=\"assets/css/bootstrap-3.3.6.min.css\" rel=\"stylesheet\"></head>\n<body>\n<table class=\"table table-condensed\">\n<tbody>\n")
	sandbox := "/var/lib/mesos/slaves/1c7f4a3e-25e1-4f5b-9d53-0e2c6c7d8a90-S17/frameworks/1c7f4a3e-25e1-4f5b-9d53-0e2c6c7d8a90-0000/executors/thermos-www-data-prod-hello-0-9d3c/runs/latest/sandbox"
	for i := 0; b.Len() < n; i++ {
		name := fmt.Sprintf("part-%05d.log", i)
		p := url.QueryEscape(sandbox + "/" + name)
		fmt.Fprintf(&b, `<tr class="ng-scope"><td class="ng-binding">-rw-r--r--</td><td class="text-right ng-binding">1</td><td class="ng-binding">root</td><td class="text-right ng-binding">%d KB</td><td class="text-right ng-binding">Nov 23 08:%02d</td>
<td><a href="//%s/files/read?path=%s&amp;offset=0" class="ng-binding">%s</a></td>
<td><a data-ng-show="file.mode[0] != 'd'" href="//%s/files/download?path=%s"><button class="btn btn-xs btn-default" type="button">Download</button></a></td></tr>
`, 10+i%900, i%60, hostport, p, name, hostport, p)
	}
	b.WriteString("</tbody>\n</table>\n</body>\n</html>\n")
	return b.Bytes()
}

// cpuMeter measures the CPU time a side's proxy spends: less sensitive
// than its rate to the other programs sharing the machine's cores.
type cpuMeter struct {
	pid   int
	start time.Duration
}

// cpu starts measuring the proxy's CPU time (nothing for direct requests).
func (s side) cpu() cpuMeter { return cpuMeter{pid: s.pid, start: treeCPU(s.pid)} }

// report reports the proxy's CPU time per operation since cpu, in
// microseconds, all its processes counted ("cpu-us/op").
func (m cpuMeter) report(b *testing.B) {
	if m.pid == 0 {
		return
	}
	b.ReportMetric(float64((treeCPU(m.pid)-m.start).Microseconds())/float64(b.N), "cpu-us/op")
}

// treeCPU is the CPU time (user and system) that process pid and its
// descendants have used so far, from Linux's /proc/PID/stat (in ticks
// of 1/100 s, USER_HZ on every Linux architecture Go runs on); 0 where
// there is no /proc.
func treeCPU(pid int) time.Duration {
	if pid == 0 {
		return 0
	}
	var ticks int64
	var walk func(pid string)
	walk = func(pid string) {
		stat, err := os.ReadFile("/proc/" + pid + "/stat")
		if err != nil {
			return
		}
		// The fields after the command name (in parentheses, which may
		// hold anything) start at field 3, the state: utime and stime are
		// fields 14 and 15.
		f := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			s, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + s
		}
		tasks, _ := os.ReadDir("/proc/" + pid + "/task")
		for _, t := range tasks {
			children, _ := os.ReadFile("/proc/" + pid + "/task/" + t.Name() + "/children")
			for _, c := range strings.Fields(string(children)) {
				walk(c)
			}
		}
	}
	walk(strconv.Itoa(pid))
	return time.Duration(ticks) * 10 * time.Millisecond
}

// percentile returns the p-th quantile of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}
