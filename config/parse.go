package config

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/mail"
	"net/netip"
	"net/url"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Parsers turn one value into a field. Each error says what is wrong and
// what to write instead; the caller prefixes the setting's name and value.

func pathParser(p *string) func(string) error {
	return func(v string) error {
		if v == "" {
			return errors.New("empty; give a path, or unset it")
		}
		*p = v
		return nil
	}
}

func enumParser[T ~string](p *T, values ...T) func(string) error {
	return func(v string) error {
		for _, allowed := range values {
			if T(v) == allowed {
				*p = allowed
				return nil
			}
		}
		names := make([]string, len(values))
		for i, allowed := range values {
			names[i] = string(allowed)
		}
		return fmt.Errorf("unknown value; use %s", orList(names))
	}
}

// orList joins names as "a, b or c".
func orList(names []string) string {
	if len(names) < 2 {
		return strings.Join(names, "")
	}
	return strings.Join(names[:len(names)-1], ", ") + " or " + names[len(names)-1]
}

func durationParser(p *time.Duration, min time.Duration) func(string) error {
	return func(v string) error {
		d, err := time.ParseDuration(v)
		if err != nil {
			return errors.New("not a duration; write it like 10s, 1m30s or 500ms")
		}
		switch {
		case d < 0:
			return errors.New("negative; write a duration like 10s")
		case d < min && min <= time.Millisecond:
			return errors.New("must be more than zero; write it like 10s")
		case d < min:
			return fmt.Errorf("too short; use at least %s", min)
		}
		*p = d
		return nil
	}
}

func levelParser(p *slog.Level) func(string) error {
	return func(v string) error {
		levels := map[string]slog.Level{"debug": slog.LevelDebug, "info": slog.LevelInfo, "warn": slog.LevelWarn, "error": slog.LevelError}
		l, ok := levels[v]
		if !ok {
			return errors.New("unknown level; use debug, info, warn or error")
		}
		*p = l
		return nil
	}
}

// listenParser accepts host:port with a numeric port; the host may be
// empty (every address) or a name or IP.
func listenParser(p *string) func(string) error {
	return func(v string) error {
		host, port, err := net.SplitHostPort(v)
		if err != nil {
			return errors.New("not host:port; write it like :8443 or 127.0.0.1:8443 ([::1]:8443 for IPv6)")
		}
		if err := checkPort(port); err != nil {
			return err
		}
		if strings.ContainsAny(host, "/ ") {
			return errors.New("the host part is not a name or an IP address; write it like 0.0.0.0:8443")
		}
		*p = v
		return nil
	}
}

func checkPort(port string) error {
	n, err := strconv.Atoi(port)
	if err != nil || n < 0 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 0 to 65535", port)
	}
	return nil
}

// httpsURLParser accepts an https:// URL (an ACME directory).
func httpsURLParser(p *string) func(string) error {
	return func(v string) error {
		u, err := url.Parse(v)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return errors.New("not an https:// URL; give the ACME directory URL, e.g. " + DefaultACMECA)
		}
		if u.User != nil {
			return errors.New("credentials do not belong in the URL; remove user:password@")
		}
		*p = v
		return nil
	}
}

func emailParser(p *string) func(string) error {
	return func(v string) error {
		a, err := mail.ParseAddress(v)
		if err != nil || a.Address != v {
			return errors.New("not an email address; write it like ops@example.com")
		}
		*p = v
		return nil
	}
}

// domainParser accepts DNS names an ACME CA can validate over HTTP or
// TLS-ALPN: no wildcards (those need a DNS challenge), no IP addresses, no
// scheme or port.
func domainParser(p *[]string) func(string) error {
	return func(v string) error {
		if _, err := netip.ParseAddr(v); err == nil {
			return errors.New("an IP address; --acme-domain takes DNS names (use --cert-source internal for IP addresses)")
		}
		if strings.HasPrefix(v, "*.") {
			return errors.New("a wildcard needs a DNS challenge, which mesosgate does not configure; name each host")
		}
		if !validDNSName(v) {
			return errors.New("not a DNS name; write it like gateway.example.com, without scheme or port")
		}
		name := strings.ToLower(strings.TrimSuffix(v, "."))
		for _, have := range *p {
			if have == name {
				return nil
			}
		}
		*p = append(*p, name)
		return nil
	}
}

// serverNameParser reads a name the front is reached by: a DNS name
// (lowercased, trailing dot dropped) or an IP address, each kept once.
func serverNameParser(p *[]string) func(string) error {
	return func(v string) error {
		name := strings.ToLower(strings.TrimSuffix(v, "."))
		if ip, err := netip.ParseAddr(v); err == nil {
			if ip.Zone() != "" {
				return errors.New("an address with a zone; certificates cannot name one")
			}
			name = ip.Unmap().String()
		} else if !validDNSName(v) {
			return errors.New("neither a DNS name nor an IP address; write it like gateway.example.com or 10.0.0.5, without scheme or port")
		}
		if !slices.Contains(*p, name) {
			*p = append(*p, name)
		}
		return nil
	}
}

// validDNSName checks a hostname's syntax: dot-separated labels of
// letters, digits and inner hyphens, at most 63 bytes each, 253 in all.
func validDNSName(name string) bool {
	name = strings.TrimSuffix(name, ".")
	if name == "" || len(name) > 253 {
		return false
	}
	for _, label := range strings.Split(name, ".") {
		if label == "" || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for _, r := range label {
			if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-') {
				return false
			}
		}
	}
	return true
}

// prefixParser accepts a CIDR or a single IP address (as /32 or /128).
func prefixParser(p *[]netip.Prefix) func(string) error {
	return func(v string) error {
		var pfx netip.Prefix
		if addr, err := netip.ParseAddr(v); err == nil {
			pfx = netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen())
		} else if pfx, err = netip.ParsePrefix(v); err != nil {
			return errors.New("not an IP address or CIDR; write it like 10.0.0.0/8 or 192.0.2.7")
		}
		if pfx.Masked() != pfx {
			return fmt.Errorf("has host bits set; write the network, %s", pfx.Masked())
		}
		*p = append(*p, pfx)
		return nil
	}
}

// redactURL hides the password of a URL that has one.
func redactURL(v string) string {
	if u, err := url.Parse(v); err == nil && u.User != nil {
		return u.Redacted()
	}
	return v
}

// defaultDataDir returns $XDG_DATA_HOME/mesosgate, or
// $HOME/.local/share/mesosgate (the XDG default), and false when neither
// variable gives an absolute path.
func defaultDataDir(env environ) (string, bool) {
	if x := env.get("XDG_DATA_HOME"); filepath.IsAbs(x) {
		return filepath.Join(x, "mesosgate"), true
	}
	if h := env.get("HOME"); filepath.IsAbs(h) {
		return filepath.Join(h, ".local", "share", "mesosgate"), true
	}
	return "", false
}

func joinOrNone(list []string) string {
	return orNone(strings.Join(list, ","))
}

func joinPrefixes(ps []netip.Prefix) string {
	names := make([]string, len(ps))
	for i, p := range ps {
		names[i] = p.String()
	}
	return joinOrNone(names)
}

// serviceAllowParser accepts a host name, an IP address or a CIDR.
func serviceAllowParser(p *[]string) func(string) error {
	return func(v string) error {
		if strings.Contains(v, "/") {
			pfx, err := netip.ParsePrefix(v)
			if err != nil {
				return errors.New("not a CIDR; write a network like 10.20.0.0/16")
			}
			*p = append(*p, pfx.Masked().String())
			return nil
		}
		if addr, err := netip.ParseAddr(v); err == nil {
			*p = append(*p, addr.String())
			return nil
		}
		if !validDNSName(v) {
			return errors.New("not a host name, IP address or CIDR; write it like jenkins.example.com, 10.0.0.7 or 10.20.0.0/16")
		}
		*p = append(*p, strings.ToLower(v))
		return nil
	}
}

// serviceDomainParser accepts DOMAIN[:PORT]: a DNS name (no wildcard) and
// an optional port.
func serviceDomainParser(domain, port *string) func(string) error {
	return func(v string) error {
		if v == "" {
			*domain, *port = "", "" // path mode: /service/<name>/
			return nil
		}
		d, p := v, ""
		if h, pp, err := net.SplitHostPort(v); err == nil {
			if err := checkPort(pp); err != nil {
				return err
			}
			d, p = h, pp
		}
		d = strings.ToLower(strings.TrimSuffix(d, "."))
		if strings.HasPrefix(d, "*.") || !validDNSName(d) {
			return errors.New("not a DNS name; give the domain under which framework UIs get names, e.g. apps.example.com (with a wildcard DNS record *.apps.example.com pointing at the gateway)")
		}
		*domain, *port = d, p
		return nil
	}
}
