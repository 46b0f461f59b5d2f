package rewrite

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
)

// routerPage is a page that routes the way AngularJS 1.2's hashbang mode
// does: the route in the fragment is resolved through an anchor element
// (urlResolve: setAttribute('href', '/agents'), then pathname), and an
// unknown route goes back to "/". It also records what a page reads back
// about URLs on its own origin.
const routerPage = `<!DOCTYPE html><title>router</title><body>
<nav><a id="nav" href="#/agents">Agents</a></nav><div id="view"></div>
<script>
var urlParsingNode = document.createElement('a');
function urlResolve(url) {
	urlParsingNode.setAttribute('href', url);
	return {href: urlParsingNode.href, pathname: urlParsingNode.pathname.charAt(0) === '/' ? urlParsingNode.pathname : '/' + urlParsingNode.pathname};
}
var routes = {'/': 'home', '/agents': 'agents'};
window.seen = [];
function render() {
	var rel = location.hash.replace(/^#/, '') || '/';
	if (rel.charAt(0) !== '/') rel = '/' + rel;
	var path = urlResolve(rel).pathname;
	seen.push(path);
	if (!(path in routes)) { location.replace('#/'); return; }
	document.getElementById('view').textContent = routes[path];
}
window.addEventListener('hashchange', render);
render();
var probe = document.createElement('a');
probe.href = '/agents?x=1#y';
var area = document.createElement('area');
area.setAttribute('href', '/agents');
var box = document.createElement('div');
box.innerHTML = '<a href="/inner">inner</a>';
var form = document.createElement('form');
form.action = '/post';
window.own = {
	resolved: urlResolve('/agents').pathname,
	attribute: urlParsingNode.getAttribute('href'),
	property: probe.pathname + probe.search + probe.hash,
	href: probe.href === location.origin + '/agents?x=1#y',
	area: area.pathname,
	inner: box.firstChild.getAttribute('href'),
	form: form.action === location.origin + '/post',
	url: new URL('/x', location).pathname,
	location: location.pathname,
	baseURI: document.baseURI === location.href
};
</script>`

// linksPage holds links and forms on the page's own origin, each followed
// one way, with listeners that record what the page's own code reads
// while the event is dispatched (in sessionStorage, which survives the
// navigation).
const linksPage = `<!DOCTYPE html><title>links</title><body>
<p><a id="click">click</a> <a id="key">key</a> <a id="stopped">stopped</a> <a id="middle">middle</a>
<a id="intercepted">intercepted</a> <a id="menu">menu</a></p>
<form id="form" method="post"><button id="submit">submit</button></form>
<form id="script" method="post"></form>
<script>
['click', 'key', 'stopped', 'middle', 'intercepted', 'menu'].forEach(function (id) {
	document.getElementById(id).setAttribute('href', '/t/landed?how=' + id);
});
document.getElementById('form').setAttribute('action', '/t/landed?how=form');
document.getElementById('script').action = '/t/landed?how=script';
document.getElementById('stopped').addEventListener('click', function (e) { e.stopPropagation(); });
document.getElementById('intercepted').addEventListener('click', function (e) { e.preventDefault(); });
function record(e) {
	var a = e.target.closest('a, form');
	if (a) sessionStorage.setItem('read', (a.getAttribute('href') || a.getAttribute('action')) + ' ' + (a.pathname || new URL(a.action).pathname));
}
document.addEventListener('click', record);
window.addEventListener('submit', record);
window.changes = [];
var observer = new MutationObserver(function (records) {
	records.forEach(function (m) { changes.push(m.target.getAttribute('href')); });
});
observer.observe(document.getElementById('menu'), {attributes: true});
observer.observe(document.getElementById('middle'), {attributes: true});
</script>`

// TestRuntimeOwnOrigin checks the link rule under a prefix (/service/fw):
// a router that resolves its routes through an anchor sees "/agents", as
// it would at "/", and so do the other ways a page reads URLs on its own
// origin back; following a link or submitting a form still goes under
// the prefix, however it is done; and every request that leaves the page
// is mapped under the prefix.
func TestRuntimeOwnOrigin(t *testing.T) {
	r := newRig(t)
	r.page("landed", `<!DOCTYPE html><title>landed</title><p>landed`)

	t.Run("anchor_router", func(t *testing.T) {
		b := tab{t, r.b}
		b.navigate(r.framework("router", routerPage))
		got := eval[map[string]any](b, `window.own`)
		want := map[string]any{
			"resolved": "/agents", "attribute": "/agents", "property": "/agents?x=1#y", "href": true, "area": "/agents",
			"inner": "/inner", "form": true, "url": "/x", "location": "/service/fw/t/router", "baseURI": true,
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: the page reads %v, want %v", k, got[k], v)
			}
		}
		b.run("click the router's link", chromedp.Click(chromedp.ID("nav")))
		b.wait("the agents route", `document.getElementById('view').textContent === 'agents'`)
		if seen := eval[[]string](b, `window.seen`); strings.Join(seen, " ") != "/ /agents" {
			t.Errorf("the router resolved %q, want / then /agents", seen)
		}
	})

	land := func(t *testing.T, b tab, how string) {
		t.Helper()
		b.wait("the page the link leads to", `document.title === 'landed' && location.pathname + location.search === '/service/fw/t/landed?how=`+how+`'`)
	}
	for _, tc := range []struct {
		name string
		do   []chromedp.Action[chromedp.Void]
		read string // what the page's listeners read during the event
	}{
		{"click", do(chromedp.Click(chromedp.ID("click"))), "/t/landed?how=click /t/landed"},
		{"key", do(chromedp.Focus(chromedp.ID("key")), chromedp.KeyEvent("\r")), "/t/landed?how=key /t/landed"},
		{"stopped", do(chromedp.Click(chromedp.ID("stopped"))), ""},
		{"form", do(chromedp.Click(chromedp.ID("submit"))), "/t/landed?how=form /t/landed"},
		{"script", do(evaluate(`document.getElementById('script').submit()`)), ""},
		// Assignments to location, which only the Navigation API sees: a
		// path, and a link's href as the page reads it back.
		{"location", do(evaluate(`location.href = '/t/landed?how=location'`)), ""},
		{"assign", do(evaluate(`location.assign(document.getElementById('click').href.replace('how=click', 'how=assign'))`)), ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := tab{t, r.b}
			b.navigate(r.framework("links", linksPage))
			eval[bool](b, `sessionStorage.clear(), true`)
			b.run(tc.name, tc.do...)
			land(t, b, tc.name)
			if read := eval[string](b, `sessionStorage.getItem('read') || ''`); read != tc.read {
				t.Errorf("during the event the page read %q, want %q", read, tc.read)
			}
		})
	}

	t.Run("intercepted", func(t *testing.T) {
		b := tab{t, r.b}
		// A router that handles the click itself: nothing is followed, and
		// the link keeps what the page wrote.
		b.navigate(r.framework("links", linksPage))
		b.run("click", chromedp.Click(chromedp.ID("intercepted")))
		b.wait("a task after the click", `new Promise(r => setTimeout(() => r(true), 50))`)
		if got := eval[string](b, `location.pathname + ' ' + document.getElementById('intercepted').getAttribute('href')`); got != "/service/fw/t/links /t/landed?how=intercepted" {
			t.Errorf("after an intercepted click: %q", got)
		}
	})

	t.Run("middle_click", func(t *testing.T) {
		b := tab{t, r.b}
		// The middle button opens the link in a new tab: an auxclick.
		b.navigate(r.framework("links", linksPage))
		nodes := runIn(t, b, chromedp.Nodes(chromedp.ID("middle"), chromedp.NodeVisible))
		b.run("middle click", chromedp.MouseClickNode(nodes[0], chromedp.ButtonMiddle))
		r.waitHit("GET /service/fw/t/landed?how=middle")
		b.wait("the link mapped and put back", `changes.join(' ') === '/service/fw/t/landed?how=middle /t/landed?how=middle'`)
	})

	t.Run("context_menu", func(t *testing.T) {
		b := tab{t, r.b}
		// The context menu's "open in new tab" and "copy link" read the
		// link while the menu opens: mapped then, and put back after.
		b.navigate(r.framework("links", linksPage))
		nodes := runIn(t, b, chromedp.Nodes(chromedp.ID("menu"), chromedp.NodeVisible))
		b.run("right click", chromedp.MouseClickNode(nodes[0], chromedp.ButtonRight))
		b.wait("the link mapped and put back", `changes.join(' ') === '/service/fw/t/landed?how=menu /t/landed?how=menu'`)
		b.run("close the menu", chromedp.KeyEvent("\x1b"))
	})

	t.Run("requests_leave_under_the_prefix", func(t *testing.T) {
		b := tab{t, r.b}
		r.page("leave.js", `window.scriptRan = true;`)
		r.page("frame", `<!DOCTYPE html><title>frame</title>`)
		r.page("popup", `<!DOCTYPE html><title>popup</title>`)
		b.navigate(r.framework("leaving", `<!DOCTYPE html><title>leaving</title><body><script>
			var s = document.createElement('script'); s.src = '/t/leave.js'; document.head.appendChild(s);
			var img = new Image(); img.src = '/t/property.png';
			var attr = document.createElement('img'); attr.setAttribute('src', '/t/attribute.png'); document.body.appendChild(attr);
			var f = document.createElement('iframe'); f.src = '/t/frame'; document.body.appendChild(f);
			var l = document.createElement('link'); l.rel = 'stylesheet'; l.href = '/t/leave.css'; document.head.appendChild(l);
			document.body.insertAdjacentHTML('beforeend', '<picture><source srcset="/t/source.png"><img src="/t/fallback.png"></picture>');
			window.results = {};
			fetch('/api/fetch').then(r => r.json()).then(d => { results.fetch = d.from; });
			fetch(new Request('/api/request')).then(r => r.json()).then(d => { results.request = d.from; });
			var x = new XMLHttpRequest(); x.open('GET', '/api/xhr'); x.onload = function () { results.xhr = JSON.parse(x.responseText).from; }; x.send();
			var es = new EventSource('/api/events'); es.onmessage = function (e) { results.events = e.data; es.close(); };
			navigator.sendBeacon('/api/beacon', 'x');
			function openPopup() { window.open('/t/popup', 'popup', 'width=400,height=300'); return true; }
		</script>`))
		b.wait("the requests' answers", `window.scriptRan && results.fetch === 'framework api' && results.request === 'framework api' && results.xhr === 'framework api' && results.events === 'hello from the framework'`)
		popup := r.b.Popup()
		eval[bool](b, `openPopup()`)
		waitIn(t, popup(), "the popup under the prefix", `document.title === 'popup' && location.pathname === '/service/fw/t/popup'`)
		for _, hit := range []string{
			"GET /service/fw/t/leave.js", "GET /service/fw/t/property.png", "GET /service/fw/t/attribute.png",
			"GET /service/fw/t/frame", "GET /service/fw/t/leave.css", "GET /service/fw/t/source.png",
			"GET /service/fw/api/fetch", "GET /service/fw/api/request", "GET /service/fw/api/xhr", "GET /service/fw/api/events", "POST /service/fw/api/beacon",
			"GET /service/fw/t/popup",
		} {
			r.waitHit(hit)
		}
		r.mu.Lock()
		defer r.mu.Unlock()
		for _, h := range r.hits {
			if strings.Contains(h, " /t/") || strings.Contains(h, " /api/") {
				t.Errorf("a request left the prefix: %s", h)
			}
		}
	})

	r.assertMemberUntouched()
	for _, f := range r.b.Network().Failures() {
		if !strings.Contains(f, "/favicon.ico") {
			t.Errorf("failed request: %s", f)
		}
	}
}

// do lists actions.
func do(a ...chromedp.Action[chromedp.Void]) []chromedp.Action[chromedp.Void] { return a }

// evaluate is an action that evaluates expr for its effect.
func evaluate(expr string) chromedp.Action[chromedp.Void] {
	return chromedp.Func(func(ctx context.Context, t *chromedp.Target) error {
		_, err := chromedp.Evaluate[any](expr)(ctx, t)
		return err
	})
}

// runIn runs an action that returns a value in the tab, with a deadline.
func runIn[T any](t *testing.T, b tab, a chromedp.Action[T]) T {
	t.Helper()
	ctx, cancel := context.WithTimeout(b.b.Context(), 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, a)
	if err != nil {
		t.Fatal(err)
	}
	return v
}
