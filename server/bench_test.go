package server

import (
	"crypto/tls"
	"fmt"
	"io"
	"net/http"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/tlsx"
)

// The in-process benchmarks here are for profiling the proxy path
// (go test -cpuprofile); each runs next to its baseline, the same request
// straight to the member. The side-by-side numbers of SPEC section 12, with
// the gateway in its own process, are e2e's (make bench).

// directClient reaches members as the gateway's connecting side does.
func directClient(b *testing.B) *http.Client {
	tc, err := tlsx.NewContext(tlsx.Settings{}, tlsx.Options{ReloadInterval: -1})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { tc.Close() })
	tr := &http.Transport{
		TLSClientConfig:     tc.ClientConfig("localhost", netip.MustParseAddr("127.0.0.1")),
		MaxIdleConnsPerHost: 64,
		DisableCompression:  true,
		TLSNextProto:        map[string]func(string, *tls.Conn) http.RoundTripper{},
	}
	b.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// getAll sends GETs to url from 16 goroutines until b.N are done.
func getAll(b *testing.B, c *http.Client, url string) {
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := c.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}

// BenchmarkProxyJSONP is a small JSONP response, straight from an
// SSL-only agent and through the gateway.
func BenchmarkProxyJSONP(b *testing.B) {
	ts := newTester(b, testerOptions{sim: sim.Options{Modes: []sim.Mode{sim.SSL}}})
	agent := ts.sim.Agents()[0]
	path := "/metrics/snapshot?jsonp=cb"
	b.Run("direct", func(b *testing.B) { getAll(b, directClient(b), agent.URL()+path) })
	b.Run("gateway", func(b *testing.B) { getAll(b, ts.client, ts.url+"/agent/"+agent.ID()+path) })
}

// BenchmarkProxyListingPage is a 1 MB sandbox listing page, straight from
// the leader and rewritten on its way through the gateway.
func BenchmarkProxyListingPage(b *testing.B) {
	dir := b.TempDir()
	os.MkdirAll(filepath.Join(dir, "app"), 0o755)
	os.WriteFile(filepath.Join(dir, "index.html"), []byte("<!doctype html><title>Mesos</title>"), 0o644)
	ts := newTester(b, testerOptions{sim: sim.Options{MasterModes: []sim.Mode{sim.SSL}, Modes: []sim.Mode{sim.SSL}, WebUIDir: dir}})
	agent := ts.sim.Agents()[0].HostPort()
	var page strings.Builder
	page.WriteString("<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>Mesos</title></head><body><table>\n")
	for i := 0; page.Len() < 1<<20; i++ {
		fmt.Fprintf(&page, "<tr><td>-rw-r--r--</td><td>root</td><td>%d KB</td><td><a href=\"//%s/files/read?path=%%2Fsandbox%%2Fpart-%05d.log&amp;offset=0\">part-%05d.log</a></td><td><a href=\"//%s/files/download?path=%%2Fsandbox%%2Fpart-%05d.log\"><button>Download</button></a></td></tr>\n", i%900, agent, i, i, agent, i)
	}
	page.WriteString("</table></body></html>\n")
	os.WriteFile(filepath.Join(dir, "app", "listing.html"), []byte(page.String()), 0o644)
	for _, s := range []struct {
		name, url string
		client    *http.Client
	}{
		{"direct", ts.sim.Leader().URL() + "/app/listing.html", directClient(b)},
		{"gateway", ts.url + "/app/listing.html", ts.client},
	} {
		b.Run(s.name, func(b *testing.B) {
			b.SetBytes(int64(page.Len()))
			for b.Loop() {
				resp, err := s.client.Get(s.url)
				if err != nil {
					b.Fatal(err)
				}
				io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
			}
		})
	}
}
