package e2e

import (
	"slices"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// BenchmarkFailoverGateway measures the real gateway, a mesosgate process,
// following ten leader changes: from the end of the leading master's
// ZooKeeper session to the first /master/state through the gateway that
// the new leader answers, with --master zk://... and with the masters'
// addresses (the old leader ends its SUBSCRIBE stream, which makes the
// gateway look again; polling alone waits for --refresh, see upstream's
// BenchmarkFailover). start-ms is the time from the process's start to
// its readiness (readyz 200, polled). Its measurement runs once whatever
// b.N:
//
//	go test ./e2e -run '^$' -bench FailoverGateway -benchtime 1x
func BenchmarkFailoverGateway(b *testing.B) {
	for _, zk := range []bool{true, false} {
		name := map[bool]string{true: "zookeeper", false: "addresses"}[zk]
		b.Run(name, func(b *testing.B) {
			zkURL := zkServer.Server(b).URL(zktest.Path(b))
			c := startCluster(b, sim.Options{Masters: 3, Agents: 1, Modes: []sim.Mode{sim.Plain}, ZK: zkURL})
			o := gatewayOptions{}
			if zk {
				o.Master = zkURL
			}
			gw := startGatewayWith(b, c, o)
			var took []time.Duration
			for b.Loop() {
				took = took[:0]
				for range 10 {
					_, d, err := c.FailOver(time.Minute, func(next *sim.Master) bool { return stateID(b, gw) == next.ID() })
					if err != nil {
						b.Fatal(err)
					}
					took = append(took, d)
				}
			}
			slices.Sort(took)
			b.ReportMetric(float64(took[len(took)/2].Microseconds())/1000, "median-ms")
			b.ReportMetric(float64(took[len(took)-1].Microseconds())/1000, "max-ms")
			b.ReportMetric(float64(gw.started.Microseconds())/1000, "start-ms")
			b.Logf("%s: routed to the new leader after %v", name, took)
		})
	}
}
