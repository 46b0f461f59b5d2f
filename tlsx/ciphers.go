package tlsx

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"
)

// opensslSuites maps OpenSSL's names for TLS 1.0-1.2 cipher suites to Go's
// suites. Only suites Go implements are listed; a name missing here is
// skipped with a warning (RC4, DHE, DSS, CAMELLIA, ARIA, PSK, SRP, ...).
// TLS 1.3 suites are not configured by CIPHERS, neither in OpenSSL (which
// reads them from a separate setting) nor in Go (which always enables all
// three), so their names are accepted and ignored.
var opensslSuites = map[string]uint16{
	"ECDHE-ECDSA-AES128-GCM-SHA256": tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-RSA-AES128-GCM-SHA256":   tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	"ECDHE-ECDSA-AES256-GCM-SHA384": tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-RSA-AES256-GCM-SHA384":   tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	"ECDHE-ECDSA-CHACHA20-POLY1305": tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-RSA-CHACHA20-POLY1305":   tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	"ECDHE-ECDSA-AES128-SHA256":     tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-RSA-AES128-SHA256":       tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256,
	"ECDHE-ECDSA-AES128-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	"ECDHE-RSA-AES128-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	"ECDHE-ECDSA-AES256-SHA":        tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-AES256-SHA":          tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
	"ECDHE-RSA-DES-CBC3-SHA":        tls.TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA,
	"AES128-GCM-SHA256":             tls.TLS_RSA_WITH_AES_128_GCM_SHA256,
	"AES256-GCM-SHA384":             tls.TLS_RSA_WITH_AES_256_GCM_SHA384,
	"AES128-SHA256":                 tls.TLS_RSA_WITH_AES_128_CBC_SHA256,
	"AES128-SHA":                    tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	"AES256-SHA":                    tls.TLS_RSA_WITH_AES_256_CBC_SHA,
	"DES-CBC3-SHA":                  tls.TLS_RSA_WITH_3DES_EDE_CBC_SHA,
}

// tls13Names are OpenSSL's TLS 1.3 suite names, accepted in CIPHERS and
// ignored: Go enables all three whenever TLS 1.3 is on.
var tls13Names = map[string]bool{
	"TLS_AES_128_GCM_SHA256":       true,
	"TLS_AES_256_GCM_SHA384":       true,
	"TLS_CHACHA20_POLY1305_SHA256": true,
}

// modernSuites is the default when CIPHERS is empty: forward-secret AEAD
// suites only, ECDSA before RSA, AES-GCM before ChaCha20.
var modernSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	tls.TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	tls.TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
}

// legacyVersionSuites are added to the default list when TLS 1.0 or 1.1 is
// enabled: AEAD suites need TLS 1.2, so without these an enabled old
// version could never complete a handshake.
var legacyVersionSuites = []uint16{
	tls.TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA,
	tls.TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA,
}

// memberSuites are offered by the connecting side in addition to the
// default list: a stock Mesos member runs with libprocess's default CIPHERS
// (AES128-SHA:AES256-SHA:RC4-SHA:DHE-...), of which an OpenSSL 1.1+ member
// can only negotiate these two RSA key exchange suites. Go leaves them out
// of its defaults, so they are named explicitly.
var memberSuites = []uint16{
	tls.TLS_RSA_WITH_AES_128_CBC_SHA,
	tls.TLS_RSA_WITH_AES_256_CBC_SHA,
}

// cipherList is CIPHERS resolved: the Go suites, and what was skipped.
type cipherList struct {
	suites []uint16
	// unsupported are suite names Go cannot do (RC4-SHA, DHE-RSA-...).
	unsupported []string
	// aliases are OpenSSL's aliases and directives (HIGH, !aNULL,
	// ECDHE+AESGCM, @STRENGTH), which are not expanded.
	aliases []string
}

// parseCiphers maps an OpenSSL cipher list (names separated by ':', ',' or
// spaces, as OpenSSL accepts) to Go suites in the given order. Removal
// entries ("!X", "-X") remove a named suite; "+X" and "@..." directives
// (ordering, security level) have no Go equivalent. Every OpenSSL suite
// name has a '-' and no alias has one, which tells the two apart. An empty
// result is an error.
// CheckCiphers reports what is wrong with a CIPHERS list (no name Go can
// use, an unknown name), as NewContext would; nil when it would be taken.
func CheckCiphers(list string) error {
	_, err := parseCiphers(list)
	return err
}

func parseCiphers(list string) (cipherList, error) {
	var l cipherList
	seen := map[uint16]bool{}
	removed := map[uint16]bool{}
	for _, name := range strings.FieldsFunc(list, func(r rune) bool { return r == ':' || r == ',' || r == ' ' }) {
		switch {
		case strings.HasPrefix(name, "!") || strings.HasPrefix(name, "-"):
			if id, ok := opensslSuites[name[1:]]; ok {
				removed[id] = true
			} else if !strings.Contains(name[1:], "-") {
				l.aliases = append(l.aliases, name)
			}
			continue
		case tls13Names[name]:
			continue
		}
		id, ok := opensslSuites[name]
		switch {
		case ok && !seen[id]:
			seen[id] = true
			l.suites = append(l.suites, id)
		case ok:
		case strings.Contains(name, "-") && !strings.ContainsAny(name[:1], "+@"):
			l.unsupported = append(l.unsupported, name)
		default:
			l.aliases = append(l.aliases, name)
		}
	}
	l.suites = slices.DeleteFunc(l.suites, func(id uint16) bool { return removed[id] })
	if len(l.suites) > 0 {
		return l, nil
	}
	hint := ""
	if len(l.aliases) > 0 {
		hint = fmt.Sprintf(" (OpenSSL aliases and directives such as %s are not expanded)", l.aliases[0])
	}
	return l, fmt.Errorf("none of the ciphers %q can be used by Go's TLS%s: name at least one of %s", list, hint, strings.Join(supportedCipherNames(), ", "))
}

// warnings describes what was skipped, one line each for suites Go cannot
// do and for aliases.
func (l cipherList) warnings(name string) []string {
	var w []string
	if len(l.unsupported) > 0 {
		w = append(w, fmt.Sprintf("%s: skipping ciphers Go's TLS cannot use: %s", name, strings.Join(l.unsupported, ", ")))
	}
	if len(l.aliases) > 0 {
		w = append(w, fmt.Sprintf("%s: ignoring OpenSSL aliases and directives, which are not expanded (name the cipher suites instead): %s", name, strings.Join(l.aliases, ", ")))
	}
	return w
}

// supportedCipherNames lists the OpenSSL names parseCiphers accepts, for
// error messages.
func supportedCipherNames() []string {
	names := make([]string, 0, len(opensslSuites))
	for _, id := range modernSuites {
		names = append(names, opensslName(id))
	}
	return append(names, "AES128-SHA", "AES256-SHA", "...")
}

// opensslName returns OpenSSL's name for a Go suite, or Go's name when
// OpenSSL's is unknown.
func opensslName(id uint16) string {
	for name, v := range opensslSuites {
		if v == id {
			return name
		}
	}
	return tls.CipherSuiteName(id)
}

// curveNames maps OpenSSL's and the IETF's curve names to Go's curves.
var curveNames = map[string]tls.CurveID{
	"P-256":      tls.CurveP256,
	"prime256v1": tls.CurveP256,
	"secp256r1":  tls.CurveP256,
	"P-384":      tls.CurveP384,
	"secp384r1":  tls.CurveP384,
	"P-521":      tls.CurveP521,
	"secp521r1":  tls.CurveP521,
	"X25519":     tls.X25519,
}

// parseCurves maps ECDH_CURVES to Go curve preferences. "" and "auto" mean
// Go's defaults (nil), which include the hybrid post-quantum X25519MLKEM768.
// CheckCurves reports what is wrong with an ECDH_CURVES list, as
// NewContext would; nil when it would be taken.
func CheckCurves(list string) error {
	_, err := parseCurves(list)
	return err
}

func parseCurves(list string) ([]tls.CurveID, error) {
	if list == "" || list == "auto" {
		return nil, nil
	}
	var curves []tls.CurveID
	for _, name := range strings.Split(list, ":") {
		id, ok := curveNames[strings.TrimSpace(name)]
		if !ok {
			return nil, fmt.Errorf("unknown curve %q in %q: use auto, or names from P-256 (prime256v1, secp256r1), P-384 (secp384r1), P-521 (secp521r1), X25519 separated by ':'", name, list)
		}
		curves = append(curves, id)
	}
	return curves, nil
}

// versions are the TLS versions the ENABLE_* switches turn on, lowest
// first.
type versions []uint16

// enabledVersions reads the ENABLE_* switches. SSLv3 is refused: Go has
// none. No version at all is an error.
// CheckVersions reports what is wrong with the enabled protocol versions
// (none at all, SSLv3), as NewContext would, for a check before anything
// is started; name names the settings as the user wrote them.
func CheckVersions(s Settings, name func(string) string) error {
	_, err := enabledVersions(s, name)
	return err
}

func enabledVersions(s Settings, name func(string) string) (versions, error) {
	if s.EnableSSLv3 {
		return nil, fmt.Errorf("%s=true: SSLv3 cannot be enabled, Go's TLS has no SSLv3 (and SSLv3 is broken); unset it or set it to false", name("ENABLE_SSL_V3"))
	}
	var v versions
	for _, e := range []struct {
		v  uint16
		on bool
	}{
		{tls.VersionTLS10, s.EnableTLSv10},
		{tls.VersionTLS11, s.EnableTLSv11},
		{tls.VersionTLS12, s.EnableTLSv12.Or(true)},
		{tls.VersionTLS13, s.EnableTLSv13.Or(false)},
	} {
		if e.on {
			v = append(v, e.v)
		}
	}
	if len(v) == 0 {
		return nil, fmt.Errorf("every TLS version is disabled: set %s or %s to true", name("ENABLE_TLS_V1_2"), name("ENABLE_TLS_V1_3"))
	}
	return v, nil
}

func (v versions) min() uint16 { return v[0] }
func (v versions) max() uint16 { return v[len(v)-1] }

// gaps returns the disabled versions between the lowest and the highest
// enabled one (TLS version numbers are consecutive, 0x0301 to 0x0304).
func (v versions) gaps() []uint16 {
	var gaps []uint16
	for i := 1; i < len(v); i++ {
		for g := v[i-1] + 1; g < v[i]; g++ {
			gaps = append(gaps, g)
		}
	}
	return gaps
}

// pick returns the version an OpenSSL server with these switches
// negotiates with a client offering the given versions: the highest one
// both enable (OpenSSL's ssl_choose_server_version checks every version on
// its own, so a disabled version between two enabled ones stays refused).
// With nothing in common it returns the highest enabled version, which the
// client does not offer, so the handshake fails with a protocol_version
// alert as OpenSSL's does.
func (v versions) pick(offered []uint16) uint16 {
	best := uint16(0)
	for _, o := range offered {
		if o > best && slices.Contains(v, o) {
			best = o
		}
	}
	if best == 0 {
		return v.max()
	}
	return best
}

// gapWarning explains what a gap in the enabled versions does. The
// accepting side refuses the gap exactly (see pick); the connecting side
// cannot, because Go's client offers one contiguous range. OpenSSL's client
// resolves a gap by dropping every version above it, so a libprocess
// process with ENABLE_TLS_V1_0=true connects with TLS 1.0 only; the gateway
// offers the whole range instead, since an operator enabling an old version
// means to add it, not to lose TLS 1.2.
func (v versions) gapWarning() string {
	gaps := v.gaps()
	if len(gaps) == 0 {
		return ""
	}
	names := make([]string, len(gaps))
	for i, g := range gaps {
		names[i] = tls.VersionName(g)
	}
	return fmt.Sprintf("%s disabled between %s and %s: accepted connections refuse it as libprocess does, but outgoing connections offer it too (Go offers one contiguous range of versions)",
		strings.Join(names, ", "), tls.VersionName(v.min()), tls.VersionName(v.max()))
}
