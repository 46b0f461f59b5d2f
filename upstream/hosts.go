package upstream

import (
	"slices"
	"strings"
)

// This file gives framework UIs origins of their own (--service-domain):
// the UI of framework "marathon" at https://marathon.<domain>/, so the
// browser keeps each UI from the gateway's pages and from the others, as
// it keeps any two sites apart. Framework names are anything a framework
// registers; a host name's label is not, so names are made DNS-safe, and
// names that become the same label share it in a fixed order: the
// framework that holds the name (as /service/<name> would lead to it)
// gets the label, the others the label followed by the end of their id.

// maxLabel is the longest DNS label (RFC 1035).
const maxLabel = 63

// Label makes a framework name a DNS label: lower-case letters, digits
// and hyphens, other characters as hyphens, no hyphen first or last, at
// most 63 characters; "framework" when nothing is left.
func Label(name string) string {
	var b strings.Builder
	hyphen := false
	for _, r := range strings.ToLower(name) {
		ok := r >= 'a' && r <= 'z' || r >= '0' && r <= '9'
		switch {
		case ok:
			if hyphen && b.Len() > 0 {
				b.WriteByte('-')
			}
			b.WriteRune(r)
			hyphen = false
		default:
			hyphen = true
		}
	}
	l := b.String()
	if len(l) > maxLabel {
		l = strings.TrimRight(l[:maxLabel], "-")
	}
	if l == "" {
		return "framework"
	}
	return l
}

// labelsLocked gives every framework with a web UI its label, unique
// among them: a name's holder (betterFramework) first, then the others
// of the same label by id, each with a suffix from its id. c.mu is held.
func (c *Cluster) labelsLocked() map[string]*Framework {
	byLabel := map[string][]*Framework{}
	for _, f := range c.frameworks {
		if f.WebUIURL != "" {
			l := Label(f.Name)
			byLabel[l] = append(byLabel[l], f)
		}
	}
	out := make(map[string]*Framework, len(c.frameworks))
	for l, fs := range byLabel {
		slices.SortFunc(fs, func(a, b *Framework) int {
			switch {
			case betterFramework(a, b):
				return -1
			case betterFramework(b, a):
				return 1
			}
			return strings.Compare(a.ID, b.ID)
		})
		out[l] = fs[0]
		for _, f := range fs[1:] {
			out[uniqueLabel(l, f.ID, out)] = f
		}
	}
	return out
}

// uniqueLabel returns label with a suffix made from the end of id that no
// other label in taken has yet.
func uniqueLabel(label, id string, taken map[string]*Framework) string {
	suffix := Label(id)
	for n := 8; ; n += 4 {
		s := suffix
		if len(s) > n {
			s = strings.TrimLeft(s[len(s)-n:], "-")
		}
		l := label
		if len(l)+1+len(s) > maxLabel {
			l = strings.TrimRight(l[:maxLabel-1-len(s)], "-")
		}
		l += "-" + s
		if _, dup := taken[l]; !dup || n >= len(suffix) {
			return l
		}
	}
}

// hostLabel returns the label of a framework UI's host: host (without a
// port) is one label followed by the service domain.
func hostLabel(host, domain string) (string, bool) {
	if domain == "" {
		return "", false
	}
	if h, _, ok := strings.Cut(host, ":"); ok && !strings.Contains(host, "]") {
		host = h
	}
	l, ok := strings.CutSuffix(strings.ToLower(strings.TrimSuffix(host, ".")), "."+domain)
	if !ok || l == "" || strings.Contains(l, ".") {
		return "", false
	}
	return l, true
}
