package sim

import (
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/browser"
)

// TestRealMesosWebUI serves the stock Mesos WebUI (Options.WebUIDir) and
// checks that it renders against the simulated cluster: home, agents, an
// agent, a framework, a sandbox listing and the log viewer. It needs the
// WebUI's files, which this repository does not carry: set
// MESOSGATE_MESOS_WEBUI to a Mesos source tree's src/webui, e.g.
//
//	git -C mesos archive HEAD src/webui | tar -x -C /tmp/x
//	MESOSGATE_MESOS_WEBUI=/tmp/x/src/webui go test ./e2e/sim -run RealMesosWebUI
func TestRealMesosWebUI(t *testing.T) {
	dir := os.Getenv("MESOSGATE_MESOS_WEBUI")
	if dir == "" {
		t.Skip("MESOSGATE_MESOS_WEBUI is not set: skipping the stock Mesos WebUI check (see the test's comment)")
	}
	if _, err := os.Stat(filepath.Join(dir, "app", "controllers.js")); err != nil {
		t.Fatalf("MESOSGATE_MESOS_WEBUI=%s is not a Mesos src/webui directory: %v", dir, err)
	}
	c := start(t, Options{Masters: 2, Agents: 3, WebUIDir: dir, Name: "sim"})
	b := browser.New(t, browser.Options{Height: 1000})
	leader := c.Leader()
	agent := c.Agents()[0]
	agentHost := "localhost:" + strconv.Itoa(agent.Port())

	// Opened on a standby, as from a bookmark: the JSONP state request is
	// redirected to the leader, and the page follows leader_info.
	b.Navigate(c.Masters()[1].URL() + "/")
	b.WaitFor("the home page", `document.body.innerText.indexOf('`+leader.HostPort()+`') >= 0 && document.body.innerText.indexOf('Running') >= 0`, 60*time.Second)
	b.WaitFor("the task metrics", `Array.from(document.querySelectorAll('td')).some(td => td.innerText.trim() === 'Running' && td.nextElementSibling && td.nextElementSibling.innerText.trim() === '3')`, 30*time.Second)
	b.Screenshot("real-webui-home")

	browser.Eval[bool](b, `location.hash = '#/agents'; true`)
	b.WaitFor("the agents table", `document.querySelectorAll('a[href^="#/agents/"]').length >= 3`, 30*time.Second)
	b.Screenshot("real-webui-agents")

	browser.Eval[bool](b, `location.hash = '#/agents/`+agent.ID()+`'; true`)
	b.WaitFor("the agent page", `document.body.innerText.indexOf('`+agent.PID()+`') >= 0 || document.body.innerText.indexOf('marathon') >= 0`, 30*time.Second)
	b.WaitFor("the agent's frameworks", `document.querySelectorAll('a[href*="/frameworks/"]').length > 0`, 30*time.Second)
	b.Screenshot("real-webui-agent")

	f := c.Frameworks()[0]
	browser.Eval[bool](b, `location.hash = '#/frameworks/`+f.ID()+`'; true`)
	b.WaitFor("the framework page", `Array.from(document.querySelectorAll('a')).some(a => a.getAttribute('href') === '`+f.WebUIURL()+`')`, 30*time.Second)
	b.Screenshot("real-webui-framework")

	sb := sandbox(t, agent)
	browser.Eval[bool](b, `location.hash = '#/agents/`+agent.ID()+`/browse?path=`+url.QueryEscape(sb.Directory)+`'; true`)
	b.WaitFor("the sandbox listing", `Array.from(document.querySelectorAll('a[ng-click^="pail"]')).some(a => a.textContent.trim() === 'stdout')`, 30*time.Second)
	b.Screenshot("real-webui-browse")
	hrefs := browser.Eval[[]string](b, `Array.from(document.querySelectorAll('a[href*="/files/download"]')).map(a => a.getAttribute('href'))`)
	if len(hrefs) == 0 || !strings.HasPrefix(hrefs[0], "//"+agentHost+"/files/download?path=") {
		t.Errorf("download links %v, want //%s/files/download?path=...", hrefs, agentHost)
	}

	// The breadcrumb has one entry per path segment (AngularJS 1.2's
	// ng-repeat refuses a path with a repeated segment).
	if n := browser.Eval[int](b, `document.querySelectorAll('ol.breadcrumb')[1].querySelectorAll('li').length`); n != strings.Count(sb.Directory, "/")+1 {
		t.Errorf("the path breadcrumb has %d entries for %s", n, sb.Directory)
	}
	popup := b.Popup()
	browser.Eval[bool](b, `Array.from(document.querySelectorAll('a[ng-click^="pail"]')).find(a => a.textContent.trim() === 'stdout').click(); true`)
	pailer := popup()
	if err := browser.WaitIn(pailer, `document.getElementById('data') && document.getElementById('data').textContent.indexOf('Starting task') >= 0`, 30*time.Second); err != nil {
		t.Fatalf("the stock log viewer shows no log line: %v", err)
	}
	browser.Screenshot(t, pailer, "real-webui-pailer")
	if f := b.Network().Failures(); len(f) > 0 {
		t.Errorf("failed requests:\n%s", strings.Join(f, "\n"))
	}
}
