package server

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/mesosgate/mesosgate/upstream"
)

func TestHasDotSegment(t *testing.T) {
	for _, c := range []struct {
		name string
		path string
		want bool
	}{
		{"plain", "/agent/S1/files/browse", false},
		{"dots inside names", "/files/a..b/.hidden/x.", false},
		{"dot dot", "/agent/S1/../S2", true},
		{"trailing dot dot", "/agent/S1/..", true},
		{"single dot", "/a/./b", true},
		{"backslash", `/a\..\b`, true},
		{"Tomcat's path parameter", "/service/a/..;/x", true},
		{"path parameter with a value", "/service/a/..;jsessionid=1/x", true},
		{"dot with a parameter", "/a/.;x/b", true},
		{"parameters on a name", "/a/b;v=1/c", false},
		{"root", "/", false},
		{"empty", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := hasDotSegment(c.path); got != c.want {
				t.Errorf("hasDotSegment(%q) = %v", c.path, got)
			}
		})
	}
}

func TestAcceptsGzip(t *testing.T) {
	for _, c := range []struct {
		header string
		want   bool
	}{
		{"gzip, deflate, br", true},
		{"br;q=1.0, gzip;q=0.5", true},
		{"gzip;q=0", false},
		{"identity", false},
		{"*", true},
		{"*;q=0", false},
		{"*, gzip;q=0", false},
		{"x-gzip", true},
		{"", false},
	} {
		if got := acceptsGzip([]string{c.header}); got != c.want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", c.header, got, c.want)
		}
	}
}

// FuzzRouteStaysUnderPrefix checks the promise of the guard and the
// router together: a request path the guard lets through is forwarded to
// the member as a path without dot segments once the member decodes it
// (whatever the encoding: %2e, %2f, backslashes), so it cannot leave the
// route, and prefix and tail together are the path as sent.
func FuzzRouteStaysUnderPrefix(f *testing.F) {
	for _, s := range []string{
		"/agent/S1/files/browse",
		"/agent/S1/%2e%2e/S2",
		"/agent/S1/..%2f..%2fx",
		"/service/a/%252e%252e/b",
		"/agent/S1/.%2e/x",
		`/agent/S1/..\x`,
		"/agent/S1//x",
		"/agent/%2e%2e/x",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, target string) {
		u, err := url.ParseRequestURI(target)
		if err != nil || !strings.HasPrefix(target, "/agent/") {
			return
		}
		r := &http.Request{Method: "GET", RequestURI: target, URL: u}
		if _, refused := refusal(r); refused {
			return
		}
		escaped := u.EscapedPath()
		if strings.Count(escaped, "/") < 3 {
			return // chi routes only /agent/{id}/... here
		}
		route := upstream.ParseRoute(escaped)
		prefix, tail := route.Prefix, route.Tail
		if !strings.HasPrefix(tail, "/") {
			t.Fatalf("%q: tail %q does not start with a slash", target, tail)
		}
		decoded, _ := url.PathUnescape(tail)
		if hasDotSegment(decoded) {
			t.Fatalf("%q: the member would get %q, whose dot segments climb out of the route %q", target, decoded, prefix)
		}
		if prefix+tail != escaped {
			t.Fatalf("%q: prefix %q + tail %q != %q", target, prefix, tail, escaped)
		}
	})
}
