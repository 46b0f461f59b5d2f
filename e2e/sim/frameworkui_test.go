package sim

import (
	"bufio"
	"net/http"
	"net/http/cookiejar"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/websocket"
)

// TestFrameworkUI checks what a framework UI gives a gateway to carry:
// links of every kind, redirects, a cookie with a Path, an event stream
// and a WebSocket, at the root and under a path.
func TestFrameworkUI(t *testing.T) {
	c := start(t, Options{Frameworks: []FrameworkSpec{{Name: "marathon"}, {Name: "jenkins", UIPath: "/jenkins/"}, {Name: "batch", NoUI: true}}})
	for _, f := range c.Frameworks() {
		if f.UI() == nil {
			if f.WebUIURL() != "" {
				t.Errorf("%s has no UI but webui_url %q", f.Name(), f.WebUIURL())
			}
			continue
		}
		t.Run(f.Name(), func(t *testing.T) {
			origin := "http://" + f.UI().HostPort()
			base := strings.TrimPrefix(f.WebUIURL(), origin)
			if base == "" {
				base = "/"
			}
			r := get(t, origin+base)
			body := string(r.body)
			for _, want := range []string{
				`href="` + base + `jobs"`,          // root-relative
				`href="` + origin + base + `jobs"`, // absolute
				`href="jobs"`,                      // relative
				`src="` + base + `static/app.js"`,
				`href="` + base + `static/app.css"`,
			} {
				if !strings.Contains(body, want) {
					t.Errorf("page lacks %s", want)
				}
			}
			cookie := r.header.Get("Set-Cookie")
			if !strings.HasPrefix(cookie, f.Name()+"_session=") || !strings.Contains(cookie, "Path="+base+";") {
				t.Errorf("Set-Cookie %q, want %s_session with Path=%s", cookie, f.Name(), base)
			}
			if r := get(t, origin+base+"redirect"); r.status != http.StatusFound || r.header.Get("Location") != origin+base+"jobs" {
				t.Errorf("redirect: %d %q, want 302 to %s", r.status, r.header.Get("Location"), origin+base+"jobs")
			}
			if r := get(t, origin+base+"redirect-relative"); r.status != http.StatusFound || r.header.Get("Location") != base+"jobs" {
				t.Errorf("redirect-relative: %d %q", r.status, r.header.Get("Location"))
			}
			if r := get(t, origin+base+"jobs"); r.status != 200 || !strings.Contains(string(r.body), f.Name()+"-job-1") {
				t.Errorf("jobs: %d", r.status)
			}
			if base != "/" {
				if r := get(t, origin+strings.TrimSuffix(base, "/")); r.status != http.StatusMovedPermanently || r.header.Get("Location") != base {
					t.Errorf("bare path: %d %q, want 301 to %s", r.status, r.header.Get("Location"), base)
				}
				if r := get(t, origin+"/jobs"); r.status != 404 {
					t.Errorf("outside the UI path: %d, want 404", r.status)
				}
			}

			// The cookie comes back to the app.
			jar, _ := cookiejar.New(nil)
			cl := &http.Client{Jar: jar, Timeout: 10 * time.Second}
			resp, err := cl.Get(origin + base)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			var info map[string]string
			resp, err = cl.Get(origin + base + "api/info")
			if err != nil {
				t.Fatal(err)
			}
			decodeJSON(t, resp, &info)
			if info["cookie"] == "" || info["path"] != base+"api/info" || info["framework"] != f.Name() {
				t.Errorf("api/info = %v", info)
			}

			// Two events from the stream.
			resp, err = http.Get(origin + base + "events")
			if err != nil {
				t.Fatal(err)
			}
			if resp.Header.Get("Content-Type") != "text/event-stream" {
				t.Errorf("events Content-Type %q", resp.Header.Get("Content-Type"))
			}
			sc := bufio.NewScanner(resp.Body)
			var data []string
			for sc.Scan() && len(data) < 2 {
				if d, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
					data = append(data, d)
				}
			}
			resp.Body.Close()
			if len(data) != 2 || !strings.Contains(data[1], `"n":2`) {
				t.Errorf("events: %v", data)
			}

			// The WebSocket greets and echoes.
			ws, err := websocket.Dial("ws://"+f.UI().HostPort()+base+"ws", "", origin)
			if err != nil {
				t.Fatal(err)
			}
			defer ws.Close()
			ws.SetDeadline(time.Now().Add(10 * time.Second))
			var msg string
			if err := websocket.Message.Receive(ws, &msg); err != nil || msg != "welcome to "+f.Name() {
				t.Errorf("greeting %q, %v", msg, err)
			}
			websocket.Message.Send(ws, "ping")
			if err := websocket.Message.Receive(ws, &msg); err != nil || msg != "echo: ping" {
				t.Errorf("echo %q, %v", msg, err)
			}
		})
	}
}

// TestFrameworkUIPoll: the long poll says nothing until its time has
// passed, header included, unless asked for its header first.
func TestFrameworkUIPoll(t *testing.T) {
	c := start(t, Options{Frameworks: []FrameworkSpec{{Name: "marathon"}}})
	url := c.Frameworks()[0].WebUIURL() + "/poll?after=400ms"
	for _, header := range []string{"", "first"} {
		t.Run("header="+header, func(t *testing.T) {
			start := time.Now()
			resp, err := http.Get(url + "&header=" + header)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			headerAfter := time.Since(start)
			var body struct{ Waited string }
			if err := jsonDecode(resp, &body); err != nil {
				t.Fatal(err)
			}
			total := time.Since(start)
			switch {
			case body.Waited != "400ms" || total < 400*time.Millisecond:
				t.Errorf("answered %+v after %s, want 400ms after 400ms", body, total)
			case header == "" && headerAfter < 400*time.Millisecond:
				t.Errorf("the header came after %s, before the answer", headerAfter)
			case header == "first" && headerAfter > 300*time.Millisecond:
				t.Errorf("the header came after %s, not at once", headerAfter)
			}
		})
	}
	if r := get(t, c.Frameworks()[0].WebUIURL()+"/poll?after=soon"); r.status != http.StatusBadRequest {
		t.Errorf("after=soon: %d, want 400", r.status)
	}
}

// TestFrameworkUIStopEndsStreams stops a UI while a WebSocket and an event
// stream are open: both end, and Stop returns.
func TestFrameworkUIStopEndsStreams(t *testing.T) {
	c := start(t, Options{Frameworks: []FrameworkSpec{{Name: "marathon"}}})
	f := c.Frameworks()[0]
	ws, err := websocket.Dial("ws://"+f.UI().HostPort()+"/ws", "", "http://localhost/")
	if err != nil {
		t.Fatal(err)
	}
	defer ws.Close()
	resp, err := http.Get(f.WebUIURL() + "/events")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if err := f.UI().Stop(); err != nil {
		t.Fatal(err)
	}
	ws.SetDeadline(time.Now().Add(10 * time.Second))
	var msg string
	websocket.Message.Receive(ws, &msg) // the greeting, if not read yet
	if err := websocket.Message.Receive(ws, &msg); err == nil {
		t.Errorf("WebSocket still open after Stop: %q", msg)
	}
}

func decodeJSON(t *testing.T, resp *http.Response, v any) {
	t.Helper()
	defer resp.Body.Close()
	if err := jsonDecode(resp, v); err != nil {
		t.Fatalf("decode %s: %v", resp.Request.URL, err)
	}
}

// TestFrameworkUIHandler: a framework's Handler answers what its own pages
// do not, under its UI path, and never shadows them.
func TestFrameworkUIHandler(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Service-Worker-Allowed", "/")
		w.Header().Set("Content-Type", "text/javascript")
		w.Write([]byte("// " + r.URL.Path))
	})
	c := start(t, Options{Frameworks: []FrameworkSpec{{Name: "hostile", UIPath: "/app/", Handler: h}}})
	base := c.Frameworks()[0].WebUIURL()
	r := get(t, base+"sw.js")
	if r.status != 200 || string(r.body) != "// /app/sw.js" || r.header.Get("Service-Worker-Allowed") != "/" {
		t.Errorf("the handler's script: %d %v %q", r.status, r.header, r.body)
	}
	if r := get(t, base+"jobs"); r.status != 200 || !strings.Contains(string(r.body), "hostile-job-1") {
		t.Errorf("the UI's own page: %d", r.status)
	}
	if r := get(t, strings.TrimSuffix(base, "app/")+"sw.js"); r.status != 404 {
		t.Errorf("outside the UI path: %d, want 404", r.status)
	}
}
