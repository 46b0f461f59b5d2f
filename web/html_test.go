package web

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"golang.org/x/net/html"
)

// Helpers to look at rendered pages the way a browser would: parsed into a
// tree, queried by id and class, read as visible text.

// newPages returns Pages under /gateway/ serving d.
func newPages(t *testing.T, d Dashboard) *Pages {
	t.Helper()
	p, err := New(Options{Data: func(*http.Request) Dashboard { return d }, APIPath: "/gateway/api/cluster"})
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return p
}

// get serves one request through h and returns the recorded response.
func get(t *testing.T, h http.Handler, method, target, accept string) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(method, target, nil)
	if accept != "" {
		r.Header.Set("Accept", accept)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// parse parses an HTML body.
func parse(t *testing.T, body string) *html.Node {
	t.Helper()
	doc, err := html.Parse(strings.NewReader(body))
	if err != nil {
		t.Fatalf("parse html: %v", err)
	}
	return doc
}

// walk calls f for every element under n, in document order.
func walk(n *html.Node, f func(*html.Node)) {
	if n.Type == html.ElementNode {
		f(n)
	}
	for c := n.FirstChild; c != nil; c = c.NextSibling {
		walk(c, f)
	}
}

// attr returns an attribute's value.
func attr(n *html.Node, name string) (string, bool) {
	for _, a := range n.Attr {
		if a.Key == name {
			return a.Val, true
		}
	}
	return "", false
}

// hasClass reports whether n's class list holds c.
func hasClass(n *html.Node, c string) bool {
	v, _ := attr(n, "class")
	for _, f := range strings.Fields(v) {
		if f == c {
			return true
		}
	}
	return false
}

// byID finds the element with the id, or nil.
func byID(n *html.Node, id string) *html.Node {
	var out *html.Node
	walk(n, func(e *html.Node) {
		if v, ok := attr(e, "id"); ok && v == id && out == nil {
			out = e
		}
	})
	return out
}

// byClass returns the elements under n with class c.
func byClass(n *html.Node, c string) []*html.Node {
	var out []*html.Node
	walk(n, func(e *html.Node) {
		if hasClass(e, c) {
			out = append(out, e)
		}
	})
	return out
}

// byTag returns the elements under n with the tag.
func byTag(n *html.Node, tag string) []*html.Node {
	var out []*html.Node
	walk(n, func(e *html.Node) {
		if e.Data == tag {
			out = append(out, e)
		}
	})
	return out
}

// text is n's text content with runs of white space collapsed, as a
// person reads it.
func text(n *html.Node) string {
	if n == nil {
		return ""
	}
	var b strings.Builder
	var rec func(*html.Node)
	rec = func(n *html.Node) {
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			rec(c)
		}
	}
	rec(n)
	return strings.Join(strings.Fields(b.String()), " ")
}

// one returns the only element of class c under n, failing otherwise.
func one(t *testing.T, n *html.Node, c string) *html.Node {
	t.Helper()
	got := byClass(n, c)
	if len(got) != 1 {
		t.Fatalf("want one element of class %q, got %d", c, len(got))
	}
	return got[0]
}
