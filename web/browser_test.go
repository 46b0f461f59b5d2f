package web

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/mesosgate/mesosgate/e2e/browser"
)

// The browser tests load web's handlers, served by an httptest server with
// fixture data, in headless Chromium: what an operator sees, at laptop and
// phone sizes, with the real CSP enforced. Screenshots land in
// MESOSGATE_SCREENSHOTS when it is set, for a person to look at.

// fixtureServer serves Pages under /gateway/ with data the test can swap,
// plus a few error pages and a page that breaks the CSP on purpose.
type fixtureServer struct {
	*httptest.Server
	mu    sync.Mutex
	d     Dashboard
	fail  bool // the partial answers 503
	pages *Pages
}

func startFixture(t *testing.T, d Dashboard, refresh time.Duration) *fixtureServer {
	t.Helper()
	f := &fixtureServer{d: d}
	p, err := New(Options{
		Data: func(*http.Request) Dashboard {
			f.mu.Lock()
			defer f.mu.Unlock()
			return f.d
		},
		Refresh: refresh,
		APIPath: "/gateway/api/cluster",
	})
	if err != nil {
		t.Fatal(err)
	}
	f.pages = p
	mux := http.NewServeMux()
	mux.HandleFunc("/gateway/live", func(w http.ResponseWriter, r *http.Request) {
		f.mu.Lock()
		fail := f.fail
		f.mu.Unlock()
		if fail {
			p.WriteProblem(w, r, Stale(11*time.Minute, 10*time.Minute, ""))
			return
		}
		p.ServeHTTP(w, r)
	})
	mux.Handle("/gateway/", p)
	mux.HandleFunc("/agent/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "01JX5Q9ZK3M7D2R8T4V6W0Y1B3")
		agent := Ref{Role: RoleAgent, ID: "5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a-S3", Address: "127.0.1.4:5051"}
		switch r.URL.Path {
		case "/agent/down/":
			p.WriteProblem(w, r, Unreachable(agent, "tls: dial tcp 127.0.1.4:5051: connect: connection refused; plain: dial tcp 127.0.1.4:5051: connect: connection refused"))
		case "/agent/slow/":
			p.WriteProblem(w, r, UpstreamTimeout(agent, 30*time.Second))
		default:
			p.WriteProblem(w, r, UnknownAgent(strings.Trim(strings.TrimPrefix(r.URL.Path, "/agent/"), "/")))
		}
	})
	mux.HandleFunc("/stale", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("X-Request-Id", "01JX5QB1N8C4F6H2J9K7L5M3P0")
		p.WriteProblem(w, r, Stale(12*time.Minute, 10*time.Minute, "no leading master: every master answered 503 to /master/redirect"))
	})
	// canary breaks the CSP twice (inline style and inline script), to
	// prove that the violation recorder sees what it is meant to catch.
	mux.HandleFunc("/canary", func(w http.ResponseWriter, r *http.Request) {
		SetSecurityHeaders(w.Header())
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>canary</title><p style="color:red">x</p><script>document.title = "ran"</script>`)
	})
	f.Server = httptest.NewServer(mux)
	t.Cleanup(f.Close)
	return f
}

func (f *fixtureServer) set(d Dashboard) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.d = d
}

func (f *fixtureServer) setFail(fail bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.fail = fail
}

// size is a screen the dashboard must be readable on.
type size struct {
	name          string
	width, height int
	mobile        bool
}

var (
	laptop = size{"laptop", 1280, 900, false}
	phone  = size{"phone", 390, 844, true}
)

// tab is a Chromium tab that records console errors and CSP violations.
type tab struct {
	*browser.Browser
	t       *testing.T
	mu      sync.Mutex
	console []string
}

// cspRecorder runs before any page script (DevTools injects it, so the CSP
// does not apply to it) and keeps every securitypolicyviolation event.
const cspRecorder = `window.__csp = [];
document.addEventListener("securitypolicyviolation", function (e) {
  window.__csp.push(e.violatedDirective + " blocked " + (e.blockedURI || "inline") + " at line " + e.lineNumber);
});`

// newTab starts Chromium at the size, recording console errors and
// uncaught exceptions, and CSP violations of every document it loads.
func newTab(t *testing.T, s size) *tab {
	t.Helper()
	b := browser.New(t, browser.Options{Width: s.width, Height: s.height})
	tb := &tab{Browser: b, t: t}
	if s.mobile {
		b.Run("emulate a phone", 10*time.Second, chromedp.EmulateViewport(int64(s.width), int64(s.height), chromedp.EmulateScale(2), chromedp.EmulateMobile, chromedp.EmulateTouch))
	}
	if _, err := chromedp.Call(b.Context(), page.AddScriptToEvaluateOnNewDocument, page.AddScriptToEvaluateOnNewDocumentParams{Source: cspRecorder}); err != nil {
		t.Fatalf("install the CSP recorder: %v", err)
	}
	msgs := chromedp.Console(b.Context())
	go func() {
		for m, err := range msgs {
			if err != nil {
				return
			}
			if m.Type == chromedp.ConsoleError || m.IsException() {
				tb.mu.Lock()
				tb.console = append(tb.console, m.String()+" ("+m.URL+")")
				tb.mu.Unlock()
			}
		}
	}()
	return tb
}

// violations returns the CSP violations of the current document.
func (tb *tab) violations() []string {
	return browser.Eval[[]string](tb.Browser, `window.__csp || ["the CSP recorder did not run"]`)
}

// consoleErrors returns the console errors so far.
func (tb *tab) consoleErrors() []string {
	tb.mu.Lock()
	defer tb.mu.Unlock()
	return append([]string(nil), tb.console...)
}

// assertClean fails the test on any console error or CSP violation.
func (tb *tab) assertClean(what string) {
	tb.t.Helper()
	if v := tb.violations(); len(v) > 0 {
		tb.t.Errorf("%s: CSP violations: %q", what, v)
	}
	if c := tb.consoleErrors(); len(c) > 0 {
		tb.t.Errorf("%s: console errors: %q", what, c)
	}
}

// memberView is what the browser shows of one member's row.
type memberView struct {
	Badge      string `json:"badge"`
	Background string `json:"background"`
	Visible    bool   `json:"visible"`
	Browse     string `json:"browse"`
}

// readMembers returns each member's row as displayed, by address.
func readMembers(tb *tab, d Dashboard) map[string]memberView {
	tb.t.Helper()
	ids := map[string]string{}
	for _, m := range d.Members {
		ids[m.Address] = anchor(m.Address)
	}
	js, _ := json.Marshal(ids)
	return browser.Eval[map[string]memberView](tb.Browser, `(function (ids) {
  var out = {};
  Object.keys(ids).forEach(function (addr) {
    var row = document.getElementById(ids[addr]);
    if (!row) { return; }
    var badge = row.querySelector(".badge");
    var link = row.querySelector("a.browse");
    out[addr] = {
      badge: badge ? badge.innerText.trim() : "",
      background: badge ? getComputedStyle(badge).backgroundColor : "",
      visible: !!badge && badge.getBoundingClientRect().width > 0,
      browse: link ? link.getAttribute("href") : ""
    };
  });
  return out;
})(`+string(js)+`)`)
}

// assertDashboard checks what the page shows against the fixture.
func assertDashboard(t *testing.T, tb *tab, d Dashboard) {
	t.Helper()
	if got := browser.Eval[string](tb.Browser, `document.getElementById("phase-title").innerText`); got != d.Phase.Title() {
		t.Errorf("banner %q, want %q", got, d.Phase.Title())
	}
	if got := browser.Eval[string](tb.Browser, `document.querySelector(".station-current .station-label").innerText`); got != trackLabels[d.Phase.Index()] {
		t.Errorf("progress at %q, want %q", got, trackLabels[d.Phase.Index()])
	}
	shown := readMembers(tb, d)
	colours := map[Speaks]string{}
	for _, m := range d.Members {
		v, ok := shown[m.Address]
		switch {
		case !ok:
			t.Errorf("%s: no row", m.Address)
		case v.Badge != string(m.Speaks) || !v.Visible:
			t.Errorf("%s: badge %q (visible %v), want %q", m.Address, v.Badge, v.Visible, m.Speaks)
		case v.Browse != m.BrowseURL:
			t.Errorf("%s: browse link %q, want %q", m.Address, v.Browse, m.BrowseURL)
		case v.Background == "rgba(0, 0, 0, 0)" || v.Background == "":
			t.Errorf("%s: badge has no colour: the stylesheet did not apply", m.Address)
		}
		if c, seen := colours[m.Speaks]; seen && c != v.Background {
			t.Errorf("%s: badges of %s differ in colour", m.Address, m.Speaks)
		}
		colours[m.Speaks] = v.Background
	}
	distinct := map[string]bool{}
	for _, c := range colours {
		distinct[c] = true
	}
	if len(distinct) != len(colours) {
		t.Errorf("badges of different kinds share a colour: %v", colours)
	}
	steps := browser.Eval[[]string](tb.Browser, `Array.from(document.querySelectorAll(".step")).map(function (s) { return s.innerText; })`)
	if len(steps) != len(d.NextSteps) {
		t.Fatalf("%d next steps shown, want %d", len(steps), len(d.NextSteps))
	}
	for i, s := range d.NextSteps {
		for _, want := range append([]string{s.Text}, settingLines(s)...) {
			if !strings.Contains(steps[i], want) {
				t.Errorf("step %d lacks %q:\n%s", i+1, want, steps[i])
			}
		}
		for _, m := range s.Members {
			if !strings.Contains(steps[i], m.Address) {
				t.Errorf("step %d does not name %s", i+1, m.Address)
			}
		}
	}
	problems := browser.Eval[[]string](tb.Browser, `Array.from(document.querySelectorAll(".problems .alert")).map(function (a) { return a.innerText; })`)
	if len(problems) != len(d.Problems) {
		t.Errorf("%d problems shown, want %d", len(problems), len(d.Problems))
	}
	for i := range min(len(problems), len(d.Problems)) {
		if !strings.Contains(problems[i], d.Problems[i].Text) {
			t.Errorf("problem %d shows %q", i, problems[i])
		}
	}
}

// settingLines are a step's settings as the page prints them.
func settingLines(s Step) []string {
	var out []string
	for _, set := range s.Settings {
		out = append(out, set.String())
	}
	return out
}

// assertLayout checks the page fits its screen: nothing wider than the
// viewport, member rows as cards on a phone and as table rows on a laptop.
func assertLayout(t *testing.T, tb *tab, s size) {
	t.Helper()
	over := browser.Eval[[]string](tb.Browser, `(function () {
  var vw = document.documentElement.clientWidth, out = [];
  if (document.documentElement.scrollWidth > vw) { out.push("page is " + document.documentElement.scrollWidth + "px wide in a " + vw + "px viewport"); }
  document.querySelectorAll("main *").forEach(function (e) {
    var r = e.getBoundingClientRect();
    if (r.width > 0 && r.right > vw + 1 && !e.closest(".table-wrap, pre")) { out.push(e.tagName + "." + e.className + " ends at " + Math.round(r.right)); }
  });
  return out.slice(0, 5);
})()`)
	if len(over) > 0 {
		t.Errorf("%s: content overflows the screen: %q", s.name, over)
	}
	if !s.mobile {
		scrolling := browser.Eval[[]int](tb.Browser, `Array.from(document.querySelectorAll(".table-wrap")).filter(function (w) { return w.scrollWidth > w.clientWidth; }).map(function (w) { return w.scrollWidth - w.clientWidth; })`)
		if len(scrolling) > 0 {
			t.Errorf("%s: tables need horizontal scrolling (%v px too wide)", s.name, scrolling)
		}
	}
	display := browser.Eval[string](tb.Browser, `getComputedStyle(document.querySelector("tr.member")).display`)
	want := "table-row"
	if s.mobile {
		want = "block"
	}
	if display != want {
		t.Errorf("%s: member rows display as %q, want %q", s.name, display, want)
	}
	if s.mobile {
		// Text must stay readable: no body text under 11 CSS pixels.
		small := browser.Eval[[]string](tb.Browser, `Array.from(document.querySelectorAll("main p, main td, main th, main li, main dd")).filter(function (e) { return parseFloat(getComputedStyle(e).fontSize) < 11; }).map(function (e) { return e.tagName + "." + e.className; }).slice(0, 5)`)
		if len(small) > 0 {
			t.Errorf("phone: text too small in %q", small)
		}
	}
}

// TestBrowserDashboardPhases loads the dashboard in each phase at laptop
// and phone sizes, asserts what it shows and how it fits, checks no
// console error or CSP violation occurred, and saves a screenshot. One
// Chromium per size; the phases run in it one after the other (the tab
// belongs to the size's test, so the phases are not subtests of their own).
func TestBrowserDashboardPhases(t *testing.T) {
	for _, s := range []size{laptop, phone} {
		t.Run(s.name, func(t *testing.T) {
			f := startFixture(t, fixture(PhaseNotStarted), time.Hour)
			tb := newTab(t, s)
			for _, ph := range phases {
				d := fixture(ph)
				f.set(d)
				tb.Navigate(f.URL + "/gateway/")
				tb.WaitFor("the script to take over", `document.getElementById("live-status").dataset.state === "live"`, 10*time.Second)
				assertDashboard(t, tb, d)
				assertLayout(t, tb, s)
				tb.assertClean(string(ph))
				tb.Screenshot(fmt.Sprintf("dashboard-%s-%s", ph, s.name))
			}

			d := fixture(PhaseOne)
			d.Links = LinksDirect
			d.Staleness.Age, d.Staleness.PastSoftLimit = 3*time.Minute, true
			d.Staleness.Error = "GET http://127.0.0.1:5050/master/state: connection refused"
			f.set(d)
			tb.Navigate(f.URL + "/gateway/")
			banners := browser.Eval[[]string](tb.Browser, `Array.from(document.querySelectorAll(".banner")).map(function (b) { return b.innerText; })`)
			if len(banners) != 2 || !strings.Contains(banners[0], "Cluster map is stale") || !strings.Contains(banners[1], "An HTTPS page cannot load these 3 plain-only members") {
				t.Errorf("stale-direct: banners %q", banners)
			}
			assertLayout(t, tb, s)
			tb.assertClean("stale-direct")
			tb.Screenshot("dashboard-stale-direct-" + s.name)

			// Steps as one sentence each, naming members and settings
			// inline (what upstream's next steps are): the settings and
			// the command read as code, and nothing overflows a phone.
			d = fixture(PhaseOne)
			d.NextSteps = []Step{
				{Text: "phase 1: restart standby 10.0.0.2:5050, agent 5d4c3b2a-1f0e-4d9c-8b7a-6f5e4d3c2b1a-S3 (10.0.1.4:5051) and 2 more with LIBPROCESS_SSL_ENABLED=true LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true LIBPROCESS_SSL_CERT_FILE=... LIBPROCESS_SSL_KEY_FILE=...; `mesosgate certs` makes one certificate covering every member"},
				{Text: "then phase 2: restart every member with LIBPROCESS_SSL_SUPPORT_DOWNGRADE=false (keeping LIBPROCESS_SSL_ENABLED=true and the certificate)"},
			}
			f.set(d)
			tb.Navigate(f.URL + "/gateway/")
			codes := browser.Eval[[]string](tb.Browser, `Array.from(document.querySelectorAll(".step-text code")).map(function (c) { return c.textContent; })`)
			want := []string{"LIBPROCESS_SSL_ENABLED=true", "LIBPROCESS_SSL_SUPPORT_DOWNGRADE=true", "LIBPROCESS_SSL_CERT_FILE=...", "LIBPROCESS_SSL_KEY_FILE=...", "mesosgate certs", "LIBPROCESS_SSL_SUPPORT_DOWNGRADE=false", "LIBPROCESS_SSL_ENABLED=true"}
			if strings.Join(codes, " ") != strings.Join(want, " ") {
				t.Errorf("text steps: code %q, want %q", codes, want)
			}
			assertLayout(t, tb, s)
			tb.assertClean("text-steps")
			tb.Screenshot("dashboard-text-steps-" + s.name)
		})
	}
}

// TestBrowserDarkMode loads the dashboard with the reader's system in dark
// mode: the page follows it, and the badges stay distinct.
func TestBrowserDarkMode(t *testing.T) {
	f := startFixture(t, fixture(PhaseOne), time.Hour)
	tb := newTab(t, laptop)
	if _, err := chromedp.Call(tb.Context(), emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{
		Features: []*emulation.MediaFeature{{Name: "prefers-color-scheme", Value: "dark"}},
	}); err != nil {
		t.Fatal(err)
	}
	tb.Navigate(f.URL + "/gateway/")
	if bg := browser.Eval[string](tb.Browser, `getComputedStyle(document.body).backgroundColor`); bg != "rgb(17, 20, 23)" {
		t.Errorf("body background %q, want the dark one", bg)
	}
	assertDashboard(t, tb, fixture(PhaseOne))
	tb.assertClean("dark")
	tb.Screenshot("dashboard-phase-1-laptop-dark")
}

// TestBrowserSelfRefresh checks that an open dashboard follows the cluster
// without navigating: a phase change appears in place, scroll position,
// keyboard focus and open details survive, the change is announced, a
// selection holds the update back, a failing gateway is shown and
// recovered from.
func TestBrowserSelfRefresh(t *testing.T) {
	f := startFixture(t, fixture(PhaseOne), 300*time.Millisecond)
	tb := newTab(t, phone)
	tb.Navigate(f.URL + "/gateway/")
	tb.WaitFor("a first poll", `document.getElementById("live-status").innerText.indexOf("updated") >= 0`, 10*time.Second)

	// Leave marks a reload would erase, scroll down, open a member's
	// certificate details.
	first := fixture(PhaseOne).Members[0]
	key := "cert-" + anchor(first.Address)
	tb.Run("prepare the page", 10*time.Second, chromedp.Evaluate[chromedp.Void](fmt.Sprintf(`window.__marker = 42;
document.querySelector('details[data-key=%q]').open = true;
document.querySelector('#%s a.browse').focus({ preventScroll: true });
window.scrollTo(0, 900);`, key, anchor(first.Address))))
	scrollY := browser.Eval[float64](tb.Browser, `window.scrollY`)
	if scrollY < 800 {
		t.Fatalf("could not scroll the page: scrollY %v", scrollY)
	}

	next := fixture(PhaseTwo)
	f.set(next)
	tb.WaitFor("phase 2 to appear", fmt.Sprintf(`document.getElementById("phase-title").innerText === %q`, PhaseTwo.Title()), 10*time.Second)
	if got := browser.Eval[float64](tb.Browser, `window.__marker || 0`); got != 42 {
		t.Error("the page was reloaded instead of updated in place")
	}
	if got := browser.Eval[float64](tb.Browser, `window.scrollY`); got != scrollY {
		t.Errorf("scroll position moved from %v to %v", scrollY, got)
	}
	if !browser.Eval[bool](tb.Browser, fmt.Sprintf(`document.querySelector('details[data-key=%q]').open`, key)) {
		t.Error("open certificate details were closed by the refresh")
	}
	if got := browser.Eval[string](tb.Browser, `document.activeElement.className + " in " + (document.activeElement.closest("tr") || {}).id`); got != "browse in "+anchor(first.Address) {
		t.Errorf("keyboard focus moved to %q", got)
	}
	if got := browser.Eval[string](tb.Browser, `document.getElementById("announcer").textContent`); got != "Migration phase changed: "+PhaseTwo.Title() {
		t.Errorf("announcement %q", got)
	}
	assertDashboard(t, tb, next)
	var documents int
	for _, r := range tb.Network().Requests() {
		if r.Type == "Document" {
			documents++
		}
	}
	if documents != 1 {
		t.Errorf("%d documents loaded, want 1 (no navigation)", documents)
	}
	tb.assertClean("refresh")
	tb.Screenshot("dashboard-refreshed-phone")

	// While the reader selects text in the live part, nothing is swapped
	// under their selection; once they let go, the update arrives.
	tb.Run("select text", 10*time.Second, chromedp.Evaluate[chromedp.Void](`window.getSelection().selectAllChildren(document.querySelector(".phase-explain"))`))
	f.set(fixture(PhaseComplete))
	tb.WaitFor("the refresh to pause", `document.getElementById("live-status").innerText.indexOf("paused while you select text") >= 0`, 10*time.Second)
	if got := browser.Eval[string](tb.Browser, `document.getElementById("phase-title").innerText`); got != PhaseTwo.Title() {
		t.Errorf("content swapped under a selection: %q", got)
	}
	tb.Run("clear the selection", 10*time.Second, chromedp.Evaluate[chromedp.Void](`window.getSelection().removeAllRanges()`))
	tb.WaitFor("the complete phase", fmt.Sprintf(`document.getElementById("phase-title").innerText === %q`, PhaseComplete.Title()), 10*time.Second)

	// A gateway that stops answering shows as such, then recovers.
	f.setFail(true)
	tb.WaitFor("the error state", `document.getElementById("live-status").dataset.state === "error"`, 10*time.Second)
	if got := browser.Eval[string](tb.Browser, `document.getElementById("live-status").innerText`); !strings.Contains(got, "the gateway answered 503") {
		t.Errorf("error status %q", got)
	}
	f.set(fixture(PhaseOne))
	f.setFail(false)
	tb.WaitFor("recovery", fmt.Sprintf(`document.getElementById("live-status").dataset.state === "live" && document.getElementById("phase-title").innerText === %q`, PhaseOne.Title()), 20*time.Second)
	if v := tb.violations(); len(v) > 0 {
		t.Errorf("CSP violations: %q", v)
	}
}

// TestBrowserWithoutScript checks the page is complete without JavaScript.
func TestBrowserWithoutScript(t *testing.T) {
	f := startFixture(t, fixture(PhaseOne), 0)
	tb := newTab(t, laptop)
	if _, err := chromedp.Call(tb.Context(), emulation.SetScriptExecutionDisabled, emulation.SetScriptExecutionDisabledParams{Value: true}); err != nil {
		t.Fatal(err)
	}
	tb.Navigate(f.URL + "/gateway/")
	// With scripts off Evaluate still works (it is DevTools), the page's
	// own script does not run.
	if got := browser.Eval[string](tb.Browser, `document.getElementById("live-status").innerText`); !strings.Contains(got, "Reload the page for newer data") {
		t.Errorf("static status %q", got)
	}
	assertDashboard(t, tb, fixture(PhaseOne))
}

// TestBrowserProblemPages loads error pages as a browser and checks they
// say what happened and what to do, styled, within the CSP.
func TestBrowserProblemPages(t *testing.T) {
	tests := []struct {
		path  string
		title string
		shot  string
		s     size
	}{
		{"/agent/5d4c3b2a-0000-S99/", "Unknown agent", "problem-unknown-agent-laptop", laptop},
		{"/agent/down/", "Member unreachable", "problem-unreachable-laptop", laptop},
		{"/stale", "Cluster map out of date", "problem-stale-phone", phone},
		{"/agent/slow/", "Member did not answer in time", "problem-timeout-phone", phone},
	}
	f := startFixture(t, fixture(PhaseOne), time.Hour)
	tabs := map[string]*tab{laptop.name: newTab(t, laptop), phone.name: newTab(t, phone)}
	for _, tt := range tests {
		tb := tabs[tt.s.name]
		tb.Navigate(f.URL + tt.path)
		if got := browser.Eval[string](tb.Browser, `document.querySelector("h1").innerText`); got != tt.title {
			t.Errorf("%s: h1 %q, want %q", tt.path, got, tt.title)
		}
		body := browser.Eval[string](tb.Browser, `document.body.innerText`)
		for _, want := range []string{"What you can do", "Request id", "Open the dashboard"} {
			if !strings.Contains(body, want) {
				t.Errorf("%s: page lacks %q", tt.path, want)
			}
		}
		if got := browser.Eval[string](tb.Browser, `getComputedStyle(document.querySelector(".card")).borderTopStyle`); got != "solid" {
			t.Errorf("%s: the stylesheet did not apply (card border %q)", tt.path, got)
		}
		if v := tb.violations(); len(v) > 0 {
			t.Errorf("%s: CSP violations: %q", tt.path, v)
		}
		tb.Screenshot(tt.shot)
	}
	// Each page's status is an error, which Chromium logs as "the server
	// responded with a status of ..."; nothing else may be logged.
	for _, tb := range tabs {
		for _, c := range tb.consoleErrors() {
			if !strings.Contains(c, "the server responded with a status of") {
				t.Errorf("console error: %s", c)
			}
		}
	}
}

// TestBrowserCSPCanary proves the CSP checks above can fail: a page that
// inlines a style and a script under the same policy is caught.
func TestBrowserCSPCanary(t *testing.T) {
	f := startFixture(t, Dashboard{}, time.Hour)
	tb := newTab(t, laptop)
	tb.Navigate(f.URL + "/canary")
	if got := browser.Eval[string](tb.Browser, `document.title`); got != "canary" {
		t.Errorf("the inline script ran (title %q): the CSP is not enforced", got)
	}
	v := tb.violations()
	joined := strings.Join(v, "\n")
	if !strings.Contains(joined, "script-src") || !strings.Contains(joined, "style-src") {
		t.Errorf("violations %q, want script-src and style-src ones", v)
	}
}
