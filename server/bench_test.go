package server

import (
	"io"
	"testing"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// BenchmarkProxyJSONP is a small JSONP response through the gateway, in
// process, for profiling the proxy path (go test -cpuprofile). The
// side-by-side numbers against a direct request are e2e's BenchmarkJSONP.
func BenchmarkProxyJSONP(b *testing.B) {
	ts := newTester(b, testerOptions{sim: sim.Options{Modes: []sim.Mode{sim.SSL}}})
	agent := ts.sim.Agents()[0]
	url := ts.url + "/agent/" + agent.ID() + "/metrics/snapshot?jsonp=cb"
	b.SetParallelism(8)
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			resp, err := ts.client.Get(url)
			if err != nil {
				b.Error(err)
				return
			}
			io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
		}
	})
}
