package server

import (
	"context"
	"io"
	"math"
	"net/http"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// scrape reads /gateway/metrics through the gateway as Prometheus would
// and parses it with the Prometheus text parser (legacy names: every name
// and label must be a classic Prometheus one).
func (ts *tester) scrape() families {
	ts.t.Helper()
	resp, body := ts.get("/gateway/metrics")
	if resp.StatusCode != http.StatusOK {
		ts.t.Fatalf("GET /gateway/metrics: %d\n%s", resp.StatusCode, body)
	}
	if ct := resp.Header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain; version=0.0.4") {
		ts.t.Errorf("Content-Type %q", ct)
	}
	p := expfmt.NewTextParser(model.LegacyValidation)
	mfs, err := p.TextToMetricFamilies(strings.NewReader(body))
	if err != nil {
		ts.t.Fatalf("parse /gateway/metrics: %v\n%s", err, body)
	}
	return mfs
}

// families are parsed metrics by name.
type families map[string]*dto.MetricFamily

// value returns the value of the series of name whose labels are the given
// name, value pairs (a histogram's count); ok is false when there is none.
func (f families) value(name string, labels ...string) (float64, bool) {
	mf := f[name]
	if mf == nil {
		return 0, false
	}
	for _, m := range mf.Metric {
		if !hasLabels(m, labels) {
			continue
		}
		switch {
		case m.Counter != nil:
			return m.Counter.GetValue(), true
		case m.Gauge != nil:
			return m.Gauge.GetValue(), true
		case m.Histogram != nil:
			return float64(m.Histogram.GetSampleCount()), true
		case m.Summary != nil:
			return float64(m.Summary.GetSampleCount()), true
		case m.Untyped != nil:
			return m.Untyped.GetValue(), true
		}
	}
	return 0, false
}

// hasLabels reports whether m has exactly the given name, value pairs.
func hasLabels(m *dto.Metric, labels []string) bool {
	if len(m.Label) != len(labels)/2 {
		return false
	}
	for i := 0; i+1 < len(labels); i += 2 {
		found := false
		for _, l := range m.Label {
			if l.GetName() == labels[i] && l.GetValue() == labels[i+1] {
				found = true
			}
		}
		if !found {
			return false
		}
	}
	return true
}

// TestMetrics scrapes /gateway/metrics of a gateway in front of a
// simulated cluster in phase 1 (a leader with SSL and downgrade, agents in
// every mode) after an agent's API page (a plain and an SSL agent), an
// unknown agent and a framework UI, and checks what an operator would
// read: request counts by route and status, upstream latencies by scheme,
// the rewritten page's bytes, members by what they speak, the phase, the
// certificates' days left, then a retry after an agent's restart and a
// probe sweep, and the phase moving on.
func TestMetrics(t *testing.T) {
	ts := newTester(t, testerOptions{
		sim:     sim.Options{MasterModes: []sim.Mode{sim.Downgrade}, Modes: []sim.Mode{sim.Plain, sim.Downgrade, sim.SSL, sim.SSL}},
		metrics: true,
	})
	agents := ts.sim.Agents()
	plainAgent, sslAgent := agents[0], agents[2]
	var marathon *sim.Framework
	for _, f := range ts.sim.Frameworks() {
		if f.Name() == "marathon" {
			marathon = f
		}
	}
	direct := directPage(t, marathon.WebUIURL())

	for _, c := range []struct {
		path string
		want int
	}{
		{"/agent/" + plainAgent.ID() + "/slave(1)/state", 200},
		{"/agent/" + sslAgent.ID() + "/slave(1)/state", 200},
		{"/agent/no-such-agent/slave(1)/state", 404},
		{"/service/marathon/", 200},
	} {
		if resp, body := ts.get(c.path); resp.StatusCode != c.want {
			t.Fatalf("GET %s: %d, want %d\n%.300s", c.path, resp.StatusCode, c.want, body)
		}
	}
	resp, page := ts.get("/service/marathon/")
	if resp.StatusCode != 200 {
		t.Fatalf("GET /service/marathon/ again: %d", resp.StatusCode)
	}

	// A request is counted once its handler returns, which may be just
	// after the client has read the response: wait for the counts.
	scrapes := 0
	want := []struct {
		labels []string
		n      float64
	}{
		{[]string{"route", "agent", "code", "200"}, 2},
		{[]string{"route", "agent", "code", "404"}, 1},
		{[]string{"route", "service", "code", "200"}, 2},
	}
	var mf families
	testsupport.Eventually(t, "the requests counted", 10*time.Second, func() bool {
		mf = ts.scrape()
		scrapes++
		for _, w := range want {
			if v, _ := mf.value("mesosgate_http_requests_total", w.labels...); v != w.n {
				return false
			}
		}
		return true
	})
	// The scrape counts itself once it is done: the scrapes before it.
	if v, _ := mf.value("mesosgate_http_requests_total", "route", "gateway", "code", "200"); v != float64(scrapes-1) {
		t.Errorf("gateway requests: %v, want the %d scrapes before", v, scrapes-1)
	}
	if v, _ := mf.value("mesosgate_http_requests_in_flight"); v != 1 {
		t.Errorf("requests in flight during a scrape: %v, want 1 (the scrape)", v)
	}

	// Time to the response header, by the scheme that reached the member.
	// The unknown agent never reached one.
	for _, c := range []struct {
		route, scheme string
		n             float64
	}{{"agent", "http", 1}, {"agent", "https", 1}, {"service", "http", 2}, {"leader", "http", 0}} {
		v, _ := mf.value("mesosgate_upstream_response_header_seconds", "route", c.route, "scheme", c.scheme)
		if v != c.n {
			t.Errorf("upstream response headers of %s over %s: %v, want %v", c.route, c.scheme, v, c.n)
		}
	}

	// The framework UI's page, rewritten twice: the member's bytes in,
	// the browser's out (the test's client takes no gzip).
	if v, _ := mf.value("mesosgate_rewrite_pages_total"); v != 2 {
		t.Errorf("pages rewritten: %v, want 2", v)
	}
	if v, _ := mf.value("mesosgate_rewrite_input_bytes_total"); v != float64(2*len(direct)) {
		t.Errorf("rewrite input: %v bytes, want twice the UI's %d-byte page", v, len(direct))
	}
	if v, _ := mf.value("mesosgate_rewrite_output_bytes_total"); v != float64(2*len(page)) {
		t.Errorf("rewrite output: %v bytes, want twice the %d bytes the client got", v, len(page))
	}

	// Members by what they speak: the modes the cluster runs.
	speaks := map[[2]string]float64{{"leader", ts.sim.Leader().Mode().Speaks()}: 1}
	for _, a := range agents {
		speaks[[2]string{"agent", a.Mode().Speaks()}]++
	}
	checkMembers(t, mf, speaks)
	// An agent speaks plain HTTP only while others speak TLS: phase 1.
	checkPhase(t, mf, "phase-1")
	if v, _ := mf.value("mesosgate_cluster_leader"); v != 1 {
		t.Errorf("mesosgate_cluster_leader %v", v)
	}
	if v, ok := mf.value("mesosgate_cluster_map_age_seconds"); !ok || v < 0 || v > 60 {
		t.Errorf("cluster map age %v (present: %v)", v, ok)
	}

	// Certificates: the front's from its file, the members' shared one.
	now := time.Now()
	checkDays(t, mf, "mesosgate_front_certificate_days_left", []string{"source", "files"}, frontLeaf.Cert.NotAfter, now)
	for _, role := range []string{"leader", "agent"} {
		checkDays(t, mf, "mesosgate_member_certificate_days_left", []string{"role", role}, testPKI.Member.Cert.NotAfter, now)
	}
	if _, ok := mf.value("mesosgate_member_certificate_days_left", "role", "standby"); ok {
		t.Errorf("a certificate of standbys, in a cluster without one")
	}
	if v, _ := mf.value("mesosgate_upstream_retries_total"); v != 0 {
		t.Errorf("retries before any restart: %v", v)
	}
	if v, _ := mf.value("mesosgate_build_info", "version", "test", "goversion", goVersion(mf)); v != 1 {
		t.Errorf("mesosgate_build_info: %v", v)
	}
	checkLabels(t, mf, ts.sim)

	// The plain agent restarts with SSL only: the next request fails to
	// connect, re-probes, and is retried over TLS. No agent speaks plain
	// HTTP only any more, and the leader still accepts it: phase 2.
	if err := plainAgent.Restart(sim.SSL); err != nil {
		t.Fatal(err)
	}
	if resp, body := ts.get("/agent/" + plainAgent.ID() + "/slave(1)/state"); resp.StatusCode != 200 {
		t.Fatalf("GET the restarted agent: %d\n%.300s", resp.StatusCode, body)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	ts.cluster.ProbeAll(ctx)
	testsupport.Eventually(t, "the request after the restart counted", 10*time.Second, func() bool {
		mf = ts.scrape()
		v, _ := mf.value("mesosgate_http_requests_total", "route", "agent", "code", "200")
		return v == 3
	})
	if v, _ := mf.value("mesosgate_upstream_retries_total"); v != 1 {
		t.Errorf("retries after the restart: %v, want 1", v)
	}
	if v, _ := mf.value("mesosgate_upstream_reprobes_total"); v != 1 {
		t.Errorf("re-probes after the restart: %v, want 1", v)
	}
	if v, _ := mf.value("mesosgate_upstream_response_header_seconds", "route", "agent", "scheme", "https"); v != 2 {
		t.Errorf("agent responses over https: %v, want 2", v)
	}
	speaks[[2]string{"agent", "plain-only"}]--
	speaks[[2]string{"agent", "ssl-only"}]++
	checkMembers(t, mf, speaks)
	checkPhase(t, mf, "phase-2")
	if v, _ := mf.value("mesosgate_probe_sweep_duration_seconds"); v != 1 {
		t.Errorf("probe sweeps: %v, want the 1 this test ran", v)
	}
	if last, ok := mf.value("mesosgate_probe_sweep_last_duration_seconds"); !ok || last <= 0 || last > 30 {
		t.Errorf("last sweep took %v s (present: %v)", last, ok)
	}
}

// directPage returns the body of a page fetched from a framework UI
// directly, without compression.
func directPage(t *testing.T, url string) string {
	t.Helper()
	tr := &http.Transport{DisableCompression: true}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != 200 || !strings.Contains(resp.Header.Get("Content-Type"), "text/html") {
		t.Fatalf("GET %s: %d %v", url, resp.StatusCode, err)
	}
	return string(b)
}

// checkMembers compares mesosgate_members with counts by role and speaks;
// every other combination must be there as 0.
func checkMembers(t *testing.T, mf families, want map[[2]string]float64) {
	t.Helper()
	for _, role := range memberRoles {
		for _, sp := range memberSpeaks {
			v, ok := mf.value("mesosgate_members", "role", string(role), "speaks", string(sp))
			if w := want[[2]string{string(role), string(sp)}]; !ok || v != w {
				t.Errorf("members %s %s: %v (present: %v), want %v", role, sp, v, ok, w)
			}
		}
	}
}

// checkPhase checks that phase is the one phase at 1.
func checkPhase(t *testing.T, mf families, phase string) {
	t.Helper()
	for _, p := range phases {
		want := 0.0
		if string(p) == phase {
			want = 1
		}
		if v, ok := mf.value("mesosgate_migration_phase", "phase", string(p)); !ok || v != want {
			t.Errorf("phase %s: %v (present: %v), want %v", p, v, ok, want)
		}
	}
}

// checkDays checks a days-left gauge against a certificate's NotAfter.
func checkDays(t *testing.T, mf families, name string, labels []string, notAfter, now time.Time) {
	t.Helper()
	v, ok := mf.value(name, labels...)
	want := notAfter.Sub(now).Hours() / 24
	// The scrape was a few seconds ago; a minute is 0.0007 days.
	if !ok || math.Abs(v-want) > 0.001 || v < 1 {
		t.Errorf("%s%v: %v (present: %v), want %.4f (NotAfter %s)", name, labels, v, ok, want, notAfter)
	}
}

// goVersion returns mesosgate_build_info's goversion label.
func goVersion(mf families) string {
	if b := mf["mesosgate_build_info"]; b != nil && len(b.Metric) == 1 {
		for _, l := range b.Metric[0].Label {
			if l.GetName() == "goversion" {
				return l.GetValue()
			}
		}
	}
	return ""
}

// checkLabels checks that no label of the gateway's own metrics names a
// path, an address or an id: cardinality stays bounded however many
// agents the cluster has.
func checkLabels(t *testing.T, mf families, c *sim.Cluster) {
	t.Helper()
	var forbidden []string
	for _, m := range c.Masters() {
		forbidden = append(forbidden, m.Addr(), m.ID())
	}
	for _, a := range c.Agents() {
		forbidden = append(forbidden, a.Addr(), a.ID())
	}
	for _, f := range c.Frameworks() {
		forbidden = append(forbidden, f.ID(), f.Name())
	}
	names := make([]string, 0, len(mf))
	for name := range mf {
		names = append(names, name)
	}
	sort.Strings(names)
	for _, name := range names {
		if !strings.HasPrefix(name, "mesosgate_") {
			continue
		}
		for _, m := range mf[name].Metric {
			for _, l := range m.Label {
				v := l.GetValue()
				bad := strings.ContainsAny(v, "/:@")
				for _, f := range forbidden {
					bad = bad || f != "" && strings.Contains(v, f)
				}
				if bad && l.GetName() != "goversion" {
					t.Errorf("%s{%s=%q}: a label names a path, address or id", name, l.GetName(), v)
				}
			}
		}
	}
}
