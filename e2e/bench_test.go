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
	"sync"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// The benchmarks of SPEC section 12, each measured side by side with its
// baseline in the same run: a request straight to the member ("direct")
// and the same request through the gateway, a separate mesosgate process
// serving HTTPS on loopback. The gateway's results carry the ratio to
// direct ("x-direct"). Run them with
//
//	make bench
//	go test ./e2e -run '^$' -bench . -benchtime 3s
//
// Loopback and one machine for everything: the gateway competes with the
// member and the client for the same cores, so the ratios are a floor for
// what separate hosts would see.

var netipLoopback = netip.MustParseAddr("127.0.0.1")

// side is one way to send the benchmark's request.
type side struct {
	name   string
	url    string
	client *http.Client
	header http.Header
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
// WebUI polls it) over HTTPS keep-alive, 16 clients at once.
func BenchmarkJSONP(b *testing.B) {
	c := startCluster(b, sim.Options{MasterModes: []sim.Mode{sim.SSL}, Modes: []sim.Mode{sim.SSL}})
	gw := startGateway(b, c)
	agent := c.Agents()[0]
	path := "/metrics/snapshot?jsonp=angular.callbacks._1"
	var directRate float64
	for _, s := range []side{
		{name: "direct", url: "https://" + agent.HostPort() + path, client: memberClient(b)},
		{name: "gateway", url: gw.url + "/agent/" + agent.ID() + path, client: gw.client},
	} {
		b.Run(s.name, func(b *testing.B) {
			var mu sync.Mutex
			var lat []time.Duration
			b.SetParallelism(8)
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
			rate := float64(b.N) / b.Elapsed().Seconds()
			b.ReportMetric(rate, "req/s")
			b.ReportMetric(percentile(lat, 0.99).Seconds()*1000, "p99-ms")
			if s.name == "direct" {
				directRate = rate
			} else if directRate > 0 {
				b.ReportMetric(rate/directRate, "x-direct")
			}
		})
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
// in MB/s of the member's page: straight from the member, through the
// gateway to a client that takes no compression, and to one that takes
// gzip as browsers do.
func BenchmarkListingPage(b *testing.B) {
	c, sizes := pageCluster(b)
	gw := startGateway(b, c)
	leader := c.Leader()
	path := "/app/listing-1MB.html"
	var directRate float64
	for _, s := range []side{
		{name: "direct", url: "https://" + leader.HostPort() + path, client: memberClient(b)},
		{name: "gateway", url: gw.url + path, client: gw.client},
		{name: "gateway-gzip", url: gw.url + path, client: gw.client, header: http.Header{"Accept-Encoding": {"gzip"}}},
	} {
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(sizes["1MB"]))
			var body bytes.Buffer
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
			rate := float64(sizes["1MB"]) * float64(b.N) / b.Elapsed().Seconds() / 1e6
			if s.name == "direct" {
				directRate = rate
			} else {
				if s.name == "gateway" && !bytes.Contains(body.Bytes(), []byte(`href="/agent/`)) {
					b.Fatalf("the page came back unrewritten")
				}
				b.ReportMetric(rate/directRate, "x-direct")
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

// percentile returns the p-th quantile of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}
