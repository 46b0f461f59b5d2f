package e2e

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/browser"
	"github.com/mesosgate/mesosgate/e2e/sim"
)

// This file is the browser's side of issue 14: hostile framework UIs in
// headless Chromium through the real gateway binary, in path mode
// (/service/<name>/ on the gateway's origin) and in subdomain mode
// (--service-domain, each UI on an origin of its own).

// vaultUI is a framework UI that keeps a secret behind its own session: a
// visit to login sets an HttpOnly cookie, and secret answers only with
// it.
type vaultUI struct{ token, secret string }

func newVaultUI() *vaultUI {
	return &vaultUI{token: randomHex(), secret: "SECRET-" + randomHex()}
}

func (v *vaultUI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	switch r.URL.Path {
	case "/login":
		http.SetCookie(w, &http.Cookie{Name: "vault_token", Value: v.token, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode})
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		fmt.Fprint(w, `<!doctype html><title>vault: signed in</title><p>signed in</p>`)
	case "/secret":
		if c, err := r.Cookie("vault_token"); err != nil || c.Value != v.token {
			http.Error(w, "sign in first", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		fmt.Fprint(w, v.secret)
	default:
		http.NotFound(w, r)
	}
}

func randomHex() string {
	var b [12]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// hostileUI is a framework UI whose page attacks (the script given), and
// which offers a service worker that claims the whole origin
// (Service-Worker-Allowed: /) and answers every request whose URL holds
// "probe" itself.
func hostileUI(script string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/attack.html":
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, "<!doctype html><html><head><meta charset=\"utf-8\"><title>hostile</title></head><body><p>hostile</p><script>\n%s\n</script></body></html>", script)
		case "/sw.js":
			w.Header().Set("Content-Type", "text/javascript")
			w.Header().Set("Service-Worker-Allowed", "/")
			fmt.Fprint(w, hostileWorker)
		default:
			w.Header().Set("Content-Type", "text/plain")
			fmt.Fprintf(w, "the hostile UI's own answer to %s %s", r.Method, r.URL.Path)
		}
	})
}

// hostileWorker takes over at once and answers what it may intercept.
const hostileWorker = `self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', e => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', e => {
  if (e.request.url.indexOf('probe') >= 0) {
    e.respondWith(new Response('owned by the hostile worker', {headers: {'Content-Type': 'text/html'}}));
  }
});`

// attackPrelude is what the hostile pages' scripts share: results records
// what each attempt got (a status and the start of the body, what a frame
// or a pop-up showed, or the error that came instead).
const attackPrelude = `
const results = {};
async function attempt(name, f) {
  try { results[name] = await f(); } catch (e) { results[name] = 'error: ' + e; }
}
async function answer(r) { return r.status + ' ' + (await r.text()).slice(0, 200); }
function xhr(method, url, body) {
  return new Promise(resolve => {
    const x = new XMLHttpRequest();
    x.open(method, url);
    x.onload = () => resolve(x.status + ' ' + x.responseText.slice(0, 200));
    x.onerror = () => resolve('error');
    x.send(body || null);
  });
}
function framed(url) {
  return new Promise(resolve => {
    const f = document.createElement('iframe');
    f.onload = () => { try { resolve('read: ' + f.contentDocument.body.innerText.slice(0, 200)); } catch (e) { resolve('unreadable: ' + e.name); } };
    f.src = url;
    document.body.appendChild(f);
  });
}
function popup(url) {
  return new Promise(resolve => {
    const w = window.open(url);
    if (!w) return resolve('blocked');
    const until = Date.now() + 10000;
    (function poll() {
      try {
        if (w.document && w.document.readyState === 'complete' && w.location.href !== 'about:blank') {
          const text = w.document.body.innerText.slice(0, 200); w.close(); return resolve('read: ' + text);
        }
      } catch (e) { return resolve('unreadable: ' + e.name); }
      if (Date.now() > until) return resolve('timeout');
      setTimeout(poll, 50);
    })();
  });
}
function postForm(action) {
  return new Promise(resolve => {
    const f = document.createElement('iframe'); f.name = 'sink' + Math.random(); document.body.appendChild(f);
    f.onload = () => { try { resolve('read: ' + f.contentDocument.body.innerText.slice(0, 200)); } catch (e) { resolve('unreadable: ' + e.name); } };
    const fm = document.createElement('form'); fm.method = 'post'; fm.action = action; fm.target = f.name;
    const i = document.createElement('input'); i.name = 'frameworkId'; i.value = 'F1'; fm.appendChild(i);
    document.body.appendChild(fm); fm.submit();
  });
}
const teardown = JSON.stringify({type: 'TEARDOWN', teardown: {framework_id: {value: 'F1'}}});
`

// pathModeAttack is the hostile page's script in path mode. It records in
// window.results what each attempt got: a status and the start of the
// body, or an error. Every request goes to a prefix the page's runtime
// leaves alone (another UI's, the leader's /mesos/ alias), so what stops
// it is the gateway.
const pathModeAttack = attackPrelude + `
const origin = location.origin;
const json = {'Content-Type': 'application/json'};
const form = {'Content-Type': 'application/x-www-form-urlencoded'};
// The attacks a page makes by default: plain requests, frames, forms.
window.attack = async () => {
  // Another framework UI's cookie-protected answer.
  await attempt('read: fetch', async () => answer(await fetch('/service/vault/secret', {credentials: 'include'})));
  await attempt('read: XHR', () => xhr('GET', '/service/vault/secret'));
  await attempt('read: iframe', () => framed('/service/vault/secret'));
  // Writes to the master.
  await attempt('write: v1 TEARDOWN', async () => answer(await fetch('/mesos/api/v1', {method: 'POST', headers: json, body: teardown})));
  await attempt('write: /master/teardown', async () => answer(await fetch('/mesos/master/teardown', {method: 'POST', headers: form, body: 'frameworkId=F1'})));
  await attempt('write: root-relative /master/teardown', async () => { const r = await fetch(origin + '/master/teardown', {method: 'POST', headers: form, body: 'frameworkId=F1'}); return await answer(r) + ' at ' + r.url.replace(origin, ''); });
  await attempt('write: XHR', () => xhr('POST', '/mesos/master/teardown', 'frameworkId=F1'));
  await attempt('write: form', () => postForm('/mesos/master/teardown'));
  // A service worker over the whole origin, or the gateway's pages.
  await attempt('worker: scope /', async () => (await navigator.serviceWorker.register('/service/hostile/sw.js', {scope: '/'})).scope);
  await attempt('worker: scope /gateway/', async () => (await navigator.serviceWorker.register('/service/hostile/sw.js', {scope: '/gateway/'})).scope);
  await attempt('worker: the leader\'s JSONP as script', async () => (await navigator.serviceWorker.register('/mesos/master/state?jsonp=x', {scope: '/mesos/'})).scope);
  await attempt('worker: its own scope', async () => {
    const reg = await navigator.serviceWorker.register('/service/hostile/sw.js');
    const w = reg.installing || reg.waiting || reg.active;
    if (w.state !== 'activated') await new Promise(r => w.addEventListener('statechange', () => w.state === 'activated' && r()));
    return reg.scope;
  });
  return results;
};
// What a script does on purpose to pass for another page of the origin.
window.deliberate = async () => {
  for (const k in results) delete results[k];
  await attempt('read: fetch without referrer', async () => answer(await fetch('/service/vault/secret', {referrerPolicy: 'no-referrer'})));
  await attempt('read: fetch naming the vault as referrer', async () => answer(await fetch('/service/vault/secret', {referrer: origin + '/service/vault/'})));
  await attempt('read: pop-up', () => popup('/service/vault/secret'));
  await attempt('write: v1 TEARDOWN without referrer', async () => answer(await fetch('/mesos/api/v1', {method: 'POST', headers: json, body: teardown, referrerPolicy: 'no-referrer'})));
  await attempt('write: v1 TEARDOWN naming the WebUI as referrer', async () => answer(await fetch('/mesos/api/v1', {method: 'POST', headers: json, body: teardown, referrer: origin + '/'})));
  return results;
};
`

// TestPathModeHostileUI: a hostile framework UI under /service/hostile/ in
// Chromium, through the real gateway (everyone may write, so that what
// refuses a write is the isolation, not the read-only default):
//   - it reads no other framework UI's cookie-protected answer by fetch,
//     XHR or an iframe (the user, at that UI, reads it);
//   - its writes to the master (v1 TEARDOWN, /master/teardown by fetch,
//     XHR and a form) are refused with 403 or sent back into its own
//     prefix, and the master receives none, while the WebUI's own write
//     reaches it;
//   - it registers no service worker over "/" or "/gateway/" (its script
//     says Service-Worker-Allowed: /), nor with the leader's JSONP as
//     script; one of its own scope works, and the gateway's pages and the
//     WebUI are controlled by no worker afterwards.
//
// What a hostile script achieves by naming another page as its referrer,
// sending none, or opening the other UI in a pop-up is logged: path mode
// shares the gateway's origin, and the gateway cannot tell those apart
// from the pages they name (the dashboard says path mode suits only
// frameworks one trusts; --service-domain is the isolation).
func TestPathModeHostileUI(t *testing.T) {
	browser.Require(t)
	t.Parallel()
	vault := newVaultUI()
	members := &memberLog{}
	c := startCluster(t, sim.Options{
		Modes:      []sim.Mode{sim.Plain},
		Frameworks: []sim.FrameworkSpec{{Name: "vault", Handler: vault}, {Name: "hostile", Handler: hostileUI(pathModeAttack)}},
		Observe:    members.observe,
	})
	g := startGatewayWith(t, c, gatewayOptions{Args: []string{"--allow-writes"}})
	b := browser.New(t, browser.Options{Trust: []*x509.Certificate{g.cert}})
	leader := c.Leader().Addr()
	masterWrites := func() []memberRequest {
		var out []memberRequest
		for _, r := range members.all() {
			if r.Member == leader && r.Proxied && r.Method != "GET" && r.Method != "HEAD" {
				out = append(out, r)
			}
		}
		return out
	}

	// The user signs in at the vault and reads the secret there.
	b.Navigate(g.url + "/service/vault/login")
	b.Navigate(g.url + "/service/vault/secret")
	if got := browser.Eval[string](b, `document.body.innerText`); got != vault.secret {
		t.Fatalf("the user cannot read the vault's secret at the vault: %q", got)
	}

	// The hostile page attacks.
	b.Navigate(g.url + "/service/hostile/attack.html")
	results := browser.Eval[map[string]string](b, `window.attack()`)
	b.Screenshot("isolation-path-hostile")
	for _, name := range slices.Sorted(maps.Keys(results)) {
		got := results[name]
		t.Logf("path mode: %-40s %.120s", name, strings.Join(strings.Fields(got), " "))
		switch {
		case strings.HasPrefix(name, "read: "):
			if strings.Contains(got, vault.secret) {
				t.Errorf("%s: the hostile page read the vault's secret: %s", name, got)
			}
		case strings.HasPrefix(name, "write: "):
			// 403; or, for a form in a frame, the gateway's 403 page that
			// no frame shows; or the request sent back into the page's
			// own prefix.
			if !strings.HasPrefix(got, "403 ") && !strings.HasPrefix(got, "unreadable: ") && !strings.Contains(got, "the hostile UI's own answer to POST") {
				t.Errorf("%s: %s, want 403 or the hostile UI's own answer", name, got)
			}
		case name == "worker: its own scope":
			if got != g.url+"/service/hostile/" {
				t.Errorf("%s: %s, want the control to register under its own prefix", name, got)
			}
		case strings.HasPrefix(name, "worker: "):
			if !strings.HasPrefix(got, "error: ") {
				t.Errorf("%s: registered %s", name, got)
			}
		}
	}
	if w := masterWrites(); len(w) > 0 {
		t.Errorf("the master received writes from the hostile page: %+v", w)
	}
	// A deliberate attacker, logged.
	deliberate := browser.Eval[map[string]string](b, `window.deliberate()`)
	for _, name := range slices.Sorted(maps.Keys(deliberate)) {
		got := deliberate[name]
		through := strings.Contains(got, vault.secret) || strings.HasPrefix(got, "501 ")
		t.Logf("path mode, deliberately: %-40s %s: %.120s", name, map[bool]string{true: "GOT THROUGH", false: "stopped"}[through], strings.Join(strings.Fields(got), " "))
	}
	hostileWrites := len(masterWrites())

	// The worker of its own scope works: the hostile UI's pages are its.
	b.Navigate(g.url + "/service/hostile/probe")
	if got := browser.Eval[string](b, `document.body.innerText`); got != "owned by the hostile worker" {
		t.Errorf("the control worker does not control its own prefix: %q", got)
	}
	// No worker controls the gateway's pages or the WebUI.
	for _, page := range []string{"/gateway/?probe", "/?probe"} {
		b.Navigate(g.url + page)
		got := browser.Eval[map[string]any](b, `(async () => ({
			controlled: navigator.serviceWorker.controller !== null,
			text: document.body.innerText.slice(0, 80),
			api: (await (await fetch('/gateway/api/cluster?probe')).text()).slice(0, 80),
			scopes: (await navigator.serviceWorker.getRegistrations()).map(r => r.scope),
		}))()`)
		if got["controlled"] != false || strings.Contains(fmt.Sprint(got["text"]), "owned") || !strings.Contains(fmt.Sprint(got["api"]), `"phase"`) {
			t.Errorf("%s is controlled by a worker: %v", page, got)
		}
		for _, s := range got["scopes"].([]any) {
			if !strings.HasPrefix(s.(string), g.url+"/service/hostile/") {
				t.Errorf("a worker is registered for %s", s)
			}
		}
	}

	// The control: the WebUI's own write reaches the master (its 501).
	b.Navigate(g.url + "/")
	if got := browser.Eval[string](b, `fetch('/api/v1', {method: 'POST', headers: {'Content-Type': 'application/json'},
		body: JSON.stringify({type: 'TEARDOWN', teardown: {framework_id: {value: 'F1'}}})}).then(r => String(r.status))`); got != "501" {
		t.Errorf("the WebUI's own write: %s, want the master's 501", got)
	}
	if n := len(masterWrites()); n != hostileWrites+1 {
		t.Errorf("the master received %d writes after the WebUI's, want %d", n, hostileWrites+1)
	}
}

// subdomainAttack is the hostile page's script on its own origin
// (https://hostile.localhost:port): it tries to read the gateway's pages
// and to write through the gateway (https://localhost:port), and records
// in results what each attempt got.
const subdomainAttack = attackPrelude + `
const gw = 'https://localhost:' + location.port;
window.attack = async () => {
  await attempt('own origin', async () => answer(await fetch('/whoami')));
  await attempt('read: /gateway/api/cluster', async () => answer(await fetch(gw + '/gateway/api/cluster', {credentials: 'include'})));
  await attempt('read: /gateway/api/cluster, no-cors', async () => answer(await fetch(gw + '/gateway/api/cluster', {credentials: 'include', mode: 'no-cors'})));
  await attempt('read: /master/state', async () => answer(await fetch(gw + '/master/state', {credentials: 'include'})));
  await attempt('read: /gateway/ framed', () => framed(gw + '/gateway/'));
  await attempt('read: the WebUI framed', () => framed(gw + '/'));
  await attempt('write: v1 TEARDOWN, no-cors', async () => answer(await fetch(gw + '/api/v1', {method: 'POST', mode: 'no-cors', credentials: 'include', headers: {'Content-Type': 'text/plain'}, body: teardown})));
  await attempt('write: v1 TEARDOWN, cors', async () => answer(await fetch(gw + '/api/v1', {method: 'POST', credentials: 'include', headers: {'Content-Type': 'application/json'}, body: teardown})));
  await attempt('write: /master/teardown, no-cors', async () => answer(await fetch(gw + '/master/teardown', {method: 'POST', mode: 'no-cors', credentials: 'include', headers: {'Content-Type': 'application/x-www-form-urlencoded'}, body: 'frameworkId=F1'})));
  await attempt('write: form', () => postForm(gw + '/master/teardown'));
  return results;
};
`

// TestSubdomainHostileUI: with --service-domain, a hostile framework UI is
// served on its own origin (https://hostile.localhost:port/, which
// Chromium resolves to loopback) and, in Chromium through the real
// gateway where everyone may write:
//   - its script cannot read the gateway's pages or the cluster through
//     it (/gateway/api/cluster, /master/state: a CORS failure or an opaque
//     answer; a frame of /gateway/ or the WebUI it cannot look into);
//   - its writes to the gateway (v1 TEARDOWN, /master/teardown by fetch
//     and a form) reach no member, while the WebUI's own write does;
//   - the WebUI's link to a framework's web UI (on the frameworks page at
//     /) opens the framework's own origin, https://marathon.localhost:port/.
func TestSubdomainHostileUI(t *testing.T) {
	browser.Require(t)
	t.Parallel()
	members := &memberLog{}
	c := startCluster(t, sim.Options{
		Modes:      []sim.Mode{sim.Plain},
		Frameworks: []sim.FrameworkSpec{{Name: "marathon"}, {Name: "hostile", Handler: hostileUI(subdomainAttack)}},
		Observe:    members.observe,
	})
	port := strconv.Itoa(freePort(t))
	g := startGatewayWith(t, c, gatewayOptions{
		Listen:   "127.0.0.1:" + port,
		DNSNames: []string{"*.localhost"},
		Args:     []string{"--allow-writes", "--service-domain", "localhost:" + port},
	})
	b := browser.New(t, browser.Options{Trust: []*x509.Certificate{g.cert}})
	leader := c.Leader().Addr()
	writes := func() int {
		n := 0
		for _, r := range members.all() {
			if r.Member == leader && r.Proxied && r.Method == "POST" {
				n++
			}
		}
		return n
	}
	hostile := "https://hostile.localhost:" + port

	b.Navigate(hostile + "/attack.html")
	if got := browser.Eval[string](b, `location.origin`); got != hostile {
		t.Fatalf("the hostile UI is at %s, want its own origin %s", got, hostile)
	}
	results := browser.Eval[map[string]string](b, `window.attack()`)
	b.Screenshot("isolation-subdomain-hostile")
	for _, name := range slices.Sorted(maps.Keys(results)) {
		got := results[name]
		t.Logf("subdomain mode: %-40s %.120s", name, strings.Join(strings.Fields(got), " "))
		switch {
		case name == "own origin":
			if !strings.HasPrefix(got, "200 the hostile UI's own answer to GET /whoami") {
				t.Errorf("the hostile UI's own request on its origin: %s", got)
			}
		case strings.HasPrefix(name, "read: "):
			// A CORS failure, an opaque answer (status 0, no body), or a
			// frame it cannot look into.
			if !strings.HasPrefix(got, "error: TypeError") && got != "0 " && !strings.HasPrefix(got, "unreadable: ") {
				t.Errorf("%s: the hostile page read %s", name, got)
			}
			if strings.Contains(got, `"phase"`) || strings.Contains(got, `"leader_info"`) {
				t.Errorf("%s: the gateway's answer reached the hostile page: %s", name, got)
			}
		case strings.HasPrefix(name, "write: "):
			if strings.Contains(got, "501") {
				t.Errorf("%s: the write reached the master: %s", name, got)
			}
		}
	}
	if n := writes(); n != 0 {
		t.Errorf("the master received %d writes from the hostile origin", n)
	}
	// The gateway saw them and refused them (the browser sent each: the
	// no-cors ones and the form without asking).
	if n := strings.Count(g.stderr.String(), `msg="write refused"`); n < 3 {
		t.Errorf("the gateway refused %d writes, want the 3 the browser sent without asking\n%s", n, g.stderr)
	}

	// The WebUI: its own write reaches the master; its link to a
	// framework's web UI opens that framework's origin.
	b.Navigate(g.url + "/")
	b.WaitFor("the WebUI's framework links", `document.querySelectorAll('a.webui').length === 2`, 30*time.Second)
	if got := browser.Eval[string](b, `fetch('/api/v1', {method: 'POST', headers: {'Content-Type': 'application/json'},
		body: JSON.stringify({type: 'TEARDOWN', teardown: {framework_id: {value: 'F1'}}})}).then(r => String(r.status))`); got != "501" || writes() != 1 {
		t.Errorf("the WebUI's own write: %s, the master received %d writes; want its 501, one", got, writes())
	}
	marathon := "https://marathon.localhost:" + port + "/"
	href := browser.Eval[string](b, `Array.from(document.querySelectorAll('a.webui')).find(a => a.closest('tr').textContent.indexOf('marathon') >= 0).href`)
	t.Logf("the WebUI's link to marathon's web UI: %s", href)
	if href != marathon {
		t.Errorf("the WebUI links marathon's web UI to %s, want its own origin %s (the browser runtime maps it when set)", href, marathon)
	}
	popup := b.Popup()
	browser.Eval[bool](b, `Array.from(document.querySelectorAll('a.webui')).find(a => a.closest('tr').textContent.indexOf('marathon') >= 0).click(); true`)
	ctx := popup()
	if err := browser.WaitIn(ctx, `location.href === '`+marathon+`' && document.querySelector('h1') !== null && document.querySelector('h1').textContent === 'marathon'`, 30*time.Second); err != nil {
		t.Errorf("following the WebUI's link did not open marathon's web UI on its origin: %v\n%s", err, browser.Describe(ctx))
	}
	browser.Screenshot(t, ctx, "isolation-subdomain-marathon")
}
