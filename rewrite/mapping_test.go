package rewrite

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// mappingCase is one case of testdata/mapping.json.
type mappingCase struct {
	Name string `json:"name"`
	Page struct {
		Prefix string `json:"prefix"`
		Scheme string `json:"scheme"`
		// Origin and Gateway, for a page on a framework UI's own origin.
		Origin  string `json:"origin,omitempty"`
		Gateway string `json:"gateway,omitempty"`
	} `json:"page"`
	Kind   string  `json:"kind"` // "" (url), "srcset", "css" or "refresh"
	In     string  `json:"in"`
	Proxy  string  `json:"proxy"`
	Direct *string `json:"direct"`
}

// want returns the expected result in mode.
func (c mappingCase) want(mode Mode) string {
	if mode == Direct && c.Direct != nil {
		return *c.Direct
	}
	return c.Proxy
}

// mappingFile is testdata/mapping.json.
type mappingFile struct {
	Table Table         `json:"table"`
	Cases []mappingCase `json:"cases"`
}

// loadMapping reads the cases shared by the Go and JavaScript mappings.
func loadMapping(t testing.TB) mappingFile {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "mapping.json"))
	if err != nil {
		t.Fatal(err)
	}
	var f mappingFile
	if err := json.Unmarshal(b, &f); err != nil {
		t.Fatalf("parse testdata/mapping.json: %v", err)
	}
	return f
}

// apply maps in as a value of kind for the page.
func apply(m *Mapper, kind, in string, p Page) string {
	c := m.context(p)
	var out []byte
	var ok bool
	switch kind {
	case "":
		return m.Map(in, p)
	case "srcset":
		out, ok = c.appendSrcset(nil, []byte(in))
	case "css":
		out, ok = c.appendCSS(nil, []byte(in))
	case "refresh":
		out, ok = c.appendRefresh(nil, []byte(in))
	default:
		panic("unknown kind " + kind)
	}
	if !ok {
		return in
	}
	return string(out)
}

// TestMapping runs every case of testdata/mapping.json in both modes, and
// checks that mapping a result again leaves it as it is.
func TestMapping(t *testing.T) {
	f := loadMapping(t)
	for _, mode := range []Mode{Proxy, Direct} {
		m := NewMapper(f.Table, Options{Mode: mode})
		for _, c := range f.Cases {
			t.Run(mode.String()+"/"+c.Name, func(t *testing.T) {
				p := Page{Prefix: c.Page.Prefix, Scheme: c.Page.Scheme, Origin: c.Page.Origin, Gateway: c.Page.Gateway}
				got := apply(m, c.Kind, c.In, p)
				if want := c.want(mode); got != want {
					t.Errorf("map %q on page %q:\n got %q\nwant %q", c.In, p.Prefix, got, want)
				}
				if again := apply(m, c.Kind, got, p); again != got {
					t.Errorf("not idempotent: %q maps to %q, which maps to %q", c.In, got, again)
				}
			})
		}
	}
}

// TestMapperSkipsBadEntries checks that entries a table cannot use are
// skipped while the rest still map.
func TestMapperSkipsBadEntries(t *testing.T) {
	m := NewMapper(Table{
		Members: []Member{
			{Addresses: []string{"bad:port:x", "", "good:1"}, Prefix: "/agent/g"},
			{Addresses: []string{"good:1"}, Prefix: "/agent/dup"}, // first keeps it
			{Addresses: []string{"[::1"}, Prefix: "/agent/v6"},
		},
		Frameworks: []Framework{
			{URL: "not a url", Prefix: "/service/x"},
			{URL: "http://fw:1/", Prefix: ""},
			{URL: "http://fw:2/ui", Prefix: "/service/a b&c"},
		},
	}, Options{})
	for _, tc := range []struct{ in, want string }{
		{"//good:1/x", "/agent/g/x"},
		{"//bad:port:x/x", "//bad:port:x/x"},
		{"http://fw:1/x", "http://fw:1/x"},
		{"http://fw:2/ui/x", "/service/a%20b%26c/x"},
	} {
		if got := m.Map(tc.in, Page{}); got != tc.want {
			t.Errorf("Map(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestZeroTable checks that the zero Table maps nothing but root-relative
// URLs under a prefix.
func TestZeroTable(t *testing.T) {
	m := NewMapper(Table{}, Options{})
	for _, tc := range []struct{ in, prefix, want string }{
		{"//agent:5051/x", "", "//agent:5051/x"},
		{"/x", "", "/x"},
		{"/x", "/agent/a", "/agent/a/x"},
		{"/mesos/x", "/agent/a", "/mesos/x"},
	} {
		if got := m.Map(tc.in, Page{Prefix: tc.prefix}); got != tc.want {
			t.Errorf("Map(%q, %q) = %q, want %q", tc.in, tc.prefix, got, tc.want)
		}
	}
}
