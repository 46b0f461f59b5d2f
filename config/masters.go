package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strings"

	"github.com/mesosgate/mesosgate/zookeeper"
)

// This file reads --master the ways Mesos names its masters: addresses
// (http://host:port, https://host:port, host:port), the ZooKeeper group the
// masters join (zk://[user:password@]host:port[,host:port...]/path), or a
// file holding either (file:///path), which is read once, at start, as
// Mesos's agents and tools read it.

// errMixedZK is the answer to a zk:// URL given with other masters.
var errMixedZK = errors.New("a zk:// URL names every master through ZooKeeper: give it alone, without other masters")

// defineMasters registers --master.
func defineMasters(s *set, c *Cluster) {
	s.add(&setting{flag: "master", placeholder: "URL", multi: true, split: splitMasters,
		usage: "the masters: http://host:port, https://host:port or host:port (scheme found by probing; repeat or separate with commas), " +
			"or the ZooKeeper group they join, zk://[user:password@]host:port[,host:port...]/path, or file:///path holding either",
		parse: c.addMaster, redact: zookeeper.RedactURL, show: c.showMasters})
}

// requireMasters reports a missing --master.
func requireMasters(s *set, c *Cluster, command string) {
	if len(c.Masters) == 0 && !c.UsesZooKeeper() && s.ok("master") {
		s.fail("--master is required: give the masters' addresses, e.g. mesosgate %s --master http://master1:5050,http://master2:5050, or their ZooKeeper group, --master zk://zk1:2181/mesos (or set MESOSGATE_MASTER)", command)
	}
}

// UsesZooKeeper reports whether the masters are found in ZooKeeper
// (--master zk://..., directly or through a file) rather than given.
func (c *Cluster) UsesZooKeeper() bool { return len(c.ZooKeeper.Servers) > 0 }

// addMaster reads one item of --master.
func (c *Cluster) addMaster(v string) error {
	switch {
	case hasSchemeFold(v, "zk://"):
		u, err := zookeeper.ParseURL(v)
		switch {
		case err != nil:
			return err
		case c.UsesZooKeeper():
			return errors.New("a second zk:// URL: give one, listing every ZooKeeper server in it")
		case len(c.Masters) > 0:
			return errMixedZK
		}
		c.ZooKeeper = u
		return nil
	case hasSchemeFold(v, "file://"):
		return c.addMasterFile(v)
	}
	if c.UsesZooKeeper() {
		return errMixedZK
	}
	m, err := parseMaster(v)
	if err != nil {
		return err
	}
	for _, have := range c.Masters {
		if have.Address == m.Address {
			return fmt.Errorf("master %s is given twice; give each master once", m.Address)
		}
	}
	c.Masters = append(c.Masters, m)
	return nil
}

// addMasterFile reads a file:///path master file: it holds what --master
// takes (a zk:// URL, usually), with surrounding whitespace ignored.
func (c *Cluster) addMasterFile(v string) error {
	if c.MasterFile != "" {
		return fmt.Errorf("a second master file (the first is %s): give one", c.MasterFile)
	}
	text, err := zookeeper.ReadMasterFile(v)
	if err != nil {
		return err
	}
	c.MasterFile = v
	for _, item := range splitMasters(text) {
		if hasSchemeFold(item, "file://") {
			return fmt.Errorf("master file %s names another file (%s): write the zk:// URL or the masters' addresses in it", v, item)
		}
		if err := c.addMaster(item); err != nil {
			return fmt.Errorf("master file %s holds %q: %w", v, zookeeper.RedactURL(item), err)
		}
	}
	return nil
}

// showMasters prints --master for `mesosgate config`, without the
// ZooKeeper password.
func (c *Cluster) showMasters() string {
	v := joinMasters(c.Masters)
	if c.UsesZooKeeper() {
		v = c.ZooKeeper.String()
	}
	if c.MasterFile != "" {
		v += " (read from " + c.MasterFile + ")"
	}
	return v
}

// splitMasters splits a --master value at its commas, except inside a
// zk:// URL, whose servers are separated by commas too: it runs to the
// end of the value.
func splitMasters(v string) []string {
	i := indexSchemeFold(v, "zk://")
	if i < 0 {
		return splitList(v)
	}
	return append(splitList(v[:i]), strings.TrimSpace(v[i:]))
}

// hasSchemeFold reports whether v starts with scheme, in any case.
func hasSchemeFold(v, scheme string) bool {
	return len(v) >= len(scheme) && strings.EqualFold(v[:len(scheme)], scheme)
}

// indexSchemeFold returns where scheme first appears in v, in any case, or
// -1. (strings.ToLower would move the bytes of invalid UTF-8.)
func indexSchemeFold(v, scheme string) int {
	for i := range len(v) {
		if hasSchemeFold(v[i:], scheme) {
			return i
		}
	}
	return -1
}

// parseMaster reads one master address: http://host:port,
// https://host:port or a bare host:port. Paths, queries and credentials are
// refused: the gateway addresses masters' endpoints itself, and members'
// credentials come from the browser (SPEC section 5), never from a flag
// that `config` prints.
func parseMaster(v string) (Master, error) {
	if !strings.Contains(v, "://") {
		host, port, err := net.SplitHostPort(v)
		if err != nil || host == "" {
			return Master{}, errors.New("not a master address; write http://host:port, https://host:port or host:port (e.g. master1:5050), or zk://host:port/path for the masters' ZooKeeper group")
		}
		if err := checkPort(port); err != nil || port == "0" {
			return Master{}, fmt.Errorf("port %q is not a number from 1 to 65535", port)
		}
		return Master{Address: v}, nil
	}
	u, err := url.Parse(v)
	if err != nil {
		return Master{}, errors.New("not a URL; write http://host:port, https://host:port, host:port or zk://host:port/path")
	}
	if u.User != nil {
		return Master{}, errors.New("credentials do not belong in a master URL (the browser's Authorization header reaches members unchanged); remove user:password@")
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return Master{}, fmt.Errorf("scheme %q is not http, https, zk or file; write http://host:port, https://host:port, host:port, zk://host:port/path or file:///path", u.Scheme)
	}
	if u.Hostname() == "" {
		return Master{}, errors.New("no host; write it like http://master1:5050")
	}
	if (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" {
		return Master{}, errors.New("a master is addressed by scheme, host and port only; remove the path, query or fragment")
	}
	port := u.Port()
	if port == "" {
		port = map[string]string{"http": "80", "https": "443"}[u.Scheme]
	} else if err := checkPort(port); err != nil || port == "0" {
		return Master{}, fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return Master{Scheme: u.Scheme, Address: net.JoinHostPort(u.Hostname(), port)}, nil
}

func joinMasters(ms []Master) string {
	names := make([]string, len(ms))
	for i, m := range ms {
		names[i] = m.String()
	}
	return joinOrNone(names)
}
