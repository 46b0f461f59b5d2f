package e2e

import (
	"context"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mesosgate/mesosgate/e2e/browser"
	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/upstream"
)

// TestRollingUpgrade is the acceptance test of the SSL migration (SPEC
// section 6, issue 6): a cluster of one leader, two standbys and five
// agents, all plain-only, behind the real gateway. While a headless
// Chromium keeps using the cluster through the gateway (the WebUI's home,
// every agent's page, a sandbox listing, a download, the log viewer, a
// framework's UI), every member is restarted one at a time with SSL and
// downgrade, the leader fails over once, then every member is restarted
// with SSL only. The browser's network log must show no failed request,
// and the gateway's cluster API must have moved through phase-1 and
// phase-2 to complete, which the dashboard then shows.
//
// It runs with the gateway's own front without downgrade (HTTPS only,
// HSTS) and with downgrade (the browser then uses plain HTTP on the same
// port while the API poller keeps using HTTPS).
func TestRollingUpgrade(t *testing.T) {
	browser.Require(t)
	for _, v := range []struct {
		name      string
		downgrade bool
	}{
		{"front downgrade off", false},
		{"front downgrade on", true},
	} {
		t.Run(v.name, func(t *testing.T) { rollingUpgrade(t, v.downgrade) })
	}
}

func rollingUpgrade(t *testing.T, frontDowngrade bool) {
	started := time.Now()
	c := startCluster(t, sim.Options{Masters: 3, Agents: 5, Name: "rolling", LargeFileSize: 64 << 10})
	o := gatewayOptions{
		// The gateway trusts the members' CA, so their certificates show
		// as verified; probes every 2 s so that each restart shows soon.
		Env:  []string{"LIBPROCESS_SSL_CA_FILE=" + pki.CAFile},
		Args: []string{"--probe-interval", "2s", "--probe-timeout", "1500ms", "--refresh", "2s"},
	}
	if frontDowngrade {
		o.Env = append(o.Env, "LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true")
	}
	gw := startGatewayWith(t, c, o)
	front := gw.url
	if frontDowngrade {
		front = "http://" + strings.TrimPrefix(gw.url, "https://")
	}
	watch := watchCluster(t, gw)
	watch.waitFor(t, "every member probed plain-only", 30*time.Second, func(r *upstream.Report) bool {
		return r.Phase == upstream.PhaseNotStarted && len(r.Members) == 8
	})

	b := browser.New(t, browser.Options{Trust: []*x509.Certificate{gw.cert}})
	j := &rollingJourney{t: t, b: b, url: front, c: c}
	j.round() // the cluster as it was, before anything restarts

	var plan []string
	if err := j.during(func(ctx context.Context) error { return rollout(ctx, c, watch, &j.steps, &plan) }); err != nil {
		t.Fatalf("rolling upgrade: %v", err)
	}
	j.round() // the cluster as it ends: every member ssl-only
	rolled := time.Since(started)

	// Nothing the browser asked of the gateway failed.
	var failed []string
	for _, f := range b.Network().Failures() {
		// The log viewer has no icon link, so the browser asks for
		// /favicon.ico, which a Mesos master does not have either.
		if !strings.Contains(f, "/favicon.ico ") {
			failed = append(failed, f)
		}
	}
	if len(failed) > 0 {
		t.Errorf("%d failed requests in the browser's network log:\n%s", len(failed), strings.Join(failed, "\n"))
	}
	if direct := c.DirectRequests(); len(direct) > 0 {
		t.Errorf("members saw %d requests straight from the browser, first %+v", len(direct), direct[0])
	}
	// The front spoke what the variant says: the browser on plain HTTP
	// through the downgrade port, or HTTPS only.
	scheme := map[bool]string{false: "https://", true: "http://"}[frontDowngrade]
	for _, r := range b.Network().Requests() {
		if !strings.HasPrefix(r.URL, scheme) && !strings.HasPrefix(r.URL, "ws") && !strings.HasPrefix(r.URL, "data:") {
			t.Errorf("the browser requested %s, want %s... only", r.URL, scheme)
			break
		}
	}
	if !frontDowngrade {
		plain := &http.Client{Timeout: 10 * time.Second}
		// (Go's server answers a plain request on a TLS port 400, saying
		// the client sent HTTP to an HTTPS server.)
		if resp, err := plain.Get("http://" + strings.TrimPrefix(gw.url, "https://") + "/gateway/healthz"); err == nil {
			resp.Body.Close()
			if resp.StatusCode < 400 {
				t.Errorf("a plain request to the front without downgrade got %s", resp.Status)
			}
		}
	}
	if n := len(b.Network().Requests()); n < 200 {
		t.Errorf("the browser made only %d requests: the journey did not keep the gateway busy", n)
	}

	// The phase moved through every stage, in order, and the API never
	// failed.
	if errs := watch.errors(); len(errs) > 0 {
		t.Errorf("/gateway/api/cluster failed %d times during the upgrade, first: %s", len(errs), errs[0])
	}
	want := []upstream.Phase{upstream.PhaseNotStarted, upstream.Phase1, upstream.Phase2, upstream.PhaseComplete}
	if got := watch.phases(); !equalPhases(got, want) {
		t.Errorf("the phase went %v, want %v", got, want)
	}

	// The dashboard says so: eight members (each master once, the new
	// leader too), all ssl-only, and no discovery error left over.
	b.Navigate(front + "/gateway/")
	b.WaitFor("the dashboard showing the migration complete", `document.getElementById('live') && document.getElementById('live').dataset.phase === 'complete' && document.querySelectorAll('table.members tr.member').length === 8 && document.querySelectorAll('table.members .c-speaks .badge-ssl-only').length === 8 && !document.querySelector('#live .banner')`, 30*time.Second)
	if title := browser.Eval[string](b, `document.getElementById('phase-title').textContent`); title != "SSL migration complete" {
		t.Errorf("the dashboard's phase title is %q", title)
	}
	b.Screenshot("rolling-" + map[bool]string{false: "https", true: "downgrade"}[frontDowngrade] + "-complete")
	t.Logf("rolling upgrade: %d restarts and a failover in %s; %d journey steps, %d browser requests; plan:\n%s",
		len(plan)-1, rolled.Round(time.Second), j.steps.Load(), len(b.Network().Requests()), strings.Join(plan, "\n"))
}

// rollout restarts every member of c, one at a time, first with SSL and
// downgrade, then with SSL only, and moves leadership from the first
// master to the second on the way. After each change it waits until the
// gateway's API shows it and the browser made two more journey steps
// (steps), so that every state of the cluster is browsed. plan records
// what was done, with the time each change took to show.
func rollout(ctx context.Context, c *sim.Cluster, watch *clusterWatch, steps *atomic.Int64, plan *[]string) error {
	masters, agents := c.Masters(), c.Agents()
	restart := func(m *sim.Member, name string, mode sim.Mode) error {
		start := time.Now()
		if err := m.Restart(mode); err != nil {
			return fmt.Errorf("restart %s in %s: %w", name, mode, err)
		}
		err := watch.await(ctx, fmt.Sprintf("%s to speak %s", name, mode.Speaks()), func(r *upstream.Report) bool {
			rm := memberAt(r, m.Addr())
			return rm != nil && string(rm.Speaks) == mode.Speaks()
		})
		if err != nil {
			return err
		}
		*plan = append(*plan, fmt.Sprintf("  %-28s %-14s seen after %s", name, mode.Speaks(), time.Since(start).Round(time.Millisecond)))
		return browsed(ctx, steps, 2)
	}
	for _, mode := range []sim.Mode{sim.Downgrade, sim.SSL} {
		for i, a := range agents {
			if err := restart(a.Member, "agent "+strconv.Itoa(i), mode); err != nil {
				return err
			}
		}
		if mode == sim.Downgrade {
			for i, m := range masters[1:] {
				if err := restart(m.Member, "standby master "+strconv.Itoa(i+1), mode); err != nil {
					return err
				}
			}
			// The failover: the second master takes over, as when the
			// leader is restarted and ZooKeeper elects another; then the
			// old leader comes back as a standby, with SSL.
			start := time.Now()
			c.SetLeader(masters[1])
			err := watch.await(ctx, "the gateway to follow the new leader", func(r *upstream.Report) bool {
				return r.Leader == masters[1].Addr()
			})

			if err != nil {
				return err
			}
			*plan = append(*plan, fmt.Sprintf("  %-28s %-14s seen after %s", "failover to master 1", "", time.Since(start).Round(time.Millisecond)))
			if err := browsed(ctx, steps, 2); err != nil {
				return err
			}
			if err := restart(masters[0].Member, "master 0 (was leader)", mode); err != nil {
				return err
			}
			continue
		}
		for _, i := range []int{0, 2, 1} { // the leader last
			if err := restart(masters[i].Member, "master "+strconv.Itoa(i), mode); err != nil {
				return err
			}
		}
	}
	return nil
}

// browsed waits until the browser made n more journey steps.
func browsed(ctx context.Context, steps *atomic.Int64, n int64) error {
	target := steps.Load() + n
	for steps.Load() < target {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

func memberAt(r *upstream.Report, addr string) *upstream.ReportMember {
	for i := range r.Members {
		if r.Members[i].Address == addr {
			return &r.Members[i]
		}
	}
	return nil
}

func equalPhases(a, b []upstream.Phase) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// rollingJourney is a user working through the gateway: each round visits
// the WebUI's home, the agents, every agent's page, one agent's sandbox
// (listing, a download, the log viewer) and one framework's UI, each in
// turn. steps counts the pages and actions done.
type rollingJourney struct {
	t     *testing.T
	b     *browser.Browser
	url   string
	c     *sim.Cluster
	n     int
	steps atomic.Int64
}

// failedMarker is truthy when the simulated WebUI shows an error: it then
// never shows what a step waits for, so the step fails at once.
const failedMarker = `document.querySelector('.alert')`

func (j *rollingJourney) round() {
	j.t.Helper()
	b, agents := j.b, j.c.Agents()
	j.n++
	b.Navigate(j.url + "/?round=" + strconv.Itoa(j.n))
	j.step("the home page", `document.querySelector('h1') && document.querySelector('h1').textContent.indexOf('Master') === 0 && document.querySelectorAll('a.webui').length === 3`)
	j.hash("#/agents", "the agents table", `document.querySelectorAll('a.agent').length === `+strconv.Itoa(len(agents)))
	for _, a := range agents {
		j.hash("#/agents/"+a.ID(), "agent "+a.ID()+"'s executors", `document.querySelector('h1 small') && document.querySelector('h1 small').textContent === '`+a.ID()+`' && document.querySelectorAll('a.sandbox').length > 0`)
	}

	a := agents[j.n%len(agents)]
	j.hash("#/agents/"+a.ID(), "agent "+a.ID()+"'s executors", `document.querySelector('h1 small') && document.querySelector('h1 small').textContent === '`+a.ID()+`' && document.querySelectorAll('a.sandbox').length > 0`)
	browser.Eval[bool](b, `document.querySelector('a.sandbox').click(); true`)
	j.step("the sandbox listing", `Array.from(document.querySelectorAll('a.file')).some(a => a.textContent === 'stdout')`)
	got := browser.Eval[string](b, `(async () => {
		const a = Array.from(document.querySelectorAll('a.download')).find(a => a.getAttribute('href').indexOf('stdout') > 0);
		const r = await fetch(a.href);
		return r.status + ' ' + (await r.text()).indexOf('Starting task');
	})()`)
	if !strings.HasPrefix(got, "200 ") || strings.HasSuffix(got, " -1") {
		j.t.Fatalf("round %d: the download of stdout from agent %s: %s\n%s", j.n, a.ID(), got, j.failures())
	}
	j.steps.Add(1)
	popup := b.Popup()
	browser.Eval[bool](b, `Array.from(document.querySelectorAll('a.file')).find(a => a.textContent === 'stdout').click(); true`)
	pailer := popup()
	if err := browser.WaitIn(pailer, `document.getElementById('data') && document.getElementById('data').textContent.indexOf('Starting task') >= 0`, 30*time.Second); err != nil {
		j.t.Fatalf("round %d: the log viewer of agent %s shows no log line: %v\n%s", j.n, a.ID(), err, j.failures())
	}
	closeTab(pailer)
	j.steps.Add(1)

	fws := j.c.Frameworks()
	var uis []*sim.Framework
	for _, f := range fws {
		if f.UI() != nil {
			uis = append(uis, f)
		}
	}
	f := uis[j.n%len(uis)]
	b.Navigate(j.url + "/service/" + f.Name() + "/")
	j.step("framework "+f.Name()+"'s UI with its event stream and WebSocket",
		`document.getElementById('events') && /^tick \d+$/.test(document.getElementById('events').textContent) && document.getElementById('ws').textContent === 'echo: hello'`)
}

// during runs work in the background while the journey goes round, until
// work returns (its error) or the test ends (work's context is cancelled
// then, and awaited).
func (j *rollingJourney) during(work func(ctx context.Context) error) error {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- work(ctx) }()
	j.t.Cleanup(func() {
		cancel()
		<-done
	})
	for {
		j.round()
		select {
		case err := <-done:
			done <- err // for the cleanup
			return err
		default:
		}
	}
}

// hash moves the WebUI to another view (a same-document navigation, as a
// click on one of its links) and waits for it.
func (j *rollingJourney) hash(hash, what, predicate string) {
	j.t.Helper()
	browser.Eval[bool](j.b, `location.hash = '`+hash+`'; true`)
	j.step(what, predicate)
}

// step waits for predicate, failing at once when the page shows an error,
// and counts the step.
func (j *rollingJourney) step(what, predicate string) {
	j.t.Helper()
	// A poll whose page went away (a redirect, a reload under way) is
	// tried again on the next page.
	var err error
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); {
		if err = browser.WaitIn(j.b.Context(), `(`+predicate+`) || `+failedMarker, time.Until(deadline)); err == nil {
			break
		}
	}
	if err == nil && browser.Eval[bool](j.b, `!!(`+predicate+`)`) {
		j.steps.Add(1)
		return
	}
	why := "the page shows an error"
	if err != nil {
		why = err.Error()
	}
	j.t.Fatalf("round %d: waiting for %s: %s\n%s\npage %s", j.n, what, why, j.failures(),
		browser.Eval[string](j.b, `location.href + ' shows:\n' + (document.body ? document.body.innerText.slice(0, 2000) : '')`))
}

// failures lists the failed requests so far, for a failure message.
func (j *rollingJourney) failures() string {
	f := j.b.Network().Failures()
	if len(f) == 0 {
		return "no failed request in the network log"
	}
	return "failed requests:\n" + strings.Join(f, "\n")
}

// closeTab closes the tab of ctx (a popup) by script, as the page that
// opened it may.
func closeTab(ctx context.Context) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	_, _ = chromedp.Run(ctx, chromedp.Evaluate[bool](`window.close(), true`))
}

// clusterWatch polls /gateway/api/cluster through the gateway for the
// whole test, keeping the latest report, the phases seen in order, and
// every failed poll.
type clusterWatch struct {
	mu     sync.Mutex
	latest *upstream.Report
	seen   []upstream.Phase
	errs   []string
}

// watchCluster starts polling gw's cluster API every 100 ms until the
// test ends.
func watchCluster(t *testing.T, gw *gateway) *clusterWatch {
	t.Helper()
	w := &clusterWatch{}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Go(func() {
		for {
			w.poll(ctx, gw)
			select {
			case <-ctx.Done():
				return
			case <-time.After(100 * time.Millisecond):
			}
		}
	})
	t.Cleanup(func() {
		cancel()
		wg.Wait()
	})
	return w
}

func (w *clusterWatch) poll(ctx context.Context, gw *gateway) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, gw.url+"/gateway/api/cluster", nil)
	req.Header.Set("Accept", "application/json")
	resp, err := gw.client.Do(req)
	if ctx.Err() != nil && context.Cause(ctx) == context.Canceled {
		return // the test is over
	}
	var r upstream.Report
	switch {
	case err != nil:
		w.fail(err.Error())
		return
	case resp.StatusCode != http.StatusOK:
		resp.Body.Close()
		w.fail("status " + resp.Status)
		return
	}
	err = json.NewDecoder(resp.Body).Decode(&r)
	resp.Body.Close()
	if err != nil {
		w.fail("decode: " + err.Error())
		return
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	w.latest = &r
	if n := len(w.seen); n == 0 || w.seen[n-1] != r.Phase {
		w.seen = append(w.seen, r.Phase)
	}
}

func (w *clusterWatch) fail(msg string) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.errs = append(w.errs, time.Now().Format("15:04:05.000")+" "+msg)
}

// phases returns the phases seen, each change once.
func (w *clusterWatch) phases() []upstream.Phase {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]upstream.Phase(nil), w.seen...)
}

// report returns the latest report, nil before the first.
func (w *clusterWatch) report() *upstream.Report {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.latest
}

// errors returns the failed polls.
func (w *clusterWatch) errors() []string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]string(nil), w.errs...)
}

// await waits until cond holds for the latest report, for at most a
// minute or until ctx ends.
func (w *clusterWatch) await(ctx context.Context, what string, cond func(*upstream.Report) bool) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	for {
		w.mu.Lock()
		r := w.latest
		w.mu.Unlock()
		if r != nil && cond(r) {
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("waiting for %s: %w", what, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// waitFor is await for the test's goroutine.
func (w *clusterWatch) waitFor(t *testing.T, what string, timeout time.Duration, cond func(*upstream.Report) bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	if err := w.await(ctx, what, cond); err != nil {
		t.Fatal(err)
	}
}
