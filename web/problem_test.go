package web

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// Accept headers real clients send.
const (
	acceptChrome  = "text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,image/webp,image/apng,*/*;q=0.8,application/signed-exchange;v=b3;q=0.7"
	acceptFirefox = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8"
	acceptCurl    = "*/*"
)

// TestProblemNegotiation checks that browsers get the HTML page and API
// clients the problem JSON, by the Accept header alone.
func TestProblemNegotiation(t *testing.T) {
	tests := []struct {
		name   string
		accept string
		html   bool
	}{
		{"chrome", acceptChrome, true},
		{"firefox", acceptFirefox, true},
		{"curl", acceptCurl, false},
		{"none", "", false},
		{"json", "application/json", false},
		{"problem_json", "application/problem+json", false},
		{"json_preferred", "text/html;q=0.5, application/json", false},
		{"html_preferred", "application/json;q=0.5, text/html", true},
		{"equal_quality", "application/json, text/html", true},
		{"html_refused", "text/html;q=0, */*", false},
		{"text_wildcard", "text/*", false},
		{"garbage", "%%%, ;;", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPages(t, Dashboard{})
			r := httptest.NewRequest("GET", "/agent/S9/files", nil)
			if tt.accept != "" {
				r.Header.Set("Accept", tt.accept)
			}
			w := httptest.NewRecorder()
			pr := UnknownAgent("S9")
			pr.RequestID = "req-42"
			p.WriteProblem(w, r, pr)

			if w.Code != http.StatusNotFound {
				t.Errorf("status %d, want 404", w.Code)
			}
			if got := w.Header().Get("Vary"); got != "Accept" {
				t.Errorf("Vary %q, want Accept", got)
			}
			if got := w.Header().Get("Cache-Control"); got != "no-store" {
				t.Errorf("Cache-Control %q", got)
			}
			ct := w.Header().Get("Content-Type")
			if tt.html {
				if ct != "text/html; charset=utf-8" {
					t.Fatalf("Content-Type %q, want HTML", ct)
				}
				doc := parse(t, w.Body.String())
				for _, want := range []string{"404 Not Found", "Unknown agent", `The cluster has no agent with id "S9".`, "What you can do", pr.Action, "Request id req-42"} {
					if !strings.Contains(text(doc), want) {
						t.Errorf("page lacks %q:\n%s", want, text(doc))
					}
				}
				if got := text(byTag(doc, "h1")[0]); got != "Unknown agent" {
					t.Errorf("h1 %q", got)
				}
				return
			}
			if ct != "application/problem+json" {
				t.Fatalf("Content-Type %q, want application/problem+json", ct)
			}
			var got Problem
			if err := json.Unmarshal(w.Body.Bytes(), &got); err != nil {
				t.Fatalf("decode: %v\n%s", err, w.Body)
			}
			pr.Retry = false
			if got != pr {
				t.Errorf("JSON %+v, want %+v", got, pr)
			}
		})
	}
}

// TestProblemJSONShape pins the member names of the problem document: RFC
// 9457's type/status/title/detail plus our action and request_id, and
// nothing of the HTML page's (retry).
func TestProblemJSONShape(t *testing.T) {
	p := newPages(t, Dashboard{})
	r := httptest.NewRequest("GET", "/agent/S1/", nil)
	w := httptest.NewRecorder()
	w.Header().Set("X-Request-Id", "from-middleware")
	p.WriteProblem(w, r, Unreachable(Ref{Role: RoleAgent, ID: "S1", Address: "10.0.0.5:5051"}, "tls: connection refused; plain: connection refused"))
	var m map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &m); err != nil {
		t.Fatal(err)
	}
	want := map[string]any{
		"type":       "tag:mesosgate.github.io,2025:member-unreachable",
		"status":     float64(502),
		"title":      "Member unreachable",
		"detail":     "The gateway could not reach agent S1 (10.0.0.5:5051) over TLS or plain HTTP. The probe says: tls: connection refused; plain: connection refused.",
		"action":     Unreachable(Ref{}, "").Action,
		"request_id": "from-middleware",
	}
	if len(m) != len(want) {
		t.Errorf("members %v, want %v", m, want)
	}
	for k, v := range want {
		if m[k] != v {
			t.Errorf("%s = %#v, want %#v", k, m[k], v)
		}
	}
}

// TestProblemKinds renders every constructor as a page and checks that
// each says what happened and what to do, with the right status, and that
// only transient problems offer to try again.
func TestProblemKinds(t *testing.T) {
	agent := Ref{Role: RoleAgent, ID: "S3", Address: "10.0.0.7:5051"}
	tests := []struct {
		name   string
		pr     Problem
		status int
		detail string
		retry  bool
	}{
		{"unknown_agent", UnknownAgent("S3"), 404, `The cluster has no agent with id "S3".`, false},
		{"unknown_framework", UnknownFramework("marathon"), 404, `No framework named or with id "marathon"`, false},
		{"unknown_master", UnknownMaster("10.9.9.9:5050"), 404, `"10.9.9.9:5050" is not a master of this cluster.`, false},
		{"unreachable", Unreachable(agent, "tls: i/o timeout; plain: i/o timeout"), 502, "The gateway could not reach agent S3 (10.0.0.7:5051) over TLS or plain HTTP. The probe says: tls: i/o timeout; plain: i/o timeout.", true},
		{"no_leader", NoLeader(), 503, "None of the masters", true},
		{"stale", Stale(12*time.Minute, 10*time.Minute, "no leading master"), 503, "The gateway last learned the cluster's members 12 min ago, longer than its 10 min limit, so it cannot tell where members are. The last discovery failed: no leading master.", true},
		{"timeout", UpstreamTimeout(agent, 30*time.Second), 504, "Agent S3 (10.0.0.7:5051) did not answer within 30 s.", true},
		{"absolute", AbsoluteTarget(), 400, "this gateway only serves paths of its own", false},
		{"escape", PathEscape("/agent/S3/../../etc"), 400, `the path "/agent/S3/../../etc" no longer lies under the route`, false},
		{"bad_request", BadRequest("The Host header is missing."), 400, "The Host header is missing.", false},
		{"internal", Internal(), 500, "The gateway failed while handling this request.", true},
		{"zero", Problem{}, 500, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := newPages(t, Dashboard{})
			r := httptest.NewRequest("GET", "/agent/S3/browse?path=/x", nil)
			r.Header.Set("Accept", acceptChrome)
			r.Header.Set("X-Request-Id", "abc123")
			w := httptest.NewRecorder()
			p.WriteProblem(w, r, tt.pr)
			if w.Code != tt.status {
				t.Errorf("status %d, want %d", w.Code, tt.status)
			}
			doc := parse(t, w.Body.String())
			page := text(doc)
			if !strings.Contains(page, tt.detail) {
				t.Errorf("page lacks %q:\n%s", tt.detail, page)
			}
			if tt.pr.Action != "" && !strings.Contains(page, tt.pr.Action) {
				t.Errorf("page lacks the action")
			}
			if !strings.Contains(page, "Request id abc123") {
				t.Errorf("page lacks the request id")
			}
			var retry string
			for _, a := range byTag(doc, "a") {
				if text(a) == "Try again" {
					retry, _ = attr(a, "href")
				}
			}
			if tt.retry && retry != "/agent/S3/browse?path=/x" {
				t.Errorf("try-again link %q", retry)
			}
			if !tt.retry && retry != "" {
				t.Errorf("try-again link %q on a problem that will not go away", retry)
			}
			assertNoInjectedMarkup(t, doc)
		})
	}
}

// TestProblemEscaping checks that hostile values in a problem (an agent id
// from the URL, a probe's reason) are text on the page and in the JSON,
// and that a hostile request target never becomes the try-again link.
func TestProblemEscaping(t *testing.T) {
	const xss = `<script>alert(1)</script>`
	p := newPages(t, Dashboard{})
	for _, accept := range []string{acceptChrome, "application/json"} {
		r := httptest.NewRequest("GET", "/agent/x", nil)
		r.Header.Set("Accept", accept)
		r.Header.Set("X-Request-Id", `"><script>alert(2)</script>`)
		w := httptest.NewRecorder()
		p.WriteProblem(w, r, Unreachable(Ref{Role: RoleAgent, ID: xss, Address: xss}, xss))
		if strings.Contains(w.Body.String(), "<script>alert") {
			t.Errorf("Accept %s: hostile markup came through:\n%s", accept, w.Body)
		}
	}
	for _, target := range []string{"http://evil.example/x", "//evil.example/x"} {
		r := httptest.NewRequest("GET", "/", nil)
		r.URL.Path = ""
		r.RequestURI = target
		if target[0] == 'h' {
			r.URL.Scheme, r.URL.Host, r.URL.Path = "http", "evil.example", "/x"
		} else {
			r.URL.Path = target
		}
		if got := retryURL(r); got != "" {
			t.Errorf("retryURL for %q = %q, want none", target, got)
		}
	}
}

// TestProblemHead checks that HEAD gets the status and headers, no body.
func TestProblemHead(t *testing.T) {
	p := newPages(t, Dashboard{})
	w := get(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.WriteProblem(w, r, NoLeader())
	}), "HEAD", "/", acceptChrome)
	if w.Code != 503 || w.Body.Len() != 0 || w.Header().Get("Content-Type") == "" {
		t.Errorf("HEAD: status %d, %d body bytes, Content-Type %q", w.Code, w.Body.Len(), w.Header().Get("Content-Type"))
	}
}

// TestProblemRetryAfter checks the header is whole seconds, rounded up.
func TestProblemRetryAfter(t *testing.T) {
	p := newPages(t, Dashboard{})
	pr := Stale(time.Hour, time.Minute, "")
	pr.RetryAfter = 1500 * time.Millisecond
	w := get(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { p.WriteProblem(w, r, pr) }), "GET", "/", "")
	if got := w.Header().Get("Retry-After"); got != "2" {
		t.Errorf("Retry-After %q, want 2", got)
	}
}

// FuzzPrefersHTML feeds arbitrary Accept headers to the negotiation: it
// never panics, and it picks HTML only when the header names an HTML type.
func FuzzPrefersHTML(f *testing.F) {
	for _, s := range []string{acceptChrome, acceptFirefox, acceptCurl, "", "text/html;q=0", "application/json;q=0.5, text/html", "text/html;q=abc", "text/html;q=1.5, */*"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, accept string) {
		if prefersHTML([]string{accept}) && !strings.Contains(strings.ToLower(accept), "html") {
			t.Errorf("chose HTML for %q", accept)
		}
	})
}
