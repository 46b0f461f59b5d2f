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
				p := Page{Prefix: c.Page.Prefix, Scheme: c.Page.Scheme}
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

// TestOwnOrigins: with framework UIs on origins of their own
// (--service-domain), links to them are absolute there, from the gateway's
// pages and from theirs; a framework UI's page links into the gateway with
// the gateway's origin and keeps its root-relative URLs on its own origin.
func TestOwnOrigins(t *testing.T) {
	m := NewMapper(Table{
		Members: []Member{{Addresses: []string{"master1:5050"}, Prefix: ""}, {Addresses: []string{"agent1:5051"}, Prefix: "/agent/S1"}},
		Frameworks: []Framework{
			{URL: "http://10.0.0.7:8080/", Origin: "https://marathon.apps.example.com:8443"},
			{URL: "http://10.0.0.8:4040/jenkins/", Origin: "https://jenkins.apps.example.com:8443"},
		},
	}, Options{})
	gw := Page{Scheme: "https"}
	ui := Page{Scheme: "http", Origin: "https://marathon.apps.example.com:8443", Gateway: "https://gw.example.com:8443"}
	for _, tt := range []struct {
		name string
		page Page
		in   string
		want string
	}{
		{"gateway page to a UI", gw, "http://10.0.0.7:8080/v2/apps?x=1", "https://marathon.apps.example.com:8443/v2/apps?x=1"},
		{"gateway page to a UI's root", gw, "http://10.0.0.7:8080", "https://marathon.apps.example.com:8443/"},
		{"gateway page to a UI under a path", gw, "http://10.0.0.8:4040/jenkins/job/x", "https://jenkins.apps.example.com:8443/job/x"},
		{"already mapped", gw, "https://marathon.apps.example.com:8443/v2/apps", "https://marathon.apps.example.com:8443/v2/apps"},
		{"UI page, root-relative stays", ui, "/v2/apps", "/v2/apps"},
		{"UI page to an agent", ui, "//agent1:5051/files/browse?path=/x", "https://gw.example.com:8443/agent/S1/files/browse?path=/x"},
		{"UI page to the leader", ui, "http://master1:5050/master/state", "https://gw.example.com:8443/master/state"},
		{"UI page to another UI", ui, "http://10.0.0.8:4040/jenkins/", "https://jenkins.apps.example.com:8443/"},
		{"UI page to its own URL", ui, "http://10.0.0.7:8080/ui/", "https://marathon.apps.example.com:8443/ui/"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if got := m.Map(tt.in, tt.page); got != tt.want {
				t.Errorf("Map(%q) = %q, want %q", tt.in, got, tt.want)
			}
		})
	}
}
