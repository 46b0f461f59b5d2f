package access

import (
	"errors"
	"fmt"
	"slices"
	"strings"
)

// Role is what a client may do.
type Role uint8

const (
	// NoRole may do nothing through the gateway.
	NoRole Role = iota
	// Viewer may read: browse the WebUI, state, metrics and sandboxes.
	Viewer
	// Operator may read and write: every request a member accepts.
	Operator
)

// String names the role as the settings and pages do.
func (r Role) String() string {
	switch r {
	case Viewer:
		return "viewer"
	case Operator:
		return "operator"
	}
	return "none"
}

// Allows reports whether the role may perform op.
func (r Role) Allows(op Operation) bool {
	return r == Operator || (r == Viewer && op.Read)
}

// grantKind is what a Grant matches.
type grantKind uint8

const (
	grantAny grantKind = iota
	grantEmail
	grantGroup
	grantSubject
	grantCommonName
	grantDNS
)

// grantPrefixes are the entry prefixes, with the kind each names.
func grantPrefix(p string) (grantKind, bool) {
	switch p {
	case "email":
		return grantEmail, true
	case "group":
		return grantGroup, true
	case "sub":
		return grantSubject, true
	case "cn":
		return grantCommonName, true
	case "dns":
		return grantDNS, true
	}
	return 0, false
}

// grantForms is the help every bad entry gets.
const grantForms = `name an email (alice@example.com or email:alice@example.com), ` +
	`a group of the groups claim (group:ops), an OpenID subject (sub:ID), ` +
	`a client certificate's common name (cn:NAME) or DNS name (dns:host.example.com), ` +
	`or * for anyone signed in`

// Grant is one entry of a --viewers or --operators list: whom it names.
//
// Entries are written
//
//	alice@example.com       an email: the token's verified email claim, or a certificate's email SAN (case ignored)
//	email:alice@example.com the same, spelled out
//	group:ops               a value of the groups claim (exact)
//	sub:248289761001        an OpenID subject, for providers without emails (exact)
//	cn:deploy-bot           a client certificate's subject common name (exact)
//	dns:ci.example.com      a client certificate's DNS SAN (case ignored)
//	*                       any identity that proved itself (never an anonymous client)
type Grant struct {
	kind  grantKind
	value string
}

// ParseGrant parses one entry. The error names the entry and the forms an
// entry takes.
func ParseGrant(entry string) (Grant, error) {
	e := strings.TrimSpace(entry)
	if e == "*" {
		return Grant{kind: grantAny}, nil
	}
	if p, v, ok := strings.Cut(e, ":"); ok {
		kind, known := grantPrefix(p)
		switch {
		case !known:
			return Grant{}, fmt.Errorf("entry %q has an unknown prefix %q: %s", entry, p+":", grantForms)
		case strings.TrimSpace(v) != v || v == "":
			return Grant{}, fmt.Errorf("entry %q names nothing after %q: %s", entry, p+":", grantForms)
		case kind == grantEmail && !isEmail(v):
			return Grant{}, fmt.Errorf("entry %q is not an email address: %s", entry, grantForms)
		}
		return Grant{kind: kind, value: v}, nil
	}
	if isEmail(e) {
		return Grant{kind: grantEmail, value: e}, nil
	}
	return Grant{}, fmt.Errorf("entry %q is neither an email nor a prefixed name: %s", entry, grantForms)
}

// isEmail reports whether s looks like local@domain.
func isEmail(s string) bool {
	local, domain, ok := strings.Cut(s, "@")
	return ok && local != "" && domain != "" && !strings.ContainsAny(s, " \t,;<>") && !strings.Contains(domain, "@")
}

// String is the entry in its canonical form.
func (g Grant) String() string {
	switch g.kind {
	case grantAny:
		return "*"
	case grantEmail:
		return g.value
	case grantGroup:
		return "group:" + g.value
	case grantSubject:
		return "sub:" + g.value
	case grantCommonName:
		return "cn:" + g.value
	}
	return "dns:" + g.value
}

// Matches reports whether the grant names id. No grant names an anonymous
// client. Names from tokens match only token identities and names from
// certificates only certificate identities (a "cn:" entry never matches a
// token's name claim).
func (g Grant) Matches(id Identity) bool {
	if id.Kind == Anonymous {
		return false
	}
	switch g.kind {
	case grantAny:
		return true
	case grantEmail:
		return id.hasEmail(g.value)
	case grantGroup:
		return id.Kind != Certificate && slices.Contains(id.Groups, g.value)
	case grantSubject:
		return id.Kind != Certificate && id.Subject == g.value
	case grantCommonName:
		return id.Kind == Certificate && id.CommonName == g.value
	}
	if id.Kind != Certificate {
		return false
	}
	for _, d := range id.DNSNames {
		if strings.EqualFold(d, g.value) {
			return true
		}
	}
	return false
}

// Grants is a parsed --viewers or --operators list. A nil Grants names
// nobody.
type Grants []Grant

// ParseGrants parses the entries of the setting named setting (used in
// errors, e.g. "--operators"). Blank entries are skipped; every bad entry
// is reported, one line each, and a list that names nobody is an error.
func ParseGrants(setting string, entries []string) (Grants, error) {
	var (
		gs   Grants
		errs []error
	)
	for _, e := range entries {
		if strings.TrimSpace(e) == "" {
			continue
		}
		g, err := ParseGrant(e)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", setting, err))
			continue
		}
		gs = append(gs, g)
	}
	if len(errs) == 0 && len(gs) == 0 {
		errs = append(errs, fmt.Errorf("%s names nobody: give entries such as alice@example.com or group:ops, or leave it unset", setting))
	}
	return gs, errors.Join(errs...)
}

// Match reports whether any grant names id.
func (gs Grants) Match(id Identity) bool {
	for _, g := range gs {
		if g.Matches(id) {
			return true
		}
	}
	return false
}

// groups returns the groups the grants name.
func (gs Grants) groups() []string {
	var out []string
	for _, g := range gs {
		if g.kind == grantGroup {
			out = append(out, g.value)
		}
	}
	return out
}
