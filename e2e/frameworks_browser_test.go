package e2e

import (
	"context"
	"crypto/x509"
	"fmt"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/mesosgate/mesosgate/e2e/browser"
	"github.com/mesosgate/mesosgate/e2e/sim"
)

// This file browses real framework UIs through the real gateway in
// headless Chromium (issue 16): Syncthing's AngularJS GUI and
// Prometheus's UI, from Debian's packages, each on its own loopback port
// and told nothing of the gateway, registered as a framework's
// webui_url, served under /service/<name>/ (path mode) and on an origin
// of its own, https://<name>.localhost:<port>/ (--service-domain). Every
// page is first opened directly, then through the gateway, and must show
// the same things; the gateway allows writes (--allow-writes, a gateway
// without authentication whose users may change what they browse), which
// Syncthing's settings need.

// uiModes are the two ways the gateway serves a framework UI.
var uiModes = []string{"path", "subdomain"}

// frameworkFront is the real gateway in front of a simulated cluster (a
// master, an agent) whose one framework registered an app as its
// webui_url.
type frameworkFront struct {
	gw *gateway
	// entry is where a user opens the UI on the gateway:
	// https://localhost:port/service/<name>/, which a gateway with a
	// service domain redirects to the UI's own origin.
	entry string
	// ui is the UI's root as the browser ends up at it:
	// .../service/<name>/ or https://<name>.localhost:port/.
	ui string
	// chrome records the requests of Chromium (by its User-Agent) that a
	// master or agent received: none may reach one from a framework UI.
	chrome *chromeAtMembers
}

// startFrameworkFront registers the app at url as framework name's web UI
// and starts the gateway in mode ("path" or "subdomain") in front of it.
func startFrameworkFront(t *testing.T, mode, name, url string) *frameworkFront {
	t.Helper()
	f := &frameworkFront{chrome: &chromeAtMembers{}}
	c := startCluster(t, sim.Options{Modes: []sim.Mode{sim.Plain}, Observe: f.chrome.observe,
		Frameworks: []sim.FrameworkSpec{{Name: name, WebUIURL: url}}})
	o := gatewayOptions{Args: []string{"--allow-writes"}}
	if mode == "subdomain" {
		port := strconv.Itoa(freePort(t))
		o.Listen, o.DNSNames = "127.0.0.1:"+port, []string{"*.localhost"}
		o.Args = append(o.Args, "--service-domain", "localhost")
		f.ui = "https://" + name + ".localhost:" + port + "/"
	}
	f.gw = startGatewayWith(t, c, o)
	f.entry = f.gw.url + "/service/" + name + "/"
	if f.ui == "" {
		f.ui = f.entry
	}
	return f
}

// chromeAtMembers records the requests members received from Chromium.
type chromeAtMembers struct {
	mu   sync.Mutex
	seen []string
}

func (c *chromeAtMembers) observe(m *sim.Member, r *http.Request) {
	if strings.Contains(r.UserAgent(), "Chrome") {
		c.mu.Lock()
		c.seen = append(c.seen, fmt.Sprintf("the %s %s received %s %s", m.Role(), m.Addr(), r.Method, r.RequestURI))
		c.mu.Unlock()
	}
}

func (c *chromeAtMembers) all() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.seen...)
}

// uiStep is one thing a user does in a UI and what the page must then
// show.
type uiStep struct {
	name string
	// open, if set, is a URL below the UI's root that the user opens
	// (typed, or from a bookmark).
	open string
	// do, if set, is what the user does in the page: JavaScript that
	// clicks the app's own links and buttons, fills its fields.
	do string
	// shows is a JavaScript predicate on what the page shows.
	shows string
	// idle, if set, is how long the user then leaves the page open,
	// during which never (a JavaScript predicate) may not become true.
	idle  time.Duration
	never string
	// gatewayOnly marks a step that is not compared with the app opened
	// directly.
	gatewayOnly bool
}

// journey walks steps from root in b and returns, per step, "" when the
// page showed what it should, or what it showed instead.
func journey(t *testing.T, b *browser.Browser, root, shots string, steps []uiStep) map[string]string {
	t.Helper()
	got := map[string]string{}
	for i, s := range steps {
		if s.open != "" || i == 0 {
			b.Navigate(root + s.open)
		}
		if s.do != "" {
			if err := act(b, s.do); err != nil {
				got[s.name] = "could not act: " + err.Error() + "\n" + browser.Describe(b.Context())
				continue
			}
		}
		if err := waitShows(b, s.shows, 30*time.Second); err != nil {
			got[s.name] = browser.Describe(b.Context())
		}
		if s.idle > 0 && got[s.name] == "" {
			got[s.name] = watch(b, s.idle, s.never)
		}
		b.Screenshot(fmt.Sprintf("%s-%02d-%s", shots, i, fileName(s.name)))
	}
	return got
}

// waitShows waits until the page shows what predicate says, across the
// navigations a click starts (a poll ends with the page it ran in).
func waitShows(b *browser.Browser, predicate string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		err := browser.WaitIn(b.Context(), predicate, time.Until(deadline))
		if err == nil || time.Now().After(deadline) {
			return err
		}
	}
}

// fileName turns a step's name into a file name: letters and digits,
// the rest dashes.
func fileName(name string) string {
	return strings.Trim(nonWord.ReplaceAllString(strings.ToLower(name), "-"), "-")
}

var nonWord = regexp.MustCompile(`[^a-z0-9]+`)

// act runs what a user does in the page, once.
func act(b *browser.Browser, js string) error {
	ctx, cancel := context.WithTimeout(b.Context(), 30*time.Second)
	defer cancel()
	_, err := chromedp.Run(ctx, chromedp.Evaluate[any](`(() => { `+js+`; return true; })()`))
	return err
}

// watch keeps the page open for d, looking for never all along; it
// returns what the page showed when never became true, "" if it did not.
func watch(b *browser.Browser, d time.Duration, never string) string {
	for end := time.Now().Add(d); time.Now().Before(end); {
		if browser.WaitIn(b.Context(), never, time.Second) == nil {
			return "after " + time.Until(end).Round(time.Second).String() + " left to wait: " + browser.Describe(b.Context())
		}
	}
	return ""
}

// compare fails the test for every step the app, opened directly, did
// not show (the test's idea of the app is wrong) and every step the
// gateway's page did not show although the app's did; it logs the
// comparison page by page.
func compare(t *testing.T, mode string, steps []uiStep, direct, through map[string]string) {
	t.Helper()
	for _, s := range steps {
		d, g := direct[s.name], through[s.name]
		switch {
		case s.gatewayOnly:
			d = "(not compared)"
		case d != "":
			t.Errorf("%s, opened directly, does not show what the test expects:\n%s", s.name, d)
		}
		if g != "" {
			t.Errorf("%s through the gateway (%s mode) does not show what the app shows directly:\n%s", s.name, mode, g)
		}
		t.Logf("%-40s directly: %-14s through the gateway (%s): %s", s.name, verdict(d), mode, verdict(g))
	}
}

func verdict(failure string) string {
	switch failure {
	case "":
		return "works"
	case "(not compared)":
		return failure
	}
	return "FAILS"
}

// appSeen is what the app, opened directly, did wrong by itself: its
// failed requests, each as "METHOD path status error" with the path below
// its root, and its console errors with its root written <root>/.
type appSeen struct {
	failures, console map[string]bool
}

// leaveApp records what the app opened directly at root did wrong by
// itself, ends its page (its scripts stop asking) and empties the logs.
func leaveApp(b *browser.Browser, root string) appSeen {
	seen := appSeen{failures: map[string]bool{}, console: map[string]bool{}}
	b.Navigate("about:blank")
	for _, r := range b.Network().Requests() {
		if rest, ok := strings.CutPrefix(r.URL, root); ok && failed(r) {
			seen.failures[failureKey(r, rest)] = true
		}
	}
	for _, e := range b.Console().Errors() {
		seen.console[strings.ReplaceAll(e, root, "<root>/")] = true
	}
	b.Network().Reset()
	b.Console().Reset()
	return seen
}

func failed(r browser.Request) bool {
	return r.Failed != "" && r.Failed != "net::ERR_ABORTED" || r.Status >= 400
}

func failureKey(r browser.Request, path string) string {
	path, _, _ = strings.Cut(path, "?")
	return fmt.Sprintf("%s %s %d %s", r.Method, path, r.Status, r.Failed)
}

// assertStayed fails the test for every request of the browser that left
// the UI's place, but the user's entry through the gateway and, in path
// mode, a request the gateway sent back into the prefix (a redirect);
// for one not over HTTP/2 (the gateway's front speaks it to Chromium);
// for a failed one and a console error, unless the app opened directly
// did the same (direct); and for any request of Chromium that reached a
// master or agent.
func assertStayed(t *testing.T, f *frameworkFront, b *browser.Browser, direct appSeen) {
	t.Helper()
	for _, r := range b.Network().Requests() {
		rest, below := strings.CutPrefix(r.URL, f.ui)
		switch {
		case strings.HasPrefix(r.URL, "data:"), strings.HasPrefix(r.URL, "blob:"), r.URL == "about:blank":
		case below && r.Protocol != "" && r.Protocol != "h2":
			t.Errorf("%s %s came over %s, not HTTP/2", r.Method, r.URL, r.Protocol)
		case below && failed(r) && direct.failures[failureKey(r, rest)]:
			t.Logf("failed alike directly: %s %s %d %s", r.Method, r.URL, r.Status, r.Failed)
		case below && failed(r):
			t.Errorf("failed through the gateway only: %s %s [%s] %d %s", r.Method, r.URL, r.Type, r.Status, r.Failed)
		case below:
		case strings.HasPrefix(r.URL, f.gw.url+"/") && r.Status >= 300 && r.Status < 400:
			t.Logf("sent back by the gateway: %s %s (%d)", r.Method, r.URL, r.Status)
		default:
			t.Errorf("a request left %s: %s %s [%s] %d %s", f.ui, r.Method, r.URL, r.Type, r.Status, r.Failed)
		}
	}
	logged := map[string]bool{}
	for _, e := range b.Console().Errors() {
		if logged[e] {
			continue
		}
		logged[e] = true
		if direct.console[strings.ReplaceAll(e, f.ui, "<root>/")] {
			t.Logf("console error alike directly: %s", e)
		} else {
			t.Errorf("console error through the gateway only: %s", e)
		}
	}
	for _, seen := range f.chrome.all() {
		t.Errorf("Chromium reached a member: %s", seen)
	}
}

// prometheusSteps walk Prometheus's UI (Debian's build: the classic UI
// under /classic/) by its own links: a query in the table (Console) and
// graph views, every page of its menu, and its old graph links.
// Debian's Prometheus 2.42 has no TSDB Status page (the React UI that
// has it is not packaged); its API is checked instead.
var prometheusSteps = []uiStep{
	{name: "graph page at the root", shows: `location.pathname.endsWith('/classic/graph') && document.querySelector('#expr0') !== null`},
	{name: "query in table view",
		do:    `document.querySelector('#expr0').value = 'up'; document.querySelector('.execute_btn').click()`,
		shows: `Array.from(document.querySelectorAll('#console0 .console_table tr')).some(tr => tr.innerText.includes('up{') && tr.innerText.includes('job="prometheus"') && /\b1\s*$/.test(tr.innerText))`},
	{name: "query in graph view",
		do:    `document.querySelector('a[href="#graph0"]').click()`,
		shows: `document.querySelector('#graph0 .graph svg path') !== null && document.querySelector('#graph0 .legend') !== null && document.querySelector('#graph0 .legend').innerText.includes('job="prometheus"')`},
	{name: "Alerts", do: clickLink("/classic/alerts"), shows: pageShows("/classic/alerts", "GatewayTestAlwaysFiring")},
	{name: "Graph", do: clickLink("/classic/graph"), shows: `location.pathname.endsWith('/classic/graph') && document.querySelector('#expr0') !== null && document.querySelector('#expr0').value === ''`},
	{name: "Status: Runtime & Build Information", do: clickLink("/classic/status"), shows: pageShows("/classic/status", "Runtime Information", "Build Information", "2.42.0")},
	{name: "Status: Command-Line Flags", do: clickLink("/classic/flags"), shows: pageShows("/classic/flags", "storage.tsdb.path", "web.listen-address")},
	{name: "Status: Configuration", do: clickLink("/classic/config"), shows: pageShows("/classic/config", "scrape_interval: 1s", "job_name: prometheus")},
	{name: "Status: Rules", do: clickLink("/classic/rules"), shows: pageShows("/classic/rules", "job:up:sum", "GatewayTestAlwaysFiring")},
	{name: "Status: Targets", do: clickLink("/classic/targets"), shows: pageShows("/classic/targets", "prometheus (1/1 up)")},
	{name: "Status: Service Discovery", do: clickLink("/classic/service-discovery"), shows: pageShows("/classic/service-discovery", "prometheus (1/1 active targets)")},
	{name: "TSDB status (API; no page in this build)", open: "api/v1/status/tsdb", shows: `document.body.innerText.includes('"headStats"') && document.body.innerText.includes('"seriesCountByMetricName"')`},
	{name: "old graph link /graph?g0.expr=", open: "graph?g0.expr=up&g0.tab=1",
		shows: `location.pathname.endsWith('/classic/graph') && document.querySelector('#expr0').value === 'up' && Array.from(document.querySelectorAll('#console0 .console_table tr')).some(tr => tr.innerText.includes('job="prometheus"'))`},
	{name: "old graph link #[...]", open: `classic/graph#%5B%7B%22expr%22%3A%22job%3Aup%3Asum%22%2C%22tab%22%3A1%7D%5D`,
		shows: `location.pathname.endsWith('/classic/graph') && location.search.includes('g0.expr=job%3Aup%3Asum') && Array.from(document.querySelectorAll('#console0 .console_table tr')).some(tr => tr.innerText.includes('job:up:sum'))`},
}

// clickLink clicks the app's own link whose href ends with path.
func clickLink(path string) string {
	return `document.querySelector('a[href$="` + path + `"]').click()`
}

// pageShows is true on the page at path that shows every text.
func pageShows(path string, texts ...string) string {
	js := `location.pathname.endsWith('` + path + `')`
	for _, s := range texts {
		js += ` && document.body.innerText.includes(` + strconv.Quote(s) + `)`
	}
	return js
}

// TestPrometheusThroughGateway browses Prometheus's UI directly, then
// through the gateway in path and subdomain mode, and compares page by
// page; no request leaves the UI's place and none reaches a member.
func TestPrometheusThroughGateway(t *testing.T) {
	t.Parallel()
	browser.Require(t)
	prom := startPrometheus(t)
	for _, mode := range uiModes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			f := startFrameworkFront(t, mode, "prometheus", prom.url)
			b := browser.New(t, browser.Options{Trust: []*x509.Certificate{f.gw.cert}})
			direct := journey(t, b, prom.url+"/", "prometheus-direct-"+mode, prometheusSteps)
			seen := leaveApp(b, prom.url+"/")
			b.Navigate(f.entry)
			b.WaitFor("the UI at "+f.ui, `location.href.startsWith(`+strconv.Quote(f.ui)+`)`, 30*time.Second)
			through := journey(t, b, f.ui, "prometheus-"+mode, prometheusSteps)
			compare(t, mode, prometheusSteps, direct, through)
			assertStayed(t, f, b, seen)
		})
	}
}

// syncthingIdle is how long the Syncthing GUI stays open and idle: its
// event long poll (rest/events) waits 60 s for news, so three minutes
// are three polls answered in silence.
const syncthingIdle = 3*time.Minute + 10*time.Second

// TestSyncthingThroughGateway browses Syncthing's GUI directly, then
// through the gateway in path and subdomain mode: its dashboard (the
// folder and this device), a settings change saved (the GUI's CSRF header
// and its POST through the gateway, checked in the app itself), then
// several idle minutes over HTTP/2 with no "Connection Error" and every
// event long poll answered, none cut (in Chromium's network log and the
// gateway's).
func TestSyncthingThroughGateway(t *testing.T) {
	t.Parallel()
	browser.Require(t)
	for _, mode := range uiModes {
		t.Run(mode, func(t *testing.T) {
			t.Parallel()
			st := startSyncthing(t)
			f := startFrameworkFront(t, mode, "syncthing", st.url)
			b := browser.New(t, browser.Options{Trust: []*x509.Certificate{f.gw.cert}})
			direct := journey(t, b, st.url+"/", "syncthing-direct-"+mode, syncthingSteps("Direct "+mode, 0))
			if got := st.deviceName(t); got != "Direct "+mode {
				t.Errorf("saved directly, the device is named %q in Syncthing", got)
			}
			seen := leaveApp(b, st.url+"/")
			b.Navigate(f.entry)
			b.WaitFor("the UI at "+f.ui, `location.href.startsWith(`+strconv.Quote(f.ui)+`)`, 30*time.Second)
			steps := syncthingSteps("Gateway "+mode, syncthingIdle)
			through := journey(t, b, f.ui, "syncthing-"+mode, steps)
			if got := st.deviceName(t); got != "Gateway "+mode {
				t.Errorf("saved through the gateway, the device is named %q in Syncthing", got)
			}
			compare(t, mode, steps, direct, through)
			assertEventPolls(t, f, b)
			assertStayed(t, f, b, seen)
		})
	}
}

// syncthingSteps: the dashboard, the device renamed to name in the
// settings, and with idle the idle minutes after.
func syncthingSteps(name string, idle time.Duration) []uiStep {
	steps := []uiStep{
		{name: "dashboard: folder and this device", shows: `(() => {
			const folders = document.getElementById('folders'), device = document.querySelector('[ng-repeat="deviceCfg in [thisDevice()]"] .panel-title-text');
			return folders !== null && folders.innerText.includes('Sandbox') && device !== null && device.innerText.trim() !== '' &&
				document.body.innerText.includes('This Device'); })()`},
		{name: "settings open", do: `document.querySelector('a[ng-click="showSettings()"]').click()`,
			shows: modalShown("settings") + ` && document.getElementById('DeviceName').value !== ''`},
		{name: "settings: device renamed and saved",
			do: `const input = document.getElementById('DeviceName');
				input.value = ` + strconv.Quote(name) + `; input.dispatchEvent(new Event('input', {bubbles: true}));
				document.querySelector('#settings button[ng-click="saveSettings()"]').click()`,
			shows: `(() => { const t = document.querySelector('[ng-repeat="deviceCfg in [thisDevice()]"] .panel-title-text');
				return t !== null && t.innerText.trim() === ` + strconv.Quote(name) + ` && !` + modalShown("settings") + `; })()`},
	}
	if idle > 0 {
		steps = append(steps, uiStep{name: "idle " + idle.String() + " without Connection Error", gatewayOnly: true,
			shows: `document.getElementById('folders') !== null`, idle: idle,
			never: modalShown("networkError")})
	}
	return steps
}

// modalShown is true while Syncthing's (Bootstrap's) modal dialog id is
// displayed. (A modal is position: fixed: its offsetParent is null even
// when it shows.)
func modalShown(id string) string {
	return `(() => { const m = document.getElementById(` + strconv.Quote(id) + `); return m !== null && getComputedStyle(m).display !== 'none'; })()`
}

// assertEventPolls checks Syncthing's event long polls as Chromium saw
// them: some answered after their minute of silence, none failed, all
// over HTTP/2; and the gateway logged no cut of one.
func assertEventPolls(t *testing.T, f *frameworkFront, b *browser.Browser) {
	t.Helper()
	answered := 0
	for _, r := range b.Network().Requests() {
		if !strings.Contains(r.URL, "/rest/events") {
			continue
		}
		switch {
		case r.Failed != "" && r.Failed != "net::ERR_ABORTED":
			t.Errorf("an event poll failed: %s: %s", r.URL, r.Failed)
		case r.Protocol != "" && r.Protocol != "h2":
			t.Errorf("an event poll came over %s: %s", r.Protocol, r.URL)
		case r.Finished && r.Status == 200:
			answered++
		}
	}
	t.Logf("%d event polls answered in %s", answered, syncthingIdle)
	if min := int(syncthingIdle/time.Minute) - 1; answered < min {
		t.Errorf("%d event polls answered in %s, want at least %d", answered, syncthingIdle, min)
	}
	for l := range strings.Lines(f.gw.stderr.String()) {
		if strings.Contains(l, "rest/events") && strings.Contains(l, " cut=") {
			t.Errorf("the gateway cut an event poll: %s", l)
		}
	}
}
