package config

import (
	"errors"
	"strings"

	"github.com/mesosgate/mesosgate/tlsx"
)

const tlsxPrefix = prefixLibprocess

// sslFlag returns the flag name of a libprocess SSL variable:
// "KEY_FILE" -> "ssl-key-file".
func sslFlag(suffix string) string {
	return "ssl-" + strings.ToLower(strings.ReplaceAll(suffix, "_", "-"))
}

// sslDefaults are defaults a command sets on top of libprocess's, keyed by
// the variable's name after the prefix, with the note printed as their
// source.
type sslDefaults map[string]struct{ value, note string }

// gatewaySSL is where the gateway's front differs from a libprocess
// member: HTTPS unless told otherwise (secure by default; an explicit
// false serves plain HTTP behind another TLS terminator), and TLS 1.3 on
// for browsers. libprocess leaves TLS 1.3 off because libprocess itself
// does not support it yet (docs/ssl.md, MESOS-9730), which says nothing
// about Go's TLS; an explicit ENABLE_TLS_V1_3=false still turns it off.
// Members that stay on TLS 1.2 are reached over TLS 1.2 as before.
func gatewaySSL() sslDefaults {
	return sslDefaults{
		"ENABLED":         {"true", "gateway: HTTPS on the front; libprocess defaults to false"},
		"ENABLE_TLS_V1_3": {"true", "gateway: on for browsers; libprocess defaults to false"},
	}
}

// addSSL reads the libprocess variables into *ts (readEnv) and
// registers a --ssl-* setting for each, which overrides it; then
// --ssl-key-passphrase-file, mesosgate's own. It returns ReadEnv's
// warnings; its errors join the set's.
func (s *set) addSSL(ts *tlsx.Settings, defaults sslDefaults) []string {
	read, src, warnings, err := readEnv(s.env.lookup)
	*ts = read
	failed := map[string]bool{} // variables whose libprocess value is bad
	if err != nil {
		s.errs = append(s.errs, err)
		if joined, ok := err.(interface{ Unwrap() []error }); ok {
			for _, e := range joined.Unwrap() {
				var ee *envError
				if errors.As(e, &ee) {
					failed[ee.Variable] = true
				}
			}
		}
	}
	for _, v := range sslVariableList() {
		st := &setting{
			flag:        sslFlag(v.Name),
			env:         "MESOSGATE_SSL_" + v.Name,
			usage:       v.Usage,
			inheritHelp: sslVariables(v),
			boolean:     v.Boolean,
			defHelp:     v.Default,
			parse:       func(value string) error { return v.Set(ts, value) },
			show: func() string {
				if got := v.Get(*ts); got != "" {
					return got
				}
				if v.Default != "" {
					return "(" + v.Default + ")"
				}
				return "(none)"
			},
		}
		st.inherit = func() (Source, bool) {
			if failed[v.Name] {
				// Reported already; rules involving it are skipped.
				st.failed = true
			}
			full, ok := src[v.Name]
			return Source{Kind: FromEnv, Name: full}, ok
		}
		if d, ok := defaults[v.Name]; ok {
			st.def, st.defNote, st.defHelp = d.value, d.note, d.value+" ("+d.note+")"
		} else if st.defHelp == "" {
			st.defHelp = "none"
		}
		if !v.Boolean {
			st.placeholder = placeholderOf(v.Name)
		}
		s.add(st)
	}
	s.add(&setting{
		flag:        "ssl-key-passphrase-file",
		usage:       "file whose first line is the passphrase of an encrypted KEY_FILE (the passphrase itself is never printed)",
		placeholder: "FILE",
		parse:       pathParser(&ts.KeyPassphraseFile),
		show:        func() string { return orNone(ts.KeyPassphraseFile) },
	})
	return warnings
}

// sslVariables names the libprocess variables a --ssl-* flag overrides,
// for help.
func sslVariables(v sslVariable) string {
	names := tlsxPrefix + v.Name
	for _, a := range v.Aliases {
		names += " or " + tlsxPrefix + a
	}
	return names + " (or SSL_...)"
}

// placeholderOf names the value of a non-boolean SSL variable in help.
func placeholderOf(name string) string {
	switch {
	case strings.HasSuffix(name, "_FILE"):
		return "FILE"
	case strings.HasSuffix(name, "_DIR"):
		return "DIR"
	case name == "VERIFY_DEPTH":
		return "N"
	case name == "HOSTNAME_VALIDATION_SCHEME":
		return "legacy|openssl"
	}
	return "LIST"
}

// orNone returns v, or "(none)" when it is empty.
func orNone(v string) string {
	if v == "" {
		return "(none)"
	}
	return v
}
