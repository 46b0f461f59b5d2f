package tlsx

import (
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"time"
)

// Reverse lookups for the legacy hostname scheme are cached: a gateway
// verifies every member on every probe sweep and every new connection, and
// a cluster of thousands of agents must not mean thousands of PTR queries
// each time (libprocess itself warns when one is slow, MESOS-9339).
const (
	rdnsTTL        = time.Minute      // how long an answer is reused
	rdnsFailTTL    = 10 * time.Second // how long a failure is, so a broken resolver is not hammered
	rdnsTimeout    = 5 * time.Second
	rdnsSlow       = 100 * time.Millisecond // libprocess's SLOW_DNS_WARN_THRESHOLD
	rdnsCacheLimit = 65536
)

type rdnsEntry struct {
	name    string // "" when the lookup failed
	expires time.Time
}

// rdnsCache remembers reverse lookups by IP.
type rdnsCache struct {
	mu      sync.Mutex
	entries map[netip.Addr]rdnsEntry
}

// reverseName returns the name the legacy scheme checks: the peer's IP
// reverse-resolved, or hostname when there is no IP or the lookup fails
// (libprocess openssl.cpp: net::getHostname(ip), falling back to the name
// it was given).
func (c *Context) reverseName(hostname string, ip netip.Addr) string {
	if !ip.IsValid() {
		return hostname
	}
	now := c.now()
	c.rdns.mu.Lock()
	e, ok := c.rdns.entries[ip]
	c.rdns.mu.Unlock()
	if !ok || now.After(e.expires) {
		e = c.lookupName(ip, now)
	}
	if e.name == "" {
		return hostname
	}
	return e.name
}

// lookupName asks the resolver and caches the answer, failures included.
func (c *Context) lookupName(ip netip.Addr, now time.Time) rdnsEntry {
	lookup := c.opts.LookupAddr
	if lookup == nil {
		lookup = net.DefaultResolver.LookupAddr
	}
	ctx, cancel := context.WithTimeout(context.Background(), rdnsTimeout)
	defer cancel()
	start := time.Now()
	names, err := lookup(ctx, ip.String())
	if took := time.Since(start); took > rdnsSlow {
		c.log.Warn("slow reverse DNS lookup for legacy hostname validation", "ip", ip.String(), "took", took)
	}
	e := rdnsEntry{expires: now.Add(rdnsFailTTL)}
	if err != nil || len(names) == 0 {
		c.log.Warn("reverse lookup for legacy hostname validation failed", "ip", ip.String(), "err", err)
	} else {
		e = rdnsEntry{name: strings.TrimSuffix(names[0], "."), expires: now.Add(rdnsTTL)}
	}
	c.rdns.mu.Lock()
	if c.rdns.entries == nil || len(c.rdns.entries) >= rdnsCacheLimit {
		c.rdns.entries = map[netip.Addr]rdnsEntry{} // crude but bounded: start over
	}
	c.rdns.entries[ip] = e
	c.rdns.mu.Unlock()
	return e
}
