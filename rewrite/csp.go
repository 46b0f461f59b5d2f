package rewrite

import "strings"

// amendCSP returns a Content-Security-Policy header value (one or more
// policies separated by commas) with the runtime's hash allowed wherever a
// policy would block it. The directive that governs script elements is
// script-src-elem, else script-src, else default-src; it is left alone
// when it already allows inline scripts ('unsafe-inline' without a nonce,
// a hash or 'strict-dynamic', which would switch that off), or when no
// such directive exists.
func amendCSP(v, hash string) string {
	policies := strings.Split(v, ",")
	for i, p := range policies {
		policies[i] = amendPolicy(p, hash)
	}
	return strings.Join(policies, ",")
}

// amendPolicy amends one policy; see amendCSP.
func amendPolicy(p, hash string) string {
	dirs := strings.Split(p, ";")
	pick, rank := -1, 0
	seen := map[string]bool{}
	for i, d := range dirs {
		f := strings.Fields(d)
		if len(f) == 0 {
			continue
		}
		name := strings.ToLower(f[0])
		if seen[name] {
			continue // browsers use a directive's first occurrence
		}
		seen[name] = true
		r := map[string]int{"default-src": 1, "script-src": 2, "script-src-elem": 3}[name]
		if r > rank {
			pick, rank = i, r
		}
	}
	if pick < 0 {
		return p
	}
	d := dirs[pick]
	f := strings.Fields(d)
	var unsafeInline, noneOnly, gated bool
	for _, s := range f[1:] {
		switch l := strings.ToLower(s); {
		case l == "'unsafe-inline'":
			unsafeInline = true
		case l == "'strict-dynamic'", strings.HasPrefix(l, "'nonce-"), strings.HasPrefix(l, "'sha256-"),
			strings.HasPrefix(l, "'sha384-"), strings.HasPrefix(l, "'sha512-"):
			gated = true
		}
	}
	noneOnly = len(f) == 2 && strings.EqualFold(f[1], "'none'")
	switch {
	case unsafeInline && !gated:
		return p
	case noneOnly:
		lead := d[:strings.Index(d, f[0])]
		dirs[pick] = lead + f[0] + " " + hash
	default:
		dirs[pick] = strings.TrimRight(d, " \t") + " " + hash
	}
	return strings.Join(dirs, ";")
}
