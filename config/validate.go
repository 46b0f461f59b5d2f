package config

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/mesosgate/mesosgate/access"
	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/webui"
)

// validate applies the rules that involve more than one setting, or the
// file system, once every setting has its value. Each problem names the
// settings as the user wrote them.
func (g *Gateway) validate(s *set, needMasters bool) {
	if needMasters {
		requireMasters(s, &g.Cluster, "serve")
	}
	g.resolveCertSource(s)
	checkVersions(s, g.FrontSSL())
	checkKeyPair(s, g.TLS)
	checkSSLFiles(s, g.TLS)
	g.checkFiles(s)
	g.checkDurations(s)
	g.checkAccess(s, g.FrontTLS(), g.OIDCRedirect(access.DefaultCallbackPath))
}

// sslName names a libprocess SSL setting as the user wrote it, or by its
// LIBPROCESS_SSL_ name when it has its default.
func sslName(s *set, suffix string) string {
	if st := s.lookup(sslFlag(suffix)); st.src.Name != "" {
		return st.src.Name
	}
	return tlsxPrefix + suffix
}

// resolveCertSource turns auto into a source and checks that the chosen
// source has what it needs, and that nothing given goes unused.
func (g *Gateway) resolveCertSource(s *set) {
	if !s.ok("cert-source", "acme-domain", sslFlag("CERT_FILE"), sslFlag("KEY_FILE"), sslFlag("ENABLED")) {
		return // which source was meant is unclear; the bad value is reported
	}
	st := s.lookup("cert-source")
	chosen := g.CertSource
	pair := g.TLS.CertFile != "" && g.TLS.KeyFile != ""
	if chosen == CertAuto {
		g.CertSource, st.src.Note = g.autoCertSource()
	}
	if g.TLS.Enabled == tlsx.Off && chosen != CertAuto {
		s.fail("%s=%s has no effect: the front serves plain HTTP because %s=false; remove one of the two",
			s.name("cert-source"), chosen, sslName(s, "ENABLED"))
	}
	switch g.CertSource {
	case CertFiles:
		if !pair {
			s.fail("%s=files needs a certificate and its key: set %s and %s (or --ssl-cert-file and --ssl-key-file)",
				s.name("cert-source"), sslName(s, "CERT_FILE"), sslName(s, "KEY_FILE"))
		}
	case CertACME:
		if len(g.ACME.Domains) == 0 {
			s.fail("%s=acme needs the names to obtain certificates for: give --acme-domain (or MESOSGATE_ACME_DOMAIN)", s.name("cert-source"))
		}
	}
	if g.CertSource != CertACME {
		why := fmt.Sprintf("the front's certificate comes from %s", g.CertSource)
		if chosen == CertAuto && g.CertSource == CertFiles {
			why += fmt.Sprintf(" because %s and %s are set", sslName(s, "CERT_FILE"), sslName(s, "KEY_FILE"))
		}
		for _, flag := range []string{"acme-domain", "acme-email", "acme-ca", "acme-ca-root"} {
			if s.isSet(flag) {
				s.fail("%s is set but %s; remove it, or choose --cert-source acme", s.name(flag), why)
			}
		}
	}
	if g.CertSource != CertInternal && s.isSet("server-name") {
		hint := "the certificate in CERT_FILE names what it names"
		if g.CertSource == CertACME {
			hint = "give the names to --acme-domain instead"
		}
		s.fail("%s is set but the front's certificate comes from %s, not the internal CA; %s", s.name("server-name"), g.CertSource, hint)
	}
	managed := g.CertSource == CertInternal || g.CertSource == CertACME
	if g.SharedStorage() && (!managed || g.TLS.Enabled == tlsx.Off) && s.ok("storage") {
		s.fail("%s is set but the front's certificate comes from %s, which keeps nothing in storage; remove it, or choose --cert-source internal or acme",
			s.name("storage"), g.CertSource)
	}
	if managed && g.DataDir == "" && !g.SharedStorage() {
		s.fail("--data-dir has no default here (neither XDG_DATA_HOME nor HOME is an absolute path): give --data-dir for the %s certificate source", g.CertSource)
	}
}

// checkVersions checks that some TLS version is enabled, before anything
// (the internal CA) is written.
func checkVersions(s *set, t tlsx.Settings) {
	if !s.ok(sslFlag("ENABLE_SSL_V3"), sslFlag("ENABLE_TLS_V1_0"), sslFlag("ENABLE_TLS_V1_1"), sslFlag("ENABLE_TLS_V1_2"), sslFlag("ENABLE_TLS_V1_3")) {
		return
	}
	if err := tlsx.CheckVersions(t, func(suffix string) string { return sslName(s, suffix) }); err != nil {
		s.fail("%v", err)
	}
}

// checkKeyPair checks that CERT_FILE, KEY_FILE and the passphrase file come
// together.
func checkKeyPair(s *set, t tlsx.Settings) {
	if !s.ok(sslFlag("CERT_FILE"), sslFlag("KEY_FILE")) {
		return
	}
	switch {
	case t.CertFile != "" && t.KeyFile == "":
		s.fail("%s is set but %s is not: set both, the certificate chain and its key", sslName(s, "CERT_FILE"), sslName(s, "KEY_FILE"))
	case t.CertFile == "" && t.KeyFile != "":
		s.fail("%s is set but %s is not: set both, the certificate chain and its key", sslName(s, "KEY_FILE"), sslName(s, "CERT_FILE"))
	}
	if t.KeyPassphraseFile != "" && t.KeyFile == "" {
		s.fail("%s is set but there is no key to decrypt: set %s too, or remove it", s.name("ssl-key-passphrase-file"), sslName(s, "KEY_FILE"))
	}
}

// checkSSLFiles checks that the SSL settings' files and directory exist
// and can be read. Their contents (a key matching its certificate, the
// passphrase) are checked by tlsx when the command starts.
func checkSSLFiles(s *set, t tlsx.Settings) {
	files := []struct{ flag, path string }{
		{sslFlag("CERT_FILE"), t.CertFile},
		{sslFlag("KEY_FILE"), t.KeyFile},
		{sslFlag("CA_FILE"), t.CAFile},
		{"ssl-key-passphrase-file", t.KeyPassphraseFile},
	}
	readable := true
	for _, f := range files {
		if f.path != "" {
			if err := readableFile(f.path); err != nil {
				s.fail("%s=%s: %v", s.name(f.flag), quote(f.path), err)
				readable = false
			}
		}
	}
	if t.CADir != "" {
		if err := readableDir(t.CADir); err != nil {
			s.fail("%s=%s: %v", s.name(sslFlag("CA_DIR")), quote(t.CADir), err)
			readable = false
		}
	}
	// What the files hold (a key matching its certificate, the
	// passphrase, CA certificates), before anything is written.
	if readable && (t.CertFile == "") == (t.KeyFile == "") && s.ok(sslFlag("CERT_FILE"), sslFlag("KEY_FILE"), sslFlag("CA_FILE"), sslFlag("CA_DIR"), "ssl-key-passphrase-file") {
		if err := tlsx.CheckFiles(t, func(suffix string) string { return sslName(s, suffix) }); err != nil {
			s.errs = append(s.errs, err)
		}
	}
}

// webUIDir checks that dir is a Mesos WebUI tree of a layout a master
// serves (webui.Open says which it looked for when it is not).
func webUIDir(dir string) error {
	if err := readableDir(dir); err != nil {
		return err
	}
	_, err := webui.Open(dir)
	return err
}

// checkFiles checks the gateway's own files and directories.
func (g *Gateway) checkFiles(s *set) {
	if g.ACME.CARoot != "" {
		if err := readableFile(g.ACME.CARoot); err != nil {
			s.fail("%s=%s: %v", s.name("acme-ca-root"), quote(g.ACME.CARoot), err)
		}
	}
	if g.WebUIDir != "" {
		if err := webUIDir(g.WebUIDir); err != nil {
			s.fail("%s=%s: %v", s.name("webui-dir"), quote(g.WebUIDir), err)
		}
	}
	if g.DataDir != "" {
		if fi, err := os.Stat(g.DataDir); err == nil && !fi.IsDir() {
			s.fail("%s=%s: is a file, not a directory; give a directory (it is created when missing)", s.name("data-dir"), quote(g.DataDir))
		}
	}
}

// checkDurations checks the durations against each other.
func (g *Gateway) checkDurations(s *set) {
	if s.ok("stale-soft-limit", "refresh") && g.StaleSoftLimit <= g.Refresh {
		s.fail("%s=%s must be longer than %s=%s, or the cluster map is stale between two refreshes",
			s.name("stale-soft-limit"), g.StaleSoftLimit, s.name("refresh"), g.Refresh)
	}
	if s.ok("stale-hard-limit", "stale-soft-limit") && g.StaleHardLimit <= g.StaleSoftLimit {
		s.fail("%s=%s must be longer than %s=%s", s.name("stale-hard-limit"), g.StaleHardLimit, s.name("stale-soft-limit"), g.StaleSoftLimit)
	}
	if s.ok("probe-timeout", "probe-interval") && g.ProbeTimeout >= g.ProbeInterval {
		s.fail("%s=%s must be shorter than %s=%s", s.name("probe-timeout"), g.ProbeTimeout, s.name("probe-interval"), g.ProbeInterval)
	}
}

// readableFile checks that path is a regular file this process can open.
func readableFile(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return describe(err)
	}
	if fi.IsDir() {
		return errors.New("is a directory; give a file")
	}
	f, err := os.Open(path)
	if err != nil {
		return describe(err)
	}
	return f.Close()
}

// readableDir checks that path is a directory this process can list.
func readableDir(path string) error {
	fi, err := os.Stat(path)
	if err != nil {
		return describe(err)
	}
	if !fi.IsDir() {
		return errors.New("is not a directory; give a directory")
	}
	f, err := os.Open(path)
	if err != nil {
		return describe(err)
	}
	defer f.Close()
	if _, err := f.ReadDir(1); err != nil && !errors.Is(err, io.EOF) {
		return describe(err)
	}
	return nil
}

// describe says what an error from the file system means for the user,
// without repeating the path the caller already quotes.
func describe(err error) error {
	switch {
	case errors.Is(err, fs.ErrNotExist):
		return errors.New("does not exist; check the path")
	case errors.Is(err, fs.ErrPermission):
		return errors.New("cannot be read by this user (permission denied); fix its permissions or run as its owner")
	}
	var pe *fs.PathError
	if errors.As(err, &pe) {
		return fmt.Errorf("cannot be read: %v", pe.Err)
	}
	return err
}

// advise returns the warnings about the final settings: libprocess's
// (tlsx.Advise), and those that concern a gateway reusing its cluster's
// environment.
func (g *Gateway) advise(s *set) []string {
	name := func(suffix string) string { return sslName(s, suffix) }
	w := advise(g.TLS, name)
	inherited := func(suffix string) bool {
		src := s.lookup(sslFlag(suffix)).src
		return src.Kind == FromEnv && !strings.HasPrefix(src.Name, "MESOSGATE_")
	}
	if g.TLS.RequireClientCert && g.TLS.Enabled != tlsx.Off && inherited("REQUIRE_CLIENT_CERT") {
		w = append(w, fmt.Sprintf("%s=true applies to the gateway's front too: browsers must present a client certificate; "+
			"set MESOSGATE_SSL_REQUIRE_CLIENT_CERT=false (and MESOSGATE_SSL_VERIFY_SERVER_CERT=true to keep verifying members) if that is not intended",
			name("REQUIRE_CLIENT_CERT")))
	}
	if g.TLS.Enabled == tlsx.Off && inherited("ENABLED") {
		w = append(w, fmt.Sprintf("%s=false makes the gateway's front plain HTTP; set MESOSGATE_SSL_ENABLED=true for HTTPS in front of a cluster without SSL",
			name("ENABLED")))
	}
	for _, p := range g.TrustedProxies {
		if p.Bits() == 0 {
			w = append(w, fmt.Sprintf("%s includes %s: X-Forwarded-* headers from every client are believed; name your proxies' networks instead",
				s.name("trusted-proxy"), p))
		}
	}
	return w
}
