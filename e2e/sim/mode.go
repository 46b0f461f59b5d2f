package sim

import (
	"fmt"
	"strings"

	"github.com/mesosgate/mesosgate/tlsx"
)

// Mode is how a simulated member speaks: one of the four set-ups a Mesos
// cluster passes through during an SSL migration. Each mode is a set of
// libprocess SSL settings (see Settings), applied through tlsx exactly as a
// member started with those LIBPROCESS_SSL_* variables would apply them.
type Mode string

// The modes a member can run in.
const (
	// Plain is SSL off (LIBPROCESS_SSL_ENABLED unset): plain HTTP only.
	Plain Mode = "plain"
	// Downgrade is SSL on with SUPPORT_DOWNGRADE: TLS and plain HTTP on the
	// same port, told apart by the first bytes (phase 1 of a migration).
	Downgrade Mode = "downgrade"
	// SSL is SSL on without downgrade: TLS only; a plain request gets no
	// HTTP response (phase 2 and after).
	SSL Mode = "ssl"
	// SSLClientCert is SSL on, no downgrade, REQUIRE_CLIENT_CERT, with the
	// cluster's CA as CA_FILE: a client must present a certificate the
	// cluster's CA signed, naming the client's reverse-resolved address
	// (libprocess's legacy hostname validation).
	SSLClientCert Mode = "ssl-clientcert"
)

// AllModes lists every mode, in migration order.
func AllModes() []Mode { return []Mode{Plain, Downgrade, SSL, SSLClientCert} }

// MemberCiphers is libprocess's default LIBPROCESS_SSL_CIPHERS. A stock
// member runs with it, which leaves only the RSA key exchange AES-CBC
// suites on TLS 1.2 (OpenSSL 1.1+ and Go drop RC4, and Go has no DHE or
// DSS), so simulated members negotiate exactly what a real one would.
const MemberCiphers = "AES128-SHA:AES256-SHA:RC4-SHA:DHE-RSA-AES128-SHA:DHE-DSS-AES128-SHA:DHE-RSA-AES256-SHA:DHE-DSS-AES256-SHA"

// ParseMode reads a mode by its name. The names a prober reports
// ("plain-only", "ssl-downgrade", "ssl-only") are accepted too.
func ParseMode(s string) (Mode, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "plain", "plain-only":
		return Plain, nil
	case "downgrade", "ssl-downgrade":
		return Downgrade, nil
	case "ssl", "ssl-only":
		return SSL, nil
	case "ssl-clientcert", "clientcert":
		return SSLClientCert, nil
	}
	return "", fmt.Errorf("unknown mode %q: use plain, downgrade, ssl or ssl-clientcert", s)
}

// ParseModes reads a comma-separated list of modes ("plain,downgrade,ssl").
// Members beyond the end of the list take its last entry (see ModeAt).
func ParseModes(list string) ([]Mode, error) {
	if strings.TrimSpace(list) == "" {
		return nil, fmt.Errorf("empty mode list: give modes separated by commas, e.g. plain,downgrade,ssl")
	}
	var modes []Mode
	for _, name := range strings.Split(list, ",") {
		m, err := ParseMode(name)
		if err != nil {
			return nil, err
		}
		modes = append(modes, m)
	}
	return modes, nil
}

// ModeAt returns the mode of the i-th member given a list of modes: the
// i-th entry, the last entry when the list is shorter, Plain when it is
// empty.
func ModeAt(modes []Mode, i int) Mode {
	switch {
	case len(modes) == 0:
		return Plain
	case i < len(modes):
		return modes[i]
	}
	return modes[len(modes)-1]
}

// String returns the mode's name.
func (m Mode) String() string { return string(m) }

// Valid reports an error for a mode that is none of the four.
func (m Mode) Valid() error {
	switch m {
	case Plain, Downgrade, SSL, SSLClientCert:
		return nil
	}
	_, err := ParseMode(string(m))
	return err
}

// TLS reports whether the member accepts TLS.
func (m Mode) TLS() bool { return m != Plain }

// Speaks is what probing a member in this mode finds: "plain-only",
// "ssl-downgrade" or "ssl-only" (SPEC section 1).
func (m Mode) Speaks() string {
	switch m {
	case Plain:
		return "plain-only"
	case Downgrade:
		return "ssl-downgrade"
	}
	return "ssl-only"
}

// Scheme is the URL scheme to reach a member in this mode: "https" when it
// accepts TLS (a downgrade member also answers "http"), else "http".
func (m Mode) Scheme() string {
	if m.TLS() {
		return "https"
	}
	return "http"
}

// Settings returns the libprocess SSL settings of the mode, with the
// certificate files of p: the shared member certificate as CERT_FILE and
// KEY_FILE, p's CA as CA_FILE for ssl-clientcert. TLS 1.3 stays at
// libprocess's default (off) and CIPHERS is MemberCiphers.
func (m Mode) Settings(p *PKI) tlsx.Settings {
	if m == Plain {
		return tlsx.Settings{}
	}
	s := tlsx.Settings{
		Enabled:  tlsx.On,
		CertFile: p.CertFile,
		KeyFile:  p.KeyFile,
		Ciphers:  MemberCiphers,
	}
	switch m {
	case Downgrade:
		s.SupportDowngrade = true
	case SSLClientCert:
		s.RequireClientCert = true
		s.CAFile = p.CAFile
	}
	return s
}

// ModeOf names the mode closest to settings: Plain when SSL is off,
// Downgrade with SUPPORT_DOWNGRADE, SSLClientCert with REQUIRE_CLIENT_CERT,
// else SSL. Settings made by RestartWith may differ from the mode's own in
// other fields (ciphers, versions, files).
func ModeOf(s tlsx.Settings) Mode {
	switch {
	case !s.Enabled.Or(false):
		return Plain
	case s.SupportDowngrade:
		return Downgrade
	case s.RequireClientCert:
		return SSLClientCert
	}
	return SSL
}
