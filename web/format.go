package web

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"html/template"
	"strings"
	"time"
)

// parseTemplates parses the embedded templates with the functions they
// use. The "asset" function resolves an asset's fingerprinted URL.
func parseTemplates(assets *assetSet) (*template.Template, error) {
	funcs := template.FuncMap{
		"asset":       assets.URL,
		"ago":         ago,
		"utc":         utc,
		"iso":         iso,
		"duration":    duration,
		"expiry":      expiry,
		"expiryClass": expiryClass,
		"anchor":      anchor,
		"speaksKey":   speaksKey,
		"phaseKey":    phaseKey,
		"severityKey": severityKey,
		"roleKey":     roleKey,
		"splitAfter":  strings.SplitAfter,
		"codeParts":   codeParts,
	}
	t, err := template.New("web").Funcs(funcs).ParseFS(embedded, "templates/*.html")
	if err != nil {
		return nil, fmt.Errorf("parse embedded templates: %w", err)
	}
	return t, nil
}

// ago says how long before now t was, the way people say it: "just now",
// "12 s ago", "4 min ago", "3 h ago", "2 days ago"; "never" for a zero
// time. A t after now (clock skew between gateway and data) is "just now".
func ago(now, t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	d := now.Sub(t)
	if d < time.Second {
		return "just now"
	}
	return duration(d) + " ago"
}

// duration prints d in the largest unit that keeps it short: "45 s",
// "5 min", "2 h 10 min", "3 days".
func duration(d time.Duration) string {
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%d s", int(d/time.Second))
	case d < time.Hour:
		return fmt.Sprintf("%d min", int(d/time.Minute))
	case d < 48*time.Hour:
		h, m := int(d/time.Hour), int(d%time.Hour/time.Minute)
		if m == 0 {
			return fmt.Sprintf("%d h", h)
		}
		return fmt.Sprintf("%d h %d min", h, m)
	}
	return fmt.Sprintf("%d days", int(d/(24*time.Hour)))
}

// utc prints t to the minute in UTC, the zone operators of a cluster share.
func utc(t time.Time) string {
	if t.IsZero() {
		return "never"
	}
	return t.UTC().Format("2006-01-02 15:04 UTC")
}

// iso prints t for a <time datetime> attribute.
func iso(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.RFC3339)
}

// expiry says when a certificate expires, counted in whole days from now:
// "expires in 40 days", "expires in less than a day", "expired 3 days ago".
func expiry(now, notAfter time.Time) string {
	if notAfter.IsZero() {
		return "no expiry date"
	}
	if !notAfter.After(now) {
		days := daysUntil(notAfter, now)
		switch days {
		case 0:
			return "expired today"
		case 1:
			return "expired 1 day ago"
		}
		return fmt.Sprintf("expired %d days ago", days)
	}
	switch days := daysUntil(now, notAfter); days {
	case 0:
		return "expires in less than a day"
	case 1:
		return "expires in 1 day"
	default:
		return fmt.Sprintf("expires in %d days", days)
	}
}

// expiryWarnDays is when an expiry turns into a warning (SPEC section 6:
// expiring within 30 days).
const expiryWarnDays = 30

// expiryClass is "bad" for an expired certificate, "warn" within
// expiryWarnDays, "ok" otherwise.
func expiryClass(now, notAfter time.Time) string {
	switch {
	case notAfter.IsZero():
		return "none"
	case !notAfter.After(now):
		return "bad"
	case daysUntil(now, notAfter) < expiryWarnDays:
		return "warn"
	}
	return "ok"
}

// anchor turns a member's address into an element id: the address's safe
// characters for readability, and a short hash so that two addresses never
// share an id.
func anchor(address string) string {
	var b strings.Builder
	b.WriteString("member-")
	for _, r := range strings.ToLower(address) {
		if r >= 'a' && r <= 'z' || r >= '0' && r <= '9' {
			b.WriteRune(r)
		} else {
			b.WriteByte('-')
		}
	}
	sum := sha256.Sum256([]byte(address))
	b.WriteByte('-')
	b.WriteString(hex.EncodeToString(sum[:3]))
	return b.String()
}

// The *Key functions turn values into the fixed words CSS classes are made
// of: anything web does not know becomes "unknown", so data can never
// invent a class.

func speaksKey(s Speaks) string {
	if k := knownSpeaks(s); k != SpeaksUnknown {
		return string(k)
	}
	return "unknown"
}

func phaseKey(p Phase) string {
	if p.Index() >= 0 {
		return string(p)
	}
	return "unknown"
}

func severityKey(s Severity) string {
	switch s {
	case SeverityError, SeverityInfo:
		return string(s)
	}
	return string(SeverityWarning)
}

func roleKey(r Role) string {
	switch r {
	case RoleLeader, RoleStandby, RoleAgent:
		return string(r)
	}
	return "unknown"
}

// textPart is a piece of a sentence: plain text, or code the page sets
// in monospace.
type textPart struct {
	Text string
	Code bool
}

// codeParts splits a sentence from server (a next step, a problem) into
// plain text and code: environment assignments such as
// LIBPROCESS_SSL_SUPPORT_DOWNGRADE=false and `quoted commands` (shown
// without their backquotes), so that a reader finds at a glance what to
// set and what to run. Joining the parts' texts gives the sentence back,
// less the backquotes of quoted commands.
func codeParts(s string) []textPart {
	var out []textPart
	add := func(text string, code bool) {
		if text == "" {
			return
		}
		if n := len(out); n > 0 && !code && !out[n-1].Code {
			out[n-1].Text += text
			return
		}
		out = append(out, textPart{Text: text, Code: code})
	}
	for s != "" {
		// A quoted command runs to the next backquote; a lone backquote
		// is text.
		if strings.HasPrefix(s, "`") {
			if end := strings.IndexByte(s[1:], '`'); end > 0 {
				add(s[1:end+1], true)
				s = s[end+2:]
				continue
			}
		}
		word := s
		if i := strings.IndexAny(s, " \t\n`"); i == 0 {
			word = s[:1]
		} else if i > 0 {
			word = s[:i]
		}
		s = s[len(word):]
		lead, core, trail := splitAssignment(word)
		add(lead, false)
		add(core, core != "")
		add(trail, false)
	}
	return out
}

// splitAssignment finds an environment assignment (NAME=value, NAME in
// capitals, digits and underscores) in a word, apart from the punctuation
// around it: "(LIBPROCESS_SSL_ENABLED=true," gives "(", the assignment and
// ",". A word that is no assignment comes back whole as lead.
func splitAssignment(word string) (lead, core, trail string) {
	core = strings.TrimLeft(word, "(")
	lead = word[:len(word)-len(core)]
	core = strings.TrimRight(core, ",;:)")
	trail = word[len(lead)+len(core):]
	// A sentence's full stop is not part of the value, unless the value
	// is an ellipsis (a placeholder such as CERT_FILE=...).
	if strings.HasSuffix(core, ".") && !strings.HasSuffix(core, "...") {
		core, trail = core[:len(core)-1], "."+trail
	}
	name, _, ok := strings.Cut(core, "=")
	if !ok || !isEnvName(name) {
		return word, "", ""
	}
	return lead, core, trail
}

// isEnvName reports whether name looks like an environment variable a
// step would set: a capital letter, then capitals, digits and
// underscores, with at least one underscore (LIBPROCESS_SSL_ENABLED, not
// "A").
func isEnvName(name string) bool {
	if name == "" || name[0] < 'A' || name[0] > 'Z' || !strings.Contains(name, "_") {
		return false
	}
	for _, r := range name {
		if !(r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '_') {
			return false
		}
	}
	return true
}
