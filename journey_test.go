package main

import (
	"crypto/x509"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/config"
	"github.com/mesosgate/mesosgate/e2e/browser"
	"github.com/mesosgate/mesosgate/e2e/sim"
)

// TestDemoBrowserJourney walks the simulated WebUI in Chromium through the
// demo's gateway over HTTPS, trusting the CA file the demo prints as its
// README says: every page, every agent mode, the framework UI on its own
// origin (<name>.localhost), nothing sent to a member directly. Then the plain agent is restarted SSL-only between two loads
// of its page, and back: the browser notices nothing.
func TestDemoBrowserJourney(t *testing.T) {
	browser.Require(t)
	d := startDemo(t, demoHooks{})
	b := browser.New(t, browser.Options{Authorities: []string{d.caFile}})
	webUIJourney(t, b, d.url, d.cluster, journey{modes: demoAgentModes, ownOrigins: true, shots: "demo"})

	agent := d.cluster.Agents()[0]
	b.Network().Reset()
	for _, mode := range []sim.Mode{sim.SSL, sim.Plain} {
		if err := agent.Restart(mode); err != nil {
			t.Fatal(err)
		}
		// A new query: a real page load, not a same-document hash change.
		b.Navigate(d.url + "/?after=" + mode.String() + "#/agents/" + agent.ID())
		b.WaitFor("the agent's executors after its restart in "+mode.String(), `document.querySelectorAll('a.sandbox').length > 0 && document.querySelector('h1 small') && document.querySelector('h1 small').textContent === '`+agent.ID()+`'`, 30*time.Second)
	}
	assertNoDirect(t, b, d.cluster)

	// The dashboard, as the operator sees the same cluster: the agent is
	// plain-only again, found by the re-probe after the failed request.
	b.Navigate(d.url + "/gateway/")
	b.WaitFor("the dashboard", `document.body.innerText.indexOf('`+agent.ID()+`') >= 0 && document.body.innerText.indexOf('plain-only') >= 0`, 30*time.Second)
	b.Screenshot("demo-dashboard")
}

// TestDemoBrowserJourneyDirectLinks walks the same journey with --links
// direct, and framework UIs under /service/ (--service-domain=, path
// mode), trusting exactly the gateway's and the members' certificates: the
// WebUI comes through the gateway, and its links to members point at the
// members themselves with the scheme each speaks. That works
// for the members a browser can reach from an HTTPS page with
// certificates it trusts: those that speak TLS without demanding a client
// certificate. (A plain-only member would be mixed content; an
// ssl-clientcert one wants a certificate the browser does not have.)
func TestDemoBrowserJourneyDirectLinks(t *testing.T) {
	browser.Require(t)
	d := startDemo(t, demoHooks{links: config.LinksDirect}, "--service-domain=")
	b := browser.New(t, browser.Options{Trust: []*x509.Certificate{d.cert, d.member}})
	webUIJourney(t, b, d.url, d.cluster, journey{modes: []sim.Mode{sim.Downgrade, sim.SSL}, direct: true, shots: "demo-direct"})
}

// journey says what a journey covers: the agents in modes, links through
// the gateway or direct, framework UIs on origins of their own or under
// /service/, and the screenshots' name prefix.
type journey struct {
	modes      []sim.Mode
	direct     bool
	ownOrigins bool
	shots      string
}

// webUIJourney is the journey of a user through the simulated WebUI served
// by a gateway at url: home, agents, every agent whose mode is in j.modes
// with its executors, a sandbox listing, a download, the log viewer, and a
// framework's UI (links, redirect, cookie, event stream, WebSocket).
func webUIJourney(t *testing.T, b *browser.Browser, url string, c *sim.Cluster, j journey) {
	t.Helper()
	modes := j.modes
	b.Navigate(url + "/")
	b.WaitFor("the home page", `document.querySelector('h1') && document.querySelector('h1').textContent.indexOf('Master') === 0 && document.querySelectorAll('a.webui').length === 3`, 60*time.Second)
	b.Screenshot(j.shots + "-home")
	href := browser.Eval[string](b, `document.querySelector('a.webui').getAttribute('href')`)
	if want := serviceLink(url, j.ownOrigins); !want.MatchString(href) {
		t.Errorf("the framework link is %q, want %s", href, want)
	}

	browser.Eval[bool](b, `location.hash = '#/agents'; true`)
	b.WaitFor("the agents table", `document.querySelectorAll('a.agent').length === `+strconv.Itoa(len(c.Agents())), 30*time.Second)
	b.Screenshot(j.shots + "-agents")

	for _, a := range c.Agents() {
		if !slices.Contains(modes, a.Mode()) {
			continue
		}
		t.Run("agent "+a.Mode().String(), func(t *testing.T) {
			browser.Eval[bool](b, `location.hash = '#/agents/`+a.ID()+`'; true`)
			b.WaitFor("the agent's executors", `document.querySelectorAll('a.sandbox').length > 0 && document.querySelector('h1 small') && document.querySelector('h1 small').textContent === '`+a.ID()+`'`, 30*time.Second)
			b.Screenshot(j.shots + "-agent-" + a.Mode().String())
		})
	}

	agent := c.Agents()[0]
	for _, a := range c.Agents() {
		if slices.Contains(modes, a.Mode()) {
			agent = a
		}
	}
	browser.Eval[bool](b, `location.hash = '#/agents/`+agent.ID()+`'; true`)
	b.WaitFor("the agent's executors", `document.querySelectorAll('a.sandbox').length > 0 && document.querySelector('h1 small').textContent === '`+agent.ID()+`'`, 30*time.Second)
	browser.Eval[bool](b, `document.querySelector('a.sandbox').click(); true`)
	b.WaitFor("the sandbox listing", `Array.from(document.querySelectorAll('a.file')).some(a => a.textContent === 'stdout')`, 30*time.Second)
	b.Screenshot(j.shots + "-sandbox-" + agent.Mode().String())
	href = browser.Eval[string](b, `document.querySelector('a.download').getAttribute('href')`)
	want := "/agent/" + agent.ID() + "/files/download?path="
	if j.direct {
		want = "https://" + agent.HostPort() + "/files/download?path="
	}
	if !strings.HasPrefix(href, want) {
		t.Errorf("download link %q, want %s...", href, want)
	}
	got := "200 attachment; filename=stdout 0"
	if !j.direct { // a member's download answers no CORS: a page fetches only its own origin
		got = browser.Eval[string](b, `(async () => {
		const a = Array.from(document.querySelectorAll('a.download')).find(a => a.getAttribute('href').indexOf('stdout') > 0);
		const r = await fetch(a.href);
		return r.status + ' ' + r.headers.get('content-disposition') + ' ' + (await r.text()).indexOf('Starting task');
	})()`)
	}
	if !strings.HasPrefix(got, "200 attachment; filename=stdout ") || strings.HasSuffix(got, " -1") {
		t.Errorf("download through the gateway: %s", got)
	}

	popup := b.Popup()
	browser.Eval[bool](b, `Array.from(document.querySelectorAll('a.file')).find(a => a.textContent === 'stdout').click(); true`)
	pailer := popup()
	if err := browser.WaitIn(pailer, `document.getElementById('data') && document.getElementById('data').textContent.indexOf('Starting task') >= 0`, 30*time.Second); err != nil {
		t.Fatalf("the log viewer shows no log line: %v", err)
	}
	browser.Screenshot(t, pailer, j.shots+"-pailer")

	frameworkJourney(t, b, url, c, j.ownOrigins, j.shots)

	if !j.direct {
		// Nothing went to a member's own address, as the browser saw it
		// and as the members saw it.
		assertNoDirect(t, b, c)
		return
	}
	// Direct links: the browser reached the agents itself, over TLS only,
	// and nothing failed.
	var agents []string
	for _, a := range c.Agents() {
		agents = append(agents, a.HostPort())
	}
	reqs := b.Network().To(agents...)
	if len(reqs) == 0 {
		t.Errorf("no request went to the agents directly in direct mode")
	}
	for _, r := range reqs {
		if !strings.HasPrefix(r.URL, "https://") {
			t.Errorf("direct request over plain HTTP: %s", r.URL)
		}
	}
	assertNoFailures(t, b)
}

// serviceLink matches the URL of a framework UI as the gateway's pages
// link to it: https://<name>.localhost:<port>/ on its own origin, or
// /service/<name>/ under the gateway's.
func serviceLink(url string, ownOrigins bool) *regexp.Regexp {
	if ownOrigins {
		return regexp.MustCompile(`^` + regexp.QuoteMeta("https://") + `[a-z0-9-]+\.` + regexp.QuoteMeta(strings.TrimPrefix(url, "https://")) + `/$`)
	}
	return regexp.MustCompile(`^/service/[a-z0-9-]+/$`)
}

// frameworkJourney opens a framework's UI from the WebUI's link and uses
// it: links, a redirect, its cookie, its event stream and WebSocket. On an
// origin of its own its links stay there; under /service/ they stay under
// its prefix.
func frameworkJourney(t *testing.T, b *browser.Browser, url string, c *sim.Cluster, ownOrigins bool, shots string) {
	t.Helper()
	b.Navigate(url + "/")
	b.WaitFor("the framework links", `document.querySelectorAll('a.webui').length === 3`, 60*time.Second)
	fw := browser.Eval[string](b, `document.querySelector('a.webui').href`)
	b.Navigate(fw)
	b.WaitFor("the framework's overview with its event stream and WebSocket",
		`document.getElementById('events') && /^tick \d+$/.test(document.getElementById('events').textContent) && document.getElementById('ws').textContent === 'echo: hello'`, 30*time.Second)
	b.Screenshot(shots + "-framework")
	root := browser.Eval[string](b, `location.origin + location.pathname`) // the UI's root
	links := browser.Eval[map[string]string](b, `Object.fromEntries(Array.from(document.querySelectorAll('nav a')).map(a => [a.id, a.href]))`)
	for id, link := range links {
		if !strings.HasPrefix(link, root) {
			t.Errorf("framework link #%s leads to %s, outside the UI's %s", id, link, root)
		}
	}
	if own := !strings.HasPrefix(root, url+"/service/"); own != ownOrigins {
		t.Errorf("the framework UI's root is %s (gateway %s): on an origin of its own %v, want %v", root, url, own, ownOrigins)
	}
	info := browser.Eval[map[string]string](b, `fetch(document.getElementById('api').href).then(r => r.json())`)
	if info["cookie"] == "" || info["x_forwarded_proto"] != "https" {
		t.Errorf("the framework saw %v: want its session cookie back and X-Forwarded-Proto https", info)
	}
	browser.Eval[bool](b, `document.getElementById('redirect').click(); true`)
	b.WaitAcross("the jobs page after a redirect", `location.pathname.endsWith('/jobs') && document.querySelector('h2') && document.querySelector('h2').textContent === 'Jobs'`, 30*time.Second)
	browser.Eval[bool](b, `document.getElementById('home').click(); true`)
	at := func(path string) string { return `location.href === ` + strconv.Quote(root+path) }
	b.WaitAcross("the overview from a root-relative link", at("")+` && document.querySelector('h2') && document.querySelector('h2').textContent === 'Overview'`, 30*time.Second)
	browser.Eval[bool](b, `document.getElementById('absolute').click(); true`)
	b.WaitAcross("the jobs page from an absolute link", at("jobs")+` && document.querySelector('h2') && document.querySelector('h2').textContent === 'Jobs'`, 30*time.Second)
}

// assertNoDirect checks, from the browser's network log and from the
// members' own, that no request went to a member directly, and that no
// request failed but those stock says the page itself asks for in vain.
func assertNoDirect(t *testing.T, b *browser.Browser, c *sim.Cluster, stock ...func(failure string) bool) {
	t.Helper()
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
	assertNoFailures(t, b, stock...)
}

// assertNoFailures checks that no request failed but those stock says
// the page itself asks for in vain.
func assertNoFailures(t *testing.T, b *browser.Browser, stock ...func(failure string) bool) {
	t.Helper()
	var failed []string
next:
	for _, f := range b.Network().Failures() {
		// A page without an icon link (the log viewer) makes the browser
		// ask for /favicon.ico, which a Mesos master does not have either.
		if strings.Contains(f, "/favicon.ico ") {
			continue
		}
		for _, s := range stock {
			if s(f) {
				continue next
			}
		}
		failed = append(failed, f)
	}
	if len(failed) > 0 {
		t.Errorf("failed requests:\n%s", strings.Join(failed, "\n"))
	}
}
