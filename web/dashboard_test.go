package web

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"golang.org/x/net/html"
)

// TestDashboardPhases renders the dashboard in every phase and checks what
// an operator reads: the banner's phase and title, the progress line, the
// badge of every member in its row, the next steps with their members and
// settings, and the problems.
func TestDashboardPhases(t *testing.T) {
	for _, ph := range phases {
		t.Run(string(ph), func(t *testing.T) {
			d := fixture(ph)
			w := get(t, newPages(t, d), "GET", "/gateway/", "text/html")
			if w.Code != http.StatusOK {
				t.Fatalf("status %d, want 200", w.Code)
			}
			if ct := w.Header().Get("Content-Type"); ct != "text/html; charset=utf-8" {
				t.Errorf("Content-Type %q", ct)
			}
			if cc := w.Header().Get("Cache-Control"); cc != "no-store" {
				t.Errorf("Cache-Control %q, want no-store", cc)
			}
			doc := parse(t, w.Body.String())
			banner := one(t, doc, "phase")
			if !hasClass(banner, "phase-"+string(ph)) {
				t.Errorf("banner class %v lacks phase-%s", banner.Attr, ph)
			}
			if got := text(byID(doc, "phase-title")); got != ph.Title() {
				t.Errorf("banner title %q, want %q", got, ph.Title())
			}
			if got := text(one(t, doc, "phase-code")); got != string(ph) {
				t.Errorf("phase code %q, want %q", got, ph)
			}
			if got := text(one(t, doc, "phase-explain")); got != ph.Explanation() {
				t.Errorf("explanation %q", got)
			}
			current := byClass(banner, "station-current")
			if len(current) != 1 || !strings.HasPrefix(text(current[0]), trackLabels[ph.Index()]) {
				t.Errorf("current station %q, want %q", text(current[0]), trackLabels[ph.Index()])
			}
			if len(byClass(banner, "station-done")) != ph.Index() {
				t.Errorf("%d stations done, want %d", len(byClass(banner, "station-done")), ph.Index())
			}
			assertMemberRows(t, doc, d)
			assertSteps(t, doc, d)
			if got, want := len(byClass(banner, "alert-error")), len(d.Problems); got != want {
				t.Errorf("%d error alerts, want %d", got, want)
			}
			for _, f := range d.Frameworks {
				if !strings.Contains(text(doc), f.Name) {
					t.Errorf("framework %s missing", f.Name)
				}
			}
		})
	}
}

// assertMemberRows checks every member's row: badge text and class, TLS
// version, expiry, warnings, browse link.
func assertMemberRows(t *testing.T, doc *html.Node, d Dashboard) {
	t.Helper()
	rows := byClass(doc, "member")
	if len(rows) != len(d.Members) {
		t.Fatalf("%d member rows, want %d", len(rows), len(d.Members))
	}
	for i, m := range d.Members {
		row := byID(doc, anchor(m.Address))
		if row != rows[i] {
			t.Fatalf("row %d is not member %s", i, m.Address)
		}
		badge := one(t, row, "badge")
		if got := text(badge); got != string(m.Speaks) {
			t.Errorf("%s: badge %q, want %q", m.Address, got, m.Speaks)
		}
		if !hasClass(badge, "badge-"+string(m.Speaks)) {
			t.Errorf("%s: badge classes %v", m.Address, badge.Attr)
		}
		rowText := text(row)
		for _, want := range append([]string{string(m.Role), m.Address, m.ID, m.Hostname}, m.Warnings...) {
			if !strings.Contains(rowText, want) {
				t.Errorf("%s: row lacks %q: %s", m.Address, want, rowText)
			}
		}
		if m.TLS != nil && !strings.Contains(rowText, m.TLS.Version) {
			t.Errorf("%s: row lacks TLS version %q", m.Address, m.TLS.Version)
		}
		if m.Cert != nil && !strings.Contains(rowText, expiry(d.Now, m.Cert.NotAfter)) {
			t.Errorf("%s: row lacks %q", m.Address, expiry(d.Now, m.Cert.NotAfter))
		}
		links := byClass(row, "browse")
		if len(links) != 1 {
			t.Fatalf("%s: %d browse links", m.Address, len(links))
		}
		if href, _ := attr(links[0], "href"); href != m.BrowseURL {
			t.Errorf("%s: browse href %q, want %q", m.Address, href, m.BrowseURL)
		}
	}
}

// assertSteps checks the next steps: text, the members named (linking to
// their rows), the settings block.
func assertSteps(t *testing.T, doc *html.Node, d Dashboard) {
	t.Helper()
	steps := byClass(doc, "step")
	if len(steps) != len(d.NextSteps) {
		t.Fatalf("%d steps, want %d", len(steps), len(d.NextSteps))
	}
	for i, s := range d.NextSteps {
		if got := text(one(t, steps[i], "step-text")); got != s.Text {
			t.Errorf("step %d: %q, want %q", i, got, s.Text)
		}
		refs := byClass(steps[i], "ref")
		if len(refs) != len(s.Members) {
			t.Errorf("step %d names %d members, want %d", i, len(refs), len(s.Members))
		}
		for j, m := range s.Members {
			if j < len(refs) {
				if href, _ := attr(refs[j], "href"); href != "#"+anchor(m.Address) || !strings.Contains(text(refs[j]), m.Address) {
					t.Errorf("step %d member %d: href %q text %q", i, j, href, text(refs[j]))
				}
			}
		}
		if len(s.Settings) == 0 {
			continue
		}
		pre := one(t, steps[i], "settings")
		for _, set := range s.Settings {
			if !strings.Contains(text(pre), set.Name+"="+set.Value) {
				t.Errorf("step %d settings lack %s", i, set)
			}
		}
	}
}

// TestBadges renders one member per "speaks" value and checks each badge's
// words and class; a value web does not know is shown as it is but styled
// as unknown.
func TestBadges(t *testing.T) {
	tests := []struct {
		speaks    Speaks
		text      string
		class     string
		countText string
	}{
		{SpeaksSSLOnly, "ssl-only", "badge-ssl-only", "1 ssl-only"},
		{SpeaksSSLDowngrade, "ssl-downgrade", "badge-ssl-downgrade", "1 ssl-downgrade"},
		{SpeaksPlainOnly, "plain-only", "badge-plain-only", "1 plain-only"},
		{SpeaksUnreachable, "unreachable", "badge-unreachable", "1 unreachable"},
		{SpeaksUnknown, "not probed", "badge-unknown", "1 not probed"},
		{Speaks("carrier-pigeon"), "carrier-pigeon", "badge-unknown", "1 not probed"},
	}
	for _, tt := range tests {
		t.Run(tt.text, func(t *testing.T) {
			d := Dashboard{Phase: PhaseOne, Members: []Member{{Role: RoleAgent, Address: "10.0.0.9:5051", Speaks: tt.speaks}}}
			doc := parse(t, get(t, newPages(t, d), "GET", "/gateway/", "").Body.String())
			badge := one(t, byID(doc, anchor("10.0.0.9:5051")), "badge")
			if got := text(badge); got != tt.text {
				t.Errorf("badge text %q, want %q", got, tt.text)
			}
			if !hasClass(badge, tt.class) {
				t.Errorf("badge %v lacks class %s", badge.Attr, tt.class)
			}
			if title, _ := attr(badge, "title"); title != tt.speaks.Meaning() {
				t.Errorf("badge title %q", title)
			}
			if got := text(one(t, doc, "counts")); !strings.Contains(got, tt.countText) {
				t.Errorf("counts %q lack %q", got, tt.countText)
			}
		})
	}
}

// TestHostileMemberData feeds member data an attacker could control
// (agent ids, hostnames, probe errors, framework names and URLs come from
// the network) and checks that none of it becomes markup or a script URL.
func TestHostileMemberData(t *testing.T) {
	const xss = `<script>alert("x")</script>`
	d := Dashboard{
		Phase:     Phase(`phase-1"><script>alert(1)</script>`),
		NextSteps: []Step{{Text: "restart " + xss, Members: []Ref{{Role: RoleAgent, ID: xss, Address: `"><img src=x onerror=alert(1)>`}}, Settings: []Setting{{"LIBPROCESS_SSL_ENABLED", "true</code>" + xss}}}},
		Problems:  []Alert{{Severity: Severity(`error" onmouseover="alert(1)`), Text: xss, Action: xss}},
		Members: []Member{{
			Role:       Role(`<b>leader</b>`),
			ID:         xss,
			Address:    `10.0.0.1:5050"><svg onload=alert(1)>`,
			Hostname:   `evil"><iframe src=javascript:alert(1)>`,
			Speaks:     Speaks(`ssl-only" onclick="alert(1)`),
			TLS:        &TLS{Version: xss, Cipher: xss},
			Cert:       &Cert{Subject: "CN=" + xss, Issuer: xss, Names: []string{xss}, NotAfter: time.Now(), VerifyError: xss},
			Warnings:   []string{xss},
			ProbeError: "tls: </td></tr></table>" + xss,
			BrowseURL:  "javascript:alert(1)",
		}},
		Frameworks: []Framework{{Name: xss, ID: xss, URL: "javascript:alert(2)", WebUIURL: "http://x/" + xss}},
		Staleness:  Staleness{PastHardLimit: true, Error: xss},
		Gateway:    GatewayCert{Subject: xss, Names: []string{xss}, Source: xss},
		Links:      LinksDirect,
		Version:    xss,
	}
	for _, path := range []string{"/gateway/", "/gateway/live"} {
		t.Run(path, func(t *testing.T) {
			body := get(t, newPages(t, d), "GET", path, "").Body.String()
			if strings.Contains(body, "<script>alert") || strings.Contains(body, "<img src=x") || strings.Contains(body, "<svg") || strings.Contains(body, "<iframe") {
				t.Fatalf("hostile markup came through:\n%s", body)
			}
			doc := parse(t, body)
			assertNoInjectedMarkup(t, doc)
			for _, a := range byTag(doc, "a") {
				if href, _ := attr(a, "href"); strings.HasPrefix(strings.ToLower(href), "javascript:") {
					t.Errorf("link to %q", href)
				}
			}
			if !strings.Contains(text(doc), xss) {
				t.Errorf("hostile text should still be shown as text, escaped")
			}
		})
	}
}

// assertNoInjectedMarkup checks the parsed page has only the elements and
// attributes the templates write: scripts only from our assets, no event
// handler attributes, no inline style.
func assertNoInjectedMarkup(t *testing.T, doc *html.Node) {
	t.Helper()
	walk(doc, func(n *html.Node) {
		switch n.Data {
		case "script":
			if src, ok := attr(n, "src"); !ok || !strings.HasPrefix(src, "/gateway/assets/dashboard.") || n.FirstChild != nil {
				t.Errorf("script element not ours: src=%q", src)
			}
		case "style", "iframe", "svg", "img", "b", "object", "embed":
			if n.Data == "img" {
				if src, _ := attr(n, "src"); strings.HasPrefix(src, "/gateway/assets/favicon.") {
					return
				}
			}
			t.Errorf("unexpected <%s> element", n.Data)
		}
		for _, a := range n.Attr {
			if strings.HasPrefix(a.Key, "on") || a.Key == "style" {
				t.Errorf("<%s> has attribute %s=%q", n.Data, a.Key, a.Val)
			}
		}
	})
}

// TestLivePartial checks that the partial is the live region alone, with
// the same content the page embeds.
func TestLivePartial(t *testing.T) {
	p := newPages(t, fixture(PhaseTwo))
	page := parse(t, get(t, p, "GET", "/gateway/", "").Body.String())
	w := get(t, p, "GET", "/gateway/live", "")
	if w.Code != http.StatusOK || w.Header().Get("Cache-Control") != "no-store" {
		t.Fatalf("status %d, Cache-Control %q", w.Code, w.Header().Get("Cache-Control"))
	}
	body := w.Body.String()
	if !strings.HasPrefix(body, `<div id="live"`) || strings.Contains(body, "<html") || strings.Contains(body, "<h1") {
		t.Fatalf("partial is not the live region alone: %.200s", body)
	}
	part := parse(t, body)
	live := byID(part, "live")
	if got, want := text(live), text(byID(page, "live")); got != want {
		t.Errorf("partial differs from the page's live region:\n%s\n%s", got, want)
	}
	if v, _ := attr(live, "data-phase"); v != "phase-2" {
		t.Errorf("data-phase %q", v)
	}
	if v, _ := attr(live, "data-live-every"); v != "5000" {
		t.Errorf("data-live-every %q, want the 5 s default", v)
	}
}

// TestDashboardWithoutData covers the start, before the first discovery:
// the page says it is waiting instead of showing an empty cluster as
// "not started".
func TestDashboardWithoutData(t *testing.T) {
	p, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	doc := parse(t, get(t, p, "GET", "/gateway/", "").Body.String())
	if got := text(byID(doc, "phase-title")); got != PhaseUnknown.Title() {
		t.Errorf("title %q", got)
	}
	if len(byClass(doc, "station-current")) != 0 || len(byClass(doc, "station-done")) != 0 {
		t.Error("an unknown phase marks a station")
	}
	for _, want := range []string{"No members discovered yet.", "No framework has registered a web UI.", "not discovered yet", "None: the gateway serves plain HTTP"} {
		if !strings.Contains(text(doc), want) {
			t.Errorf("page lacks %q", want)
		}
	}
}

// TestStalenessAndLinks covers the banners that sit above the phase: a
// stale or expired cluster map, a failing discovery, direct links with
// plain-only members.
func TestStalenessAndLinks(t *testing.T) {
	tests := []struct {
		name  string
		edit  func(*Dashboard)
		class string
		want  string
	}{
		{"fresh", func(*Dashboard) {}, "", ""},
		{"soft", func(d *Dashboard) { d.Staleness.Age, d.Staleness.PastSoftLimit = 3*time.Minute, true }, "alert-warning", "Cluster map is stale. Last updated 3 min ago, more than 1 min."},
		{"hard", func(d *Dashboard) {
			d.Staleness.Age, d.Staleness.PastSoftLimit, d.Staleness.PastHardLimit = 12*time.Minute, true, true
			d.Staleness.Error = "no leading master"
		}, "alert-error", "Cluster map out of date. The gateway last learned the cluster's members 12 min ago, past its 10 min limit: requests to members are refused until a discovery succeeds. Last discovery error: no leading master."},
		{"failing", func(d *Dashboard) { d.Staleness.Error = "connection refused" }, "alert-warning", "The last discovery failed: connection refused."},
		{"direct", func(d *Dashboard) { d.Links = LinksDirect }, "alert-warning", "An HTTPS page cannot load these 3 plain-only members"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := fixture(PhaseOne)
			tt.edit(&d)
			doc := parse(t, get(t, newPages(t, d), "GET", "/gateway/", "").Body.String())
			banners := byClass(doc, "banner")
			if tt.want == "" {
				if len(banners) != 0 {
					t.Fatalf("unexpected banner %q", text(banners[0]))
				}
				return
			}
			if len(banners) != 1 || !hasClass(banners[0], tt.class) || !strings.Contains(text(banners[0]), tt.want) {
				var got []string
				for _, b := range banners {
					got = append(got, text(b))
				}
				t.Fatalf("banners %q, want one %s with %q", got, tt.class, tt.want)
			}
		})
	}
}

// TestPhaseWords pins that every phase has its own title and explanation
// and an unknown phase is named, not hidden.
func TestPhaseWords(t *testing.T) {
	seen := map[string]Phase{}
	for _, ph := range append([]Phase{PhaseUnknown}, phases...) {
		if prev, ok := seen[ph.Title()]; ok {
			t.Errorf("%q and %q share the title %q", prev, ph, ph.Title())
		}
		seen[ph.Title()] = ph
	}
	if got := Phase("phase-3").Title(); got != `Unknown phase "phase-3"` {
		t.Errorf("unknown phase title %q", got)
	}
}
