package sim

import (
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/browser"
)

// TestWebUIInChromium opens the leader's WebUI directly on an all-plain
// cluster and walks it as a user would: agents, an agent, a sandbox
// listing, and a log line in the pop-up log viewer; a route that matches
// nothing goes home. The network log shows
// the stock WebUI's mechanics at work (JSONP script requests to
// //localhost:<agent port>), and the members' own log of direct browser
// requests sees them too.
func TestWebUIInChromium(t *testing.T) {
	c := start(t, Options{Agents: 2, Name: "sim-browser-test"})
	b := browser.New(t, browser.Options{})
	leader := c.Leader()
	b.Navigate(leader.URL() + "/")
	b.WaitFor("the home page", `document.querySelector('h1') && document.querySelector('h1').textContent.indexOf('Master') === 0 && document.querySelectorAll('a.webui').length === 3`, 60*time.Second)
	b.Screenshot("sim-webui-home")
	marathon := c.Frameworks()[0]
	if got := browser.Eval[string](b, `document.querySelector('a.webui').getAttribute('href')`); got != marathon.WebUIURL() {
		t.Errorf("framework link %q, want webui_url %q", got, marathon.WebUIURL())
	}

	browser.Eval[bool](b, `location.hash = '#/agents'; true`)
	b.WaitFor("the agents table", `document.querySelectorAll('a.agent').length === 2`, 30*time.Second)
	b.Screenshot("sim-webui-agents")

	agent := c.Agents()[0]
	browser.Eval[bool](b, `document.querySelector('a.agent').click(); true`)
	b.WaitFor("the agent's executors", `document.querySelectorAll('a.sandbox').length > 0`, 30*time.Second)
	b.Screenshot("sim-webui-agent")

	browser.Eval[bool](b, `document.querySelector('a.sandbox').click(); true`)
	b.WaitFor("the sandbox listing", `Array.from(document.querySelectorAll('a.file')).some(a => a.textContent === 'stdout')`, 30*time.Second)
	b.Screenshot("sim-webui-sandbox")
	agentHost := "localhost:" + strconv.Itoa(agent.Port())
	href := browser.Eval[string](b, `document.querySelector('a.download').getAttribute('href')`)
	if !strings.HasPrefix(href, "//"+agentHost+"/files/download?path=%2F") {
		t.Errorf("download link %q, want //%s/files/download?path=<encoded path>", href, agentHost)
	}

	popup := b.Popup()
	browser.Eval[bool](b, `Array.from(document.querySelectorAll('a.file')).find(a => a.textContent === 'stdout').click(); true`)
	pailer := popup()
	if err := browser.WaitIn(pailer, `document.getElementById('data') && document.getElementById('data').textContent.indexOf('Starting task') >= 0`, 30*time.Second); err != nil {
		t.Fatalf("the log viewer shows no log line: %v", err)
	}
	browser.Screenshot(t, pailer, "sim-webui-pailer")

	// The page reached the agent itself, through script tags. The log
	// viewer's first reads may precede the recording of its window, but it
	// tails every second.
	var jsonpKinds []string
	for deadline := time.Now().Add(15 * time.Second); ; {
		jsonpKinds = nil
		for _, r := range b.Network().To(agentHost) {
			if r.Type == "Script" && strings.Contains(r.URL, "jsonp=") {
				path, _, _ := strings.Cut(strings.TrimPrefix(r.URL, "http://"+agentHost), "?")
				jsonpKinds = append(jsonpKinds, path)
			}
		}
		if slices.Contains(jsonpKinds, "/files/read") || time.Now().After(deadline) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	for _, want := range []string{"/slave(1)/state", "/slave(1)/monitor/statistics", "/metrics/snapshot", "/files/browse", "/files/read"} {
		if !slices.Contains(jsonpKinds, want) {
			t.Errorf("no JSONP script request for %s to %s; saw %v", want, agentHost, jsonpKinds)
		}
	}
	if f := b.Network().Failures(); len(f) > 0 {
		t.Errorf("failed requests:\n%s", strings.Join(f, "\n"))
	}
	if errs := browser.Eval[[]string](b, `window.simRouteErrors`); len(errs) > 0 {
		t.Errorf("routes that matched nothing: %q", errs)
	}

	// A route that matches nothing goes home, as the stock WebUI's
	// otherwise({redirectTo: '/'}) does, and is recorded.
	browser.Eval[bool](b, `location.hash = '#/nowhere/at/all'; true`)
	b.WaitFor("the home page after an unknown route", `location.hash === '#/' && document.querySelector('h1').textContent.indexOf('Master') === 0`, 30*time.Second)
	if errs := browser.Eval[[]string](b, `window.simRouteErrors`); len(errs) != 1 || errs[0] != "/nowhere/at/all" {
		t.Errorf("route errors %q, want the unknown route", errs)
	}

	// The members logged the browser's direct requests.
	var direct []string
	for _, r := range c.DirectRequests() {
		if r.Member == agent.Addr() {
			direct = append(direct, r.URI)
		}
	}
	if !containsPrefix(direct, "/files/read?path=") || !containsPrefix(direct, "/slave(1)/state?jsonp=") {
		t.Errorf("the agent's direct-request log lacks the browser's requests: %v", direct)
	}
}

func containsPrefix(list []string, prefix string) bool {
	for _, x := range list {
		if strings.HasPrefix(x, prefix) {
			return true
		}
	}
	return false
}
