package zookeeper

import (
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
)

// Example is how a ZooKeeper URL is written, quoted by every error about
// one.
const Example = "zk://10.0.0.1:2181,10.0.0.2:2181/mesos"

// URL is a parsed zk:// URL, the way Mesos names the ZooKeeper group its
// masters join: zk://[user:password@]host:port[,host:port...]/path.
type URL struct {
	// Servers are the ZooKeeper servers as host:port, in the order given.
	Servers []string
	// Path is the group's znode, without a trailing slash ("/mesos").
	Path string
	// User and Password are digest credentials; an empty User means the
	// URL carried none.
	User, Password string
}

// ParseURL parses zk://[user:password@]host:port[,host:port...]/path.
// Surrounding whitespace is ignored, as Mesos trims it. Unlike Mesos, which
// would connect to ZooKeeper's root or a default port, a missing path, a
// path of "/", a missing port and an empty host are errors: each is a
// typo in practice. The error is one line saying what is wrong and how to
// write the URL.
func ParseURL(s string) (URL, error) {
	s = strings.TrimSpace(s)
	rest, ok := cutScheme(s)
	if !ok {
		return URL{}, urlError(s, "not a zk:// URL")
	}
	// zookeeper/url.hpp: the path starts at the first "/" after the
	// scheme; the credentials end at the last "@" before it.
	hosts, path, _ := strings.Cut(rest, "/")
	path = "/" + path
	var u URL
	if at := strings.LastIndex(hosts, "@"); at >= 0 {
		creds := hosts[:at]
		hosts = hosts[at+1:]
		user, pass, ok := strings.Cut(creds, ":")
		if !ok || user == "" {
			return URL{}, urlError(s, "credentials must be user:password before the @")
		}
		u.User, u.Password = user, pass
	}
	servers, err := parseServers(hosts)
	if err != nil {
		return URL{}, urlError(s, err.Error())
	}
	u.Servers = servers
	if u.Path, err = cleanPath(path); err != nil {
		return URL{}, urlError(s, err.Error())
	}
	return u, nil
}

// cutScheme removes "zk://" (any case) from s.
func cutScheme(s string) (string, bool) {
	const scheme = "zk://"
	if len(s) < len(scheme) || !strings.EqualFold(s[:len(scheme)], scheme) {
		return "", false
	}
	return s[len(scheme):], true
}

// parseServers splits a comma-separated host:port list.
func parseServers(list string) ([]string, error) {
	if list == "" {
		return nil, errors.New("no ZooKeeper server given")
	}
	var out []string
	for _, hp := range strings.Split(list, ",") {
		if err := checkServer(hp); err != nil {
			return nil, err
		}
		out = append(out, hp)
	}
	return out, nil
}

// checkServer checks one host:port of a server list.
func checkServer(hp string) error {
	host, port, err := net.SplitHostPort(hp)
	if err != nil {
		if hp == "" {
			return errors.New("empty server in the list (two commas in a row?)")
		}
		return fmt.Errorf("server %q needs a port (ZooKeeper's is usually 2181)", hp)
	}
	if host == "" {
		return fmt.Errorf("server %q has no host", hp)
	}
	if strings.ContainsAny(host, " \t/?#") {
		return fmt.Errorf("server %q has a bad host", hp)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 || port[0] == '+' {
		return fmt.Errorf("server %q has a bad port (a number from 1 to 65535)", hp)
	}
	return nil
}

// cleanPath checks a group's path and drops a trailing slash, as Mesos's
// Group does.
func cleanPath(p string) (string, error) {
	p = strings.TrimRight(p, "/")
	if p == "" {
		return "", errors.New("no path: name the group's znode after the servers")
	}
	for _, seg := range strings.Split(p[1:], "/") {
		if seg == "" || seg == "." || seg == ".." {
			return "", fmt.Errorf("bad path %q: no empty, . or .. segments", p)
		}
		if strings.ContainsFunc(seg, badPathRune) {
			return "", fmt.Errorf("bad path %q: no control characters, spaces, ? or #", p)
		}
	}
	return p, nil
}

// badPathRune reports characters ZooKeeper refuses in a path (PathUtils:
// control characters and a few Unicode ranges) and those that only get in
// a URL by mistake.
func badPathRune(r rune) bool {
	switch {
	case r < 0x20, r == 0x7f, r == ' ', r == '?', r == '#':
		return true
	case r >= 0x7f && r <= 0x9f, r >= 0xd800 && r <= 0xf8ff, r >= 0xfff0 && r <= 0xffff:
		return true
	}
	return false
}

// urlError is the one line every parse error reads: the URL (password
// hidden), what is wrong, and how to write it.
func urlError(s, what string) error {
	return fmt.Errorf("ZooKeeper URL %q: %s: write it as zk://[user:password@]host:port[,host:port...]/path, e.g. %s", RedactURL(s), what, Example)
}

// String returns the URL with the password replaced by "xxxxx": it is safe
// to log and print.
func (u URL) String() string {
	var b strings.Builder
	b.WriteString("zk://")
	if u.User != "" {
		b.WriteString(u.User + ":xxxxx@")
	}
	b.WriteString(strings.Join(u.Servers, ","))
	b.WriteString(u.Path)
	return b.String()
}

// LogValue logs the URL as String does, without the password.
func (u URL) LogValue() slog.Value { return slog.StringValue(u.String()) }

// HasCredentials reports whether the URL carries digest credentials.
func (u URL) HasCredentials() bool { return u.User != "" }

// digest returns the digest scheme's credentials, "user:password".
func (u URL) digest() []byte { return []byte(u.User + ":" + u.Password) }

// RedactURL hides the password of a zk:// URL (or anything written
// scheme://user:password@...), even one that does not parse, for error
// messages and printed settings.
func RedactURL(s string) string {
	i := strings.Index(s, "://")
	if i < 0 {
		return s
	}
	rest := s[i+3:]
	hosts, path, hasPath := strings.Cut(rest, "/")
	at := strings.LastIndex(hosts, "@")
	if at < 0 {
		return s
	}
	user, _, _ := strings.Cut(hosts[:at], ":")
	out := s[:i+3] + user + ":xxxxx@" + hosts[at+1:]
	if hasPath {
		out += "/" + path
	}
	return out
}

// ReadMasterFile reads a file:///path master file, as Mesos does for
// --master=file:///path: the file holds one master URL (zk://... or a
// host:port list), returned with surrounding whitespace trimmed for the
// caller to parse. An unreadable or empty file is an error naming the
// path.
func ReadMasterFile(fileURL string) (string, error) {
	const scheme = "file://"
	if !strings.HasPrefix(strings.ToLower(fileURL), scheme) {
		return "", fmt.Errorf("master file %q: not a file:// URL: write it as file:///path/to/file", fileURL)
	}
	path := fileURL[len(scheme):]
	if !strings.HasPrefix(path, "/") {
		return "", fmt.Errorf("master file %q: the path must be absolute: write it as file:///path/to/file (three slashes)", fileURL)
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return "", fmt.Errorf("read master file %s: %w (it should hold a URL such as %s)", path, err, Example)
	}
	text := strings.TrimSpace(string(data))
	if text == "" {
		return "", fmt.Errorf("master file %s is empty: write one URL in it, such as %s", path, Example)
	}
	return text, nil
}
