package rewrite

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/net/html"
)

// fuzzPages are the page prefixes the fuzz targets map for.
var fuzzPages = []Page{{}, {Prefix: "/agent/a1"}, {Prefix: "/mesos", Scheme: "https"}, {Prefix: "/service/spark"}}

// addHTMLSeeds adds the golden inputs to a fuzz target's seeds.
func addHTMLSeeds(f *testing.F) {
	f.Helper()
	entries, err := os.ReadDir(filepath.Join("testdata", "html"))
	if err != nil {
		f.Fatal(err)
	}
	for _, e := range entries {
		if strings.HasSuffix(e.Name(), ".html") {
			b, err := os.ReadFile(filepath.Join("testdata", "html", e.Name()))
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b, uint8(1))
		}
	}
}

// FuzzMap checks the mapping on any input: no panic, and mapping a result
// again changes nothing, in both modes and for several pages.
func FuzzMap(f *testing.F) {
	table := loadMapping(f).Table
	for _, c := range loadMapping(f).Cases {
		f.Add(c.In, uint8(0))
	}
	mappers := []*Mapper{NewMapper(table, Options{}), NewMapper(table, Options{Mode: Direct})}
	f.Fuzz(func(t *testing.T, u string, sel uint8) {
		m := mappers[int(sel)%len(mappers)]
		p := fuzzPages[int(sel/2)%len(fuzzPages)]
		once := m.Map(u, p)
		if twice := m.Map(once, p); twice != once {
			t.Errorf("not idempotent on page %q (%s): %q -> %q -> %q", p.Prefix, m.mode, u, once, twice)
		}
		c := m.context(p)
		for _, apply := range []func([]byte, []byte) ([]byte, bool){c.appendSrcset, c.appendCSS, c.appendRefresh, c.appendList} {
			out, ok := apply(nil, []byte(u))
			if !ok {
				continue
			}
			if again, ok := apply(nil, out); ok && !bytes.Equal(again, out) {
				t.Errorf("value not idempotent: %q -> %q -> %q", u, out, again)
			}
		}
	})
}

// FuzzRewriteHTML checks the HTML rewriter on any input: no panic; with an
// empty table every byte comes back; rewriting twice gives what rewriting
// once gave; and how the input arrives (whole or a byte at a time) does not
// change the output.
func FuzzRewriteHTML(f *testing.F) {
	addHTMLSeeds(f)
	table := loadMapping(f).Table
	empty := NewMapper(Table{}, Options{NoRuntime: true})
	mappers := []*Mapper{NewMapper(table, Options{NoRuntime: true}), NewMapper(table, Options{Mode: Direct, NoRuntime: true})}
	withRuntime := NewMapper(table, Options{MaxToken: 512})
	smallNoRuntime := NewMapper(table, Options{MaxToken: 512, NoRuntime: true})
	f.Fuzz(func(t *testing.T, in []byte, sel uint8) {
		if out := rewriteHTML(t, empty, Page{}, bytes.NewReader(in), 4096); !bytes.Equal(out, in) {
			t.Fatalf("empty table changed the page: %s", difference(out, in))
		}
		m := mappers[int(sel)%len(mappers)]
		p := fuzzPages[int(sel/2)%len(fuzzPages)]
		once := rewriteHTML(t, m, p, bytes.NewReader(in), 4096)
		if twice := rewriteHTML(t, m, p, bytes.NewReader(once), 4096); !bytes.Equal(twice, once) {
			t.Fatalf("rewriting twice differs from once: %s", difference(twice, once))
		}
		if bytewise := rewriteHTML(t, m, p, iotest.OneByteReader(bytes.NewReader(in)), 7); !bytes.Equal(bytewise, once) {
			t.Fatalf("reading a byte at a time changed the output: %s", difference(bytewise, once))
		}
		// With the runtime and a small token limit, the injection is the
		// only difference the runtime makes.
		small := rewriteHTML(t, smallNoRuntime, p, bytes.NewReader(in), 4096)
		out := rewriteHTML(t, withRuntime, p, iotest.HalfReader(bytes.NewReader(in)), 100)
		if inj := injection(withRuntime, p); bytes.Count(out, inj) > 1 || !bytes.Equal(bytes.Replace(out, inj, nil, 1), small) {
			t.Fatalf("the runtime changed more than its injection: %s", difference(bytes.Replace(out, inj, nil, 1), small))
		}
	})
}

// FuzzScanTag checks that scanTag ends a tag exactly where the x/net/html
// tokenizer ends it and finds the attributes it finds: the rewriter relies
// on it to copy unchanged tags without the tokenizer.
func FuzzScanTag(f *testing.F) {
	for _, s := range []string{
		`<a href="x">`, `<a href=x/>`, `<a =b c>`, `<a b='>'>`, `<a b="c"d>`, `<a/b/c=d>`, `<a b = c >`,
		`<img src="x" <p>`, `<a href="//agent:5051/x" HREF='y' href>`, "<a\tb\n=\f'c'\r>", `<a b=">`, `<a b=`, `<a`,
		`<div data-x=a"b'c>`, `<a b==c>`, `<a ///b>`, `<a b=/>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, in []byte) {
		if len(in) < 2 || in[0] != '<' || !isAlpha(in[1]) {
			return
		}
		attrs, end := scanTag(in, nil)
		z := html.NewTokenizer(bytes.NewReader(in))
		tt := z.Next()
		raw := append([]byte(nil), z.Raw()...)
		if tt == html.ErrorToken {
			if end >= 0 {
				t.Fatalf("scanTag ended the tag at %d; the tokenizer found no complete tag in %q", end, in)
			}
			return
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			t.Fatalf("tokenizer read %v from %q", tt, in)
		}
		if end != len(raw) {
			t.Fatalf("scanTag ended the tag at %d, the tokenizer at %d: %q", end, len(raw), in)
		}
		// The tokenizer keeps the first of each name; so must a reader of
		// attrs that skips names it has seen.
		seen := map[string]bool{}
		var mine []string
		for _, a := range attrs {
			kb := append([]byte(nil), in[a.ks:a.ke]...)
			for i, c := range kb {
				if 'A' <= c && c <= 'Z' {
					kb[i] = c + 'a' - 'A'
				}
			}
			k := string(kb)
			if !seen[k] {
				seen[k] = true
				v := ""
				if a.vs >= 0 {
					v = string(in[a.vs:a.ve])
				}
				mine = append(mine, k+"="+v)
			}
		}
		var theirs []string
		for {
			k, v, more := z.TagAttr()
			if k == nil {
				break
			}
			theirs = append(theirs, string(k)+"="+string(v))
			if !more {
				break
			}
		}
		if strings.Join(mine, "\x00") != strings.Join(theirs, "\x00") && !bytes.ContainsAny(in, "&\r\x00") {
			t.Fatalf("attributes differ for %q:\n scanTag   %q\n tokenizer %q", in, mine, theirs)
		}
	})
}
