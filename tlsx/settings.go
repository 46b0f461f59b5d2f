package tlsx

// Toggle is a boolean setting that remembers whether it was set at all, for
// the settings whose default depends on who applies them (the gateway and a
// libprocess member differ on ENABLED and ENABLE_TLS_V1_3). The zero value
// is Unset.
type Toggle int8

// The three states of a Toggle.
const (
	Unset Toggle = iota
	On
	Off
)

// ToggleOf returns On for true and Off for false.
func ToggleOf(b bool) Toggle {
	if b {
		return On
	}
	return Off
}

// Or returns the toggle's value, or def when it is Unset.
func (t Toggle) Or(def bool) bool {
	switch t {
	case On:
		return true
	case Off:
		return false
	}
	return def
}

// String returns "true", "false" or "unset".
func (t Toggle) String() string {
	switch t {
	case On:
		return "true"
	case Off:
		return "false"
	}
	return "unset"
}

// HostnameScheme is LIBPROCESS_SSL_HOSTNAME_VALIDATION_SCHEME: how the
// connecting side decides which name a member's certificate must carry.
type HostnameScheme string

const (
	// HostnameLegacy (the libprocess default, also chosen by "") reverse
	// resolves the peer's IP address and checks the certificate against
	// that name, or against the IP itself when VerifyIPAdd is on.
	HostnameLegacy HostnameScheme = "legacy"
	// HostnameOpenSSL checks the certificate against the hostname that was
	// connected to (or the IP, only when VerifyIPAdd is on).
	HostnameOpenSSL HostnameScheme = "openssl"
)

// DefaultVerifyDepth is libprocess's default LIBPROCESS_SSL_VERIFY_DEPTH.
const DefaultVerifyDepth = 4

// Settings are the libprocess SSL settings, one field per variable (named
// after the variable without its LIBPROCESS_SSL_ or SSL_ prefix). The zero
// value is a libprocess process with SSL off.
//
// Settings hold what was configured, not what it implies: REQUIRE_CLIENT_CERT
// implying VERIFY_SERVER_CERT, the default depth and the default cipher list
// are applied when a Context is made from them.
type Settings struct {
	// Enabled is ENABLED. Unset and Off both mean SSL off for a libprocess
	// member; the gateway's config turns Unset into On for its front side
	// (secure by default) and keeps an explicit Off as plain HTTP.
	Enabled Toggle
	// SupportDowngrade is SUPPORT_DOWNGRADE. Accepting side: plain
	// connections are served too, on the same port. A libprocess client
	// with it also retries plain when TLS fails; the gateway's connecting
	// side follows --upstream-tls instead (upstream decides it, in
	// schemeFor).
	SupportDowngrade bool

	// CertFile and KeyFile are CERT_FILE and KEY_FILE: the PEM certificate
	// chain and key presented on the accepting side and as the client
	// certificate when connecting. Empty means none (with Enabled on, a
	// Context then needs another certificate source).
	CertFile string
	KeyFile  string
	// KeyPassphraseFile names a file whose first line is the passphrase of
	// an encrypted KeyFile. It is mesosgate's addition (libprocess cannot
	// read encrypted keys); empty means the key is not encrypted.
	KeyPassphraseFile string
	// ClientCAFile names a PEM file of CAs that client certificates are
	// verified against on the accepting side, by Go's standard chain
	// verification, so a verified chain identifies the client: a client
	// may offer a certificate, and must with RequireClientCert (whose
	// libprocess checks against CA_FILE then give way to this file). It
	// is mesosgate's addition (the gateway's --client-ca); empty means
	// libprocess's behaviour.
	ClientCAFile string

	// VerifyServerCert is VERIFY_SERVER_CERT (legacy alias VERIFY_CERT):
	// the connecting side verifies the member's chain and name.
	VerifyServerCert bool
	// RequireClientCert is REQUIRE_CLIENT_CERT (legacy alias REQUIRE_CERT):
	// the accepting side demands and verifies a client certificate. It
	// implies VerifyServerCert.
	RequireClientCert bool
	// VerifyDepth is VERIFY_DEPTH (also VERIFICATION_DEPTH): the most
	// intermediates a verified chain may hold between the leaf and the root,
	// as OpenSSL counts depth. Zero means DefaultVerifyDepth.
	VerifyDepth int
	// VerifyIPAdd is VERIFY_IPADD: a certificate whose IP SAN matches the
	// peer's address is accepted.
	VerifyIPAdd bool
	// HostnameValidationScheme is HOSTNAME_VALIDATION_SCHEME; "" means
	// HostnameLegacy.
	HostnameValidationScheme HostnameScheme

	// CADir and CAFile are CA_DIR and CA_FILE: the trust anchors, an
	// OpenSSL-style directory (hash links included) and a PEM bundle. As
	// in OpenSSL, only their self-signed certificates end a chain; the
	// others are links to one. Both empty means the system roots, which
	// follow SSL_CERT_FILE and SSL_CERT_DIR as OpenSSL's default verify
	// paths do (read once per process, not reloaded).
	CADir  string
	CAFile string

	// Ciphers is CIPHERS: OpenSSL cipher suite names separated by ':'.
	// Empty means a modern ECDHE+AEAD list; a Context maps names to Go
	// suites and skips (with one warning) the ones Go cannot do, and
	// OpenSSL's aliases (HIGH, aRSA, ...), which it does not expand.
	Ciphers string
	// ECDHCurves is ECDH_CURVES (also ECDH_CURVE): "auto" or names
	// separated by ':'. Empty means "auto".
	ECDHCurves string

	// EnableSSLv3 is ENABLE_SSL_V3. Go has no SSLv3, so a Context refuses
	// true with an error saying so.
	EnableSSLv3 bool
	// EnableTLSv10 and EnableTLSv11 are ENABLE_TLS_V1_0 and ENABLE_TLS_V1_1.
	EnableTLSv10 bool
	EnableTLSv11 bool
	// EnableTLSv12 is ENABLE_TLS_V1_2; Unset means on.
	EnableTLSv12 Toggle
	// EnableTLSv13 is ENABLE_TLS_V1_3; Unset means off, as in libprocess.
	// The gateway's config turns Unset into On for browsers.
	EnableTLSv13 Toggle
}

// Depth returns the effective VerifyDepth.
func (s Settings) Depth() int {
	if s.VerifyDepth <= 0 {
		return DefaultVerifyDepth
	}
	return s.VerifyDepth
}

// VerifiesServer reports whether the connecting side verifies members'
// certificates: VERIFY_SERVER_CERT, or REQUIRE_CLIENT_CERT which implies it.
func (s Settings) VerifiesServer() bool {
	return s.VerifyServerCert || s.RequireClientCert
}
