package sim

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"strings"
	"time"

	"golang.org/x/net/websocket"
)

// frameworkUI is a framework's web UI; Framework's doc lists its pages.
type frameworkUI struct {
	f   *Framework
	mux *http.ServeMux
}

func newFrameworkUI(f *Framework) *frameworkUI {
	u := &frameworkUI{f: f, mux: http.NewServeMux()}
	base := f.uiPath()
	u.mux.HandleFunc("GET "+base+"{$}", u.index)
	u.mux.HandleFunc("GET "+base+"jobs", u.jobs)
	u.mux.HandleFunc("GET "+base+"redirect", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "http://"+f.ui.HostPort()+base+"jobs", http.StatusFound)
	})
	u.mux.HandleFunc("GET "+base+"redirect-relative", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, base+"jobs", http.StatusFound)
	})
	u.mux.HandleFunc("GET "+base+"events", u.events)
	u.mux.HandleFunc("GET "+base+"poll", u.poll)
	u.mux.Handle("GET "+base+"ws", websocket.Server{Handler: u.websocket})
	u.mux.HandleFunc("GET "+base+"api/info", u.info)
	u.mux.HandleFunc("GET "+base+"static/app.css", u.static("text/css; charset=utf-8", frameworkCSS))
	u.mux.HandleFunc("GET "+base+"static/app.js", u.static("text/javascript; charset=utf-8", fmt.Sprintf(frameworkJS, base)))
	u.mux.HandleFunc("GET "+base+"static/logo.svg", u.static("image/svg+xml", frameworkLogo))
	if f.spec.Handler != nil {
		u.mux.Handle(base, f.spec.Handler)
	}
	return u
}

func (u *frameworkUI) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	// An app under a path sends its bare path to the path with a slash,
	// as most do.
	if base := u.f.uiPath(); base != "/" && r.URL.Path == strings.TrimSuffix(base, "/") {
		http.Redirect(w, r, base, http.StatusMovedPermanently)
		return
	}
	u.mux.ServeHTTP(w, r)
}

// cookieName is the session cookie the UI sets.
func (u *frameworkUI) cookieName() string { return u.f.name + "_session" }

type pageData struct {
	Name, ID, Base, Absolute, Cookie, Title string
}

func (u *frameworkUI) data(title string) pageData {
	return pageData{Name: u.f.name, ID: u.f.id, Base: u.f.uiPath(), Absolute: "http://" + u.f.ui.HostPort() + u.f.uiPath(), Cookie: u.cookieName(), Title: title}
}

func (u *frameworkUI) index(w http.ResponseWriter, r *http.Request) {
	if _, err := r.Cookie(u.cookieName()); err != nil {
		var b [8]byte
		rand.Read(b[:])
		http.SetCookie(w, &http.Cookie{Name: u.cookieName(), Value: hex.EncodeToString(b[:]), Path: u.f.uiPath(), HttpOnly: true, SameSite: http.SameSiteLaxMode})
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	frameworkPages.ExecuteTemplate(w, "index", u.data("Overview"))
}

func (u *frameworkUI) jobs(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	frameworkPages.ExecuteTemplate(w, "jobs", u.data("Jobs"))
}

func (u *frameworkUI) static(ctype, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", ctype)
		w.Write([]byte(body))
	}
}

// info reports what reached the app, for tests through a gateway.
func (u *frameworkUI) info(w http.ResponseWriter, r *http.Request) {
	cookie := ""
	if c, err := r.Cookie(u.cookieName()); err == nil {
		cookie = c.Value
	}
	writeJSON(w, r, map[string]string{
		"framework":         u.f.name,
		"id":                u.f.id,
		"path":              r.URL.Path,
		"host":              r.Host,
		"cookie":            cookie,
		"x_forwarded_for":   r.Header.Get("X-Forwarded-For"),
		"x_forwarded_proto": r.Header.Get("X-Forwarded-Proto"),
		"x_forwarded_host":  r.Header.Get("X-Forwarded-Host"),
	})
}

// events streams a "tick" event now and then every second until the
// client goes or the UI stops.
func (u *frameworkUI) events(w http.ResponseWriter, r *http.Request) {
	flusher, ok := w.(http.Flusher)
	if !ok {
		text(w, http.StatusInternalServerError, "streaming unsupported")
		return
	}
	w.Header().Set("Content-Type", "text/event-stream")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(http.StatusOK)
	ticker := time.NewTicker(time.Second)
	defer ticker.Stop()
	for n := 1; ; n++ {
		fmt.Fprintf(w, "event: tick\nid: %d\ndata: {\"framework\":%q,\"n\":%d}\n\n", n, u.f.name, n)
		flusher.Flush()
		select {
		case <-ticker.C:
		case <-r.Context().Done():
			return
		}
	}
}

// poll is a long poll: it answers {"waited": "<after>"} once after has
// passed in silence (?after=2m; default one second). It sends nothing
// before, not even its header, as an API that holds a request until it
// has news does; ?header=first sends the header at once and the body
// after, as Syncthing's rest/events does. The client going, or the UI
// stopping, ends it without an answer.
func (u *frameworkUI) poll(w http.ResponseWriter, r *http.Request) {
	after := time.Second
	if v := r.URL.Query().Get("after"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			text(w, http.StatusBadRequest, "after: give a duration such as 2m")
			return
		}
		after = d
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache")
	if r.URL.Query().Get("header") == "first" {
		w.WriteHeader(http.StatusOK)
		http.NewResponseController(w).Flush()
	}
	timer := time.NewTimer(after)
	defer timer.Stop()
	select {
	case <-timer.C:
		fmt.Fprintf(w, "{\"waited\":%q}\n", after.String())
	case <-r.Context().Done():
	}
}

// websocket greets, then echoes every message until the client goes or
// the UI stops.
func (u *frameworkUI) websocket(ws *websocket.Conn) {
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-ws.Request().Context().Done():
			ws.Close()
		case <-done:
		}
	}()
	if err := websocket.Message.Send(ws, "welcome to "+u.f.name); err != nil {
		return
	}
	for {
		var msg string
		if err := websocket.Message.Receive(ws, &msg); err != nil {
			return
		}
		if err := websocket.Message.Send(ws, "echo: "+msg); err != nil {
			return
		}
	}
}

var frameworkPages = template.Must(template.New("").Parse(`
{{define "head"}}<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Name}}: {{.Title}}</title>
<link rel="stylesheet" href="{{.Base}}static/app.css">
</head>
<body>
<header><img src="{{.Base}}static/logo.svg" alt="" width="32" height="32"><h1>{{.Name}}</h1><span class="id">{{.ID}}</span></header>
<nav>
  <a id="home" href="{{.Base}}">Overview</a>
  <a id="root-relative" href="{{.Base}}jobs">Jobs</a>
  <a id="absolute" href="{{.Absolute}}jobs">Jobs (absolute link)</a>
  <a id="relative" href="jobs">Jobs (relative link)</a>
  <a id="redirect" href="{{.Base}}redirect">Jobs (through a redirect)</a>
  <a id="api" href="{{.Base}}api/info">API</a>
</nav>
<main>
{{end}}
{{define "foot"}}</main>
<script src="{{.Base}}static/app.js"></script>
</body>
</html>
{{end}}
{{define "index"}}{{template "head" .}}
<h2>Overview</h2>
<p>A simulated framework UI, served in plain HTTP by <code>mesosgate sim</code>.</p>
<dl>
  <dt>Event stream</dt><dd id="events">connecting…</dd>
  <dt>WebSocket</dt><dd id="ws">connecting…</dd>
</dl>
<form action="{{.Base}}api/info" method="get"><button type="submit">Show what the app receives</button></form>
{{template "foot" .}}{{end}}
{{define "jobs"}}{{template "head" .}}
<h2>Jobs</h2>
<table>
  <tr><th>Job</th><th>State</th></tr>
  <tr><td>{{.Name}}-job-1</td><td class="ok">running</td></tr>
  <tr><td>{{.Name}}-job-2</td><td>idle</td></tr>
</table>
<p><a id="back" href="{{.Base}}">Back to the overview</a></p>
{{template "foot" .}}{{end}}
`))

const frameworkCSS = `body{font-family:system-ui,sans-serif;margin:0;color:#1f2933;background:#f5f7fa}
header{display:flex;align-items:center;gap:.75rem;padding:.75rem 1.5rem;background:#243b53;color:#fff}
header h1{font-size:1.25rem;margin:0}.id{opacity:.7;font-family:monospace;font-size:.8rem}
nav{display:flex;gap:1rem;padding:.5rem 1.5rem;background:#d9e2ec}nav a{color:#102a43}
main{padding:1rem 1.5rem}dd{font-family:monospace}table{border-collapse:collapse}td,th{padding:.25rem .75rem;border-bottom:1px solid #bcccdc;text-align:left}.ok{color:#2f8132}
`

const frameworkLogo = `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 32 32"><circle cx="16" cy="16" r="14" fill="#f0b429"/><path d="M9 20l7-10 7 10z" fill="#243b53"/></svg>`

// frameworkJS opens the event stream and the WebSocket under the UI's base
// path (%[1]s), as a framework's own script would.
const frameworkJS = `(function () {
  var base = %[1]q;
  var ev = document.getElementById("events"), ws = document.getElementById("ws");
  if (ev && window.EventSource) {
    var es = new EventSource(base + "events");
    es.addEventListener("tick", function (e) { ev.textContent = "tick " + JSON.parse(e.data).n; });
    es.onerror = function () { ev.textContent = "disconnected"; };
  }
  if (ws && window.WebSocket) {
    var sock = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host + base + "ws");
    sock.onmessage = function (m) {
      ws.textContent = m.data;
      if (m.data.indexOf("welcome") === 0) { sock.send("hello"); }
    };
    sock.onerror = function () { ws.textContent = "error"; };
  }
})();
`
