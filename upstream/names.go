package upstream

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"time"
)

// nameMasters adds to each master configured by IP address the names its
// address has in reverse DNS (and /etc/hosts), at that port: the name a
// Mesos master advertises by default (without --hostname it looks its IP
// up the same way) and that the WebUI puts in links to the leader
// ("//hostname:port/master/state"). A standby configured by IP was known
// by that name only once it had led, so a page loaded before a failover
// sent its next poll of the new leader past the gateway. A name two
// configured masters share at one port names neither. Lookups are bounded
// by lookupTimeout; a name is only a second way to write a configured
// master's address, never a new place to connect to.
func (c *Cluster) nameMasters(ctx context.Context) {
	c.mu.RLock()
	addrs := make([]string, 0, len(c.masters))
	for _, ms := range c.masters {
		if ms.configured {
			addrs = append(addrs, ms.m.addr)
		}
	}
	c.mu.RUnlock()
	owners := map[string][]string{} // name:port -> configured addresses
	for _, addr := range addrs {
		host, port, err := net.SplitHostPort(addr)
		if err != nil {
			continue
		}
		if _, err := netip.ParseAddr(host); err != nil {
			continue // configured by name already
		}
		lctx, cancel := context.WithTimeout(ctx, lookupTimeout)
		names, _ := net.DefaultResolver.LookupAddr(lctx, host)
		cancel()
		for _, n := range names {
			if n = strings.TrimSuffix(n, "."); n != "" {
				alias := strings.ToLower(net.JoinHostPort(n, port))
				owners[alias] = append(owners[alias], addr)
			}
		}
	}
	c.addNames(owners)
}

// addNames gives each alias of owners (name:port -> the configured
// addresses that have it) to its one owner; an alias with several owners,
// or one another master already goes by, names none.
func (c *Cluster) addNames(owners map[string][]string) {
	c.mu.Lock()
	added := false
	for alias, at := range owners {
		if len(at) != 1 || c.namedByOtherLocked(alias, at[0]) {
			continue
		}
		for _, ms := range c.masters {
			if ms.configured && ms.m.addr == at[0] && !ms.named(alias) {
				ms.addAlias(alias)
				added = true
			}
		}
	}
	c.mu.Unlock()
	if added {
		c.changed(true)
	}
}

// namedByOtherLocked reports whether a master other than the one at addr
// already goes by alias: a reverse name never takes another master's
// address or name (a PTR record naming m2 for m1's IP would send links to
// m2 to m1). c.mu is held.
func (c *Cluster) namedByOtherLocked(alias, addr string) bool {
	for _, ms := range c.masters {
		if ms.m.addr != addr && ms.named(alias) {
			return true
		}
	}
	return false
}

// lookupTimeout bounds one reverse lookup of a configured master.
const lookupTimeout = 2 * time.Second
