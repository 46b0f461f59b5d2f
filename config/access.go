package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"

	"github.com/mesosgate/mesosgate/access"
)

// Access is who may read and change the cluster through the gateway: the
// sign-in (OpenID Connect, client certificates) and the roles. Its zero
// value is a gateway without authentication, where everyone is a viewer:
// reads pass, writes to masters and agents are refused.
type Access struct {
	// AllowWrites makes everyone an operator on a gateway without
	// authentication (--allow-writes): today's behaviour of a gateway
	// in front of a cluster that trusts its network. False refuses writes.
	AllowWrites bool
	// OIDCIssuer is the OpenID Provider's issuer URL (--oidc-issuer); ""
	// means no sign-in through OIDC.
	OIDCIssuer string
	// OIDCClientID and OIDCClientSecretFile are the gateway's client at
	// the provider; the file holds the secret ("" for a public client,
	// protected by PKCE alone).
	OIDCClientID         string
	OIDCClientSecretFile string
	// OIDCRedirectURL is the callback URL registered at the provider;
	// "" derives it from the gateway's first --server-name (or
	// --acme-domain) and --listen's port.
	OIDCRedirectURL string
	// OIDCScopes are the scopes asked for; nil means openid, email and
	// profile.
	OIDCScopes []string
	// OIDCGroupsClaim is the claim listing a user's groups; "" means
	// "groups".
	OIDCGroupsClaim string
	// OIDCAudience is the audience bearer tokens must name; "" means the
	// client id.
	OIDCAudience string
	// OIDCEndSession makes sign-out end the session at the provider too.
	OIDCEndSession bool
	// SessionKeyFiles hold the keys sessions are sealed with (at least 32
	// random bytes each): the first seals, all open, so keys rotate and
	// several gateways accept each other's sessions. Required with OIDC.
	SessionKeyFiles []string
	// Viewers and Operators grant the roles (access.ParseGrant's syntax).
	Viewers, Operators []string
	// ClientCA is a PEM file of CAs the front verifies client
	// certificates against (--client-ca): a browser may offer one, or
	// must with REQUIRE_CLIENT_CERT. Verified certificates identify
	// clients. "" identifies nobody by certificate.
	ClientCA string
}

// defineAccess registers the access settings.
func (a *Access) defineAccess(s *set) {
	s.add(boolSetting(&a.AllowWrites, "allow-writes",
		"let everyone change the cluster through a gateway without authentication (writes are refused otherwise)"))
	s.add(&setting{flag: "oidc-issuer", placeholder: "URL",
		usage: "OpenID Provider to sign in with (its issuer URL); default: no sign-in",
		parse: issuerParser(&a.OIDCIssuer), redact: redactURL, show: func() string { return orNone(a.OIDCIssuer) }})
	s.add(&setting{flag: "oidc-client-id", placeholder: "ID",
		usage: "the gateway's client id at the OpenID Provider",
		parse: stringParser(&a.OIDCClientID), show: func() string { return orNone(a.OIDCClientID) }})
	s.add(&setting{flag: "oidc-client-secret-file", placeholder: "FILE",
		usage: "file holding the client secret (the secret itself is never printed); default: a public client with PKCE",
		parse: pathParser(&a.OIDCClientSecretFile), show: func() string { return orNone(a.OIDCClientSecretFile) }})
	s.add(&setting{flag: "oidc-redirect-url", placeholder: "URL",
		usage: "callback URL registered at the provider; default: https://<first --server-name or --acme-domain>/gateway/callback",
		parse: redirectParser(&a.OIDCRedirectURL), show: func() string { return orNone(a.OIDCRedirectURL) }})
	s.add(&setting{flag: "oidc-scopes", placeholder: "SCOPE", multi: true,
		usage: "scopes asked for at sign-in (repeat or separate with commas); default openid, email, profile",
		parse: appendParser(&a.OIDCScopes), show: func() string { return joinOrNone(a.OIDCScopes) }})
	s.add(&setting{flag: "oidc-groups-claim", placeholder: "CLAIM",
		usage: "ID token claim listing the user's groups; default groups",
		parse: stringParser(&a.OIDCGroupsClaim), show: func() string { return orNone(a.OIDCGroupsClaim) }})
	s.add(&setting{flag: "oidc-audience", placeholder: "AUDIENCE",
		usage: "audience bearer tokens must name; default the client id",
		parse: stringParser(&a.OIDCAudience), show: func() string { return orNone(a.OIDCAudience) }})
	s.add(boolSetting(&a.OIDCEndSession, "oidc-end-session", "sign-out also ends the session at the provider, when it offers that"))
	s.add(&setting{flag: "session-key-file", placeholder: "FILE", multi: true,
		usage: "file of at least 32 random bytes sealing sessions (repeat: the first seals, all open); default: a key the gateway makes once in its storage (--data-dir, or --storage), which gateways sharing it share",
		parse: appendParser(&a.SessionKeyFiles), show: func() string { return joinOrNone(a.SessionKeyFiles) }})
	s.add(&setting{flag: "viewers", placeholder: "ENTRY", multi: true,
		usage: `who may read: alice@example.com, group:NAME, sub:ID, cn:NAME, dns:HOST, or * for anyone signed in (repeat or separate with commas; \, for a comma)`,
		parse: grantParser(&a.Viewers), show: func() string { return joinOrNone(a.Viewers) }})
	s.add(&setting{flag: "operators", placeholder: "ENTRY", multi: true,
		usage: "who may read and change the cluster, as --viewers",
		parse: grantParser(&a.Operators), show: func() string { return joinOrNone(a.Operators) }})
	s.add(&setting{flag: "client-ca", placeholder: "FILE",
		usage: "PEM CAs the front verifies a browser's client certificate against when it offers one; verified certificates identify clients (cn:, dns:, email entries)",
		parse: pathParser(&a.ClientCA), show: func() string { return orNone(a.ClientCA) }})
}

// checkAccess applies the rules between the access settings: an OIDC
// setup given whole, roles only with a way to identify clients, files
// that can be read. front says whether the front speaks TLS, and redirect
// is the OIDC callback URL as derived.
func (a *Access) checkAccess(s *set, front bool, redirect string) {
	oidcFlags := []string{"oidc-client-id", "oidc-client-secret-file", "oidc-redirect-url", "oidc-scopes", "oidc-groups-claim", "oidc-audience", "oidc-end-session", "session-key-file"}
	if a.OIDCIssuer == "" {
		for _, f := range oidcFlags {
			if s.isSet(f) {
				s.fail("%s is set but --oidc-issuer is not: give the OpenID Provider's issuer URL, or remove it", s.name(f))
			}
		}
	} else {
		if a.OIDCClientID == "" && s.ok("oidc-client-id") {
			s.fail("--oidc-issuer is set but --oidc-client-id is not: give the gateway's client id at the provider")
		}
		if !front {
			s.fail("--oidc-issuer needs the front to speak HTTPS (sessions live in Secure cookies), but %s=false", sslName(s, "ENABLED"))
		}
		if redirect == "" && s.ok("oidc-redirect-url") {
			s.fail("--oidc-issuer needs the callback URL browsers come back to: give --oidc-redirect-url (e.g. https://gateway.example.com/gateway/callback), or --server-name with the gateway's name")
		}
	}
	for _, f := range []struct{ flag, path string }{{"oidc-client-secret-file", a.OIDCClientSecretFile}, {"client-ca", a.ClientCA}} {
		if f.path != "" {
			if err := readableFile(f.path); err != nil {
				s.fail("%s=%s: %v", s.name(f.flag), quote(f.path), err)
			}
		}
	}
	for _, path := range a.SessionKeyFiles {
		if err := readableFile(path); err != nil {
			s.fail("%s=%s: %v", s.name("session-key-file"), quote(path), err)
		}
	}
	if a.ClientCA != "" && !front {
		s.fail("%s is set but the front serves plain HTTP (%s=false): client certificates need TLS", s.name("client-ca"), sslName(s, "ENABLED"))
	}
	authenticated := a.OIDCIssuer != "" || front && a.ClientCA != ""
	switch {
	case !authenticated && (len(a.Viewers) > 0 || len(a.Operators) > 0):
		s.fail("--viewers and --operators need a way to identify clients: set --oidc-issuer, or --client-ca for client certificates")
	case authenticated && a.AllowWrites:
		s.fail("--allow-writes makes everyone an operator and is only for gateways without authentication: name the operators in --operators instead")
	case authenticated && len(a.Viewers) == 0 && len(a.Operators) == 0 && s.ok("viewers", "operators"):
		s.fail("clients are identified (--oidc-issuer or client certificates) but no one has a role: name them in --viewers and --operators, e.g. --viewers '*' --operators group:ops")
	}
}

// Identifies reports whether the gateway identifies clients: by OIDC, or
// by client certificates (--client-ca).
func (g *Gateway) Identifies() bool { return g.OIDCIssuer != "" || g.CertificateIdentities() }

// CertificateIdentities reports whether verified client certificates
// identify clients: with --client-ca, the CAs they are verified against.
// REQUIRE_CLIENT_CERT alone (often inherited from the cluster) only makes
// the front demand a certificate; it identifies nobody.
func (g *Gateway) CertificateIdentities() bool { return g.FrontTLS() && g.ClientCA != "" }

// issuerParser accepts an https:// issuer URL, or http:// on a loopback
// address (a provider on the same host, as in tests).
func issuerParser(p *string) func(string) error {
	return func(v string) error {
		u, err := url.Parse(v)
		if err != nil || u.Host == "" || (u.Scheme != "https" && !(u.Scheme == "http" && isLoopback(u.Hostname()))) {
			return errors.New("not an https:// URL; give the provider's issuer, e.g. https://accounts.example.com")
		}
		if u.User != nil || u.RawQuery != "" || u.Fragment != "" {
			return errors.New("an issuer URL has no credentials, query or fragment")
		}
		*p = v
		return nil
	}
}

// redirectParser accepts an https:// URL (or http:// on loopback).
func redirectParser(p *string) func(string) error {
	parse := issuerParser(p)
	return func(v string) error {
		if err := parse(v); err != nil {
			return errors.New("not an https:// URL; give the callback URL registered at the provider, e.g. https://gateway.example.com/gateway/callback")
		}
		return nil
	}
}

// isLoopback reports whether host is localhost or a loopback address.
func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// grantParser accepts one role entry (access.ParseGrant's syntax).
func grantParser(p *[]string) func(string) error {
	return func(v string) error {
		if _, err := access.ParseGrant(v); err != nil {
			return err
		}
		*p = append(*p, v)
		return nil
	}
}

// stringParser accepts any non-empty value.
func stringParser(p *string) func(string) error {
	return func(v string) error {
		if v == "" {
			return errors.New("empty; give a value, or unset it")
		}
		*p = v
		return nil
	}
}

// appendParser appends each non-empty value.
func appendParser(p *[]string) func(string) error {
	return func(v string) error {
		if v == "" {
			return errors.New("empty; give a value, or unset it")
		}
		*p = append(*p, v)
		return nil
	}
}

// boolSetting is a boolean flag, false by default.
func boolSetting(p *bool, flag, usage string) *setting {
	return &setting{flag: flag, boolean: true, def: "false", usage: usage,
		parse: boolParser(p), show: func() string { return strconv.FormatBool(*p) }}
}

// OIDCRedirect is the OIDC callback URL: --oidc-redirect-url, or derived
// from the names browsers use (redirectFor); "" when neither says.
func (g *Gateway) OIDCRedirect(callback string) string {
	if g.OIDCRedirectURL != "" {
		return g.OIDCRedirectURL
	}
	return g.redirectFor(callback)
}

// redirectFor derives the OIDC redirect URL from the names browsers use:
// the first --server-name or --acme-domain, with --listen's port unless it
// is 443. "" when there is none.
func (g *Gateway) redirectFor(callback string) string {
	names := append(append([]string(nil), g.ServerNames...), g.ACME.Domains...)
	if len(names) == 0 {
		return ""
	}
	host := names[0]
	if _, port, err := net.SplitHostPort(g.Listen); err == nil && port != "443" && port != "0" {
		host = net.JoinHostPort(host, port)
	}
	return fmt.Sprintf("https://%s%s", host, callback)
}
