package rewrite

import (
	"bufio"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/chromedp/chromedp"
	"github.com/mesosgate/mesosgate/e2e/browser"
)

// TestRuntimeMappingAgrees runs testdata/mapping.json through the runtime's
// mapping in Chromium, on a page the rewriter served, in both modes: the
// browser must map every case as the Go side does (TestMapping).
func TestRuntimeMappingAgrees(t *testing.T) {
	f := loadMapping(t)
	br := browser.New(t, browser.Options{})
	for _, mode := range []Mode{Proxy, Direct} {
		t.Run(mode.String(), func(t *testing.T) {
			b := tab{t, br}
			m := NewMapper(f.Table, Options{Mode: mode})
			srv := httptest.NewServer(rewritingHandler(m, Page{}, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "text/html")
				io.WriteString(w, "<!DOCTYPE html><title>mapping</title><p>cases</p>")
			}))
			defer srv.Close()
			b.navigate(srv.URL)
			// The runtime gets the page's prefix from the server, cleaned.
			type jsCase struct {
				Kind    string `json:"kind"`
				In      string `json:"in"`
				Prefix  string `json:"prefix"`
				Scheme  string `json:"scheme"`
				Gateway string `json:"gateway"`
			}
			cases := make([]jsCase, len(f.Cases))
			for i, c := range f.Cases {
				cases[i] = jsCase{c.Kind, c.In, cleanPrefix(c.Page.Prefix), c.Page.Scheme, c.Page.Gateway}
			}
			js, _ := json.Marshal(cases)
			got := eval[[]string](b, `(() => {
				const g = window.__mesosgate;
				return `+string(js)+`.map(c => {
					const p = {prefix: c.prefix, scheme: c.scheme, gateway: c.gateway};
					switch (c.kind) {
					case "srcset": return g.srcset(c.in, p);
					case "css": return g.css(c.in, p);
					case "refresh": return g.refresh(c.in, p);
					default: return g.map(c.in, p);
					}
				});
			})()`)
			if len(got) != len(f.Cases) {
				t.Fatalf("the runtime returned %d results for %d cases", len(got), len(f.Cases))
			}
			for i, c := range f.Cases {
				if want := c.want(mode); got[i] != want {
					t.Errorf("%s: the runtime maps %q on page %q to %q, Go to %q", c.Name, c.In, c.Page.Prefix, got[i], want)
				}
			}
		})
	}
}

// rewritingHandler serves h's responses rewritten for page, as the gateway
// will: through httputil.ReverseProxy with RewriteResponse.
func rewritingHandler(m *Mapper, page Page, h http.HandlerFunc) http.Handler {
	backend := httptest.NewServer(h)
	u, _ := url.Parse(backend.URL)
	return &httputil.ReverseProxy{
		Rewrite:        func(r *httputil.ProxyRequest) { r.SetURL(u); r.Out.Host = r.In.Host },
		ModifyResponse: func(resp *http.Response) error { return m.RewriteResponse(resp, page) },
	}
}

// rig is a gateway, a member and a browser: pages served by the gateway
// run JavaScript that names the member directly; every request must reach
// the gateway under the member's prefix and none the member.
type rig struct {
	t      *testing.T
	b      *browser.Browser
	gw     *httptest.Server
	member *httptest.Server
	hosts  []string // the member's host:port forms

	mu         sync.Mutex
	hits       []string // request URIs that reached the gateway
	memberHits []string
	changed    chan struct{}
	pages      map[string]string
}

// newRig starts the servers and the browser. Pages are served from the
// gateway's root (the leader's page, prefix "") and under /service/fw.
func newRig(t *testing.T) *rig {
	t.Helper()
	r := &rig{t: t, changed: make(chan struct{}), pages: map[string]string{}}
	r.member = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.record(&r.memberHits, req.Method+" "+req.RequestURI)
		w.Header().Set("Access-Control-Allow-Origin", "*")
		io.WriteString(w, "the member itself")
	}))
	t.Cleanup(r.member.Close)
	port := r.member.URL[strings.LastIndexByte(r.member.URL, ':')+1:]
	r.hosts = []string{"127.0.0.1:" + port, "localhost:" + port}

	leader := httptest.NewServer(http.HandlerFunc(r.serveLeader))
	t.Cleanup(leader.Close)
	table := Table{
		Members: []Member{
			{Addresses: []string{strings.TrimPrefix(leader.URL, "http://")}, Prefix: "/", Scheme: "http"},
			{Addresses: r.hosts, Prefix: "/agent/a1", Scheme: "http"},
		},
	}
	m := NewMapper(table, Options{})
	mux := http.NewServeMux()
	mux.HandleFunc("/agent/a1/", r.serveAgent)
	mux.Handle("/service/fw/", http.StripPrefix("/service/fw", rewritingHandler(m, Page{Prefix: "/service/fw"}, r.serveLeader)))
	mux.Handle("/", rewritingHandler(m, Page{}, r.serveLeader))
	r.gw = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.record(&r.hits, req.Method+" "+req.RequestURI)
		mux.ServeHTTP(w, req)
	}))
	t.Cleanup(r.gw.Close)
	r.b = browser.New(t, browser.Options{})
	return r
}

// record appends a request to a log and wakes those waiting on it.
func (r *rig) record(log *[]string, s string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	*log = append(*log, s)
	close(r.changed)
	r.changed = make(chan struct{})
}

// serveLeader serves the test pages (/t/NAME and /t/NAME.js) with MEMBER
// standing for the member's host:port, /api/... as JSON (/api/events as
// an event stream), any .png as an image and any .css as a style sheet.
func (r *rig) serveLeader(w http.ResponseWriter, req *http.Request) {
	p := req.URL.Path
	switch {
	case p == "/api/events":
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: hello from the framework\n\n")
		w.(http.Flusher).Flush()
		return
	case strings.HasPrefix(p, "/api/"):
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"from":"framework api"}`)
		return
	case strings.HasSuffix(p, ".png"):
		w.Header().Set("Content-Type", "image/png")
		w.Write(onePixelPNG)
		return
	case strings.HasSuffix(p, ".css"):
		w.Header().Set("Content-Type", "text/css")
		io.WriteString(w, "body { --loaded: 1; }")
		return
	case strings.HasSuffix(p, ".js"):
		w.Header().Set("Content-Type", "text/javascript")
	default:
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		if csp := req.URL.Query().Get("csp"); csp != "" {
			w.Header().Set("Content-Security-Policy", csp)
		}
	}
	r.mu.Lock()
	body, ok := r.pages[strings.TrimPrefix(p, "/t/")]
	r.mu.Unlock()
	if !ok {
		http.NotFound(w, req)
		return
	}
	io.WriteString(w, strings.ReplaceAll(body, "MEMBER", r.hosts[0]))
}

// serveAgent answers at the member's gateway prefix as the member would:
// JSONP, JSON, an image, an event stream, a WebSocket, pages.
func (r *rig) serveAgent(w http.ResponseWriter, req *http.Request) {
	q := req.URL.Query()
	path := strings.TrimPrefix(req.URL.Path, "/agent/a1")
	switch {
	case q.Get("jsonp") != "" || q.Get("callback") != "":
		// JSONP, as Mesos answers it; /files/read with the fields the
		// WebUI's log viewer reads.
		cb := q.Get("jsonp") + q.Get("callback")
		w.Header().Set("Content-Type", "text/javascript")
		fmt.Fprintf(w, `%s({"from":"gateway","path":%q,"offset":0,"data":"a line from the gateway\n"})`, cb, path)
	case path == "/img.png":
		w.Header().Set("Content-Type", "image/png")
		w.Write(onePixelPNG)
	case path == "/events":
		w.Header().Set("Content-Type", "text/event-stream")
		io.WriteString(w, "data: hello from the gateway\n\n")
		w.(http.Flusher).Flush()
	case path == "/ws":
		serveWebSocket(w, req)
	case strings.HasPrefix(path, "/page") || strings.HasPrefix(path, "/popup") || strings.HasPrefix(path, "/form"):
		w.Header().Set("Content-Type", "text/html")
		fmt.Fprintf(w, "<!DOCTYPE html><title>agent %s %s</title><p>agent page", req.Method, path)
	default:
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"from":"gateway","path":%q}`, path)
	}
}

// onePixelPNG is a 1x1 PNG.
var onePixelPNG, _ = base64.StdEncoding.DecodeString("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==")

// serveWebSocket accepts a WebSocket handshake and sends one text message.
func serveWebSocket(w http.ResponseWriter, req *http.Request) {
	sum := sha1.Sum([]byte(req.Header.Get("Sec-WebSocket-Key") + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	conn, rw, err := w.(http.Hijacker).Hijack()
	if err != nil {
		return
	}
	defer conn.Close()
	fmt.Fprintf(rw, "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
		base64.StdEncoding.EncodeToString(sum[:]))
	msg := "hello over websocket"
	rw.Write([]byte{0x81, byte(len(msg))})
	rw.WriteString(msg)
	rw.Flush()
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	io.Copy(io.Discard, bufio.NewReader(conn))
}

// page registers a test page (and script files) and returns its URL on
// the gateway.
func (r *rig) page(name, html string) string {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.pages[name] = html
	return r.gw.URL + "/t/" + name
}

// framework registers a test page and returns its URL under the
// framework's prefix, /service/fw: a page whose root-relative URLs mean
// that prefix.
func (r *rig) framework(name, html string) string {
	return r.gw.URL + "/service/fw" + strings.TrimPrefix(r.page(name, html), r.gw.URL)
}

// waitHit waits until a request whose "METHOD URI" starts with prefix has
// reached the gateway.
func (r *rig) waitHit(prefix string) {
	r.t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		r.mu.Lock()
		for _, h := range r.hits {
			if strings.HasPrefix(h, prefix) {
				r.mu.Unlock()
				return
			}
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			r.t.Fatalf("no request %q reached the gateway; it saw %q; the member saw %q", prefix, r.hits, r.memberHits)
		}
	}
}

// assertMemberUntouched checks, from the member's side and from the
// browser's network log, that nothing went to the member directly.
func (r *rig) assertMemberUntouched() {
	r.t.Helper()
	r.mu.Lock()
	hits := append([]string(nil), r.memberHits...)
	r.mu.Unlock()
	if len(hits) > 0 {
		r.t.Errorf("the member was reached directly: %q", hits)
	}
	if direct := r.b.Network().To(r.hosts...); len(direct) > 0 {
		r.t.Errorf("the browser sent requests to the member: %+v", direct)
	}
}

// tab drives the browser's first tab on behalf of one (sub)test, so that
// a failure ends that test and no other.
type tab struct {
	t *testing.T
	b *browser.Browser
}

// navigate loads url and waits for its load event.
func (b tab) navigate(url string) {
	b.t.Helper()
	b.run("navigate to "+url, chromedp.Navigate(url))
}

// run runs actions with a deadline.
func (b tab) run(what string, actions ...chromedp.Action[chromedp.Void]) {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.b.Context(), 30*time.Second)
	defer cancel()
	if err := chromedp.Do(ctx, actions...); err != nil {
		b.t.Fatalf("%s: %v", what, err)
	}
}

// eval evaluates expr and decodes its value into T.
func eval[T any](b tab, expr string) T {
	b.t.Helper()
	ctx, cancel := context.WithTimeout(b.b.Context(), 30*time.Second)
	defer cancel()
	v, err := chromedp.Run(ctx, chromedp.Evaluate[T](expr, chromedp.EvalAwaitPromise))
	if err != nil {
		b.t.Fatalf("evaluate %q: %v", expr, err)
	}
	return v
}

// wait polls predicate in the tab until it holds, across navigations
// (which end the page a poll runs in), failing after 20 seconds.
func (b tab) wait(what, predicate string) {
	b.t.Helper()
	waitIn(b.t, b.b.Context(), what, predicate)
}

// waitIn polls predicate in the tab of ctx; see tab.wait.
func waitIn(t *testing.T, ctx context.Context, what, predicate string) {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	var err error
	for time.Now().Before(deadline) {
		if err = browser.WaitIn(ctx, predicate, time.Until(deadline)); err == nil {
			return
		}
	}
	loc, _ := chromedp.Run(ctx, chromedp.Location())
	t.Fatalf("waiting for %s (%s) on %s: %v", what, predicate, loc, err)
}

// TestRuntimeHooks drives each way a page builds a URL at run time, each
// on its own page served by the gateway, and checks that the request
// arrived at the gateway under the member's prefix and never at the
// member.
func TestRuntimeHooks(t *testing.T) {
	r := newRig(t)

	t.Run("angularjs_jsonp", func(t *testing.T) {
		b := tab{t, r.b}
		// AngularJS 1.2 $http.jsonp: script.src is set, then the script
		// is appended to the body.
		b.navigate(r.page("angular", `<!DOCTYPE html><html><head><title>angular</title></head><body><script>
			window.angular = {callbacks: {_0: function (data) { window.result = data.from + " " + data.path; }}};
			var s = document.createElement('script');
			s.type = 'text/javascript';
			s.src = '//MEMBER/slave(1)/state?jsonp=angular.callbacks._0';
			s.async = true;
			document.body.appendChild(s);
		</script></body></html>`))
		b.wait("the JSONP callback", `window.result === "gateway /slave(1)/state"`)
		r.waitHit("GET /agent/a1/slave(1)/state?jsonp=angular.callbacks._0")
	})

	t.Run("jquery_jsonp_insertBefore", func(t *testing.T) {
		b := tab{t, r.b}
		// jQuery's cross-domain script transport (1.x): a script element
		// inserted first in <head> with insertBefore.
		b.navigate(r.page("jquery1", `<!DOCTYPE html><html><head><title>jquery</title></head><body><script>
			window.jQuery1 = function (data) { window.result = data.path; };
			var head = document.head || document.getElementsByTagName('head')[0];
			var script = document.createElement('script');
			script.async = true;
			script.charset = 'utf-8';
			script.src = 'http://MEMBER/files/read?path=%2Ftmp%2Fstdout&offset=0&length=50000&jsonp=jQuery1&_=1';
			head.insertBefore(script, head.firstChild);
		</script></body></html>`))
		b.wait("the JSONP callback", `window.result === "/files/read"`)
		r.waitHit("GET /agent/a1/files/read?path=%2Ftmp%2Fstdout&offset=0&length=50000&jsonp=jQuery1")
	})

	t.Run("jquery_attr_setAttribute", func(t *testing.T) {
		b := tab{t, r.b}
		// jQuery's .attr('src', url) is setAttribute.
		b.navigate(r.page("jquery-attr", `<!DOCTYPE html><title>attr</title><script>
			window.cbAttr = function (data) { window.result = data.path; };
			var script = document.createElement('script');
			script.setAttribute('src', '//MEMBER/files/browse?path=%2F&jsonp=cbAttr');
			document.head.appendChild(script);
		</script>`))
		b.wait("the JSONP callback", `window.result === "/files/browse"`)
		r.waitHit("GET /agent/a1/files/browse?path=%2F&jsonp=cbAttr")
	})

	t.Run("setAttribute_href_then_click", func(t *testing.T) {
		b := tab{t, r.b}
		// AngularJS's href="{{agent_url_prefix}}/files/download?..."
		// ends in setAttribute.
		b.navigate(r.page("click", `<!DOCTYPE html><title>click</title><body><script>
			var a = document.createElement('a');
			a.id = 'download';
			a.textContent = 'download';
			a.setAttribute('href', '//MEMBER/page/download?path=%2Ftmp');
			document.body.appendChild(a);
			window.result = a.getAttribute('href');
		</script>`))
		if got := eval[string](b, `window.result`); got != "/agent/a1/page/download?path=%2Ftmp" {
			t.Errorf("href attribute = %q", got)
		}
		b.run("click the link", chromedp.Click(chromedp.ID("download")))
		b.wait("the agent's page", `document.title === "agent GET /page/download"`)
		r.waitHit("GET /agent/a1/page/download?path=%2Ftmp")
	})

	t.Run("innerHTML_links_and_images", func(t *testing.T) {
		b := tab{t, r.b}
		b.navigate(r.page("inner", `<!DOCTYPE html><title>inner</title><body><div id="box"></div><script>
			document.getElementById('box').innerHTML =
				'<a id="l" href="//MEMBER/page/linked">linked</a> <img id="im" src="//MEMBER/img.png">' +
				'<p><img id="im2" srcset="//MEMBER/img.png?2x 2x"></p>';
		</script>`))
		b.wait("the image", `document.getElementById('im').complete && document.getElementById('im').naturalWidth === 1`)
		b.wait("the srcset image", `document.getElementById('im2').complete && document.getElementById('im2').currentSrc.endsWith("/agent/a1/img.png?2x")`)
		if got := eval[string](b, `document.getElementById('l').getAttribute('href')`); got != "/agent/a1/page/linked" {
			t.Errorf("link from innerHTML: href = %q", got)
		}
		r.waitHit("GET /agent/a1/img.png")
		r.waitHit("GET /agent/a1/img.png?2x")
	})

	t.Run("insertAdjacentHTML_and_outerHTML", func(t *testing.T) {
		b := tab{t, r.b}
		b.navigate(r.page("adjacent", `<!DOCTYPE html><title>adjacent</title><body><p id="p">p</p><span id="s">s</span><script>
			document.getElementById('p').insertAdjacentHTML('afterend', '<img id="a1" src="//MEMBER/img.png?adjacent">');
			document.getElementById('s').outerHTML = '<img id="a2" src="//MEMBER/img.png?outer">';
		</script>`))
		b.wait("both images", `document.getElementById('a1').naturalWidth === 1 && document.getElementById('a2').naturalWidth === 1`)
		r.waitHit("GET /agent/a1/img.png?adjacent")
		r.waitHit("GET /agent/a1/img.png?outer")
	})

	t.Run("window_open", func(t *testing.T) {
		b := tab{t, r.b}
		// The Mesos WebUI's log viewer opens a window the same way.
		b.navigate(r.page("open", `<!DOCTYPE html><title>open</title><body><script>
			function openPailer() {
				window.open('//MEMBER/popup/log?path=%2Fstdout', 'pailer', 'width=580px, height=700px');
				return 1;
			}
		</script>`))
		popup := r.b.Popup()
		eval[int](b, `openPailer()`)
		ctx := popup()
		waitIn(t, ctx, "the popup to load the agent's page through the gateway", `document.title === "agent GET /popup/log"`)
		r.waitHit("GET /agent/a1/popup/log?path=%2Fstdout")
	})

	t.Run("form_submit", func(t *testing.T) {
		b := tab{t, r.b}
		// form.submit() fires no submit event; the action set through
		// setAttribute is mapped when it is set.
		b.navigate(r.page("form", `<!DOCTYPE html><title>form</title><body><form id="f" method="post"><input name="x" value="1"></form><script>
			document.getElementById('f').setAttribute('action', '//MEMBER/form/posted');
		</script>`))
		eval[any](b, `document.getElementById('f').submit(), 1`)
		b.wait("the posted page", `document.title === "agent POST /form/posted"`)
		r.waitHit("POST /agent/a1/form/posted")
	})

	t.Run("form_submit_event_backstop", func(t *testing.T) {
		b := tab{t, r.b}
		// An action set as an Attr node passes no hook but the submit
		// event's.
		b.navigate(r.page("form2", `<!DOCTYPE html><title>form2</title><body><form id="f" method="post"><button id="go">go</button></form><script>
			var a = document.createAttribute('action');
			a.value = '//MEMBER/form/clicked';
			document.getElementById('f').setAttributeNode(a);
		</script>`))
		b.run("click submit", chromedp.Click(chromedp.ID("go")))
		b.wait("the posted page", `document.title === "agent POST /form/clicked"`)
		r.waitHit("POST /agent/a1/form/clicked")
	})

	t.Run("fetch_request_xhr", func(t *testing.T) {
		b := tab{t, r.b}
		b.navigate(r.page("fetch", `<!DOCTYPE html><title>fetch</title><body><script>
			window.results = {};
			fetch('//MEMBER/api/fetch').then(r => r.json()).then(d => { results.fetch = d.path; });
			fetch(new Request('http://MEMBER/api/request')).then(r => r.json()).then(d => { results.request = d.path; });
			fetch(new URL('http://MEMBER/api/url')).then(r => r.json()).then(d => { results.url = d.path; });
			var x = new XMLHttpRequest();
			x.open('GET', '//MEMBER/api/xhr?x=1');
			x.onload = function () { results.xhr = JSON.parse(x.responseText).path; };
			x.send();
		</script>`))
		b.wait("all four requests", `results.fetch === "/api/fetch" && results.request === "/api/request" && results.url === "/api/url" && results.xhr === "/api/xhr"`)
		r.waitHit("GET /agent/a1/api/xhr?x=1")
	})

	t.Run("eventsource", func(t *testing.T) {
		b := tab{t, r.b}
		b.navigate(r.page("events", `<!DOCTYPE html><title>events</title><body><script>
			var es = new EventSource('//MEMBER/events');
			es.onmessage = function (e) { window.result = e.data; es.close(); };
		</script>`))
		b.wait("the event", `window.result === "hello from the gateway"`)
		r.waitHit("GET /agent/a1/events")
	})

	t.Run("websocket", func(t *testing.T) {
		b := tab{t, r.b}
		b.navigate(r.page("ws", `<!DOCTYPE html><title>ws</title><body><script>
			var ws = new WebSocket('ws://MEMBER/ws');
			ws.onmessage = function (e) { window.result = e.data; ws.close(); };
			window.wsURL = ws.url;
		</script>`))
		b.wait("the message", `window.result === "hello over websocket"`)
		if got, want := eval[string](b, `window.wsURL`), "ws://"+strings.TrimPrefix(r.gw.URL, "http://")+"/agent/a1/ws"; got != want {
			t.Errorf("WebSocket URL = %q, want %q", got, want)
		}
		r.waitHit("GET /agent/a1/ws")
	})

	t.Run("history_pushState_under_prefix", func(t *testing.T) {
		b := tab{t, r.b}
		b.navigate(r.gw.URL + "/service/fw" + strings.TrimPrefix(r.page("history", `<!DOCTYPE html><title>history</title><body><script>
			history.pushState({}, '', '/pushed/state?x=1');
			window.result = location.pathname + location.search;
			fetch('/api/data').then(r => r.json()).then(d => { window.api = d.from; });
		</script>`), r.gw.URL))
		if got := eval[string](b, `window.result`); got != "/service/fw/pushed/state?x=1" {
			t.Errorf("after pushState the location is %q", got)
		}
		b.wait("the framework's API", `window.api === "framework api"`)
		r.waitHit("GET /service/fw/api/data")
	})

	t.Run("same_origin_under_prefix", func(t *testing.T) {
		b := tab{t, r.b}
		// A framework's script builds absolute URLs from location.host
		// for its own root: under a prefix what it sends means the
		// prefix, as a root-relative URL does. Links on the page's own
		// origin keep what the script wrote until they are followed
		// (TestRuntimeOwnOrigin); links to the leader's root stay.
		b.navigate(r.framework("self", `<!DOCTYPE html><title>self</title><body><script>
			var ws = new WebSocket('ws://' + location.host + '/ws?x=1');
			window.wsURL = ws.url;
			ws.close();
			var a = document.createElement('a');
			a.setAttribute('href', location.origin + '/jobs');
			var under = document.createElement('a');
			under.setAttribute('href', location.origin + '/service/fw/x');
			window.result = [a.getAttribute('href'), under.getAttribute('href')].join(' ');
			fetch(location.origin + '/api/self').then(r => r.json()).then(d => { window.api = d.from; });
		</script>`))
		host := strings.TrimPrefix(r.gw.URL, "http://")
		if got, want := eval[string](b, `window.wsURL`), "ws://"+host+"/service/fw/ws?x=1"; got != want {
			t.Errorf("WebSocket URL = %q, want %q", got, want)
		}
		if got, want := eval[string](b, `window.result`), r.gw.URL+"/jobs "+r.gw.URL+"/service/fw/x"; got != want {
			t.Errorf("hrefs = %q, want %q", got, want)
		}
		b.wait("the framework's API", `window.api === "framework api"`)
		r.waitHit("GET /service/fw/api/self")
	})

	t.Run("style_properties", func(t *testing.T) {
		b := tab{t, r.b}
		b.navigate(r.page("style", `<!DOCTYPE html><title>style</title><body><script>
			var d = document.createElement('div');
			d.style.width = '10px';
			d.style.height = '10px';
			d.style.backgroundImage = 'url(//MEMBER/img.png?bg)';
			d.style.setProperty('list-style-image', 'url("//MEMBER/img.png?list")');
			d.setAttribute('style', d.getAttribute('style') + '; border-image: url(http://MEMBER/img.png?attr) 1');
			document.body.appendChild(d);
			window.result = d.getAttribute('style');
		</script>`))
		got := eval[string](b, `window.result`)
		for _, want := range []string{`url("/agent/a1/img.png?bg")`, `url("/agent/a1/img.png?list")`, `url(/agent/a1/img.png?attr)`} {
			if !strings.Contains(got, want) {
				t.Errorf("style = %q, want it to hold %s", got, want)
			}
		}
		r.waitHit("GET /agent/a1/img.png?bg")
	})

	t.Run("csp_page", func(t *testing.T) {
		b := tab{t, r.b}
		// The page's policy allows its own scripts only: the runtime runs
		// because the gateway added its hash.
		r.page("csp.js", `window.cspCallback = function (d) { window.result = d.path; };
			var s = document.createElement('script');
			s.src = '//MEMBER/state?jsonp=cspCallback';
			document.head.appendChild(s);`)
		b.navigate(r.page("csp", `<!DOCTYPE html><title>csp</title><script src="/t/csp.js"></script>`) + "?csp=" + url.QueryEscape("script-src 'self'"))
		b.wait("the JSONP callback", `window.result === "/state"`)
		r.waitHit("GET /agent/a1/state?jsonp=cspCallback")
	})

	t.Run("unknown_urls_and_odd_values_are_left_alone", func(t *testing.T) {
		b := tab{t, r.b}
		b.navigate(r.page("unknown", `<!DOCTYPE html><title>unknown</title><body><a id="a">a</a><script>
			var out = {};
			var a = document.getElementById('a');
			a.setAttribute('href', 'http://unknown.invalid/x'); out.unknown = a.getAttribute('href');
			a.setAttribute('href', '/agent/a1/already'); out.already = a.getAttribute('href');
			a.setAttribute('href', 'relative?x#y'); out.relative = a.getAttribute('href');
			a.setAttribute('href', 'javascript:void(0)'); out.js = a.getAttribute('href');
			a.setAttribute('data-x', '//MEMBER/not-a-url-attribute'); out.data = a.getAttribute('data-x');
			a.href = {toString: function () { return '/objects-convert'; }}; out.object = a.getAttribute('href');
			try { a.setAttribute('href'); } catch (e) { out.missing = e.name; }
			out.map = window.__mesosgate.map('//MEMBER/x');
			fetch('http://127.0.0.1:1/refused').then(function () { out.fetch = 'resolved'; }, function (e) { out.fetch = e.name; });
			window.out = out;
		</script>`))
		b.wait("the refused fetch to settle", `window.out && window.out.fetch === "TypeError"`)
		got := eval[map[string]string](b, `window.out`)
		want := map[string]string{
			"unknown": "http://unknown.invalid/x", "already": "/agent/a1/already", "relative": "relative?x#y",
			"js": "javascript:void(0)", "data": "//" + r.hosts[0] + "/not-a-url-attribute", "object": "/objects-convert",
			"missing": "TypeError", "map": "/agent/a1/x", "fetch": "TypeError",
		}
		for k, v := range want {
			if got[k] != v {
				t.Errorf("%s: got %q, want %q", k, got[k], v)
			}
		}
	})

	t.Run("runtime_leaves_no_trace_in_the_document", func(t *testing.T) {
		b := tab{t, r.b}
		b.navigate(r.page("trace", `<!DOCTYPE html><html><head><meta charset="utf-8"><title>trace</title></head><body></body></html>`))
		got := eval[string](b, `document.head.innerHTML`)
		if got != `<meta charset="utf-8"><title>trace</title>` {
			t.Errorf("<head> after the runtime ran: %q", got)
		}
	})

	r.assertMemberUntouched()
	for _, f := range r.b.Network().Failures() {
		if !strings.Contains(f, "/favicon.ico") && !strings.Contains(f, "127.0.0.1:1/refused") {
			t.Errorf("failed request: %s", f)
		}
	}
}
