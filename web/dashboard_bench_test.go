package web

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

// bigFixture is a cluster of n agents behind the fixture's masters, in
// phase 1, each agent with a certificate and every third with a warning.
func bigFixture(n int) Dashboard {
	d := fixture(PhaseOne)
	base := d.Members[3]
	d.Members = d.Members[:3]
	for i := range n {
		m := base
		m.ID = fmt.Sprintf("5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a-S%d", i)
		m.Address = fmt.Sprintf("10.%d.%d.%d:5051", i>>16&255, i>>8&255, i&255)
		m.Hostname = fmt.Sprintf("agent-%d.mesos.example", i)
		m.BrowseURL = "/agent/" + m.ID + "/"
		m.Speaks = []Speaks{SpeaksPlainOnly, SpeaksSSLDowngrade, SpeaksSSLDowngrade}[i%3]
		if i%3 == 0 {
			m.Warnings = []string{"Certificate expires in 12 days."}
		}
		d.Members = append(d.Members, m)
	}
	return d
}

// BenchmarkLive renders the dashboard's partial (what every open dashboard
// fetches every few seconds) for clusters of growing size, next to
// encoding the same view as JSON in the same run as the baseline. It
// reports the partial's size per member count.
func BenchmarkLive(b *testing.B) {
	for _, n := range []int{5, 100, 1000} {
		d := bigFixture(n)
		p, err := New(Options{Data: func(*http.Request) Dashboard { return d }, Now: func() time.Time { return fixtureNow }})
		if err != nil {
			b.Fatal(err)
		}
		b.Run(fmt.Sprintf("html/agents=%d", n), func(b *testing.B) {
			r := httptest.NewRequest("GET", "/gateway/live", nil)
			var size int
			for b.Loop() {
				w := httptest.NewRecorder()
				p.ServeLive(w, r)
				size = w.Body.Len()
			}
			b.SetBytes(int64(size))
			b.ReportMetric(float64(size), "page-bytes")
		})
		b.Run(fmt.Sprintf("json/agents=%d", n), func(b *testing.B) {
			var size int
			for b.Loop() {
				cw := &countWriter{}
				if err := json.NewEncoder(cw).Encode(d); err != nil {
					b.Fatal(err)
				}
				size = cw.n
			}
			b.SetBytes(int64(size))
			b.ReportMetric(float64(size), "page-bytes")
		})
	}
}

type countWriter struct{ n int }

func (c *countWriter) Write(p []byte) (int, error) { c.n += len(p); return len(p), nil }

var _ io.Writer = (*countWriter)(nil)
