package rewrite

import (
	"bytes"
	"compress/flate"
	"compress/gzip"
	"compress/zlib"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"
)

// memberPage is an agent's page linking to itself.
const memberPage = `<!DOCTYPE html><html><head><title>agent</title></head><body>` +
	`<a href="//agent1.example.com:5051/files/browse?path=/tmp">browse</a> <a href="/metrics/snapshot">metrics</a></body></html>`

// proxyTo starts a gateway-like reverse proxy in front of upstream that
// rewrites responses for page, and returns its URL.
func proxyTo(t *testing.T, m *Mapper, upstream string, page Page) string {
	t.Helper()
	u, err := url.Parse(upstream)
	if err != nil {
		t.Fatal(err)
	}
	rp := &httputil.ReverseProxy{
		Rewrite:        func(r *httputil.ProxyRequest) { r.SetURL(u) },
		ModifyResponse: func(resp *http.Response) error { return m.RewriteResponse(resp, page) },
	}
	gw := httptest.NewServer(rp)
	t.Cleanup(gw.Close)
	return gw.URL
}

// get fetches url as a browser would, accepting gzip.
func get(t *testing.T, method, url string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Accept-Encoding", "gzip")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return resp, body
}

// TestRewriteResponseThroughProxy runs RewriteResponse as the server will:
// in httputil.ReverseProxy, in front of a member.
func TestRewriteResponseThroughProxy(t *testing.T) {
	m := NewMapper(loadMapping(t).Table, Options{})
	page := Page{Prefix: "/agent/a1"}
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		switch r.URL.Path {
		case "/page":
			h.Set("Content-Type", "text/html; charset=utf-8")
			h.Set("Content-Length", itoa(len(memberPage)))
			h.Set("Etag", `"v1"`)
			h.Set("Accept-Ranges", "bytes")
			h.Set("Content-Security-Policy", "default-src 'self'")
			h.Add("Set-Cookie", "s=1; Path=/; Domain=agent1.example.com")
			io.WriteString(w, memberPage)
		case "/gzip":
			h.Set("Content-Type", "text/html")
			h.Set("Content-Encoding", "gzip")
			zw := gzip.NewWriter(w)
			io.WriteString(zw, memberPage)
			zw.Close()
		case "/state":
			h.Set("Content-Type", "text/javascript")
			h.Set("Content-Length", itoa(len(jsonp)))
			io.WriteString(w, jsonp)
		case "/download":
			h.Set("Content-Type", "text/html")
			h.Set("Content-Disposition", `attachment; filename="report.html"`)
			io.WriteString(w, memberPage)
		case "/redirect":
			http.Redirect(w, r, "//agent1.example.com:5051/files/browse", http.StatusTemporaryRedirect)
		}
	}))
	defer member.Close()
	gw := proxyTo(t, m, member.URL, page)

	t.Run("html", func(t *testing.T) {
		resp, body := get(t, "GET", gw+"/page")
		want := `<a href="/agent/a1/files/browse?path=/tmp">browse</a> <a href="/agent/a1/metrics/snapshot">metrics</a>`
		if !bytes.Contains(body, []byte(want)) || !bytes.Contains(body, []byte(runtimeJS)) {
			t.Errorf("body not rewritten or runtime missing: %s", difference(body, []byte(want)))
		}
		h := resp.Header
		if resp.ContentLength != -1 || h.Get("Content-Length") != "" {
			t.Errorf("Content-Length kept: %d %q", resp.ContentLength, h.Get("Content-Length"))
		}
		if got := h.Get("Etag"); got != `W/"v1"` {
			t.Errorf("ETag = %q, want the weak W/\"v1\"", got)
		}
		if got := h.Get("Accept-Ranges"); got != "" {
			t.Errorf("Accept-Ranges = %q, want none", got)
		}
		if got, want := h.Get("Content-Security-Policy"), "default-src 'self' "+RuntimeHash(); got != want {
			t.Errorf("CSP = %q, want %q", got, want)
		}
		if got := h.Get("Set-Cookie"); got != "s=1; Path=/agent/a1/" {
			t.Errorf("Set-Cookie = %q", got)
		}
	})
	t.Run("gzip", func(t *testing.T) {
		resp, body := get(t, "GET", gw+"/gzip")
		if enc := resp.Header.Get("Content-Encoding"); enc != "" {
			t.Errorf("Content-Encoding = %q, want none (the server encodes toward the browser)", enc)
		}
		if !bytes.Contains(body, []byte(`href="/agent/a1/files/browse?path=/tmp"`)) {
			t.Errorf("gzip body not decoded and rewritten: %.200q", body)
		}
	})
	t.Run("jsonp_untouched", func(t *testing.T) {
		resp, body := get(t, "GET", gw+"/state")
		if string(body) != jsonp || resp.ContentLength != int64(len(jsonp)) {
			t.Errorf("JSONP changed: %d %q", resp.ContentLength, body)
		}
	})
	t.Run("attachment_untouched", func(t *testing.T) {
		_, body := get(t, "GET", gw+"/download")
		if string(body) != memberPage {
			t.Errorf("a downloaded HTML file changed: %q", body)
		}
	})
	t.Run("redirect", func(t *testing.T) {
		req, _ := http.NewRequest("GET", gw+"/redirect", nil)
		resp, err := http.DefaultTransport.RoundTrip(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if got := resp.Header.Get("Location"); got != "/agent/a1/files/browse" {
			t.Errorf("Location = %q", got)
		}
	})
	t.Run("head", func(t *testing.T) {
		resp, body := get(t, "HEAD", gw+"/page")
		if len(body) != 0 || resp.Header.Get("Content-Length") != "" || resp.Header.Get("Etag") != `W/"v1"` {
			t.Errorf("HEAD: body %q, headers %v", body, resp.Header)
		}
	})
}

const jsonp = `cb({"hostname":"agent1.example.com","url":"//agent1.example.com:5051/x"})`

func itoa(n int) string { return strconv.Itoa(n) }

// TestRewriteResponseStreams checks that the first rewritten bytes reach
// the browser while the member is still sending the page.
func TestRewriteResponseStreams(t *testing.T) {
	m := NewMapper(loadMapping(t).Table, Options{})
	release := make(chan struct{})
	member := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/html")
		io.WriteString(w, `<html><head></head><body><a href="//agent1.example.com:5051/first">first</a>`)
		w.(http.Flusher).Flush()
		select {
		case <-release:
		case <-r.Context().Done():
		}
		io.WriteString(w, `<a href="//agent1.example.com:5051/last">last</a></body></html>`)
	}))
	defer member.Close()
	defer close(release)
	gw := proxyTo(t, m, member.URL, Page{})

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, "GET", gw, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var got []byte
	buf := make([]byte, 64<<10)
	for !bytes.Contains(got, []byte(`<a href="/agent/a1/first">first</a>`)) {
		n, err := resp.Body.Read(buf)
		got = append(got, buf[:n]...)
		if err != nil {
			t.Fatalf("the first link never arrived while the member held the rest back (%v); got %q", err, got)
		}
	}
	if bytes.Contains(got, []byte("/last\"")) {
		t.Fatal("the member's second half arrived before it was sent")
	}
}

// TestRewriteResponseBodies checks which bodies are rewritten, decoded or
// passed untouched, without a proxy.
func TestRewriteResponseBodies(t *testing.T) {
	m := NewMapper(loadMapping(t).Table, Options{NoRuntime: true})
	const page = `<a href="//agent1.example.com:5051/x">x</a>`
	const rewritten = `<a href="/agent/a1/x">x</a>`
	gz := func(s string) []byte {
		var b bytes.Buffer
		w := gzip.NewWriter(&b)
		io.WriteString(w, s)
		w.Close()
		return b.Bytes()
	}
	zl := func(s string) []byte {
		var b bytes.Buffer
		w := zlib.NewWriter(&b)
		io.WriteString(w, s)
		w.Close()
		return b.Bytes()
	}
	fl := func(s string) []byte {
		var b bytes.Buffer
		w, _ := flate.NewWriter(&b, flate.DefaultCompression)
		io.WriteString(w, s)
		w.Close()
		return b.Bytes()
	}
	for _, tc := range []struct {
		name    string
		status  int
		header  map[string]string
		body    []byte
		want    string
		wantErr string
		same    bool // headers and body untouched
	}{
		{"identity", 200, map[string]string{"Content-Type": "text/html"}, []byte(page), rewritten, "", false},
		{"gzip", 200, map[string]string{"Content-Type": "text/html", "Content-Encoding": "gzip"}, gz(page), rewritten, "", false},
		{"x_gzip", 200, map[string]string{"Content-Type": "text/html", "Content-Encoding": "x-gzip"}, gz(page), rewritten, "", false},
		{"deflate_zlib", 200, map[string]string{"Content-Type": "text/html", "Content-Encoding": "deflate"}, zl(page), rewritten, "", false},
		{"deflate_raw", 200, map[string]string{"Content-Type": "text/html", "Content-Encoding": "deflate"}, fl(page), rewritten, "", false},
		{"gzip_empty", 200, map[string]string{"Content-Type": "text/html", "Content-Encoding": "gzip"}, nil, "", "", false},
		{"gzip_broken", 200, map[string]string{"Content-Type": "text/html", "Content-Encoding": "gzip"}, append(gz(page)[:20:20], "garbage"...), "", "decode gzip body from member", false},
		{"gzip_not_gzip", 200, map[string]string{"Content-Type": "text/html", "Content-Encoding": "gzip"}, []byte(page), "", "decode gzip body from member", false},
		{"brotli_untouched", 200, map[string]string{"Content-Type": "text/html", "Content-Encoding": "br"}, []byte(page), page, "", true},
		{"xhtml_untouched", 200, map[string]string{"Content-Type": "application/xhtml+xml"}, []byte(page), page, "", true},
		{"no_content_type_untouched", 200, map[string]string{}, []byte(page), page, "", true},
		{"utf16_charset_untouched", 200, map[string]string{"Content-Type": "text/html; charset=UTF-16LE"}, []byte(page), page, "", true},
		{"latin1_charset_rewritten", 200, map[string]string{"Content-Type": "text/html; charset=ISO-8859-1"}, []byte(page), rewritten, "", false},
		{"partial_untouched", 206, map[string]string{"Content-Type": "text/html", "Content-Range": "bytes 0-9/100"}, []byte(page), page, "", true},
		{"javascript_untouched", 200, map[string]string{"Content-Type": "application/javascript"}, []byte(jsonp), jsonp, "", true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp := &http.Response{StatusCode: tc.status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(tc.body)),
				ContentLength: int64(len(tc.body)), Request: httptest.NewRequest("GET", "http://agent1.example.com:5051/", nil)}
			for k, v := range tc.header {
				resp.Header.Set(k, v)
			}
			resp.Header.Set("Content-Length", itoa(len(tc.body)))
			before := resp.Header.Clone()
			var counts Counts
			if err := m.RewriteResponse(resp, Page{Counts: &counts}); err != nil {
				t.Fatal(err)
			}
			got, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if tc.wantErr == "" {
				// Counts: the decoded page in, the rewritten page out;
				// nothing for a body passed untouched.
				want := Counts{In: int64(len(page)), Out: int64(len(got))}
				if tc.same || len(tc.body) == 0 {
					want = Counts{}
				}
				if counts != want {
					t.Errorf("counts %+v, want %+v", counts, want)
				}
			}
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("read error = %v, want one saying %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("read: %v", err)
			}
			if string(got) != tc.want {
				t.Errorf("body = %q, want %q", got, tc.want)
			}
			if tc.same {
				for k := range before {
					if resp.Header.Get(k) != before.Get(k) {
						t.Errorf("header %s changed: %q -> %q", k, before.Get(k), resp.Header.Get(k))
					}
				}
				return
			}
			if resp.Header.Get("Content-Encoding") != "" || resp.Header.Get("Content-Length") != "" || resp.ContentLength != -1 {
				t.Errorf("headers of a rewritten body: %v, length %d", resp.Header, resp.ContentLength)
			}
		})
	}
}

// TestRewriteResponseLeavesUpgrades checks that a 101 response (a
// WebSocket) is left alone, body included.
func TestRewriteResponseLeavesUpgrades(t *testing.T) {
	m := NewMapper(loadMapping(t).Table, Options{})
	body := io.NopCloser(strings.NewReader(""))
	resp := &http.Response{StatusCode: http.StatusSwitchingProtocols, Header: http.Header{"Location": {"/x"}, "Content-Type": {"text/html"}}, Body: body}
	if err := m.RewriteResponse(resp, Page{Prefix: "/agent/a1"}); err != nil {
		t.Fatal(err)
	}
	if resp.Body != body || resp.Header.Get("Location") != "/x" {
		t.Errorf("a 101 response was changed: %v", resp.Header)
	}
}
