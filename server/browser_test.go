package server

import (
	"crypto/x509"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/browser"
	"github.com/mesosgate/mesosgate/e2e/sim"
)

// TestBrowserJourney walks the simulated WebUI through the gateway in
// Chromium, trusting exactly the gateway's certificate.
func TestBrowserJourney(t *testing.T) {
	browser.Require(t)
	ts := newTester(t, testerOptions{sim: sim.Options{Masters: 2, Modes: sim.AllModes(), Name: "journey"}})
	b := browser.New(t, browser.Options{Trust: []*x509.Certificate{frontLeaf.Cert}})
	webUIJourney(t, b, ts.url, ts.sim, sim.AllModes())
}

// webUIJourney is the journey of a user through the simulated WebUI served
// by a gateway at url: home, agents, every agent whose mode is in modes
// with its executors, a sandbox listing, a download, the log viewer, and a
// framework's UI (links, redirect, cookie, event stream, WebSocket).
func webUIJourney(t *testing.T, b *browser.Browser, url string, c *sim.Cluster, modes []sim.Mode) {
	t.Helper()
	b.Navigate(url + "/")
	b.WaitFor("the home page", `document.querySelector('h1') && document.querySelector('h1').textContent.indexOf('Master') === 0 && document.querySelectorAll('a.webui').length === 3`, 60*time.Second)
	b.Screenshot("journey-home")
	if href := browser.Eval[string](b, `document.querySelector('a.webui').getAttribute('href')`); !strings.HasPrefix(href, "/service/") {
		t.Errorf("the framework link is %q, not a gateway path", href)
	}

	browser.Eval[bool](b, `location.hash = '#/agents'; true`)
	b.WaitFor("the agents table", `document.querySelectorAll('a.agent').length === `+strconv.Itoa(len(c.Agents())), 30*time.Second)
	b.Screenshot("journey-agents")

	for _, a := range c.Agents() {
		if !hasMode(modes, a.Mode()) {
			continue
		}
		t.Run("agent "+a.Mode().String(), func(t *testing.T) {
			browser.Eval[bool](b, `location.hash = '#/agents/`+a.ID()+`'; true`)
			b.WaitFor("the agent's executors", `document.querySelectorAll('a.sandbox').length > 0 && document.querySelector('h1 small') && document.querySelector('h1 small').textContent === '`+a.ID()+`'`, 30*time.Second)
			b.Screenshot("journey-agent-" + a.Mode().String())
		})
	}

	agent := c.Agents()[0]
	for _, a := range c.Agents() {
		if hasMode(modes, a.Mode()) {
			agent = a
		}
	}
	browser.Eval[bool](b, `location.hash = '#/agents/`+agent.ID()+`'; true`)
	b.WaitFor("the agent's executors", `document.querySelectorAll('a.sandbox').length > 0 && document.querySelector('h1 small').textContent === '`+agent.ID()+`'`, 30*time.Second)
	browser.Eval[bool](b, `document.querySelector('a.sandbox').click(); true`)
	b.WaitFor("the sandbox listing", `Array.from(document.querySelectorAll('a.file')).some(a => a.textContent === 'stdout')`, 30*time.Second)
	b.Screenshot("journey-sandbox-" + agent.Mode().String())
	href := browser.Eval[string](b, `document.querySelector('a.download').getAttribute('href')`)
	if !strings.HasPrefix(href, "/agent/"+agent.ID()+"/files/download?path=") {
		t.Errorf("download link %q, want /agent/%s/files/download?path=...", href, agent.ID())
	}
	got := browser.Eval[string](b, `(async () => {
		const a = Array.from(document.querySelectorAll('a.download')).find(a => a.getAttribute('href').indexOf('stdout') > 0);
		const r = await fetch(a.href);
		return r.status + ' ' + r.headers.get('content-disposition') + ' ' + (await r.text()).indexOf('Starting task');
	})()`)
	if !strings.HasPrefix(got, "200 attachment; filename=stdout ") || strings.HasSuffix(got, " -1") {
		t.Errorf("download through the gateway: %s", got)
	}

	popup := b.Popup()
	browser.Eval[bool](b, `Array.from(document.querySelectorAll('a.file')).find(a => a.textContent === 'stdout').click(); true`)
	pailer := popup()
	if err := browser.WaitIn(pailer, `document.getElementById('data') && document.getElementById('data').textContent.indexOf('Starting task') >= 0`, 30*time.Second); err != nil {
		t.Fatalf("the log viewer shows no log line: %v", err)
	}
	browser.Screenshot(t, pailer, "journey-pailer")

	frameworkJourney(t, b, url, c)

	// Nothing went to a member's own address, as the browser saw it and
	// as the members saw it.
	var hostports []string
	for _, m := range c.Masters() {
		hostports = append(hostports, m.HostPort(), m.Addr())
	}
	for _, a := range c.Agents() {
		hostports = append(hostports, a.HostPort(), a.Addr())
	}
	for _, f := range c.Frameworks() {
		if ui := f.UI(); ui != nil {
			hostports = append(hostports, ui.HostPort(), ui.Addr())
		}
	}
	if direct := b.Network().To(hostports...); len(direct) > 0 {
		t.Errorf("the browser sent %d requests to members directly, first %+v", len(direct), direct[0])
	}
	if direct := c.DirectRequests(); len(direct) > 0 {
		t.Errorf("members saw %d requests straight from the browser, first %+v", len(direct), direct[0])
	}
	if f := b.Network().Failures(); len(f) > 0 {
		t.Errorf("failed requests:\n%s", strings.Join(f, "\n"))
	}
}

// frameworkJourney opens a framework's UI from the WebUI's link and uses
// it: links, a redirect, its cookie, its event stream and WebSocket.
func frameworkJourney(t *testing.T, b *browser.Browser, url string, c *sim.Cluster) {
	t.Helper()
	b.Navigate(url + "/")
	b.WaitFor("the framework links", `document.querySelectorAll('a.webui').length === 3`, 60*time.Second)
	fw := browser.Eval[string](b, `document.querySelector('a.webui').href`)
	b.Navigate(fw)
	b.WaitFor("the framework's overview with its event stream and WebSocket",
		`document.getElementById('events') && /^tick \d+$/.test(document.getElementById('events').textContent) && document.getElementById('ws').textContent === 'echo: hello'`, 30*time.Second)
	b.Screenshot("journey-framework")
	links := browser.Eval[map[string]string](b, `Object.fromEntries(Array.from(document.querySelectorAll('nav a')).map(a => [a.id, new URL(a.href).pathname]))`)
	for id, path := range links {
		if !strings.HasPrefix(path, "/service/") {
			t.Errorf("framework link #%s leads to %s, outside the gateway's /service/", id, path)
		}
	}
	info := browser.Eval[map[string]string](b, `fetch(document.getElementById('api').href).then(r => r.json())`)
	if info["cookie"] == "" || info["x_forwarded_proto"] != "https" {
		t.Errorf("the framework saw %v: want its session cookie back and X-Forwarded-Proto https", info)
	}
	browser.Eval[bool](b, `document.getElementById('redirect').click(); true`)
	waitAcrossNavigation(t, b, "the jobs page after a redirect", `location.pathname.endsWith('/jobs') && document.querySelector('h2') && document.querySelector('h2').textContent === 'Jobs'`)
	browser.Eval[bool](b, `document.getElementById('home').click(); true`)
	waitAcrossNavigation(t, b, "the overview from a root-relative link", `/\/service\/[^/]+\/$/.test(location.pathname) && document.querySelector('h2') && document.querySelector('h2').textContent === 'Overview'`)
	browser.Eval[bool](b, `document.getElementById('absolute').click(); true`)
	waitAcrossNavigation(t, b, "the jobs page from an absolute link", `location.pathname.startsWith('/service/') && location.pathname.endsWith('/jobs') && document.querySelector('h2') && document.querySelector('h2').textContent === 'Jobs'`)
}

// waitAcrossNavigation waits for predicate while the tab navigates: a poll
// whose page went away is tried again on the next one.
func waitAcrossNavigation(t *testing.T, b *browser.Browser, what, predicate string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		err := browser.WaitIn(b.Context(), predicate, time.Until(deadline))
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			b.WaitFor(what, predicate, time.Second) // fails with the page's text
			return
		}
	}
}

func hasMode(modes []sim.Mode, m sim.Mode) bool {
	for _, x := range modes {
		if x == m {
			return true
		}
	}
	return false
}
