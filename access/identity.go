package access

import (
	"crypto/tls"
	"strings"
	"time"
)

// Kind says how a client proved who it is.
type Kind uint8

const (
	// Anonymous is a client that proved nothing.
	Anonymous Kind = iota
	// Session is a browser signed in through OpenID Connect, carrying the
	// gateway's session cookie.
	Session
	// Bearer is an API client that sent an ID token or JWT access token of
	// the configured issuer in an Authorization: Bearer header.
	Bearer
	// Certificate is a client that presented a certificate the front's TLS
	// verified.
	Certificate
)

// String names the kind for logs.
func (k Kind) String() string {
	switch k {
	case Session:
		return "session"
	case Bearer:
		return "bearer token"
	case Certificate:
		return "client certificate"
	}
	return "anonymous"
}

// Identity is who a client is. The zero Identity is anonymous.
type Identity struct {
	// Kind says how the client proved it.
	Kind Kind
	// Subject is the OpenID subject (the token's "sub"); empty for
	// certificates.
	Subject string
	// Email is the token's "email" claim, left empty when the token says
	// email_verified is false.
	Email string
	// Name is the token's "name" claim, or "preferred_username".
	Name string
	// Groups are the values of the groups claim (by default "groups").
	Groups []string
	// CommonName is the certificate's subject CN.
	CommonName string
	// Emails are the certificate's email SANs.
	Emails []string
	// DNSNames are the certificate's DNS SANs.
	DNSNames []string
	// Expiry is when the session, token or certificate stops being valid.
	Expiry time.Time
}

// String describes the identity for logs and refusal pages: the email (or
// name, subject, common name) and the kind.
func (id Identity) String() string {
	if id.Kind == Anonymous {
		return "anonymous"
	}
	return id.Label() + " (" + id.Kind.String() + ")"
}

// Label is the shortest name a person recognises: the email, the name, the
// certificate's common name, its first SAN, or the subject.
func (id Identity) Label() string {
	for _, s := range []string{id.Email, id.CommonName, id.Name} {
		if s != "" {
			return s
		}
	}
	if len(id.Emails) > 0 {
		return id.Emails[0]
	}
	if len(id.DNSNames) > 0 {
		return id.DNSNames[0]
	}
	return id.Subject
}

// CertificateIdentity returns the identity of a TLS client from its
// verified chain, and false when there is none. It reads only
// VerifiedChains, never PeerCertificates: a certificate the handshake did
// not verify (tls.RequestClientCert, or InsecureSkipVerify) proves nothing.
func CertificateIdentity(cs *tls.ConnectionState) (Identity, bool) {
	if cs == nil || len(cs.VerifiedChains) == 0 || len(cs.VerifiedChains[0]) == 0 {
		return Identity{}, false
	}
	leaf := cs.VerifiedChains[0][0]
	return Identity{
		Kind:       Certificate,
		CommonName: leaf.Subject.CommonName,
		Emails:     leaf.EmailAddresses,
		DNSNames:   leaf.DNSNames,
		Expiry:     leaf.NotAfter,
	}, true
}

// hasEmail reports whether the identity has email e, ignoring case (no
// mail system in use today tells local parts apart by case, and an IdP may
// return the address as the user typed it).
func (id Identity) hasEmail(e string) bool {
	if id.Email != "" && strings.EqualFold(id.Email, e) {
		return true
	}
	for _, s := range id.Emails {
		if strings.EqualFold(s, e) {
			return true
		}
	}
	return false
}
