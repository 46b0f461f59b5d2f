package server

import (
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime"
	"strconv"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mesosgate/mesosgate/rewrite"
	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/upstream"
)

// This file is the gateway's Prometheus metrics, served at
// /gateway/metrics from a registry of their own. What happens per request
// is counted as it happens (the middleware's finish, the proxy's
// dispatcher, the rewriter's Counts); what the cluster is (members by what
// they speak, the phase, certificates, upstream's Stats) is read from the
// snapshot at scrape time by a Collector, so nothing runs between scrapes.
//
// Label values are bounded whatever the cluster's size: route classes,
// status codes, schemes, roles, what members speak, phases, certificate
// sources. No path, member address, agent or framework id is ever a label.

// routeClass is what kind of route served a request: the "route" label.
type routeClass uint8

// The route classes. The zero value is the gateway's own pages; every
// other route sets its class before anything can fail.
const (
	classGateway   routeClass = iota // /gateway/...: dashboard, API, health, metrics
	classLeader                      // the leader: / and /mesos/...
	classMaster                      // /gateway/masters/{host:port}/...
	classAgent                       // /agent/{id}/..., /slave/{id}/...
	classService                     // /service/{name}/...
	classFramework                   // /framework/{id}/...
	classWebUI                       // --webui-dir's files
	classRefused                     // what the guard refused (guard.go)
	numClasses
)

var classNames = [numClasses]string{"gateway", "leader", "master", "agent", "service", "framework", "webui", "refused"}

func (c routeClass) String() string { return classNames[c] }

// classOf is the class of a proxied route's kind.
func classOf(kind upstream.Kind) routeClass {
	switch kind {
	case upstream.KindLeader:
		return classLeader
	case upstream.KindMaster:
		return classMaster
	case upstream.KindAgent:
		return classAgent
	case upstream.KindFrameworkName, upstream.KindFrameworkHost:
		return classService
	case upstream.KindFrameworkID:
		return classFramework
	}
	return classGateway
}

// MetricsOptions configure NewMetrics. Cluster is required.
type MetricsOptions struct {
	// Cluster is read at scrape time: members by role and by what they
	// speak, the phase, the cluster map's age, members' certificates, and
	// upstream's retries and probe sweeps.
	Cluster Cluster
	// FrontCertificates describes the certificates the front presents
	// (tlsx.Context.FrontCertificates), read at scrape time. Nil (a plain
	// front) exports no front certificate metric.
	FrontCertificates func() []tlsx.CertInfo
	// Version is mesosgate_build_info's version label; "" means "unknown".
	Version string
	// Logger receives errors gathering or writing metrics. Nil discards.
	Logger *slog.Logger
	// Now is the clock for certificates' days left; nil means time.Now.
	Now func() time.Time
}

// Metrics are the gateway's Prometheus metrics: give them to New as
// Options.Metrics, which counts requests into them and serves them at
// /gateway/metrics. Every name starts with mesosgate_ (besides the Go
// runtime's go_ and the process's process_ metrics).
//
//	mesosgate_http_requests_total{route,code}               requests answered, by route class and status
//	mesosgate_http_requests_in_flight                        requests being served (streams included)
//	mesosgate_http_responses_aborted_total{route}            responses cut off after their status was sent
//	mesosgate_upstream_response_header_seconds{route,scheme} time from sending to a member (or framework UI) to its response header
//	mesosgate_upstream_retries_total                         requests sent again after a failed connection and a re-probe
//	mesosgate_upstream_reprobes_total                        re-probes after a failed connection
//	mesosgate_rewrite_pages_total                            HTML pages rewritten
//	mesosgate_rewrite_input_bytes_total                      HTML read by the rewriter (decoded)
//	mesosgate_rewrite_output_bytes_total                     HTML the rewriter wrote
//	mesosgate_members{role,speaks}                           masters and agents by what they speak ("unprobed" before the first probe)
//	mesosgate_migration_phase{phase}                         1 for the current phase of the SSL migration, 0 for the others
//	mesosgate_cluster_leader                                 1 while a leading master is known
//	mesosgate_cluster_map_age_seconds                        time since the masters last confirmed the cluster map
//	mesosgate_probe_sweep_duration_seconds                   full probe sweeps (summary: count and sum)
//	mesosgate_probe_sweep_last_duration_seconds              the latest sweep's duration
//	mesosgate_front_certificate_days_left{source}            days until the front's certificate expires (the soonest, if several)
//	mesosgate_member_certificate_days_left{role}             days until the soonest-expiring certificate among members of a role
//	mesosgate_build_info{version,goversion}                  1
//
// Certificate expiry is in days, the unit SPEC section 6 warns in
// (expiring within 30 days), so an alert reads `< 30`.
type Metrics struct {
	reg     *prometheus.Registry
	handler http.Handler

	requests *prometheus.CounterVec
	inFlight atomic.Int64 // exported by a GaugeFunc: one atomic add per change
	aborted  *prometheus.CounterVec
	upstream *prometheus.HistogramVec

	rewritePages prometheus.Counter
	rewriteIn    prometheus.Counter
	rewriteOut   prometheus.Counter

	// decisions counts access control's answers; decided holds its four
	// series: [read or write][allowed or refused].
	decisions *prometheus.CounterVec
	decided4  [2][2]prometheus.Counter

	// The request path finds its series here instead of hashing label
	// values (WithLabelValues) every time: the counters of each route
	// class and status code below 600, and the latency histograms of each
	// route class and scheme (http, https). Each is made on first use, so
	// only series that happened are exported.
	counters  [numClasses][600]atomic.Pointer[prometheus.Counter]
	observers [numClasses][2]atomic.Pointer[prometheus.Observer]
}

var _ http.Handler = (*Metrics)(nil)

// upstreamBuckets bound the time to a member's response header: a
// loopback or LAN member answers within milliseconds, /master/state of a
// large cluster within seconds, and DefaultResponseHeaderTimeout ends the
// wait at a minute.
var upstreamBuckets = []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60}

// NewMetrics makes the gateway's metrics on a registry of their own (never
// the process-wide default one), with the Go runtime and process
// collectors.
func NewMetrics(o MetricsOptions) (*Metrics, error) {
	if o.Cluster == nil {
		return nil, fmt.Errorf("server: MetricsOptions.Cluster is required")
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Version == "" {
		o.Version = "unknown"
	}
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m := newMetrics()
	if err := m.register(o); err != nil {
		return nil, err
	}
	for i, op := range []string{"read", "write"} {
		for j, d := range []string{"allowed", "refused"} {
			m.decided4[i][j] = m.decisions.WithLabelValues(op, d)
		}
	}
	m.handler = promhttp.HandlerFor(m.reg, promhttp.HandlerOpts{
		ErrorLog:      promLogger{log},
		ErrorHandling: promhttp.ContinueOnError,
		// The gateway's middleware gzips text for clients that take it.
		DisableCompression: true,
		// A scrape costs little, but the endpoint is as public as the
		// dashboard: a flood of scrapes waits in line, not in parallel.
		MaxRequestsInFlight: 4,
		Timeout:             30 * time.Second,
	})
	return m, nil
}

// newMetrics makes the metrics the gateway counts per request.
func newMetrics() *Metrics {
	return &Metrics{
		reg: prometheus.NewRegistry(),
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mesosgate_http_requests_total",
			Help: "Requests the gateway answered, by route class and status code (499: the client left before an answer; 0: the connection was cut before any status).",
		}, []string{"route", "code"}),
		aborted: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mesosgate_http_responses_aborted_total",
			Help: "Responses cut off after their status was sent (a member or the client went away mid-body), by route class.",
		}, []string{"route"}),
		upstream: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "mesosgate_upstream_response_header_seconds",
			Help:    "Time from sending a request to a member or framework UI to its response header (a retry after a re-probe included), by route class and the scheme that reached it.",
			Buckets: upstreamBuckets,
		}, []string{"route", "scheme"}),
		rewritePages: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mesosgate_rewrite_pages_total",
			Help: "HTML pages whose links were rewritten.",
		}),
		rewriteIn: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mesosgate_rewrite_input_bytes_total",
			Help: "Bytes of HTML the link rewriter read from members (after decoding gzip or deflate).",
		}),
		decisions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mesosgate_access_decisions_total",
			Help: "Access control's answers, by operation (read or write) and decision (allowed or refused).",
		}, []string{"operation", "decision"}),
		rewriteOut: prometheus.NewCounter(prometheus.CounterOpts{
			Name: "mesosgate_rewrite_output_bytes_total",
			Help: "Bytes of HTML the link rewriter wrote (before the gateway's own compression).",
		}),
	}
}

// register adds the per-request metrics, the gauges read at scrape time
// and the Go runtime's and process's collectors to m's own registry.
func (m *Metrics) register(o MetricsOptions) error {
	inFlight := prometheus.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "mesosgate_http_requests_in_flight",
		Help: "Requests being served, open event streams and WebSockets included.",
	}, func() float64 { return float64(m.inFlight.Load()) })
	build := prometheus.NewGauge(prometheus.GaugeOpts{
		Name:        "mesosgate_build_info",
		Help:        "Always 1; the labels say which mesosgate runs.",
		ConstLabels: prometheus.Labels{"version": o.Version, "goversion": runtime.Version()},
	})
	build.Set(1)
	for _, c := range []prometheus.Collector{
		m.requests, inFlight, m.aborted, m.upstream, m.rewritePages, m.rewriteIn, m.rewriteOut, m.decisions, build,
		newClusterCollector(o),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
	} {
		if err := m.reg.Register(c); err != nil {
			return fmt.Errorf("server: register metrics: %w", err)
		}
	}
	return nil
}

// ServeHTTP serves the metrics in the Prometheus text format (or
// OpenMetrics, as the scraper asks).
func (m *Metrics) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	m.handler.ServeHTTP(w, r)
}

// Gatherer is the registry behind the metrics, for tests and for callers
// that serve them elsewhere too.
func (m *Metrics) Gatherer() prometheus.Gatherer { return m.reg }

// started counts a request the middleware began serving.
func (m *Metrics) started() { m.inFlight.Add(1) }

// finished counts a request the middleware has finished: its route class,
// the status sent (0 when none was), whether it was cut off, and what the
// rewriter read and wrote for it.
func (m *Metrics) finished(q *request, status int, aborted bool) {
	m.inFlight.Add(-1)
	m.counter(q.class, status).Inc()
	if aborted {
		m.aborted.WithLabelValues(q.class.String()).Inc()
	}
	if q.rewritten {
		m.rewritePages.Inc()
		m.rewriteIn.Add(float64(q.rewrite.In))
		m.rewriteOut.Add(float64(q.rewrite.Out))
	}
}

// decided counts one of access control's answers. A nil Metrics counts
// nothing.
func (m *Metrics) decided(read, allowed bool) {
	if m == nil {
		return
	}
	op, d := 0, 0
	if !read {
		op = 1
	}
	if !allowed {
		d = 1
	}
	m.decided4[op][d].Inc()
}

// counter returns the requests counter of a route class and status (0:
// none was sent).
func (m *Metrics) counter(class routeClass, status int) prometheus.Counter {
	if status < 0 || status >= len(m.counters[class]) {
		return m.requests.WithLabelValues(class.String(), strconv.Itoa(status))
	}
	slot := &m.counters[class][status]
	if c := slot.Load(); c != nil {
		return *c
	}
	// Two requests may both get here; both find the same series.
	c := m.requests.WithLabelValues(class.String(), strconv.Itoa(status))
	slot.Store(&c)
	return c
}

// upstreamHeader records the time a member took to send its response
// header.
func (m *Metrics) upstreamHeader(class routeClass, scheme string, d time.Duration) {
	i := 0
	if scheme == "https" {
		i = 1
	}
	slot := &m.observers[class][i]
	o := slot.Load()
	if o == nil {
		h := m.upstream.WithLabelValues(class.String(), []string{"http", "https"}[i])
		o = &h
		slot.Store(o)
	}
	(*o).Observe(d.Seconds())
}

// rewriteCounts returns where a page's rewriter counts its bytes for q, or
// nil when the metrics are off.
func (m *Metrics) rewriteCounts(q *request) *rewrite.Counts {
	if m == nil {
		return nil
	}
	return &q.rewrite
}

// promLogger passes promhttp's errors to the gateway's log.
type promLogger struct{ log *slog.Logger }

func (l promLogger) Println(v ...any) { l.log.Warn("serve metrics", "err", fmt.Sprint(v...)) }
