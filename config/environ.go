package config

import (
	"fmt"
	"sort"
	"strings"
)

// unknownVariables warns about MESOSGATE_* variables that are no setting
// of any mesosgate command, and LIBPROCESS_SSL_* variables that libprocess
// does not know: a typo in a security setting must not go unnoticed
// (libprocess itself ignores unknown names silently). Warnings rather than
// errors: the environment may be shared with a newer mesosgate.
func unknownVariables(env environ) []string {
	known := knownVariables()
	var names []string
	for name := range env {
		if known[name] {
			continue
		}
		if strings.HasPrefix(name, "MESOSGATE_") || strings.HasPrefix(name, tlsxPrefix) {
			names = append(names, name)
		}
	}
	sort.Strings(names)
	var w []string
	for _, name := range names {
		if rest, ok := strings.CutPrefix(name, tlsxPrefix); ok && known[tlsxPrefix+strings.ToUpper(rest)] {
			// stout lower-cases the name, so libprocess reads any case;
			// the lookup mesosgate uses sees only upper and lower case.
			w = append(w, fmt.Sprintf("%s is ignored: libprocess reads it whatever its case, mesosgate reads only %s%s or %s%s; rename it",
				name, tlsxPrefix, strings.ToUpper(rest), tlsxPrefix, strings.ToLower(rest)))
			continue
		}
		what := "a mesosgate setting"
		if strings.HasPrefix(name, tlsxPrefix) {
			what = "a libprocess SSL variable"
		}
		msg := fmt.Sprintf("%s is not %s and is ignored", name, what)
		if alt := suggest(name, known); alt != "" {
			msg += "; did you mean " + alt + "?"
		}
		w = append(w, msg)
	}
	return w
}

// knownVariables returns every MESOSGATE_ variable of every command and
// every libprocess SSL variable under LIBPROCESS_SSL_ (both cases).
func knownVariables() map[string]bool {
	known := map[string]bool{}
	for _, define := range []func(*set) []string{
		new(Gateway).define, new(Probe).define, new(Certs).define, new(Sim).define,
	} {
		s := newSet("", environ{})
		define(s)
		for _, st := range s.list {
			known[st.env] = true
		}
	}
	for _, v := range sslVariableList() {
		for _, n := range append([]string{v.Name}, v.Aliases...) {
			known[tlsxPrefix+n] = true
			known[tlsxPrefix+strings.ToLower(n)] = true
		}
	}
	return known
}

// suggest returns the known name closest to name, if it is close enough to
// be a typo. LIBPROCESS_SSL_ENABLE_DOWNGRADE gets its own answer: the Mesos
// documentation (docs/ssl.md) uses that name once for SUPPORT_DOWNGRADE.
func suggest(name string, known map[string]bool) string {
	if strings.EqualFold(name, tlsxPrefix+"ENABLE_DOWNGRADE") {
		return tlsxPrefix + "SUPPORT_DOWNGRADE"
	}
	if rest, ok := strings.CutPrefix(name, tlsxPrefix); ok && known["MESOSGATE_SSL_"+strings.ToUpper(rest)] {
		return "MESOSGATE_SSL_" + strings.ToUpper(rest) // mesosgate's own SSL setting, such as the passphrase file
	}
	best, bestD := "", 4
	for k := range known {
		if d := distance(strings.ToUpper(name), strings.ToUpper(k)); d < bestD || d == bestD && k < best {
			best, bestD = k, d
		}
	}
	if bestD > 3 {
		return ""
	}
	return best
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
