package rewrite

import (
	"bytes"
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
)

// Table is what the mapping knows about the cluster: the members pages may
// link to and the framework UIs, each with its gateway path. The server
// builds it from the cluster snapshot. The zero value maps nothing.
type Table struct {
	// Members are the masters and agents.
	Members []Member `json:"members"`
	// Frameworks are the framework UIs (webui_url).
	Frameworks []Framework `json:"frameworks"`
	// LeaderAlias is a path prefix that reaches the leader from any page.
	// A page served under a prefix (an agent's, a standby's, a framework's)
	// cannot link to the leader with a plain root-relative path, which would
	// stay under its own prefix, so links to the leader from such pages use
	// this alias. Empty means "/mesos", the gateway's route to the leader.
	LeaderAlias string `json:"leader_alias,omitempty"`
}

// Member is one master or agent.
type Member struct {
	// Addresses are the host:port forms by which pages name the member: its
	// hostname with its port, and its pid's ip:port. IPv6 literals are
	// written in brackets ("[::1]:5050"). A form without a port takes the
	// default port of Scheme (443 for https, else 80). Hosts compare
	// without case and ports numerically; when two members claim the same
	// form the first keeps it.
	Addresses []string `json:"addresses"`
	// Prefix is the member's gateway path: "" or "/" for the leader,
	// "/agent/{id}" for an agent, "/gateway/masters/{host:port}" for a
	// standby. Bytes outside letters, digits and -._~!$+=:@/[] are
	// percent-encoded.
	Prefix string `json:"prefix"`
	// Scheme is what the member speaks, "https" or "http", for direct links
	// (Direct mode). Empty means unknown (unreachable): direct links to the
	// member then go through the gateway, where an error page can say why.
	Scheme string `json:"scheme,omitempty"`
}

// Framework is one framework UI.
type Framework struct {
	// URL is the webui_url the framework registered, such as
	// "http://10.0.0.5:4040/" or "http://host:8080/ui". URLs on its host and
	// port whose path lies under its path map to Prefix. Query and fragment
	// are ignored.
	URL string `json:"url"`
	// Prefix is the gateway path of the UI, such as "/service/{name}";
	// escaped as Member.Prefix.
	Prefix string `json:"prefix"`
	// Origin, if set, is the UI's own origin
	// ("https://marathon.apps.example.com:8443", --service-domain): links
	// to it become absolute URLs there, and Prefix is not used.
	Origin string `json:"origin,omitempty"`
}

// Mode says where URLs naming a member point after mapping.
type Mode int

const (
	// Proxy maps URLs naming members onto the gateway's paths.
	Proxy Mode = iota
	// Direct keeps URLs naming a member pointing at the member, with the
	// scheme it speaks (--links direct). Framework UIs still map to their
	// gateway paths: they speak plain HTTP, which an HTTPS page cannot load.
	Direct
)

// String returns "proxy" or "direct".
func (m Mode) String() string {
	if m == Direct {
		return "direct"
	}
	return "proxy"
}

// Options tune a Mapper. The zero value works: proxy mode, runtime
// injected, 1 MiB token limit, no logging.
type Options struct {
	// Mode chooses proxy (zero) or direct links.
	Mode Mode
	// Logger receives warnings about table entries that were skipped. Nil
	// discards them.
	Logger *slog.Logger
	// MaxToken bounds the bytes of one HTML token (a tag, a comment, a
	// script's text) held while rewriting. A page with a larger token
	// passes through unrewritten from that token on, without losing bytes.
	// Zero means 1 MiB.
	MaxToken int
	// NoRuntime leaves HTML pages without the browser runtime (for tests,
	// and for operators who want none).
	NoRuntime bool
}

// target is where URLs naming one member go.
type target struct {
	prefix string // "" for the leader
	scheme string // "http", "https" or "" (unknown)
}

// frameworkTarget is one framework UI on a host:port.
type frameworkTarget struct {
	path   string // the webui_url's path without its trailing slash
	prefix string
}

// Mapper maps URLs with one Table. Build it with NewMapper once per table;
// lookups cost O(1) whatever the cluster's size. It is safe for concurrent
// use.
type Mapper struct {
	mode      Mode
	maxToken  int
	noRuntime bool

	members    map[string]*target           // "host:port" -> target
	frameworks map[string][]frameworkTarget // "host:port" -> UIs, longest path first
	known      map[string]struct{}          // every gateway prefix but the root
	depths     []int                        // the segment counts of known prefixes
	leader     string                       // LeaderAlias, cleaned

	// tableJSON is the table as the browser runtime reads it, and
	// runtimeTail the injection after it (see runtime.go); runtimeHash is
	// the CSP source that allows the runtime, computed once.
	tableJSON   []byte
	runtimeTail []byte
	runtimeHash string
}

// NewMapper compiles t. Entries that cannot be used (an address that is
// not host:port, a framework URL that is not http or https) are skipped,
// each with a warning to o.Logger.
func NewMapper(t Table, o Options) *Mapper {
	log := o.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	m := &Mapper{
		mode:       o.Mode,
		maxToken:   o.MaxToken,
		noRuntime:  o.NoRuntime,
		members:    make(map[string]*target, 2*len(t.Members)),
		frameworks: make(map[string][]frameworkTarget),
		known:      make(map[string]struct{}, len(t.Members)+len(t.Frameworks)+1),
	}
	if m.maxToken <= 0 {
		m.maxToken = 1 << 20
	}
	m.leader = cleanPrefix(t.LeaderAlias)
	if m.leader == "" {
		m.leader = "/mesos"
	}
	m.addKnown(m.leader)
	js := runtimeTable{Mode: o.Mode.String(), Leader: m.leader, Members: make([][]string, 0, len(t.Members)), Frameworks: [][]string{}}
	for _, mem := range t.Members {
		if row, ok := m.addMember(mem, log); ok {
			js.Members = append(js.Members, row)
		}
	}
	for _, f := range t.Frameworks {
		m.addFramework(f, log)
	}
	for key, fs := range m.frameworks {
		slices.SortStableFunc(fs, func(a, b frameworkTarget) int { return cmp.Compare(len(b.path), len(a.path)) })
		for _, f := range fs {
			js.Frameworks = append(js.Frameworks, []string{key, f.path, f.prefix})
		}
	}
	slices.SortFunc(js.Frameworks, func(a, b []string) int {
		return cmp.Or(strings.Compare(a[0], b[0]), cmp.Compare(len(b[1]), len(a[1])))
	})
	m.tableJSON = mustJSON(js)
	m.runtimeTail = runtimeTail()
	m.runtimeHash = RuntimeHash()
	return m
}

// runtimeTable is the compiled table handed to runtime.js: keys already
// normalised, so the browser only normalises the URLs it maps.
type runtimeTable struct {
	Mode   string `json:"mode"`
	Leader string `json:"leader"`
	// Members rows are [prefix, scheme, key, key...].
	Members [][]string `json:"members"`
	// Frameworks rows are [key, path, prefix], longest path first per key.
	Frameworks [][]string `json:"frameworks"`
}

// addMember records one member's address forms and returns its row for the
// runtime.
func (m *Mapper) addMember(mem Member, log *slog.Logger) ([]string, bool) {
	scheme := strings.ToLower(mem.Scheme)
	if scheme != "http" && scheme != "https" {
		if scheme != "" {
			log.Warn("rewrite: member scheme is neither http nor https; direct links to it go through the gateway", "prefix", mem.Prefix, "scheme", mem.Scheme)
		}
		scheme = ""
	}
	t := &target{prefix: cleanPrefix(mem.Prefix), scheme: scheme}
	row := []string{t.prefix, t.scheme}
	for _, a := range mem.Addresses {
		key, ok := appendHostPort(nil, []byte(a), defaultPort(scheme))
		if !ok {
			log.Warn("rewrite: skipping member address that is not host:port", "address", a, "prefix", mem.Prefix)
			continue
		}
		if _, dup := m.members[string(key)]; dup {
			log.Debug("rewrite: member address already taken by an earlier member", "address", a, "prefix", mem.Prefix)
			continue
		}
		m.members[string(key)] = t
		row = append(row, string(key))
	}
	if len(row) == 2 {
		return nil, false
	}
	m.addKnown(t.prefix)
	return row, true
}

// addFramework records one framework UI.
func (m *Mapper) addFramework(f Framework, log *slog.Logger) {
	key, path, ok := splitOrigin([]byte(strings.TrimSpace(f.URL)))
	prefix := cleanPrefix(f.Prefix)
	if f.Origin != "" {
		// The UI's own origin: an absolute target, no gateway path.
		_, p, okOrigin := splitOrigin([]byte(f.Origin))
		prefix, ok = strings.TrimRight(f.Origin, "/"), ok && okOrigin && (p == "" || p == "/")
	}
	if !ok || prefix == "" {
		log.Warn("rewrite: skipping framework UI: its URL must be absolute http or https and its prefix a path", "url", f.URL, "prefix", f.Prefix)
		return
	}
	path = strings.TrimRight(path, "/")
	for _, have := range m.frameworks[key] {
		if have.path == path {
			log.Debug("rewrite: framework URL already taken by an earlier framework", "url", f.URL, "prefix", f.Prefix)
			return
		}
	}
	m.frameworks[key] = append(m.frameworks[key], frameworkTarget{path: path, prefix: prefix})
	if f.Origin == "" {
		m.addKnown(prefix)
	}
}

// addKnown remembers a gateway prefix, so that paths already under it are
// left alone (which makes the mapping idempotent).
func (m *Mapper) addKnown(prefix string) {
	if prefix == "" {
		return
	}
	m.known[prefix] = struct{}{}
	d := strings.Count(prefix, "/")
	if !slices.Contains(m.depths, d) {
		m.depths = append(m.depths, d)
		slices.Sort(m.depths)
	}
}

// splitOrigin parses an absolute http(s) URL into its normalised host:port
// key and its path.
func splitOrigin(u []byte) (key, path string, ok bool) {
	scheme, n, ok := parseScheme(u)
	if !ok {
		return "", "", false
	}
	a := n
	for a < len(u) && isSlash(u[a]) {
		a++
	}
	if a-n < 2 {
		return "", "", false
	}
	e := authorityEnd(u, a)
	hp := u[a:e]
	if at := bytes.LastIndexByte(hp, '@'); at >= 0 {
		hp = hp[at+1:]
	}
	k, ok := appendHostPort(nil, hp, defaultPort(scheme))
	if !ok {
		return "", "", false
	}
	rest := u[e:]
	if q := bytes.IndexAny(rest, "?#"); q >= 0 {
		rest = rest[:q]
	}
	return string(k), string(rest), true
}

// cleanPrefix normalises a gateway prefix: no trailing slash ("/" becomes
// the root, ""), a leading slash, and every byte that could end a URL in
// HTML, CSS, srcset or a header percent-encoded.
func cleanPrefix(p string) string {
	p = strings.TrimRight(strings.TrimSpace(p), "/")
	if p == "" {
		return ""
	}
	if p[0] != '/' {
		p = "/" + p
	}
	var b strings.Builder
	for i := 0; i < len(p); i++ {
		c := p[i]
		if prefixByte(c) || c == '%' && i+2 < len(p) && isHex(p[i+1]) && isHex(p[i+2]) {
			b.WriteByte(c)
			continue
		}
		fmt.Fprintf(&b, "%%%02X", c)
	}
	return b.String()
}

// prefixByte reports whether c may stand unescaped in a gateway prefix.
func prefixByte(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("-._~!$+=:@/[]", c) >= 0
}

func isHex(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

// mustJSON encodes v, which holds only strings and slices of them.
func mustJSON(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(fmt.Sprintf("rewrite: encode %T: %v", v, err))
	}
	return b
}
