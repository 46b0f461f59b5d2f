package config

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/mesosgate/mesosgate/tlsx"
)

// This file reads tlsx.Settings from a libprocess process's environment.
//
// Facts from libprocess (3rdparty/libprocess/src/openssl.cpp, reinitialize,
// and stout's flags.hpp):
//   - sslVariables are read with two prefixes, LIBPROCESS_SSL_ and the older
//     SSL_. When both name the same setting, LIBPROCESS_SSL_ wins and a
//     mismatch is logged (MESOS-5863).
//   - The part after the prefix may be upper or lower case
//     (LIBPROCESS_SSL_ENABLED or LIBPROCESS_SSL_enabled).
//   - Booleans are exactly true, 1, false or 0; anything else stops the
//     process. An empty boolean reads as true there; here it is an error,
//     so nobody relies on that by accident.
//   - VERIFY_CERT and REQUIRE_CERT are deprecated names of
//     VERIFY_SERVER_CERT and REQUIRE_CLIENT_CERT, loaded as separate flags:
//     verification is on when either name says so.
//   - The code reads VERIFICATION_DEPTH and ECDH_CURVES, while the Mesos
//     documentation (docs/ssl.md) names them VERIFY_DEPTH and ECDH_CURVE;
//     a member ignores the documented names. Both are read here; when both
//     are set, the name libprocess reads wins, so the gateway verifies as
//     the members do.
//
// SSL_CERT_FILE and SSL_CERT_DIR are also OpenSSL's own variables: the file
// and directory of trusted CAs that SSL_CTX_set_default_verify_paths uses
// (X509_get_default_cert_file_env / _dir_env), which libprocess relies on
// when CA_FILE and CA_DIR are unset. Go's system roots honour both the same
// way. So:
//   - SSL_CERT_DIR is never a libprocess setting (there is no CERT_DIR); it
//     keeps its OpenSSL meaning through the system roots, exactly as for a
//     libprocess member, and is not read here.
//   - SSL_CERT_FILE is the old-prefix name of CERT_FILE, but on many systems
//     (Nix, some containers) it is set globally to the CA bundle. Taking it
//     as the certificate to present would then break the gateway with "CERT_FILE
//     without KEY_FILE". It is therefore read as CERT_FILE only when a
//     KEY_FILE is set in the environment too (libprocess itself exits
//     without one), always with a warning; otherwise it is left to OpenSSL's
//     meaning, with a warning only when other SSL_-prefixed libprocess
//     variables show the old prefix is in use.

// The two prefixes, in order of precedence.
const (
	prefixLibprocess = "LIBPROCESS_SSL_"
	prefixOld        = "SSL_"
)

// sslSources maps a variable's name after the prefix ("VERIFY_SERVER_CERT") to
// the full name of the environment variable that supplied its value
// ("LIBPROCESS_SSL_VERIFY_CERT"). A variable that was not set is absent.
type sslSources map[string]string

// Name returns the full name that supplied the variable, or
// LIBPROCESS_SSL_ + suffix when it was not set. It fits Options.Name, so
// errors from NewContext name what the user wrote.
func (s sslSources) Name(suffix string) string {
	if full, ok := s[suffix]; ok {
		return full
	}
	return prefixLibprocess + suffix
}

// sslVariable is one libprocess SSL setting: its name after the prefix, other
// names it goes by, and how its value is read into tlsx.Settings. sslVariables lists
// them all; the gateway's config builds its --ssl-* flags from the same
// table so a flag accepts exactly what the variable accepts.
type sslVariable struct {
	// Name is the name after the prefix, as sslSources keys it.
	Name string
	// Aliases are other names of the same setting: deprecated ones
	// (VERIFY_CERT), or the one libprocess's code reads where it differs
	// from the documented name (VERIFICATION_DEPTH).
	Aliases []string
	// Boolean is true when the value is true, 1, false or 0.
	Boolean bool
	// Usage says what the setting does, in one line.
	Usage string
	// Default describes the value used when the variable is not set, for
	// help and printing ("false", "4", "system roots").
	Default string
	// Set parses value into s. Its error says what is wrong and what to
	// use, without naming the variable: the caller knows how the user
	// wrote it.
	Set func(s *tlsx.Settings, value string) error
	// Get formats the setting's effective value in s as libprocess would
	// apply it; "" for a path or list that is not set (see Default).
	Get func(s tlsx.Settings) string

	// read is the name among Name and Aliases that libprocess's code
	// reads; "" means all of them.
	read string
	// deprecated marks Aliases as deprecated names.
	deprecated bool
}

// names returns the variable's names, Name first.
func (v sslVariable) names() []string {
	return append([]string{v.Name}, v.Aliases...)
}

// sslVariables returns every libprocess SSL variable in the order of the
// Mesos documentation. KeyPassphraseFile is not among them: it is
// mesosgate's own setting (MESOSGATE_SSL_KEY_PASSPHRASE_FILE), read by the
// gateway's config.
func sslVariableList() []sslVariable {
	return []sslVariable{
		toggleVar("ENABLED", "SSL on: incoming connections must speak TLS (unless SUPPORT_DOWNGRADE)", "false",
			func(s *tlsx.Settings) *tlsx.Toggle { return &s.Enabled }, false),
		boolVar("SUPPORT_DOWNGRADE", "accept plain connections too, on the same port; connecting side: retry plain when TLS fails",
			func(s *tlsx.Settings) *bool { return &s.SupportDowngrade }),
		pathVar("CERT_FILE", "PEM certificate chain presented to peers (and as client certificate)", "",
			func(s *tlsx.Settings) *string { return &s.CertFile }),
		pathVar("KEY_FILE", "PEM private key of CERT_FILE", "",
			func(s *tlsx.Settings) *string { return &s.KeyFile }),
		withAliases(boolVar("VERIFY_SERVER_CERT", "connecting side: verify peers' certificate chain and name",
			func(s *tlsx.Settings) *bool { return &s.VerifyServerCert }), "", true, "VERIFY_CERT"),
		withAliases(boolVar("REQUIRE_CLIENT_CERT", "accepting side: demand and verify a client certificate (implies VERIFY_SERVER_CERT)",
			func(s *tlsx.Settings) *bool { return &s.RequireClientCert }), "", true, "REQUIRE_CERT"),
		withAliases(depthVar(), "VERIFICATION_DEPTH", false, "VERIFICATION_DEPTH"),
		boolVar("VERIFY_IPADD", "accept a certificate whose IP SAN matches the peer's address",
			func(s *tlsx.Settings) *bool { return &s.VerifyIPAdd }),
		schemeVar(),
		pathVar("CA_DIR", "directory of trusted CA certificates (OpenSSL hashed layout)", "system roots",
			func(s *tlsx.Settings) *string { return &s.CADir }),
		pathVar("CA_FILE", "PEM file of trusted CA certificates", "system roots",
			func(s *tlsx.Settings) *string { return &s.CAFile }),
		ciphersVar(),
		withAliases(curvesVar(), "ECDH_CURVES", false, "ECDH_CURVE"),
		sslv3Var(),
		boolVar("ENABLE_TLS_V1_0", "allow TLS 1.0", func(s *tlsx.Settings) *bool { return &s.EnableTLSv10 }),
		boolVar("ENABLE_TLS_V1_1", "allow TLS 1.1", func(s *tlsx.Settings) *bool { return &s.EnableTLSv11 }),
		toggleVar("ENABLE_TLS_V1_2", "allow TLS 1.2", "true",
			func(s *tlsx.Settings) *tlsx.Toggle { return &s.EnableTLSv12 }, true),
		toggleVar("ENABLE_TLS_V1_3", "allow TLS 1.3", "false",
			func(s *tlsx.Settings) *tlsx.Toggle { return &s.EnableTLSv13 }, false),
	}
}

func withAliases(v sslVariable, read string, deprecated bool, aliases ...string) sslVariable {
	v.Aliases, v.read, v.deprecated = aliases, read, deprecated
	return v
}

func boolVar(name, usage string, field func(*tlsx.Settings) *bool) sslVariable {
	return sslVariable{
		Name: name, Boolean: true, Usage: usage, Default: "false",
		Set: func(s *tlsx.Settings, value string) error {
			b, err := parseBool(value)
			if err == nil {
				*field(s) = b
			}
			return err
		},
		Get: func(s tlsx.Settings) string { return strconv.FormatBool(*field(&s)) },
	}
}

func toggleVar(name, usage, def string, field func(*tlsx.Settings) *tlsx.Toggle, unset bool) sslVariable {
	return sslVariable{
		Name: name, Boolean: true, Usage: usage, Default: def,
		Set: func(s *tlsx.Settings, value string) error {
			b, err := parseBool(value)
			if err == nil {
				*field(s) = tlsx.ToggleOf(b)
			}
			return err
		},
		Get: func(s tlsx.Settings) string { return strconv.FormatBool(field(&s).Or(unset)) },
	}
}

func pathVar(name, usage, def string, field func(*tlsx.Settings) *string) sslVariable {
	return sslVariable{
		Name: name, Usage: usage, Default: def,
		Set: func(s *tlsx.Settings, value string) error {
			if value == "" {
				return errors.New("empty; give a path, or unset the variable")
			}
			*field(s) = value
			return nil
		},
		Get: func(s tlsx.Settings) string { return *field(&s) },
	}
}

func depthVar() sslVariable {
	return sslVariable{
		Name: "VERIFY_DEPTH", Default: strconv.Itoa(tlsx.DefaultVerifyDepth),
		Usage: "longest verified chain as OpenSSL counts depth: the leaf, at most N intermediates, the root",
		Set: func(s *tlsx.Settings, value string) error {
			n, err := strconv.Atoi(value)
			if err != nil || n < 1 {
				return fmt.Errorf("not a positive integer; use a number of intermediate certificates such as %d (the default)", tlsx.DefaultVerifyDepth)
			}
			s.VerifyDepth = n
			return nil
		},
		Get: func(s tlsx.Settings) string { return strconv.Itoa(s.Depth()) },
	}
}

func schemeVar() sslVariable {
	return sslVariable{
		Name: "HOSTNAME_VALIDATION_SCHEME", Default: string(tlsx.HostnameLegacy),
		Usage: "legacy: check the reverse-resolved name of the peer's IP; openssl: check the name connected to",
		Set: func(s *tlsx.Settings, value string) error {
			switch sc := tlsx.HostnameScheme(value); sc {
			case tlsx.HostnameLegacy, tlsx.HostnameOpenSSL:
				s.HostnameValidationScheme = sc
				return nil
			}
			return errors.New("unknown scheme; use legacy or openssl")
		},
		Get: func(s tlsx.Settings) string {
			if s.HostnameValidationScheme == "" {
				return string(tlsx.HostnameLegacy)
			}
			return string(s.HostnameValidationScheme)
		},
	}
}

func ciphersVar() sslVariable {
	return sslVariable{
		Name: "CIPHERS", Default: "modern ECDHE+AEAD suites",
		Usage: "OpenSSL cipher names separated by ':'; names Go cannot use are skipped",
		Set: func(s *tlsx.Settings, value string) error {
			if strings.TrimSpace(value) == "" {
				return errors.New("empty; give OpenSSL cipher names separated by ':', or unset it for the default list")
			}
			if err := tlsx.CheckCiphers(value); err != nil {
				return err
			}
			s.Ciphers = value
			return nil
		},
		Get: func(s tlsx.Settings) string { return s.Ciphers },
	}
}

func curvesVar() sslVariable {
	return sslVariable{
		Name: "ECDH_CURVES", Default: "auto",
		Usage: "auto, or curve names separated by ':' (P-256, P-384, P-521, X25519)",
		Set: func(s *tlsx.Settings, value string) error {
			if value == "" {
				return errors.New("empty; use auto, or curve names separated by ':'")
			}
			if err := tlsx.CheckCurves(value); err != nil {
				return err
			}
			s.ECDHCurves = value
			return nil
		},
		Get: func(s tlsx.Settings) string {
			if s.ECDHCurves == "" {
				return "auto"
			}
			return s.ECDHCurves
		},
	}
}

func sslv3Var() sslVariable {
	return sslVariable{
		Name: "ENABLE_SSL_V3", Boolean: true, Default: "false",
		Usage: "refused when true: Go has no SSLv3",
		Set: func(s *tlsx.Settings, value string) error {
			b, err := parseBool(value)
			if err != nil {
				return err
			}
			if b {
				return errors.New("Go has no SSLv3 (and SSLv3 is broken); unset it or set it to false")
			}
			s.EnableSSLv3 = false
			return nil
		},
		Get: func(s tlsx.Settings) string { return strconv.FormatBool(s.EnableSSLv3) },
	}
}

// parseBool reads a libprocess boolean: exactly true, 1, false or 0, as
// stout's flag parser accepts. Its error says what to use.
func parseBool(value string) (bool, error) {
	switch value {
	case "true", "1":
		return true, nil
	case "false", "0":
		return false, nil
	case "":
		// stout reads an empty boolean as true; say so rather than guess.
		return false, errors.New("empty; write true or false (libprocess would read an empty value as true)")
	}
	return false, errors.New("not a boolean; use true or false (or 1 or 0)")
}

// fromEnv reads every libprocess SSL variable through lookup (os.LookupEnv
// in production): both prefixes, upper- or lower-case names, aliases. It
// returns the settings, which variable supplied each one, warnings for
// people (each naming its variables), and every bad value at once
// (errors.Join), each error naming the variable and its value. Warnings are
// those of readEnv followed by those of Advise.
func fromEnv(lookup func(string) (string, bool)) (tlsx.Settings, sslSources, []string, error) {
	s, src, warnings, err := readEnv(lookup)
	return s, src, append(warnings, advise(s, src.Name)...), err
}

// readEnv is fromEnv without Advise: its warnings concern the variables
// themselves (both prefixes set and differing, legacy names, SSL_CERT_FILE).
// A caller that overrides some settings afterwards, as the gateway's config
// does with flags, calls Advise on the final settings itself.
func readEnv(lookup func(string) (string, bool)) (tlsx.Settings, sslSources, []string, error) {
	r := envReader{lookup: lookup, sources: sslSources{}}
	for _, v := range sslVariableList() {
		r.variable(v)
	}
	r.certFileNote()
	return r.s, r.sources, r.warnings, errors.Join(r.errs...)
}

// envReader accumulates what readEnv finds.
type envReader struct {
	lookup   func(string) (string, bool)
	s        tlsx.Settings
	sources  sslSources
	warnings []string
	errs     []error

	// oldPrefix records that some libprocess variable was read through
	// the SSL_ prefix; certFileIgnored keeps an SSL_CERT_FILE that was
	// left to its OpenSSL meaning, to be explained if so.
	oldPrefix       bool
	certFileIgnored string
}

// found is one name of a variable that is set.
type found struct {
	name  string // name after the prefix: "VERIFY_CERT"
	full  string // the environment variable: "SSL_VERIFY_CERT"
	value string
	ok    bool // the value parses
}

// variable reads one sslVariable under all its names and applies the winner.
func (r *envReader) variable(v sslVariable) {
	var set []found
	for _, name := range v.names() {
		full, value, ok := r.get(name)
		if !ok {
			continue
		}
		f := found{name: name, full: full, value: value}
		var scratch tlsx.Settings
		if err := v.Set(&scratch, value); err != nil {
			r.errs = append(r.errs, &envError{Variable: v.Name, Name: full, Value: value, Err: err})
		} else {
			f.ok = true
		}
		set = append(set, f)
	}
	if len(set) == 0 {
		return
	}
	r.aliasNotes(v, set)
	win := r.pick(v, set)
	if !win.ok {
		return
	}
	_ = v.Set(&r.s, win.value) // validated above
	r.sources[v.Name] = win.full
}

// envError is a bad value of one variable. readEnv and fromEnv return
// them joined (errors.Join); a caller that overrides some variables (the
// gateway's flags) finds which ones failed with errors.As.
type envError struct {
	// Variable is the name after the prefix, as sslSources keys it
	// ("VERIFY_SERVER_CERT").
	Variable string
	// Name is the environment variable that holds the bad value
	// ("SSL_VERIFY_CERT").
	Name  string
	Value string
	Err   error
}

// Error names the variable and its value, then what is wrong and what to
// use. Cipher and curve errors quote the list themselves.
func (e *envError) Error() string {
	if (e.Variable == "CIPHERS" || e.Variable == "ECDH_CURVES") && strings.TrimSpace(e.Value) != "" {
		return fmt.Sprintf("%s: %v", e.Name, e.Err)
	}
	return fmt.Sprintf("%s=%s: %v", e.Name, quote(e.Value), e.Err)
}

func (e *envError) Unwrap() error { return e.Err }

// pick chooses among the names of one variable that are set: a boolean is
// on when any of its names says so (libprocess loads the deprecated names as
// separate flags and ORs them); otherwise the name libprocess's code reads
// wins. Names that disagree get a warning.
func (r *envReader) pick(v sslVariable, set []found) found {
	win := set[0]
	for _, f := range set[1:] {
		var why string
		if v.Boolean {
			a, _ := parseBool(win.value)
			b, _ := parseBool(f.value)
			if !win.ok || !f.ok || a == b {
				continue // a bad value is an error already
			}
			if b {
				win = f
			}
			why = "on when either name turns it on, as in libprocess"
		} else {
			if f.value == win.value {
				continue
			}
			if f.name == v.read {
				win = f
			}
			why = "the name libprocess reads"
		}
		r.warnings = append(r.warnings, fmt.Sprintf("%s=%s and %s=%s disagree; using %s=%s (%s)",
			set[0].full, quote(set[0].value), f.full, quote(f.value), win.full, quote(win.value), why))
	}
	return win
}

// aliasNotes warns about names that are deprecated, or that libprocess
// itself ignores (unless the name it reads is set as well).
func (r *envReader) aliasNotes(v sslVariable, set []found) {
	readSet := false
	for _, f := range set {
		readSet = readSet || f.name == v.read
	}
	for _, f := range set {
		switch {
		case f.name != v.Name && v.deprecated:
			r.warnings = append(r.warnings, fmt.Sprintf("%s is deprecated in libprocess, which renamed it %s%s; rename it",
				f.full, prefixLibprocess, v.Name))
		case v.read != "" && f.name != v.read && !readSet:
			r.warnings = append(r.warnings, fmt.Sprintf("%s is read here, but libprocess itself ignores it and reads %s%s; set that name so members and gateway agree",
				f.full, prefixLibprocess, v.read))
		}
	}
}

// get returns the value of one name (after the prefix) and the variable
// that supplied it: LIBPROCESS_SSL_ before SSL_, the upper-case name before
// the lower-case one. Other forms that are set with a different value get a
// warning.
func (r *envReader) get(name string) (full, value string, ok bool) {
	var forms []found
	for _, prefix := range []string{prefixLibprocess, prefixOld} {
		for _, n := range caseForms(name) {
			if v, set := r.lookup(prefix + n); set {
				forms = append(forms, found{name: name, full: prefix + n, value: v})
			}
		}
	}
	if name == "CERT_FILE" {
		forms = r.certFile(forms)
	}
	if len(forms) == 0 {
		return "", "", false
	}
	win := forms[0]
	for _, f := range forms[1:] {
		if f.value != win.value {
			r.warnings = append(r.warnings, fmt.Sprintf("%s=%s and %s=%s differ; using %s",
				win.full, quote(win.value), f.full, quote(f.value), win.full))
		}
	}
	if strings.HasPrefix(win.full, prefixOld) {
		r.oldPrefix = true
	}
	return win.full, win.value, true
}

// caseForms returns the upper- and lower-case forms of a name.
func caseForms(name string) []string {
	return []string{name, strings.ToLower(name)}
}

// certFile applies the SSL_CERT_FILE rule (see the top of this file) to the
// forms of CERT_FILE that are set.
func (r *envReader) certFile(forms []found) []found {
	var kept []found
	for _, f := range forms {
		if strings.HasPrefix(f.full, prefixLibprocess) {
			kept = append(kept, f)
		}
	}
	old := len(forms) - len(kept)
	switch {
	case old == 0:
		return forms
	case len(kept) > 0:
		// LIBPROCESS_SSL_CERT_FILE is set: SSL_CERT_FILE is OpenSSL's CA
		// file, and no concern of ours.
		return kept
	case !r.keyFileSet():
		r.certFileIgnored = forms[0].full
		return nil
	}
	r.warnings = append(r.warnings, fmt.Sprintf("%s is read as the certificate to present (the old name of %sCERT_FILE), "+
		"but OpenSSL and Go also read SSL_CERT_FILE as the file of trusted CAs when CA_FILE and CA_DIR are unset; rename it to %sCERT_FILE",
		forms[0].full, prefixLibprocess, prefixLibprocess))
	return forms
}

// keyFileSet reports whether KEY_FILE is set under any prefix.
func (r *envReader) keyFileSet() bool {
	for _, prefix := range []string{prefixLibprocess, prefixOld} {
		for _, n := range caseForms("KEY_FILE") {
			if _, ok := r.lookup(prefix + n); ok {
				return true
			}
		}
	}
	return false
}

// certFileNote explains an SSL_CERT_FILE that was not read, when other
// variables show that the old prefix is in use and so it may have been
// meant as the certificate.
func (r *envReader) certFileNote() {
	if r.certFileIgnored == "" || !r.oldPrefix {
		return
	}
	r.warnings = append(r.warnings, fmt.Sprintf("%s is not read as the certificate to present because no KEY_FILE is set; "+
		"it keeps its OpenSSL meaning, the file of trusted CAs. To present a certificate set %sCERT_FILE and %sKEY_FILE",
		r.certFileIgnored, prefixLibprocess, prefixLibprocess))
}

// Advise returns the warnings libprocess gives about a combination of
// settings, naming each variable with name (sslSources.Name, or the gateway's
// config naming its flags). Only the note on SUPPORT_DOWNGRADE itself is
// left out when Enabled is Off: the gateway's connecting side applies the
// other settings even when its front is plain.
func advise(s tlsx.Settings, name func(suffix string) string) []string {
	var w []string
	if s.SupportDowngrade && s.Enabled != tlsx.Off {
		w = append(w, fmt.Sprintf("%s=true: plain connections are accepted as well as TLS, and connections that fail TLS fall back to plain; turn it off once every peer speaks TLS",
			name("SUPPORT_DOWNGRADE")))
	}
	if s.SupportDowngrade && s.VerifiesServer() {
		verify := "VERIFY_SERVER_CERT"
		if s.RequireClientCert {
			verify = "REQUIRE_CLIENT_CERT"
		}
		// libprocess openssl.cpp warns about this combination too: a peer
		// that speaks plain is never asked for a certificate.
		w = append(w, fmt.Sprintf("%s=true can be bypassed because downgrades are enabled (%s=true): a peer speaking plain HTTP presents no certificate",
			name(verify), name("SUPPORT_DOWNGRADE")))
	}
	if s.RequireClientCert && !s.VerifyServerCert {
		// libprocess applies the same implication and logs it.
		w = append(w, fmt.Sprintf("%s=true implies verifying peers' certificates on outgoing connections too, as %s=true does",
			name("REQUIRE_CLIENT_CERT"), name("VERIFY_SERVER_CERT")))
	}
	return w
}
