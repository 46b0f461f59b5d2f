package rewrite

import (
	"net/http"
	"strings"
	"testing"
)

// TestRewriteHeader checks the headers that carry URLs and cookies.
func TestRewriteHeader(t *testing.T) {
	m := NewMapper(loadMapping(t).Table, Options{})
	for _, tc := range []struct {
		name   string
		page   Page
		header string
		in     []string
		want   []string
	}{
		{"location_protocol_relative_standby_redirect", Page{Prefix: "/gateway/masters/master2.example.com:5050"}, "Location",
			[]string{"//master1.example.com:5050/master/state"}, []string{"/mesos/master/state"}},
		{"location_to_leader_from_root", Page{}, "Location",
			[]string{"http://10.0.0.1:5050/master/state?x=1"}, []string{"/master/state?x=1"}},
		{"location_root_relative_under_prefix", Page{Prefix: "/agent/a1"}, "Location",
			[]string{"/files/browse?path=/"}, []string{"/agent/a1/files/browse?path=/"}},
		{"location_relative", Page{Prefix: "/agent/a1"}, "Location", []string{"browse?x"}, []string{"browse?x"}},
		{"location_unknown_host", Page{Prefix: "/agent/a1"}, "Location",
			[]string{"https://login.example.org/?next=/x"}, []string{"https://login.example.org/?next=/x"}},
		{"content_location", Page{Prefix: "/service/spark"}, "Content-Location",
			[]string{"http://spark.example.com:4040/spark/ui/jobs/"}, []string{"/service/spark/jobs/"}},
		{"refresh", Page{Prefix: "/agent/a1"}, "Refresh",
			[]string{"5; url=//agent2.example.com:5051/x"}, []string{"5; url=/agent/a2/x"}},
		{"refresh_without_url", Page{Prefix: "/agent/a1"}, "Refresh", []string{"5"}, []string{"5"}},
		{"link", Page{Prefix: "/agent/a1"}, "Link",
			[]string{`</style.css>; rel=preload; as=style, <//agent2.example.com:5051/x.js>; rel=preload; title="a <b> c"`, `<https://example.org/>; rel=next`},
			[]string{`</agent/a1/style.css>; rel=preload; as=style, </agent/a2/x.js>; rel=preload; title="a <b> c"`, `<https://example.org/>; rel=next`}},
		{"link_quoted_lt_is_not_a_url", Page{Prefix: "/agent/a1"}, "Link",
			[]string{`<a>; title="<//agent2.example.com:5051/x>", </y>; rel=x`},
			[]string{`<a>; title="<//agent2.example.com:5051/x>", </agent/a1/y>; rel=x`}},
		{"cookie_path_moves_under_prefix", Page{Prefix: "/agent/a1"}, "Set-Cookie",
			[]string{"session=abc; Path=/; HttpOnly", "x=1; path=/files; Secure"},
			[]string{"session=abc; Path=/agent/a1/; HttpOnly", "x=1; path=/agent/a1/files; Secure"}},
		{"cookie_domain_dropped", Page{Prefix: "/service/marathon"}, "Set-Cookie",
			[]string{"s=1; Domain=.example.com; Path=/ui; SameSite=Lax", "t=2; domain=10.0.0.20"},
			[]string{"s=1; Path=/service/marathon/ui; SameSite=Lax", "t=2"}},
		{"cookie_on_root_page_keeps_path", Page{}, "Set-Cookie",
			[]string{"s=1; Path=/; Domain=master1.example.com"}, []string{"s=1; Path=/"}},
		{"cookie_path_already_prefixed", Page{Prefix: "/agent/a1"}, "Set-Cookie",
			[]string{"s=1; Path=/agent/a1/x"}, []string{"s=1; Path=/agent/a1/x"}},
		{"cookie_without_attributes", Page{Prefix: "/agent/a1"}, "Set-Cookie", []string{"s=1"}, []string{"s=1"}},
		{"worker_scope_confined", Page{Prefix: "/service/x"}, "Service-Worker-Allowed", []string{"/"}, []string{"/service/x/"}},
		{"worker_scope_at_root_kept", Page{}, "Service-Worker-Allowed", []string{"/"}, []string{"/"}},
		{"worker_scope_elsewhere_dropped", Page{Prefix: "/service/x"}, "Service-Worker-Allowed", []string{"//agent2.example.com:5051/"}, nil},
		{"cookie_name_prefixed", Page{CookiePrefix: "mesos-"}, "Set-Cookie",
			[]string{"session=abc; Path=/", "__Host-sid=1; Path=/; Secure", " lead=1"},
			[]string{"mesos-session=abc; Path=/", "__Host-mesos-sid=1; Path=/; Secure", " mesos-lead=1"}},
		{"cookie_value_with_path_text", Page{Prefix: "/agent/a1"}, "Set-Cookie",
			[]string{"path=/x; Max-Age=10"}, []string{"path=/x; Max-Age=10"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := http.Header{}
			for _, v := range tc.in {
				h.Add(tc.header, v)
			}
			m.context(tc.page).rewriteHeader(h)
			got := h.Values(tc.header)
			if len(got) != len(tc.want) {
				t.Fatalf("%s = %q, want %q", tc.header, got, tc.want)
			}
			for i := range got {
				if got[i] != tc.want[i] {
					t.Errorf("%s[%d] = %q, want %q", tc.header, i, got[i], tc.want[i])
				}
			}
		})
	}
}

// TestAmendCSP checks that the runtime's hash is added exactly where a
// policy would block it.
func TestAmendCSP(t *testing.T) {
	const h = "'sha256-AAAA'"
	for _, tc := range []struct{ name, in, want string }{
		{"script_src_self", "script-src 'self'", "script-src 'self' " + h},
		{"default_src_only", "default-src 'self'; img-src *", "default-src 'self' " + h + "; img-src *"},
		{"script_src_over_default", "default-src 'none'; script-src 'self' https://cdn.example.org", "default-src 'none'; script-src 'self' https://cdn.example.org " + h},
		{"script_src_elem_first", "script-src 'self'; script-src-elem 'self'", "script-src 'self'; script-src-elem 'self' " + h},
		{"none_replaced", "script-src 'none'; object-src 'none'", "script-src " + h + "; object-src 'none'"},
		{"unsafe_inline_already_allows", "script-src 'self' 'unsafe-inline'", "script-src 'self' 'unsafe-inline'"},
		{"unsafe_inline_with_nonce_does_not", "script-src 'unsafe-inline' 'nonce-abc'", "script-src 'unsafe-inline' 'nonce-abc' " + h},
		{"strict_dynamic", "script-src 'strict-dynamic' 'nonce-abc' 'unsafe-inline'", "script-src 'strict-dynamic' 'nonce-abc' 'unsafe-inline' " + h},
		{"no_script_directive", "img-src 'self'; frame-ancestors 'none'", "img-src 'self'; frame-ancestors 'none'"},
		{"two_policies", "script-src 'self', default-src https:", "script-src 'self' " + h + ", default-src https: " + h},
		{"first_occurrence_counts", "script-src 'self'; script-src 'unsafe-inline'", "script-src 'self' " + h + "; script-src 'unsafe-inline'"},
		{"upper_case_directive", "Script-Src 'SELF'", "Script-Src 'SELF' " + h},
		{"trailing_semicolon", "script-src 'self';", "script-src 'self' " + h + ";"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := amendCSP(tc.in, h); got != tc.want {
				t.Errorf("amendCSP(%q)\n got %q\nwant %q", tc.in, got, tc.want)
			}
		})
	}
}

// TestRuntimeHash checks the hash against the script the pages get.
func TestRuntimeHash(t *testing.T) {
	if got := RuntimeHash(); len(got) != len("'sha256-'")+44 {
		t.Errorf("RuntimeHash() = %q", got)
	}
}

// TestRuntimeScriptIsInjectable checks that the runtime's text can stand
// inside a <script> element as it is: nothing in it may end the element or
// switch the tokenizer into the script's escaped states.
func TestRuntimeScriptIsInjectable(t *testing.T) {
	lower := strings.ToLower(runtimeJS)
	for _, bad := range []string{"</script", "<script", "<!--", "-->"} {
		if strings.Contains(lower, bad) {
			t.Errorf("runtime.js contains %q", bad)
		}
	}
}
