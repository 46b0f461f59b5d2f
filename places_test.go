package main

import (
	"context"
	"crypto/x509"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	cdpbrowser "github.com/chromedp/cdproto/browser"
	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/target"
	"github.com/chromedp/chromedp"

	"github.com/mesosgate/mesosgate/e2e/browser"
	"github.com/mesosgate/mesosgate/e2e/sim"
)

// This file walks the WebUI at every place the gateway serves it, moving
// only by the app's own links as a person would: the gateway's root (the
// leader), /mesos/ (the leader again, under a prefix) and a standby's
// /gateway/masters/{host:port}/ (another master, under another prefix).
// Under a prefix the WebUI's router must still read its routes back as
// written (see rewrite/runtime.js), and every request must still reach
// the gateway.

// place is where the gateway serves a WebUI.
type place struct {
	name string // "root", "mesos", "standby"
	path string // "/", "/mesos/", "/gateway/masters/127.0.0.1:port/"
}

// webUIPlaces lists the places of the demo's cluster.
func webUIPlaces(c *sim.Cluster) []place {
	places := []place{{"root", "/"}, {"mesos", "/mesos/"}}
	for _, m := range c.Masters() {
		if !m.Leading() {
			return append(places, place{"standby", "/gateway/masters/" + m.Addr() + "/"})
		}
	}
	return places
}

// user is a person at a tab of the browser, on behalf of one (sub)test:
// it clicks what the page shows and waits for what should appear, failing
// that test when it does not.
type user struct {
	t   *testing.T
	b   *browser.Browser
	ctx context.Context // the tab
}

// as returns the user at the first tab for t.
func as(t *testing.T, b *browser.Browser) user { return user{t, b, b.Context()} }

// open loads url and waits for its load event.
func (u user) open(url string) {
	u.t.Helper()
	u.run("open "+url, chromedp.Navigate(url))
}

// run runs actions with a deadline.
func (u user) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 60*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		u.t.Fatalf("%s: %v", what, err)
	}
}

// wait waits up to 30 seconds for predicate, across navigations.
func (u user) wait(what, predicate string) {
	u.t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = browser.WaitIn(u.ctx, predicate, time.Until(deadline)); err == nil {
			return
		}
	}
	u.t.Fatalf("waiting for %s (%s): %v\n%s", what, predicate, err, browser.Describe(u.ctx))
}

// click waits for the element find (a JavaScript expression) to show,
// and clicks it with the mouse, as a person would.
func (u user) click(what, find string) {
	u.t.Helper()
	u.wait(what, `(() => { const el = `+find+`; return !!el && el.getClientRects().length > 0; })()`)
	at := evalIn[[]float64](u, `(() => {
		const el = `+find+`;
		el.scrollIntoView({block: 'center'});
		const r = el.getClientRects()[0];
		return [r.left + r.width / 2, r.top + r.height / 2];
	})()`)
	u.run("click "+what, chromedp.MouseClickXY(at[0], at[1]))
}

// popup runs action, which opens a window (window.open, a link to a new
// tab, with or without an opener), and returns the user at it.
func (u user) popup(what string, action func()) user {
	u.t.Helper()
	before := map[target.ID]bool{}
	for _, info := range u.targets() {
		before[info.TargetID] = true
	}
	action()
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		for _, info := range u.targets() {
			if info.Type != "page" || before[info.TargetID] {
				continue
			}
			ctx, cancel := chromedp.NewContext(u.ctx, chromedp.WithTargetID(info.TargetID))
			u.t.Cleanup(cancel)
			if err := u.b.Record(ctx); err != nil {
				u.t.Fatalf("%s: attach to the new window: %v", what, err)
			}
			return user{u.t, u.b, ctx}
		}
	}
	u.t.Fatalf("%s: no window opened within 30 s", what)
	return user{}
}

// targets lists the browser's targets.
func (u user) targets() []*target.Info {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 30*time.Second)
	defer cancel()
	infos, err := chromedp.Targets(ctx)
	if err != nil {
		u.t.Fatalf("list the browser's tabs: %v", err)
	}
	return infos
}

// evalIn evaluates expr in the user's tab.
func evalIn[T any](u user, expr string) T {
	u.t.Helper()
	ctx, cancel := context.WithTimeout(u.ctx, 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		u.t.Fatalf("evaluate %q: %v", expr, err)
	}
	return v
}

// download clicks a download link and returns the file's contents once the
// browser has saved it into dir (empty before).
func (u user) download(what, find, dir, name string) string {
	u.t.Helper()
	u.run("allow downloads", chromedp.Func(func(ctx context.Context, _ *chromedp.Target) error {
		_, err := cdp.Call(ctx, chromedp.FromContext(ctx).Browser, cdpbrowser.SetDownloadBehavior,
			cdpbrowser.SetDownloadBehaviorParams{Behavior: cdpbrowser.SetDownloadBehaviorBehaviorAllow, DownloadPath: dir})
		return err
	}))
	u.click(what, find)
	path := filepath.Join(dir, name)
	for deadline := time.Now().Add(30 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
		if _, err := os.Stat(path + ".crdownload"); err == nil {
			continue
		}
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b)
		}
	}
	entries, _ := os.ReadDir(dir)
	u.t.Fatalf("%s: no %s downloaded into %s within 30 s (it holds %v)", what, name, dir, entries)
	return ""
}

// JavaScript finders of the elements a journey clicks: visible anchors
// whose href attribute (as the page wrote it) matches a pattern, or whose
// text is a string.
func linkTo(pattern string) string {
	return `Array.from(document.querySelectorAll('a[href]')).find(a => /` + pattern + `/.test(a.getAttribute('href')) && a.getClientRects().length > 0)`
}

func linkText(text string) string {
	return `Array.from(document.querySelectorAll('a')).find(a => a.textContent.trim() === ` + strconv.Quote(text) + ` && a.getClientRects().length > 0)`
}

// TestDemoWebUIPlaces walks the simulator's own WebUI through the demo at
// each place, by its links: home, agents, an agent, its sandbox, a
// download, the log viewer, frameworks, a framework and its web UI. The
// simulator's router reads its routes back through an anchor as
// AngularJS 1.2's does, so a runtime that maps what the page reads back
// fails here. Nothing may reach a member directly, no request may fail,
// and no page may report an error.
func TestDemoWebUIPlaces(t *testing.T) {
	browser.Require(t)
	d := startDemo(t, demoHooks{})
	b := browser.New(t, browser.Options{Trust: []*x509.Certificate{d.cert}, Height: 1000})
	agents := d.cluster.Agents()
	for i, p := range webUIPlaces(d.cluster) {
		// A different agent at each place: the one demanding a client
		// certificate at the root, then the others.
		a := agents[(len(agents)-1-i+len(agents))%len(agents)]
		t.Run(p.name, func(t *testing.T) { simPlaceJourney(t, b, d, p, a) })
	}
	assertNoDirect(t, b, d.cluster)
	if errs := b.Console().Errors(); len(errs) > 0 {
		t.Errorf("the pages reported errors:\n%s", strings.Join(errs, "\n"))
	}
}

// simPlaceJourney is one place's walk through the simulator's WebUI.
func simPlaceJourney(t *testing.T, b *browser.Browser, d *demo, p place, a *sim.Agent) {
	u := as(t, b)
	home := d.url + p.path
	shots := "places-" + p.name
	u.open(home)
	u.wait("the home page", `document.querySelector('h1') && document.querySelector('h1').textContent.indexOf('Master') === 0 && document.querySelectorAll('a.webui').length === 3`)
	b.Screenshot(shots + "-home")

	u.click("the Agents tab", `document.querySelector('header nav a[data-tab="agent"]')`)
	u.wait("the agents table", `location.hash === '#/agents' && document.querySelectorAll('a.agent').length === `+strconv.Itoa(len(d.cluster.Agents())))
	u.click("the agent "+a.ID(), `document.querySelector('a.agent[title="`+a.ID()+`"]')`)
	u.wait("the agent's executors", `document.querySelectorAll('a.sandbox').length > 0 && document.querySelector('h1 small').textContent === '`+a.ID()+`'`)
	b.Screenshot(shots + "-agent-" + a.Mode().String())

	u.click("a sandbox", `document.querySelector('a.sandbox')`)
	u.wait("the sandbox listing", `Array.from(document.querySelectorAll('a.file')).some(a => a.textContent === 'stdout')`)
	b.Screenshot(shots + "-sandbox")
	if got := u.download("stdout's download link", `Array.from(document.querySelectorAll('a.download')).find(a => a.getAttribute('href').indexOf('stdout') > 0)`, t.TempDir(), "stdout"); !strings.Contains(got, "Starting task") {
		t.Errorf("the downloaded stdout holds %q", got)
	}
	pailer := u.popup("the log viewer", func() {
		u.click("stdout", `Array.from(document.querySelectorAll('a.file')).find(a => a.textContent === 'stdout')`)
	})
	pailer.wait("a log line", `document.getElementById('data') && document.getElementById('data').textContent.indexOf('Starting task') >= 0`)
	browser.Screenshot(t, pailer.ctx, shots+"-pailer")

	u.click("the Frameworks tab", `document.querySelector('header nav a[data-tab="framework"]')`)
	u.wait("the frameworks table", `location.hash === '#/frameworks' && document.querySelectorAll('a.webui').length === 3`)
	marathon := d.cluster.Frameworks()[0]
	u.click("marathon", `document.querySelector('a[title="`+marathon.ID()+`"]')`)
	u.wait("marathon's page", `document.querySelector('h1') && document.querySelector('h1').textContent.indexOf('marathon') === 0`)
	ui := u.popup("marathon's web UI", func() { u.click("its web UI link", `document.querySelector('a.webui')`) })
	ui.wait("marathon's UI through the gateway", `location.pathname === '/service/marathon/' && document.querySelector('h2') && document.querySelector('h2').textContent === 'Overview'`)
	browser.Screenshot(t, ui.ctx, shots+"-framework-ui")

	if got := evalIn[string](u, `location.pathname`); got != p.path {
		t.Errorf("the WebUI left its place: it is at %s", got)
	}
	if errs := evalIn[[]string](u, `window.simRouteErrors`); len(errs) > 0 {
		t.Errorf("routes that matched nothing: %q", errs)
	}
}
