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
	"github.com/mesosgate/mesosgate/webui"
)

// TestRealMesosWebUI serves the stock Mesos WebUI of any release
// (Options.WebUIDir) and checks that it renders against the simulated
// cluster, with no gateway in between: home, agents, an agent, a
// framework, a sandbox listing and the log viewer. It needs the WebUIs'
// files, which this repository does not carry: set MESOSGATE_MESOS_WEBUI
// to src/webui directories of Mesos source trees, separated by the list
// separator, e.g.
//
//	git -C mesos archive 0.28.0 src/webui | tar -x -C /tmp/mesos-0.28.0
//	git -C mesos archive HEAD src/webui | tar -x -C /tmp/mesos-HEAD
//	MESOSGATE_MESOS_WEBUI=/tmp/mesos-0.28.0/src/webui:/tmp/mesos-HEAD/src/webui go test ./e2e/sim -run RealMesosWebUI
func TestRealMesosWebUI(t *testing.T) {
	dirs := filepath.SplitList(os.Getenv("MESOSGATE_MESOS_WEBUI"))
	if len(dirs) == 0 {
		t.Skip("MESOSGATE_MESOS_WEBUI is not set: skipping the stock Mesos WebUI check (see the test's comment)")
	}
	for _, dir := range dirs {
		t.Run(dir, func(t *testing.T) {
			if _, err := webui.Open(dir); err != nil {
				t.Fatalf("MESOSGATE_MESOS_WEBUI: %v", err)
			}
			realWebUI(t, dir)
		})
	}
}

// realWebUI walks the WebUI in dir served by the simulated leader.
func realWebUI(t *testing.T, dir string) {
	c := start(t, Options{Masters: 2, Agents: 3, WebUIDir: dir, Name: "sim"})
	b := browser.New(t, browser.Options{Height: 1000})
	agent := c.Agents()[0]
	agentHost := "localhost:" + strconv.Itoa(agent.Port())
	// Links to agents read "#/agents/<id>" from Mesos 1.0, "#/slaves/<id>"
	// before.
	agentLinks := func(suffix string) string {
		return `Array.from(document.querySelectorAll('a[href]')).filter(a => /^#\/(agents|slaves)\/` + suffix + `/.test(a.getAttribute('href')))`
	}

	// Opened on a standby, as from a bookmark: the JSONP state request is
	// redirected to the leader and the page follows leader_info (Mesos 1.1
	// and later), the XHR follows the redirect (1.0), or the standby says
	// it does not lead and the page moves to /master/redirect (0.28).
	// Mesos 1.0's XHR follows the redirect to another origin, which the
	// browser refuses without a gateway in between (MESOS-5911, the
	// reason 1.1 moved to JSONP): there the page says it failed to
	// connect, and the journey starts again at the leader.
	b.Navigate(c.Masters()[1].URL() + "/")
	home := `document.body.innerText.indexOf('sim') >= 0 && Array.from(document.querySelectorAll('td')).some(td => td.innerText.trim() === 'Activated' && td.nextElementSibling && td.nextElementSibling.innerText.trim() === '3')`
	connectFailed := `document.body.innerText.indexOf('Failed to connect to') >= 0`
	deadline := time.Now().Add(60 * time.Second)
	for browser.WaitIn(b.Context(), "("+home+") || ("+connectFailed+")", time.Until(deadline)) != nil && time.Now().Before(deadline) {
		// The page moved (0.28: to the leader, by /master/redirect).
	}
	if browser.Eval[bool](b, connectFailed) {
		t.Logf("this release's WebUI cannot start on a standby without a gateway (MESOS-5911)")
		b.Network().Reset()
	} else {
		b.WaitFor("the home page", home, time.Second)
	}
	// The task counters are the leader's: opened there.
	b.Navigate(c.Leader().URL() + "/")
	b.WaitFor("the task metrics", `Array.from(document.querySelectorAll('td')).some(td => td.innerText.trim() === 'Running' && td.nextElementSibling && td.nextElementSibling.innerText.trim() === '3')`, 30*time.Second)
	b.Screenshot("real-webui-home")

	browser.Eval[bool](b, `location.hash = document.querySelector('a[href="#/agents"]') ? '#/agents' : '#/slaves'; true`)
	b.WaitFor("the agents table", agentLinks(`[^/]+$`)+`.length >= 3`, 30*time.Second)
	b.Screenshot("real-webui-agents")

	browser.Eval[bool](b, `location.hash = `+agentLinks(agent.ID()+`$`)+`[0].getAttribute('href'); true`)
	b.WaitFor("the agent's frameworks", agentLinks(agent.ID()+`\/frameworks\/`)+`.length > 0`, 30*time.Second)
	b.Screenshot("real-webui-agent")

	f := c.Frameworks()[0]
	browser.Eval[bool](b, `location.hash = '#/frameworks/`+f.ID()+`'; true`)
	b.WaitFor("the framework page", `Array.from(document.querySelectorAll('a')).some(a => a.getAttribute('href') === '`+f.WebUIURL()+`')`, 30*time.Second)
	b.Screenshot("real-webui-framework")

	sb := sandbox(t, agent)
	browser.Eval[bool](b, `location.hash = '#/' + (document.querySelector('a[href="#/agents"]') ? 'agents' : 'slaves') + '/`+agent.ID()+`/browse?path=`+url.QueryEscape(sb.Directory)+`'; true`)
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
	var failed []string
	for _, f := range b.Network().Failures() {
		// Mesos 0.28's Bootstrap CSS names a woff2 font it does not ship.
		if !strings.Contains(f, "/favicon.ico ") && !strings.Contains(f, "glyphicons-halflings-regular.woff2") {
			failed = append(failed, f)
		}
	}
	if len(failed) > 0 {
		t.Errorf("failed requests:\n%s", strings.Join(failed, "\n"))
	}
}
