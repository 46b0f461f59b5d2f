package e2e

import (
	"bytes"
	"context"
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
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// The benchmarks of SPEC section 12 and issue 17, each measured side by
// side with its baselines in the same run: a request straight to the
// member ("direct"), the same request through the reverse proxies the
// targets name (nginx, HAProxy, Caddy, Apache httpd: peers_bench_test.go)
// and through the gateway, a separate mesosgate process serving HTTPS on
// loopback in its default configuration (read-only, access log, metrics,
// rewriting, every check on). The sides are measured in interleaved
// rounds (load_bench_test.go) and `make bench` ends with one table of
// every side and every ratio of the targets (benchtable_test.go). A peer
// that is not installed is skipped with the Debian package to install.
// Run them with
//
//	make bench BENCHPKGS=./e2e
//	go test ./e2e -run '^$' -bench 'JSONP|Listing|Download'
//	MESOSGATE_BENCH_ROUNDS=5 MESOSGATE_BENCH_SECONDS=5 go test ./e2e -run '^$' -bench JSONP
//	MESOSGATE_BENCH_PROFILE=/tmp/prof go test ./e2e -run '^$' -bench JSONP
//
// Each proxy's CPU time per operation ("cpu-us/op", all its processes)
// is reported too: the rates move with whatever else the machine's cores
// run, the CPU a request costs much less.
//
// Loopback and one machine for everything: the gateway competes with the
// member and the load generator for the same cores, so the ratios are a
// floor for what separate hosts would see.

var netipLoopback = netip.MustParseAddr("127.0.0.1")

// side is one way to send the benchmark's request. A side with a skip
// message is a peer that cannot run here; pid is the proxy's process
// (none for direct requests), whose CPU time the benchmark reports; gw is
// set for the gateway, whose profile and memory the benchmark reads.
type side struct {
	name   string
	url    string
	client *http.Client
	header http.Header
	pid    int
	skip   string
	gw     *gateway
}

// peerSide sends the request for path to p.
func peerSide(p *peer, path string) side {
	if p.skip != "" {
		return side{name: p.name, skip: p.skip}
	}
	return side{name: p.name, url: p.url + path, client: p.client, pid: p.pid}
}

// gatewaySide sends the request for path to the gateway.
func gatewaySide(name string, g *gateway, path string, header http.Header) side {
	return side{name: name, url: g.url + path, client: g.client, header: header, pid: g.cmd.Process.Pid, gw: g}
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

// sideBySide measures each side with run for benchRounds interleaved
// rounds of benchSeconds, one sub-benchmark per side and round, and
// records the samples under path for the table. run measures one side for
// the given time.
func sideBySide(b *testing.B, path string, sides []side, run func(s side, d time.Duration) (sample, error)) {
	d := benchSeconds()
	if only := os.Getenv("MESOSGATE_BENCH_SIDES"); only != "" {
		// A quick comparison of two builds: MESOSGATE_BENCH_SIDES=gateway,base.
		sides = slices.DeleteFunc(sides, func(s side) bool { return !slices.Contains(strings.Split(only, ","), s.name) })
	}
	for _, s := range sides {
		if s.skip != "" {
			b.Run(s.name, func(b *testing.B) { b.Skip(s.skip) })
		}
	}
	for round := range benchRounds() {
		for _, s := range sides {
			if s.skip != "" {
				continue
			}
			b.Run(s.name, func(b *testing.B) {
				var total sample
				for range b.N {
					if s.gw != nil {
						if err := s.gw.resetPeak(); err != nil {
							b.Logf("cannot reset the gateway's peak RSS: %v", err)
						}
					}
					cpu := treeCPU(s.pid)
					smp, err := profileRound(b, s.gw, fmt.Sprintf("%s-%s-%d", path, s.name, round+1), d, func() (sample, error) { return run(s, d) })
					if err != nil {
						b.Fatal(err)
					}
					smp.cpu = treeCPU(s.pid) - cpu
					if s.gw != nil {
						smp.rss = s.gw.peakRSS()
					}
					total = total.add(smp)
				}
				results.record(path, s.name, total)
				total.report(b)
			})
		}
	}
}

// add merges two samples of one side.
func (s sample) add(o sample) sample {
	return sample{ops: s.ops + o.ops, bytes: s.bytes + o.bytes, elapsed: s.elapsed + o.elapsed,
		p99: max(s.p99, o.p99), cpu: s.cpu + o.cpu, rss: max(s.rss, o.rss)}
}

// report reports a sample as the sub-benchmark's metrics.
func (s sample) report(b *testing.B) {
	b.ReportMetric(0, "ns/op")
	b.ReportMetric(s.rate(), "ops/s")
	if s.bytes > 0 {
		b.ReportMetric(s.mbps(), "MB/s")
	}
	if s.p99 > 0 {
		b.ReportMetric(s.p99.Seconds()*1000, "p99-ms")
	}
	if s.cpu > 0 {
		b.ReportMetric(s.cpuPerOp(), "cpu-us/op")
	}
	if s.rss > 0 {
		b.ReportMetric(s.rss, "MB-peak-rss")
	}
}

// jsonpSides starts the cluster, the gateway and the peers in front of one
// SSL agent for the small JSONP request (an agent's /metrics/snapshot, as
// the WebUI polls it), and checks each answers with the callback.
func jsonpSides(b *testing.B, haveH2 bool) []side {
	c := startCluster(b, sim.Options{MasterModes: []sim.Mode{sim.SSL}, Modes: []sim.Mode{sim.SSL}})
	gw := startGateway(b, c)
	agent := c.Agents()[0]
	prefix := "/agent/" + agent.ID()
	path := "/metrics/snapshot?jsonp=angular.callbacks._1"
	var sides []side
	if !haveH2 {
		// Members speak HTTP/1.1 only.
		sides = append(sides, side{name: "direct", url: "https://" + agent.HostPort() + path, client: memberClient(b)})
	}
	sides = append(sides,
		peerSide(startNginx(b, agent.Addr(), prefix, nil), prefix+path),
		peerSide(startHAProxy(b, agent.Addr(), prefix), prefix+path),
		peerSide(startCaddy(b, agent.Addr(), prefix), prefix+path),
		gatewaySide("gateway", gw, prefix+path, nil),
	)
	if base := startBaseline(b, c); base != nil {
		sides = append(sides, gatewaySide("base", base, prefix+path, nil))
	}
	for _, s := range sides {
		if s.skip == "" {
			checkBody(b, s, func(body []byte) bool { return bytes.HasPrefix(body, []byte("angular.callbacks._1(")) }, "the JSONP callback")
		}
	}
	return sides
}

// BenchmarkJSONP measures requests per second and the 99th percentile
// latency of a small JSONP response over HTTPS keep-alive (HTTP/1.1, wrk
// with 16 connections): straight from the member, through nginx, HAProxy
// and Caddy (each a TLS reverse proxy serving the agent under the
// gateway's /agent/ID prefix) and through the gateway. Targets (SPEC
// section 12, issue 17): at least Caddy's rate and 0.8 of nginx's, aiming
// for nginx and HAProxy; p99 at most 1.5 times nginx's.
func BenchmarkJSONP(b *testing.B) {
	sideBySide(b, "jsonp-h1", jsonpSides(b, false), func(s side, d time.Duration) (sample, error) {
		return wrkRun(context.Background(), s.url, d)
	})
}

// BenchmarkJSONPHTTP2 is BenchmarkJSONP over HTTP/2, what Chromium speaks
// to the gateway: h2load with 4 connections of 4 concurrent streams.
// Measured against nginx with http2 (and HAProxy and Caddy).
func BenchmarkJSONPHTTP2(b *testing.B) {
	dir := b.TempDir()
	sideBySide(b, "jsonp-h2", jsonpSides(b, true), func(s side, d time.Duration) (sample, error) {
		return h2loadRun(context.Background(), s.url, d, dir)
	})
}

// startBaseline starts a second gateway from the binary
// MESOSGATE_BENCH_BASELINE names (another build, say main's), measured as
// the side "base" in the same interleaved rounds: before and after of a
// change compared in one run, on the same noisy machine. Nil without it.
// MESOSGATE_BENCH_BASELINE_ENV adds environment entries (space-separated
// NAME=value) to its process: the same build under GOGC=400, say.
func startBaseline(b *testing.B, c *sim.Cluster) *gateway {
	bin := os.Getenv("MESOSGATE_BENCH_BASELINE")
	if bin == "" {
		return nil
	}
	return startGatewayWith(b, c, gatewayOptions{Binary: bin, Env: strings.Fields(os.Getenv("MESOSGATE_BENCH_BASELINE_ENV"))})
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

// BenchmarkDownload measures a 1 GiB sandbox download over HTTPS in MB/s,
// straight from the agent and through each proxy (the gateway and
// HAProxy, nginx, Caddy and Apache under /agent/ID), and the gateway
// process's peak resident memory during the transfer. Targets: at least
// 0.9 of HAProxy's rate, peak RSS under 64 MB. MESOSGATE_BENCH_DOWNLOAD
// sets another size in bytes. Every client says it takes gzip, deflate
// and br, as browsers do; nobody compresses a download.
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
	prefix := "/agent/" + agent.ID()
	path := "/files/download?path=" + url.QueryEscape(sb[0].Directory+"/"+sim.LargeFile)
	browser := http.Header{"Accept-Encoding": {"gzip, deflate, br"}}
	sides := []side{
		{name: "direct", url: "https://" + agent.HostPort() + path, client: memberClient(b)},
		peerSide(startNginx(b, agent.Addr(), prefix, nil), prefix+path),
		peerSide(startHAProxy(b, agent.Addr(), prefix), prefix+path),
		peerSide(startCaddy(b, agent.Addr(), prefix), prefix+path),
		peerSide(startApache(b, agent.Addr(), prefix, nil), prefix+path),
		gatewaySide("gateway", gw, prefix+path, browser),
	}
	if base := startBaseline(b, c); base != nil {
		sides = append(sides, gatewaySide("base", base, prefix+path, nil))
	}
	for i := range sides {
		sides[i].header = browser
	}
	sideBySide(b, "download", sides, func(s side, d time.Duration) (sample, error) {
		smp, err := clientRun(s, d, nil)
		if err == nil && smp.bytes != smp.ops*size {
			err = fmt.Errorf("%s: downloaded %d bytes in %d downloads of %d", s.name, smp.bytes, smp.ops, size)
		}
		return smp, err
	})
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
// /agent/ID as the gateway does, through nginx's sub_filter substituting
// the same prefix literally, through the gateway to a client that takes
// no compression, to one that takes gzip only, and to one that offers
// what Chromium does (gzip, deflate, br, zstd). Targets
// (SPEC section 12, issue 17): the gateway at least twice Apache's
// throughput with no link left, aiming for nginx's literal substitution.
func BenchmarkListingPage(b *testing.B) {
	// What Chromium (123 and later) and Firefox offer.
	chromium := http.Header{"Accept-Encoding": {"gzip, deflate, br, zstd"}}
	c, sizes := pageCluster(b)
	gw := startGateway(b, c)
	leader, agent := c.Leader(), c.Agents()[0]
	urlMap := map[string]string{"//" + agent.HostPort(): "/agent/" + agent.ID()}
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
	sides := []side{
		direct,
		peerSide(startApache(b, leader.Addr(), "", urlMap), path),
		peerSide(startNginx(b, leader.Addr(), "", urlMap), path),
		gatewaySide("gateway", gw, path, nil),
		gatewaySide("gateway-gzip", gw, path, http.Header{"Accept-Encoding": {"gzip"}}),
		gatewaySide("gateway-chromium", gw, path, chromium),
	}
	if base := startBaseline(b, c); base != nil {
		sides = append(sides, gatewaySide("base", base, path, nil),
			gatewaySide("base-gzip", base, path, http.Header{"Accept-Encoding": {"gzip"}}),
			gatewaySide("base-chromium", base, path, chromium))
	}
	for _, s := range sides[1:4] {
		if s.skip == "" {
			checkBody(b, s, rewritten, fmt.Sprintf("%d download links rewritten to /agent/%s", rows, agent.ID()))
		}
	}
	sideBySide(b, "listing", sides, func(s side, d time.Duration) (sample, error) {
		smp, err := clientRun(s, d, nil)
		smp.bytes = smp.ops * int64(sizes["1MB"]) // the member's page, whatever the coding
		return smp, err
	})
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
