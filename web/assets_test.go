package web

import (
	"net/http"
	"strings"
	"testing"
	"testing/fstest"
)

// TestAssets checks that the URLs the page links are served with the right
// type and a year of caching, that plain names revalidate, that
// conditional requests get 304, and that unknown assets are a 404.
func TestAssets(t *testing.T) {
	p := newPages(t, Dashboard{})
	page := parse(t, get(t, p, "GET", "/gateway/", "").Body.String())
	var urls []string
	for _, n := range append(byTag(page, "link"), byTag(page, "script")...) {
		if v, ok := attr(n, "href"); ok {
			urls = append(urls, v)
		}
		if v, ok := attr(n, "src"); ok {
			urls = append(urls, v)
		}
	}
	if len(urls) != 3 {
		t.Fatalf("page links %d assets, want the stylesheet, the icon and the script: %v", len(urls), urls)
	}
	types := map[string]string{".css": "text/css; charset=utf-8", ".js": "text/javascript; charset=utf-8", ".svg": "image/svg+xml"}
	for _, u := range urls {
		t.Run(u, func(t *testing.T) {
			w := get(t, p, "GET", u, "")
			if w.Code != 200 || w.Body.Len() == 0 {
				t.Fatalf("status %d, %d bytes", w.Code, w.Body.Len())
			}
			ext := u[strings.LastIndex(u, "."):]
			if got := w.Header().Get("Content-Type"); got != types[ext] {
				t.Errorf("Content-Type %q, want %q", got, types[ext])
			}
			if got := w.Header().Get("Cache-Control"); got != "public, max-age=31536000, immutable" {
				t.Errorf("Cache-Control %q", got)
			}
			r := get(t, http.HandlerFunc(func(w2 http.ResponseWriter, r *http.Request) {
				r.Header.Set("If-None-Match", w.Header().Get("ETag"))
				p.ServeHTTP(w2, r)
			}), "GET", u, "")
			if r.Code != http.StatusNotModified {
				t.Errorf("conditional GET: status %d, want 304", r.Code)
			}
		})
	}
	w := get(t, p, "GET", "/gateway/assets/gateway.css", "")
	if w.Code != 200 || w.Header().Get("Cache-Control") != "no-cache" {
		t.Errorf("plain name: status %d, Cache-Control %q", w.Code, w.Header().Get("Cache-Control"))
	}
	for _, bad := range []string{"/gateway/assets/nope.css", "/gateway/assets/", "/gateway/assets/../templates/layout.html", "/gateway/assets/gateway.000000000000.css"} {
		if w := get(t, p, "GET", bad, "application/json"); w.Code != 404 || w.Header().Get("Content-Type") != "application/problem+json" {
			t.Errorf("%s: status %d %q, want a 404 problem", bad, w.Code, w.Header().Get("Content-Type"))
		}
	}
}

// TestAssetFingerprint checks that the URL follows the content, so that a
// changed stylesheet is never served from a stale cache, and that a file
// of a type we do not serve is refused at start.
func TestAssetFingerprint(t *testing.T) {
	load := func(css string) string {
		t.Helper()
		s, err := loadAssets(fstest.MapFS{"a/x.css": {Data: []byte(css)}}, "a", "/g/assets/")
		if err != nil {
			t.Fatal(err)
		}
		u, err := s.URL("x.css")
		if err != nil {
			t.Fatal(err)
		}
		return u
	}
	one, same, other := load("a{}"), load("a{}"), load("b{}")
	if !strings.HasPrefix(one, "/g/assets/x.") || !strings.HasSuffix(one, ".css") {
		t.Errorf("URL %q", one)
	}
	if one != same || one == other {
		t.Errorf("fingerprints: %q %q %q", one, same, other)
	}
	if _, err := loadAssets(fstest.MapFS{"a/x.exe": {Data: []byte("MZ")}}, "a", "/g/"); err == nil {
		t.Error("an asset of unknown type was accepted")
	}
}

// TestRouting checks the prefix rules and the 405 for writes.
func TestRouting(t *testing.T) {
	for _, bad := range []string{"gateway/", "/gateway", "//", "/a//b/"} {
		if _, err := New(Options{Prefix: bad}); err == nil {
			t.Errorf("prefix %q accepted", bad)
		}
	}
	p, err := New(Options{Prefix: "/ops/mesosgate/"})
	if err != nil {
		t.Fatal(err)
	}
	if p.DashboardPath() != "/ops/mesosgate/" || p.LivePath() != "/ops/mesosgate/live" || p.AssetsPath() != "/ops/mesosgate/assets/" {
		t.Errorf("paths %s %s %s", p.DashboardPath(), p.LivePath(), p.AssetsPath())
	}
	page := get(t, p, "GET", "/ops/mesosgate/", "").Body.String()
	if !strings.Contains(page, `href="/ops/mesosgate/assets/gateway.`) {
		t.Error("asset URLs do not follow the prefix")
	}
	w := get(t, p, "POST", "/ops/mesosgate/live", "")
	if w.Code != http.StatusMethodNotAllowed || w.Header().Get("Allow") != "GET, HEAD" {
		t.Errorf("POST: status %d, Allow %q", w.Code, w.Header().Get("Allow"))
	}
	if w := get(t, p, "HEAD", "/ops/mesosgate/", ""); w.Code != 200 || w.Body.Len() != 0 {
		t.Errorf("HEAD: status %d, %d bytes", w.Code, w.Body.Len())
	}
}
