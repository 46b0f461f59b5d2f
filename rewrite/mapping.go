package rewrite

import (
	"bytes"
	"strings"
)

// Page is what the mapping needs to know about the page a URL appears in.
type Page struct {
	// Prefix is the gateway path the page is served under: "" (or "/") for
	// the leader at the root, "/mesos", "/agent/{id}",
	// "/gateway/masters/{host:port}", "/service/{name}", ... Root-relative
	// URLs in the page are moved under it.
	Prefix string
	// Scheme is the scheme the page came from its member with, "http" or
	// "https": a protocol-relative URL without a port takes that scheme's
	// default port, as it did on the member. Empty means the scheme of
	// resp.Request.URL in RewriteResponse, and "http" elsewhere.
	Scheme string
	// Gateway is the browser-facing origin of the gateway, such as
	// "https://gw.example:8443". It is used only in a page whose <base>
	// points away from the gateway, where a mapped path must name the
	// gateway in full; empty leaves such paths root-relative.
	Gateway string
	// Counts, if set, is told the sizes of the page's body when
	// RewriteResponse rewrites it (see Counts); nil counts nothing.
	Counts *Counts
	// Origin, if set, is the origin the page is served on when it is not
	// the gateway's: a framework UI's own (--service-domain). Links into
	// the gateway then become absolute URLs on Gateway, which is needed,
	// and root-relative URLs stay on the page's origin.
	Origin string
	// CookiePrefix, if set, is put before the name of every cookie the
	// response sets (after a __Host- or __Secure- prefix), so the gateway
	// can tell its member's cookies from others when they come back; ""
	// keeps names as they are.
	CookiePrefix string
}

// Map returns u mapped for a page: a URL naming a known member or framework
// UI becomes its gateway path (or, in Direct mode, the member's URL with the
// scheme it speaks), a root-relative URL moves under the page's prefix, and
// anything else (relative URLs, fragments, data:, javascript:, mailto:,
// unknown hosts, paths already under a gateway prefix) is returned as it
// is. Mapping twice gives what mapping once gave.
func (m *Mapper) Map(u string, p Page) string {
	c := m.context(p)
	out, n, ok := c.mapURL(nil, []byte(u))
	if !ok {
		return u
	}
	return string(out) + u[n:]
}

// pageContext is a Page prepared for mapping, with the scratch space the
// mapping needs. One serves one response; it is not safe for concurrent use.
type pageContext struct {
	m       *Mapper
	prefix  string // the page's prefix, cleaned
	scheme  string // "http" or "https"
	gateway string // browser-facing origin, or ""
	// cookiePrefix is Page.CookiePrefix.
	cookiePrefix string
	// root is the prefix root-relative URLs move under: the page's prefix,
	// or what a <base> element made it.
	root string
	// rootOff says a <base> points away from the gateway: root-relative
	// URLs resolve elsewhere and are left alone, and mapped paths get the
	// gateway's origin.
	rootOff bool
	// own says the page is on an origin of its own (Page.Origin), not
	// the gateway's.
	own bool

	key   []byte // scratch: host:port being looked up
	clean []byte // scratch: a URL without tabs and newlines
}

// context prepares p for mapping.
func (m *Mapper) context(p Page) *pageContext {
	prefix := cleanPrefix(p.Prefix)
	scheme := strings.ToLower(p.Scheme)
	if scheme != "https" {
		scheme = "http"
	}
	return &pageContext{
		m:            m,
		prefix:       prefix,
		root:         prefix,
		rootOff:      p.Origin != "",
		own:          p.Origin != "",
		scheme:       scheme,
		gateway:      strings.TrimRight(p.Gateway, "/"),
		cookiePrefix: p.CookiePrefix,
		key:          make([]byte, 0, 64),
	}
}

// mapURL maps u. When it changes u it returns dst with the new beginning of
// u appended and the number of bytes of u that beginning replaces: the
// mapped URL is out followed by u[n:]. Otherwise it returns dst, 0, false.
func (c *pageContext) mapURL(dst, u []byte) (out []byte, n int, ok bool) {
	if !hasTabOrNewline(u) {
		return c.mapClean(dst, u)
	}
	// Browsers drop tabs and newlines from URLs before parsing them: map
	// the URL without them.
	c.clean = c.clean[:0]
	for _, b := range u {
		if b != '\t' && b != '\n' && b != '\r' {
			c.clean = append(c.clean, b)
		}
	}
	out, n, ok = c.mapClean(dst, c.clean)
	if !ok {
		return dst, 0, false
	}
	// The replaced beginning loses its tabs and newlines; the rest keeps
	// its bytes.
	m := 0
	for kept := 0; kept < n; m++ {
		if b := u[m]; b != '\t' && b != '\n' && b != '\r' {
			kept++
		}
	}
	return out, m, true
}

// hasTabOrNewline reports whether u holds a tab, CR or LF.
func hasTabOrNewline(u []byte) bool {
	for _, b := range u {
		if b <= '\r' && (b == '\t' || b == '\n' || b == '\r') {
			return true
		}
	}
	return false
}

// mapClean maps u, which has no tabs or newlines; see mapURL.
func (c *pageContext) mapClean(dst, u []byte) ([]byte, int, bool) {
	// Leading C0 controls and spaces are ignored by browsers; keep them.
	i := 0
	for i < len(u) && u[i] <= ' ' {
		i++
	}
	s := u[i:]
	switch {
	case len(s) >= 2 && isSlash(s[0]) && isSlash(s[1]):
		// Protocol-relative: browsers skip any number of slashes (and
		// backslashes) before the authority.
		a := i + 2
		for a < len(u) && isSlash(u[a]) {
			a++
		}
		return c.mapAuthority(dst, u, i, a, "")
	case len(s) >= 1 && isSlash(s[0]):
		return c.mapRoot(dst, u, i)
	}
	scheme, k, ok := parseScheme(s)
	if !ok {
		return dst, 0, false
	}
	a := i + k
	for a < len(u) && isSlash(u[a]) {
		a++
	}
	if a-(i+k) < 2 {
		// "http:x" and "http:/x" resolve against the page's own URL when
		// the schemes match: not a link to another host we can know.
		return dst, 0, false
	}
	return c.mapAuthority(dst, u, i, a, scheme)
}

// mapRoot maps a root-relative URL u[start:] under the page's root prefix.
func (c *pageContext) mapRoot(dst, u []byte, start int) ([]byte, int, bool) {
	if c.rootOff || c.root == "" || c.carriesPrefix(u[start:]) {
		return dst, 0, false
	}
	dst = append(dst, u[:start]...)
	dst = append(dst, c.root...)
	return dst, start, true
}

// mapAuthority maps an absolute or protocol-relative URL whose authority
// starts at u[a]; u[start:a] is its scheme and slashes, scheme is "" for a
// protocol-relative URL.
func (c *pageContext) mapAuthority(dst, u []byte, start, a int, scheme string) ([]byte, int, bool) {
	e := authorityEnd(u, a)
	hp := u[a:e]
	var userinfo []byte
	if at := bytes.LastIndexByte(hp, '@'); at >= 0 {
		userinfo, hp = hp[:at], hp[at+1:]
	}
	port := defaultPort(scheme)
	if scheme == "" {
		port = defaultPort(c.scheme)
	}
	key, ok := appendHostPort(c.key[:0], hp, port)
	c.key = key
	if !ok {
		return dst, 0, false
	}
	tail := u[e:]
	if t := c.m.members[string(key)]; t != nil {
		dst = append(dst, u[:start]...)
		if c.m.mode == Direct && t.scheme != "" {
			return c.appendDirect(dst, t, scheme, userinfo, key), e, true
		}
		return c.appendGateway(dst, t.prefix, tail), e, true
	}
	fs := c.m.frameworks[string(key)]
	if fs == nil {
		return dst, 0, false
	}
	path := tail
	if q := bytes.IndexAny(path, "?#"); q >= 0 {
		path = path[:q]
	}
	for _, f := range fs {
		if f.path != "" && !hasPathPrefix(path, f.path) {
			continue
		}
		dst = append(dst, u[:start]...)
		return c.appendGateway(dst, f.prefix, tail[len(f.path):]), e + len(f.path), true
	}
	return dst, 0, false
}

// appendGateway appends the gateway path prefix that replaces a URL's
// scheme and authority, given what follows them.
func (c *pageContext) appendGateway(dst []byte, prefix string, tail []byte) []byte {
	if isAbsolute(prefix) {
		// A framework UI on its own origin.
		dst = append(dst, prefix...)
		if len(tail) == 0 || tail[0] == '?' || tail[0] == '#' {
			dst = append(dst, '/')
		}
		return dst
	}
	if c.rootOff {
		dst = append(dst, c.gateway...)
	}
	if prefix == "" && c.root != "" {
		// The leader, from a page whose root-relative paths stay under
		// another prefix.
		prefix = c.m.leader
	}
	if prefix == "" && len(tail) >= 2 && isSlash(tail[0]) && isSlash(tail[1]) {
		// "//x" would name a host; "/.//x" is the path "//x".
		dst = append(dst, "/."...)
	}
	dst = append(dst, prefix...)
	if len(tail) == 0 || tail[0] == '?' || tail[0] == '#' {
		dst = append(dst, '/')
	}
	return dst
}

// isAbsolute reports a target that is an origin, not a gateway path.
func isAbsolute(prefix string) bool {
	return strings.HasPrefix(prefix, "https://") || strings.HasPrefix(prefix, "http://")
}

// appendDirect appends the scheme and authority of a direct link to member
// t, named by key ("host:port"), keeping the URL's userinfo.
func (c *pageContext) appendDirect(dst []byte, t *target, scheme string, userinfo, key []byte) []byte {
	s := t.scheme
	if scheme == "ws" || scheme == "wss" {
		s = "ws"
		if t.scheme == "https" {
			s = "wss"
		}
	}
	dst = append(dst, s...)
	dst = append(dst, "://"...)
	if userinfo != nil {
		dst = append(dst, userinfo...)
		dst = append(dst, '@')
	}
	colon := bytes.LastIndexByte(key, ':')
	dst = append(dst, key[:colon]...)
	if port := key[colon+1:]; string(port) != defaultPort(s) {
		dst = append(dst, key[colon:]...)
	}
	return dst
}

// carriesPrefix reports whether the root-relative path s is already under
// the page's prefix, its root or any gateway prefix of the table.
func (c *pageContext) carriesPrefix(s []byte) bool {
	if c.prefix != "" && hasPathPrefix(s, c.prefix) || c.root != "" && hasPathPrefix(s, c.root) {
		return true
	}
	_, ok := c.m.knownPrefix(s)
	return ok
}

// knownPrefix returns the gateway prefix of the table that the
// root-relative path s lies under, if any.
func (m *Mapper) knownPrefix(s []byte) (string, bool) {
	for _, d := range m.depths {
		end := segmentsEnd(s, d)
		if end < 0 {
			break
		}
		if _, ok := m.known[string(s[:end])]; ok {
			return string(s[:end]), true
		}
	}
	return "", false
}

// setBase records the effect of a <base href> whose value, after mapping,
// is b: root-relative URLs now resolve against it.
func (c *pageContext) setBase(b []byte) {
	i := 0
	for i < len(b) && b[i] <= ' ' {
		i++
	}
	b = bytes.Map(func(r rune) rune {
		if r == '\t' || r == '\n' || r == '\r' {
			return -1
		}
		return r
	}, b[i:])
	switch {
	case len(b) >= 2 && isSlash(b[0]) && isSlash(b[1]):
		c.rootOff = true
	case len(b) >= 1 && isSlash(b[0]):
		if q := bytes.IndexAny(b, "?#"); q >= 0 {
			b = b[:q]
		}
		c.root = c.rootFromPath(b)
	default:
		if _, _, ok := parseAnyScheme(b); ok {
			c.rootOff = true
		}
	}
}

// rootFromPath returns the prefix root-relative URLs move under when the
// page's base is the gateway path p.
func (c *pageContext) rootFromPath(p []byte) string {
	if c.prefix != "" && hasPathPrefix(p, c.prefix) {
		return c.prefix
	}
	if k, ok := c.m.knownPrefix(p); ok {
		return k
	}
	return ""
}

// segmentsEnd returns the index in the root-relative path s where its
// first d segments end, or -1 when s has fewer.
func segmentsEnd(s []byte, d int) int {
	pos := 0
	for range d {
		if pos >= len(s) || !isSlash(s[pos]) {
			return -1
		}
		pos++
		for pos < len(s) && !isSlash(s[pos]) && s[pos] != '?' && s[pos] != '#' {
			pos++
		}
	}
	return pos
}

// hasPathPrefix reports whether s starts with the path prefix p at a
// segment boundary. A backslash separates segments, as browsers read it
// in http URLs.
func hasPathPrefix(s []byte, p string) bool {
	if len(s) < len(p) || string(s[:len(p)]) != p {
		return false
	}
	return len(s) == len(p) || isSlash(s[len(p)]) || s[len(p)] == '?' || s[len(p)] == '#'
}

// parseScheme returns the lower-cased scheme of u when it is one the
// mapping handles (http, https, ws, wss) and the index after its colon.
func parseScheme(u []byte) (string, int, bool) {
	s, n, ok := parseAnyScheme(u)
	if !ok {
		return "", 0, false
	}
	switch s {
	case "http", "https", "ws", "wss":
		return s, n, true
	}
	return "", 0, false
}

// parseAnyScheme returns the lower-cased scheme of u, if u has one, and
// the index after its colon. Only the four schemes the mapping handles
// are returned as strings without allocating; others come back as
// "other".
func parseAnyScheme(u []byte) (string, int, bool) {
	if len(u) == 0 || !isAlpha(u[0]) {
		return "", 0, false
	}
	i := 1
	for i < len(u) && (isAlpha(u[i]) || '0' <= u[i] && u[i] <= '9' || u[i] == '+' || u[i] == '-' || u[i] == '.') {
		i++
	}
	if i == len(u) || u[i] != ':' {
		return "", 0, false
	}
	switch {
	case equalFold(u[:i], "http"):
		return "http", i + 1, true
	case equalFold(u[:i], "https"):
		return "https", i + 1, true
	case equalFold(u[:i], "ws"):
		return "ws", i + 1, true
	case equalFold(u[:i], "wss"):
		return "wss", i + 1, true
	}
	return "other", i + 1, true
}

// authorityEnd returns the index where the authority starting at u[a] ends.
func authorityEnd(u []byte, a int) int {
	for e := a; e < len(u); e++ {
		switch u[e] {
		case '/', '\\', '?', '#':
			return e
		}
	}
	return len(u)
}

// appendHostPort appends the normalised "host:port" of hp (no userinfo) to
// dst: host lower-cased, port without leading zeros, defPort when absent.
func appendHostPort(dst, hp []byte, defPort string) ([]byte, bool) {
	var host, port []byte
	if len(hp) > 0 && hp[0] == '[' {
		end := bytes.IndexByte(hp, ']')
		if end < 0 {
			return dst, false
		}
		host = hp[:end+1]
		if rest := hp[end+1:]; len(rest) > 0 {
			if rest[0] != ':' {
				return dst, false
			}
			port = rest[1:]
		}
	} else if colon := bytes.IndexByte(hp, ':'); colon >= 0 {
		host, port = hp[:colon], hp[colon+1:]
	} else {
		host = hp
	}
	if len(host) == 0 {
		return dst, false
	}
	for _, b := range host {
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		dst = append(dst, b)
	}
	dst = append(dst, ':')
	if len(port) == 0 {
		return append(dst, defPort...), true
	}
	v := 0
	for _, b := range port {
		if b < '0' || b > '9' {
			return dst, false
		}
		if v = v*10 + int(b-'0'); v > 65535 {
			return dst, false
		}
	}
	for len(port) > 1 && port[0] == '0' {
		port = port[1:]
	}
	return append(dst, port...), true
}

// defaultPort returns the port a URL of scheme uses when it names none.
func defaultPort(scheme string) string {
	if scheme == "https" || scheme == "wss" {
		return "443"
	}
	return "80"
}

func isSlash(b byte) bool { return b == '/' || b == '\\' }

func isAlpha(b byte) bool { return 'a' <= b && b <= 'z' || 'A' <= b && b <= 'Z' }

// equalFold reports whether b equals the lower-case ASCII s, ignoring case.
func equalFold(b []byte, s string) bool {
	if len(b) != len(s) {
		return false
	}
	for i := range b {
		c := b[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		if c != s[i] {
			return false
		}
	}
	return true
}
