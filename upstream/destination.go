package upstream

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"strings"
)

// This file decides where a request goes, once: Resolve turns a route into
// a Destination (the member or framework UI, the address dialled, the
// scheme, the Host header, the path, which credentials pass), Rewrite
// applies it to the outgoing request, the Transport dials it, and
// everything after (rewriting, metrics, logs, errors) reads it. The
// gateway forwards only to what discovery found and the masters it was
// configured with: a route naming anything else is ReasonUnknown.

// Destination is where one request goes.
type Destination struct {
	// Route is what the request's path named.
	Route Route
	// Member is the master or agent (nil for a framework UI); its Probe is
	// the latest when the request was resolved.
	Member *Member
	// Framework is the framework whose web UI it is (nil for a member).
	Framework *Framework
	// Scheme is "https" or "http": for a member, what its latest probe
	// says (the Transport updates it when a re-probe after a failed
	// connection finds otherwise); for a framework UI, its webui_url's.
	Scheme string
	// Address is the host:port dialled: a member's pid ip:port or
	// configured address, a framework UI's webui_url host:port.
	Address string
	// Host is the Host header the member receives: the name it goes by
	// (hostname:port), not the gateway's.
	Host string
	// Path is the escaped path requested: the route's tail, below a
	// framework UI's own path.
	Path string
	// KeepAuthorization is whether the browser's Authorization header
	// goes along: Mesos's own Basic credentials reach masters and agents,
	// never framework UIs (SPEC section 5).
	KeepAuthorization bool
	// Credentials, when set, are the gateway's own (--master-credentials,
	// for discovery): they replace the browser's.
	Credentials *Credentials

	c        *Cluster
	m        *member // nil for a framework UI
	wait     waitMode
	hostname string     // the TLS name
	ip       netip.Addr // the IP, when known, for TLS validation
}

// Resolve decides where a request on route goes. It waits for the first
// discovery (at most Config.DiscoveryWait, and never past ctx), and never
// touches the network itself. Its errors are *Error: ReasonNotReady,
// ReasonUnknown, ReasonNoWebUI, ReasonNoLeader, ReasonStale. Configured
// masters are reached even when the map is stale: they do not depend on
// it.
func (c *Cluster) Resolve(ctx context.Context, route Route) (*Destination, error) {
	if err := c.waitDiscovery(ctx); err != nil {
		return nil, err
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if route.Kind == KindMaster {
		if ms := c.masterNamedLocked(route.Key); ms != nil && ms.configured {
			return c.memberDestination(route, c.masterViewLocked(ms), ms.m, waitMember), nil
		}
	}
	if err := c.usableLocked(); err != nil {
		return nil, err
	}
	unknown := &Error{Reason: ReasonUnknown, Kind: route.Kind, Key: route.Key}
	switch route.Kind {
	case KindLeader:
		if c.leader == nil {
			return nil, &Error{Reason: ReasonNoLeader, Detail: fmt.Sprintf("none of the %d masters the gateway knows leads now", len(c.masters))}
		}
		return c.memberDestination(route, c.masterViewLocked(c.leader), c.leader.m, waitLeader), nil
	case KindMaster:
		if ms := c.masterNamedLocked(route.Key); ms != nil {
			return c.memberDestination(route, c.masterViewLocked(ms), ms.m, waitMember), nil
		}
		unknown.Detail = "neither configured nor leading"
	case KindAgent:
		if a := c.agents[route.Key]; a != nil {
			return c.memberDestination(route, agentView(a), a.m, waitMember), nil
		}
		unknown.Detail = fmt.Sprintf("not among the %d agents the leader knows", len(c.agents))
	case KindFrameworkID:
		if f := c.frameworks[route.Key]; f != nil {
			return frameworkDestination(c, route, f)
		}
		unknown.Detail = fmt.Sprintf("not among the %d frameworks the leader knows", len(c.frameworks))
	case KindFrameworkName:
		if f := c.frameworkNamedLocked(route.Key); f != nil {
			return frameworkDestination(c, route, f)
		}
		unknown.Detail = "no framework has that name"
	case KindFrameworkHost:
		if f := c.labelsLocked()[route.Key]; f != nil {
			return frameworkDestination(c, route, f)
		}
		unknown.Detail = "no framework UI has that host"
	}
	return nil, unknown
}

// waitDiscovery makes a request that arrives before the first discovery
// wait for it (SPEC section 5), up to DiscoveryWait. Once a discovery has
// succeeded the answer never changes, and requests skip the timer.
func (c *Cluster) waitDiscovery(ctx context.Context) error {
	if c.found.Load() {
		return nil
	}
	wctx, cancel := context.WithTimeout(ctx, c.cfg.DiscoveryWait)
	defer cancel()
	err := c.Wait(wctx)
	if err == nil {
		c.found.Store(true)
	}
	return err
}

// usableLocked checks that there is a map and that it is not past the
// hard staleness limit.
func (c *Cluster) usableLocked() error {
	if !c.discovered {
		return c.notReadyLocked()
	}
	if c.updated.IsZero() {
		return nil // masters answered, none leads: nothing mapped to be stale
	}
	if age := c.cfg.Now().Sub(c.updated); age > c.cfg.StaleHardLimit {
		e := &Error{Reason: ReasonStale, Age: age, Limit: c.cfg.StaleHardLimit, Err: c.lastErr}
		if c.lastErr != nil {
			e.Detail = "latest problem: " + c.lastErr.Error() + "; check that the masters are up and reachable"
		}
		return e
	}
	return nil
}

// notReadyLocked is the error while no discovery has found the cluster.
func (c *Cluster) notReadyLocked() *Error {
	if e, ok := c.lastErr.(*Error); ok && e.Reason == ReasonNotReady {
		return e // it says why already (ZooKeeper cannot be read)
	}
	e := &Error{Reason: ReasonNotReady, Err: c.lastErr}
	if c.lastErr != nil {
		e.Detail = "no master has answered yet: " + c.lastErr.Error()
	}
	return e
}

// memberDestination is the destination of a request to a member, with the
// scheme of its latest probe ("http" before the first: the Transport
// probes then).
func (c *Cluster) memberDestination(route Route, view *Member, m *member, wait waitMode) *Destination {
	d := &Destination{
		Route: route, Member: view, Address: m.addr, Host: m.host, Path: route.Tail,
		KeepAuthorization: true, c: c, m: m, wait: wait, hostname: m.hostname, ip: m.ip,
	}
	d.Scheme = view.Scheme()
	if d.Scheme == "" {
		d.Scheme = "http"
	}
	return d
}

// frameworkDestination is the destination of a request to a framework's
// web UI, as its webui_url says (usually plain HTTP). A UI under a path
// (http://h:8080/jenkins/) is served from that path: /service/jenkins/jobs
// is /jenkins/jobs there. Such an app links to itself with root-relative
// URLs that carry its path, which the rewriter moves under the prefix
// (/service/jenkins/jenkins/jobs): a tail that already starts with the
// UI's own path is therefore requested as it is.
func frameworkDestination(c *Cluster, route Route, f *Framework) (*Destination, error) {
	if f.WebUIURL == "" {
		return nil, &Error{Reason: ReasonNoWebUI, Kind: route.Kind, Key: route.Key, Detail: fmt.Sprintf("framework %s (%s) registered none", f.Name, f.ID)}
	}
	u, err := url.Parse(f.WebUIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, &Error{Reason: ReasonNoWebUI, Kind: route.Kind, Key: route.Key,
			Detail: fmt.Sprintf("framework %s (%s) registered webui_url %q, which is not an http(s) URL", f.Name, f.ID, f.WebUIURL)}
	}
	d := &Destination{Route: route, Framework: f, Scheme: u.Scheme, Address: u.Host, Host: u.Host, c: c, hostname: u.Hostname()}
	if u.Port() == "" {
		d.Address = net.JoinHostPort(u.Hostname(), map[string]string{"http": "80", "https": "443"}[u.Scheme])
	}
	d.ip, _ = netip.ParseAddr(u.Hostname())
	if ap, err := netip.ParseAddrPort(d.Address); err == nil {
		// An address is judged now; a name when it is resolved, at dial.
		if reason := c.refusal(ap, true, u.Hostname()); reason != "" {
			return nil, &Error{Reason: ReasonForbidden, Kind: route.Kind, Key: route.Key, ID: f.Name, Address: d.Address, Detail: reason}
		}
	}
	d.Path = route.Tail
	if base := strings.TrimSuffix(u.EscapedPath(), "/"); base != "" && !hasPathPrefix(route.Tail, base) {
		d.Path = base + route.Tail
	}
	return d, nil
}

// hasPathPrefix reports whether path p lies under prefix at a segment
// boundary.
func hasPathPrefix(p, prefix string) bool {
	return strings.HasPrefix(p, prefix) && (len(p) == len(prefix) || p[len(prefix)] == '/')
}

// Rewrite addresses out to the destination: scheme, host and path (the
// escaped path kept as the browser sent its bytes), the Host header, and
// the Authorization rule. The Transport dials the destination whatever
// out's URL says.
func (d *Destination) Rewrite(out *http.Request) {
	u := *out.URL
	u.Scheme, u.Host = d.Scheme, d.Address
	u.Path, u.RawPath = unescapedPath(d.Path)
	u.Opaque, u.User, u.Fragment, u.RawFragment = "", nil, "", ""
	out.URL = &u
	out.Host = d.Host
	sortCookies(out.Header, d.Framework == nil)
	switch {
	case d.Credentials != nil:
		out.SetBasicAuth(d.Credentials.Principal, d.Credentials.Secret)
	case !d.KeepAuthorization:
		out.Header.Del("Authorization")
	}
}

// MemberCookiePrefix marks the cookies masters and agents set: the gateway
// gives them this prefix on their way to the browser (CookiePrefix,
// rewrite.Page.CookiePrefix) and sends them back under their own names to
// members only. Framework UIs never receive them, nor members the cookies
// framework UIs set: the leader is served at "/", so its cookies would
// otherwise reach every framework UI under /service/.
const MemberCookiePrefix = "mesos-"

// CookiePrefix is the prefix the destination's cookie names carry in the
// browser: MemberCookiePrefix for a member, none for a framework UI.
func (d *Destination) CookiePrefix() string {
	if d.Framework == nil {
		return MemberCookiePrefix
	}
	return ""
}

// sortCookies keeps the cookies of a request that belong to its
// destination: for a member those with MemberCookiePrefix, under their
// own names; for a framework UI all but those.
func sortCookies(h http.Header, member bool) {
	lines := h.Values("Cookie")
	if len(lines) == 0 {
		return
	}
	var kept []string
	for _, line := range lines {
		for part := range strings.SplitSeq(line, ";") {
			part = strings.TrimSpace(part)
			name, value, _ := strings.Cut(part, "=")
			own, isMember := memberCookie(name)
			switch {
			case part == "":
			case member && isMember:
				kept = append(kept, own+"="+value)
			case !member && !isMember:
				kept = append(kept, part)
			}
		}
	}
	h.Del("Cookie")
	if len(kept) > 0 {
		h.Set("Cookie", strings.Join(kept, "; "))
	}
}

// memberCookie returns a member cookie's own name: without
// MemberCookiePrefix, which follows the browser's __Host- or __Secure-
// prefix when there is one.
func memberCookie(name string) (string, bool) {
	lead := ""
	for _, p := range []string{"__Host-", "__Secure-"} {
		if strings.HasPrefix(name, p) {
			lead, name = p, name[len(p):]
			break
		}
	}
	rest, ok := strings.CutPrefix(name, MemberCookiePrefix)
	return lead + rest, ok
}

// unescapedPath returns the decoded path and the escaped form to keep
// (RawPath), for an escaped path that came from a request: the member
// receives the bytes the browser sent. RawPath is kept even when nothing
// is escaped: Go would otherwise escape "(" and ")" on the way out, and
// "/slave(1)/state" would reach the member as "/slave%281%29/state".
func unescapedPath(escaped string) (path, raw string) {
	p, err := url.PathUnescape(escaped)
	if err != nil {
		return escaped, "" // cannot happen for a path net/http parsed
	}
	return p, escaped
}

// errorf makes an *Error about the destination's member or framework UI.
func (d *Destination) errorf(reason Reason, detail string) *Error {
	e := &Error{Reason: reason, Kind: d.Route.Kind, Key: d.Route.Key, Address: d.Address, Detail: detail}
	switch {
	case d.m != nil:
		e.Role = d.c.roleOf(d.m)
		if d.Member != nil {
			e.ID = d.Member.ID
		}
	case d.Framework != nil:
		e.ID = d.Framework.Name
	}
	return e
}

// destinationKey carries a request's Destination in its context.
type destinationKey struct{}

// WithDestination returns a context carrying d, for the Transport: a
// request's destination goes along with it.
func WithDestination(ctx context.Context, d *Destination) context.Context {
	return context.WithValue(ctx, destinationKey{}, d)
}

// DestinationOf returns the Destination a context carries, nil when none.
func DestinationOf(ctx context.Context) *Destination {
	d, _ := ctx.Value(destinationKey{}).(*Destination)
	return d
}

// frameworkNamedLocked picks the framework a name means (see
// KindFrameworkName).
func (c *Cluster) frameworkNamedLocked(name string) *Framework {
	var best *Framework
	for _, f := range c.frameworks {
		if f.Name == name && betterFramework(f, best) {
			best = f
		}
	}
	return best
}

// betterFramework reports whether f holds a name rather than best: one
// with a web UI first, then an active one, then the most recent id.
func betterFramework(f, best *Framework) bool {
	if best == nil {
		return true
	}
	rank := func(f *Framework) int {
		r := 0
		if f.WebUIURL != "" {
			r += 2
		}
		if f.Active {
			r++
		}
		return r
	}
	return rank(f) > rank(best) || rank(f) == rank(best) && f.ID > best.ID
}
