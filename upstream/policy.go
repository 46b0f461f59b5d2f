package upstream

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"slices"
	"strings"
	"sync"
)

// This file is where the gateway may connect (SPEC section 7). The
// masters' state is input the gateway does not trust: any framework can
// register any webui_url, and an agent's pid says where to connect. So:
//   - Never to link-local addresses (169.254.0.0/16, fe80::/10, where
//     clouds keep their instance metadata), the EC2 IPv6 metadata address
//     (fd00:ec2::254), or the gateway's own listening addresses (a request
//     sent there would loop).
//   - Framework UIs only on a cluster member's host (the IP or name of a
//     master or agent) or on a host or network listed in --service-allow.
//   - Checked on the address actually dialled, after name resolution, so
//     a name that resolves elsewhere on the next lookup (DNS rebinding)
//     gains nothing; and before connecting, so a refused address cannot
//     be told from a closed port (the gateway maps no network).

// Policy limits where the gateway connects. Its zero value forbids the
// link-local and metadata ranges only.
type Policy struct {
	// ServiceAllow are hosts (names or IP addresses) and networks framework
	// UIs may be at besides the cluster members' hosts (--service-allow).
	// A name is trusted as it resolves.
	ServiceAllow []string
}

// forbidden are the networks the gateway never connects to.
var forbidden = []netip.Prefix{
	netip.MustParsePrefix("169.254.0.0/16"),
	netip.MustParsePrefix("fe80::/10"),
	netip.MustParsePrefix("fd00:ec2::254/128"),
}

// policy is a Policy made ready: the allowed hosts and networks parsed,
// and the gateway's own addresses as they become known.
type policy struct {
	hosts map[string]bool // lower-case names and IPs of --service-allow
	nets  []netip.Prefix

	mu  sync.RWMutex
	own map[netip.AddrPort]bool
}

// newPolicy parses p; every entry that is neither a name, an IP address
// nor a CIDR is an error.
func newPolicy(p Policy) (*policy, error) {
	pl := &policy{hosts: map[string]bool{}, own: map[netip.AddrPort]bool{}}
	var bad []string
	for _, e := range p.ServiceAllow {
		e = strings.ToLower(strings.TrimSpace(e))
		switch {
		case strings.Contains(e, "/"):
			pfx, err := netip.ParsePrefix(e)
			if err != nil {
				bad = append(bad, e)
				continue
			}
			pl.nets = append(pl.nets, pfx.Masked())
		case e == "":
			bad = append(bad, `""`)
		default:
			if ip, err := netip.ParseAddr(e); err == nil {
				e = ip.Unmap().String()
			}
			pl.hosts[e] = true
		}
	}
	if len(bad) > 0 {
		return nil, fmt.Errorf("--service-allow: %s: give host names, IP addresses or CIDRs (10.0.0.0/8)", strings.Join(bad, ", "))
	}
	return pl, nil
}

// Exclude adds the gateway's own listening address to the addresses it
// never connects to: a wildcard address (":8443", "[::]:8443") stands
// for every address of the machine on that port.
func (c *Cluster) Exclude(addr net.Addr) {
	ap, err := netip.ParseAddrPort(addr.String())
	if err != nil {
		return
	}
	ips := []netip.Addr{ap.Addr().Unmap()}
	if ap.Addr().IsUnspecified() {
		ips = localAddrs()
	}
	c.policy.mu.Lock()
	defer c.policy.mu.Unlock()
	for _, ip := range ips {
		c.policy.own[netip.AddrPortFrom(ip, ap.Port())] = true
	}
}

// localAddrs are the machine's addresses, loopback included.
func localAddrs() []netip.Addr {
	out := []netip.Addr{netip.MustParseAddr("127.0.0.1"), netip.IPv6Loopback()}
	addrs, err := net.InterfaceAddrs()
	if err != nil {
		return out
	}
	for _, a := range addrs {
		if p, err := netip.ParsePrefix(a.String()); err == nil {
			out = append(out, p.Addr().Unmap())
		}
	}
	return out
}

// refusal says why the gateway may not connect to ip:port, "" when it
// may. forUI adds the framework UI rule: a member's address, or
// --service-allow.
func (c *Cluster) refusal(ap netip.AddrPort, forUI bool, host string) string {
	ip := ap.Addr().Unmap()
	for _, p := range forbidden {
		if p.Contains(ip) {
			return fmt.Sprintf("%s is a link-local or cloud metadata address, which the gateway never connects to", ip)
		}
	}
	c.policy.mu.RLock()
	own := c.policy.own[netip.AddrPortFrom(ip, ap.Port())]
	c.policy.mu.RUnlock()
	if own {
		return fmt.Sprintf("%s is the gateway's own address: a request sent there would come back to it", netip.AddrPortFrom(ip, ap.Port()))
	}
	if forUI && !c.serviceAllowed(host, ip) {
		return fmt.Sprintf("%s (%s) is neither a cluster member's host nor in --service-allow", host, ip)
	}
	return ""
}

// serviceAllowed reports whether a framework UI may be at ip, reached by
// the name host: the name or the address is --service-allow's, or the
// address is one of a member's.
func (c *Cluster) serviceAllowed(host string, ip netip.Addr) bool {
	if c.policy.hosts[strings.ToLower(host)] || c.policy.hosts[ip.String()] {
		return true
	}
	if slices.ContainsFunc(c.policy.nets, func(p netip.Prefix) bool { return p.Contains(ip) }) {
		return true
	}
	return c.isMemberIP(ip)
}

// isMemberIP reports whether ip is where a master or agent was reached or
// says it is: an agent's pid IP, an address a master was found at.
func (c *Cluster) isMemberIP(ip netip.Addr) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	for _, m := range c.members {
		if m.ip == ip || m.seen.Load() != nil && *m.seen.Load() == ip {
			return true
		}
	}
	return false
}

// isMemberHost reports whether host (a name or an IP literal) is a
// member's: the host of its address or its hostname.
func (c *Cluster) isMemberHostLocked(host string) bool {
	host = strings.ToLower(host)
	for _, m := range c.members {
		h, _, _ := net.SplitHostPort(m.addr)
		if strings.EqualFold(h, host) || strings.EqualFold(m.hostname, host) || m.ip.IsValid() && m.ip.String() == host {
			return true
		}
	}
	return false
}

// dialAllowed resolves addr (host:port), checks every address it stands
// for, and connects to the first allowed one with dial: a name whose
// addresses are all refused is refused, without a connection. forUI
// applies the framework UI rule.
func (c *Cluster) dialAllowed(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), network, addr string, forUI bool) (net.Conn, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return nil, err
	}
	ips, err := c.lookup(ctx, host)
	if err != nil {
		return nil, err
	}
	var reason string
	var lastErr error
	for _, ip := range ips {
		ap, err := netip.ParseAddrPort(net.JoinHostPort(ip.String(), port))
		if err != nil {
			return nil, err
		}
		if reason = c.refusal(ap, forUI, host); reason != "" {
			continue
		}
		conn, err := dial(ctx, network, ap.String())
		if err == nil {
			return conn, nil
		}
		lastErr = err
	}
	if lastErr != nil {
		return nil, lastErr
	}
	return nil, &refusedAddress{reason: reason}
}

// lookup returns host's addresses: itself when it is an IP literal.
func (c *Cluster) lookup(ctx context.Context, host string) ([]netip.Addr, error) {
	if ip, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{ip.Unmap()}, nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	for i := range ips {
		ips[i] = ips[i].Unmap()
	}
	return ips, err
}

// refusedAddress is a connection the policy refused.
type refusedAddress struct{ reason string }

func (e *refusedAddress) Error() string {
	return "refused by the gateway's address policy: " + e.reason
}
