package rewrite

import (
	"bytes"
	"compress/gzip"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"
)

var update = flag.Bool("update", false, "rewrite the golden files under testdata/")

// runtimeMarker stands for the runtime's script in golden files, which
// would otherwise repeat it in full.
const runtimeMarker = "{{RUNTIME}}"

// rewriteHTML rewrites page through a fresh reader, copying with buf's size
// as the proxy would.
func rewriteHTML(t testing.TB, m *Mapper, p Page, src io.Reader, bufSize int) []byte {
	t.Helper()
	r := newHTMLReader(m.context(p), src)
	var out bytes.Buffer
	if _, err := io.CopyBuffer(&out, onlyReader{r}, make([]byte, bufSize)); err != nil {
		t.Fatalf("rewrite: %v", err)
	}
	return out.Bytes()
}

// rewriteEveryWay rewrites in with the source delivered whole, a byte at a
// time and in uneven pieces, and read into large and tiny buffers; every
// way must give the same bytes, which it returns.
func rewriteEveryWay(t testing.TB, m *Mapper, p Page, in []byte) []byte {
	t.Helper()
	want := rewriteHTML(t, m, p, bytes.NewReader(in), 32<<10)
	ways := map[string]func() []byte{
		"one byte at a time":  func() []byte { return rewriteHTML(t, m, p, iotest.OneByteReader(bytes.NewReader(in)), 32<<10) },
		"half reads":          func() []byte { return rewriteHTML(t, m, p, iotest.HalfReader(bytes.NewReader(in)), 32<<10) },
		"data with EOF":       func() []byte { return rewriteHTML(t, m, p, iotest.DataErrReader(bytes.NewReader(in)), 32<<10) },
		"uneven pieces":       func() []byte { return rewriteHTML(t, m, p, &unevenReader{b: in}, 32<<10) },
		"one-byte out buffer": func() []byte { return rewriteHTML(t, m, p, bytes.NewReader(in), 1) },
	}
	for name, f := range ways {
		if got := f(); !bytes.Equal(got, want) {
			t.Errorf("%s: output differs from reading the source whole: %s", name, difference(got, want))
		}
	}
	return want
}

// unevenReader returns its bytes in pieces of 1, 2, 3, ... 17, 1, ... bytes.
type unevenReader struct {
	b []byte
	n int
}

func (u *unevenReader) Read(p []byte) (int, error) {
	if len(u.b) == 0 {
		return 0, io.EOF
	}
	u.n = u.n%17 + 1
	n := min(u.n, len(p), len(u.b))
	copy(p, u.b[:n])
	u.b = u.b[n:]
	return n, nil
}

// golden compares got with testdata/html/name, or writes it with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	got = bytes.Replace(got, []byte(runtimeJS), []byte(runtimeMarker), 1)
	path := filepath.Join("testdata", "html", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run go test -update and check the diff): %s", path, difference(got, want))
	}
}

// difference describes where got and want first differ, with the runtime's
// script shown as its marker.
func difference(got, want []byte) string {
	got = bytes.Replace(got, []byte(runtimeJS), []byte(runtimeMarker), 1)
	want = bytes.Replace(want, []byte(runtimeJS), []byte(runtimeMarker), 1)
	i := 0
	for i < len(got) && i < len(want) && got[i] == want[i] {
		i++
	}
	from := max(0, i-80)
	return fmt.Sprintf("at byte %d of %d (want %d):\n got ...%q\nwant ...%q", i, len(got), len(want), got[from:min(len(got), i+80)], want[from:min(len(want), i+80)])
}

// readInput returns testdata/html/name.
func readInput(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "html", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// agentPage is the page most golden files are rewritten for: an agent's,
// so that root-relative URLs move and the leader takes its alias.
var agentPage = Page{Prefix: "/agent/a2", Scheme: "http"}

// TestHTMLGolden rewrites each page under testdata/html and compares the
// result with its golden file.
func TestHTMLGolden(t *testing.T) {
	table := loadMapping(t).Table
	for _, tc := range []struct {
		in, out string
		page    Page
		opts    Options
	}{
		{"identity.html", "identity.golden", Page{}, Options{}},
		{"attributes.html", "attributes.golden", agentPage, Options{}},
		{"attributes.html", "attributes.direct.golden", agentPage, Options{Mode: Direct}},
		{"base.html", "base.golden", Page{}, Options{}},
		{"base_offsite.html", "base_offsite.golden", Page{Prefix: "/agent/a2", Gateway: "https://gw.example:8443"}, Options{}},
		{"base_root.html", "base_root.golden", agentPage, Options{}},
		{"style.html", "style.golden", agentPage, Options{}},
		{"scripts.html", "scripts.golden", agentPage, Options{}},
		{"broken.html", "broken.golden", agentPage, Options{}},
		{"truncated.html", "truncated.golden", agentPage, Options{}},
		{"nohead.html", "nohead.golden", agentPage, Options{}},
		{"nohtml.html", "nohtml.golden", agentPage, Options{}},
		{"fragment.html", "fragment.golden", agentPage, Options{}},
		{"head_order.html", "head_order.golden", agentPage, Options{}},
		{"svg.html", "svg.golden", agentPage, Options{}},
		{"plaintext.html", "plaintext.golden", agentPage, Options{}},
		{"unclosed_title.html", "unclosed_title.golden", agentPage, Options{}},
		{"latin1.html", "latin1.golden", agentPage, Options{}},
		{"bom.html", "bom.golden", agentPage, Options{}},
		{"utf16.html", "utf16.golden", agentPage, Options{}},
	} {
		t.Run(tc.out, func(t *testing.T) {
			m := NewMapper(table, tc.opts)
			golden(t, tc.out, rewriteEveryWay(t, m, tc.page, readInput(t, tc.in)))
		})
	}
}

// TestHTMLUnchangedWhenNothingMaps checks that a page with nothing to map
// comes back byte for byte: without the runtime exactly, and with it
// exactly but for the injection.
func TestHTMLUnchangedWhenNothingMaps(t *testing.T) {
	in := readInput(t, "identity.html")
	table := loadMapping(t).Table
	if out := rewriteEveryWay(t, NewMapper(table, Options{NoRuntime: true}), Page{}, in); !bytes.Equal(out, in) {
		t.Errorf("without the runtime the page changed: %s", difference(out, in))
	}
	m := NewMapper(table, Options{})
	out := rewriteEveryWay(t, m, Page{}, in)
	inj := injection(m, Page{})
	if bytes.Count(out, inj) != 1 {
		t.Fatalf("the runtime is not injected exactly once:\n%s", out)
	}
	if got := bytes.Replace(out, inj, nil, 1); !bytes.Equal(got, in) {
		t.Errorf("apart from the runtime the page changed: %s", difference(got, in))
	}
	// It goes after <meta charset>, first in <head>.
	if i, j := bytes.Index(out, inj), bytes.Index(out, []byte("<META charset=utf-8>")); i < j {
		t.Errorf("runtime injected at %d, before <meta charset> at %d", i, j)
	}
}

// injection returns the bytes injected into a page.
func injection(m *Mapper, p Page) []byte {
	head := m.context(p).appendInjectionHead(nil)
	return append(append(head, m.tableJSON...), m.runtimeTail...)
}

// TestHTMLEmptyTableIsIdentity checks pages of every kind against a
// mapper with an empty table on a root page: nothing may change.
func TestHTMLEmptyTableIsIdentity(t *testing.T) {
	m := NewMapper(Table{}, Options{NoRuntime: true})
	entries, err := os.ReadDir(filepath.Join("testdata", "html"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".html") {
			continue
		}
		t.Run(e.Name(), func(t *testing.T) {
			in := readInput(t, e.Name())
			if out := rewriteEveryWay(t, m, Page{}, in); !bytes.Equal(out, in) {
				t.Errorf("changed: %s", difference(out, in))
			}
		})
	}
}

// TestHTMLIdempotent checks that rewriting a rewritten page changes
// nothing.
func TestHTMLIdempotent(t *testing.T) {
	table := loadMapping(t).Table
	for _, mode := range []Mode{Proxy, Direct} {
		m := NewMapper(table, Options{Mode: mode, NoRuntime: true})
		entries, _ := os.ReadDir(filepath.Join("testdata", "html"))
		for _, e := range entries {
			if !strings.HasSuffix(e.Name(), ".html") {
				continue
			}
			t.Run(mode.String()+"/"+e.Name(), func(t *testing.T) {
				once := rewriteHTML(t, m, agentPage, bytes.NewReader(readInput(t, e.Name())), 4096)
				if twice := rewriteHTML(t, m, agentPage, bytes.NewReader(once), 4096); !bytes.Equal(twice, once) {
					t.Errorf("second rewrite changed the page: %s", difference(twice, once))
				}
			})
		}
	}
}

// TestHTMLOversizedToken checks that a token larger than the limit makes
// the rest of the page pass through unchanged, losing no byte.
func TestHTMLOversizedToken(t *testing.T) {
	table := loadMapping(t).Table
	m := NewMapper(table, Options{MaxToken: 256, NoRuntime: true})
	long := strings.Repeat("x", 1000)
	for _, tc := range []struct{ name, in, want string }{
		{
			"attribute",
			`<a href="//agent1.example.com:5051/a">a</a><img alt="` + long + `" src="//agent1.example.com:5051/b"><a href="//agent1.example.com:5051/c">c</a>`,
			`<a href="/agent/a1/a">a</a><img alt="` + long + `" src="//agent1.example.com:5051/b"><a href="//agent1.example.com:5051/c">c</a>`,
		},
		{
			"comment",
			`<a href="//agent1.example.com:5051/a">a</a><!--` + long + `--><a href="//agent1.example.com:5051/c">c</a>`,
			`<a href="/agent/a1/a">a</a><!--` + long + `--><a href="//agent1.example.com:5051/c">c</a>`,
		},
		{
			"script",
			`<a href="//agent1.example.com:5051/a">a</a><script>` + long + `</script><a href="//agent1.example.com:5051/c">c</a>`,
			`<a href="/agent/a1/a">a</a><script>` + long + `</script><a href="//agent1.example.com:5051/c">c</a>`,
		},
		{
			// Text is never held, so it has no limit.
			"text",
			`<a href="//agent1.example.com:5051/a">a</a>` + long + `<a href="//agent1.example.com:5051/c">c</a>`,
			`<a href="/agent/a1/a">a</a>` + long + `<a href="/agent/a1/c">c</a>`,
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := rewriteEveryWay(t, m, Page{}, []byte(tc.in)); string(got) != tc.want {
				t.Errorf("\n got %q\nwant %q", got, tc.want)
			}
		})
	}
}

// TestHTMLEnormous rewrites a page of 24 MB, most of it in one text node
// and one <pre>, with links throughout, and checks every link and every
// other byte.
func TestHTMLEnormous(t *testing.T) {
	m := NewMapper(loadMapping(t).Table, Options{NoRuntime: true})
	var in, want bytes.Buffer
	in.WriteString("<html><body><pre>")
	want.WriteString("<html><body><pre>")
	text := strings.Repeat("log line without markup: 0123456789 abcdefghijklmnopqrstuvwxyz\n", 1<<17) // 8 MB
	in.WriteString(text)
	want.WriteString(text)
	in.WriteString("</pre>")
	want.WriteString("</pre>")
	for i := range 200_000 {
		fmt.Fprintf(&in, "<a href=\"//agent1.example.com:5051/files/read?path=%d\">%d</a>\n", i, i)
		fmt.Fprintf(&want, "<a href=\"/agent/a1/files/read?path=%d\">%d</a>\n", i, i)
	}
	in.WriteString("</body></html>")
	want.WriteString("</body></html>")
	got := rewriteHTML(t, m, Page{}, &unevenReader{b: in.Bytes()}, 32<<10)
	if !bytes.Equal(got, want.Bytes()) {
		i := 0
		for i < len(got) && i < want.Len() && got[i] == want.Bytes()[i] {
			i++
		}
		t.Fatalf("output of %d bytes differs from the expected %d bytes at byte %d: got %q", len(got), want.Len(), i, got[i:min(i+100, len(got))])
	}
}

// TestHTMLGoldenGzip sends a golden input gzip-compressed through
// RewriteResponse: the decoded, rewritten body must equal the golden file.
func TestHTMLGoldenGzip(t *testing.T) {
	m := NewMapper(loadMapping(t).Table, Options{})
	var gz bytes.Buffer
	zw := gzip.NewWriter(&gz)
	zw.Write(readInput(t, "attributes.html"))
	zw.Close()
	resp := &http.Response{StatusCode: 200, Header: http.Header{"Content-Type": {"text/html"}, "Content-Encoding": {"gzip"}},
		Body: io.NopCloser(&unevenReader{b: gz.Bytes()})}
	if err := m.RewriteResponse(resp, agentPage); err != nil {
		t.Fatal(err)
	}
	got, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	if resp.Header.Get("Content-Encoding") != "" {
		t.Errorf("Content-Encoding kept: %q", resp.Header.Get("Content-Encoding"))
	}
	want := bytes.Replace(readInput(t, "attributes.golden"), []byte(runtimeMarker), []byte(runtimeJS), 1)
	if !bytes.Equal(got, want) {
		t.Errorf("gzip input: %s", difference(got, want))
	}
}
