package upstream

import (
	"net/url"
	"strings"
)

// This file is the gateway's URL layout for the cluster, both ways (SPEC
// section 7): a gateway path names a member or a framework UI
// (ParseRoute), and every member and framework UI has the prefix it is
// served under (AgentPrefix, ..., carried by the Snapshot, from which
// links are mapped).
//
//	/gateway/masters/{host:port}/.. a configured or discovered master
//	/mesos/...                      the leader, prefix stripped
//	/agent/{id}/..., /slave/{id}/.. that agent, prefix stripped
//	/service/{name}/...             a framework's web UI by name
//	/framework/{id}/...             a framework's web UI by id
//	anything else                   the leader (its WebUI and API)
//
// The gateway's own pages (/gateway/ but for /gateway/masters/) are the
// server's, which never asks ParseRoute about them. Paths are escaped, as
// the browser sent them, so "%2F" inside an id stays inside the id.

// Kind is what a route names.
type Kind int

// The kinds of routes.
const (
	// KindLeader is the leading master.
	KindLeader Kind = iota
	// KindMaster is a master by host:port: a configured one (by its
	// address), or the leader by any name it goes by.
	KindMaster
	// KindAgent is an agent, by id.
	KindAgent
	// KindFrameworkName is a framework's web UI by the framework's name.
	// When several frameworks share it, the one that is active and has a
	// web UI wins, then the one registered last (the greatest id).
	KindFrameworkName
	// KindFrameworkID is a framework's web UI by the framework's id.
	KindFrameworkID
	// KindFrameworkHost is a framework's web UI on an origin of its own
	// (--service-domain), by its host's label (Label, labelsLocked).
	KindFrameworkHost
)

// kindNames name the kinds as the metrics' route classes do.
var kindNames = [...]string{"leader", "master", "agent", "service", "framework", "service"}

// String names the kind: leader, master, agent, service or framework.
func (k Kind) String() string {
	if k < 0 || int(k) >= len(kindNames) {
		return "unknown"
	}
	return kindNames[k]
}

// Kinds lists every Kind, for conversions that must cover them all.
func Kinds() []Kind {
	return []Kind{KindLeader, KindMaster, KindAgent, KindFrameworkName, KindFrameworkID, KindFrameworkHost}
}

// Gateway prefixes.
const (
	// LeaderAlias is the leader under a prefix of its own (DC/OS's
	// /mesos), and how pages under another prefix link to the leader.
	LeaderAlias   = "/mesos"
	agentsPath    = "/agent/"
	slavesPath    = "/slave/"
	servicesPath  = "/service/"
	frameworkPath = "/framework/"
	mastersPath   = "/gateway/masters/"
)

// Route is a gateway path split into what it names and the rest.
type Route struct {
	Kind Kind
	// Key names the member or framework, unescaped: the agent's id, the
	// master's host:port, the framework's name or id; "" for the leader.
	Key string
	// Prefix is the route's gateway prefix, escaped as sent: "" for the
	// leader at the root, "/mesos", "/agent/S1", "/slave/S1",
	// "/service/marathon", "/framework/F1", "/gateway/masters/m1:5050".
	// Pages are rewritten for it.
	Prefix string
	// Tail is the escaped rest of the path, starting with "/", or "" when
	// the path is the bare prefix (/agent/S1), which redirects to the
	// prefix with a slash so the page's relative links resolve under it.
	Tail string
}

// Bare reports a path that is its prefix without the trailing slash.
func (r Route) Bare() bool { return r.Prefix != "" && r.Tail == "" }

// ParseRoute reads what an escaped path names.
func ParseRoute(escaped string) Route {
	for _, p := range []struct {
		prefix string
		kind   Kind
	}{
		{agentsPath, KindAgent}, {slavesPath, KindAgent},
		{servicesPath, KindFrameworkName}, {frameworkPath, KindFrameworkID},
		{mastersPath, KindMaster},
	} {
		rest, ok := strings.CutPrefix(escaped, p.prefix)
		if !ok {
			continue
		}
		seg, tail, _ := strings.Cut(rest, "/")
		if seg == "" {
			break // no key: the leader's path
		}
		r := Route{Kind: p.kind, Key: unescapeSegment(seg), Prefix: p.prefix + seg}
		if len(rest) > len(seg) {
			r.Tail = "/" + tail
		}
		return r
	}
	if escaped == LeaderAlias {
		return Route{Kind: KindLeader, Prefix: LeaderAlias}
	}
	if rest, ok := strings.CutPrefix(escaped, LeaderAlias+"/"); ok {
		return Route{Kind: KindLeader, Prefix: LeaderAlias, Tail: "/" + rest}
	}
	return Route{Kind: KindLeader, Tail: escaped}
}

// HostRoute reads a request to a framework UI's own origin: host (the
// request's Host, a port allowed) is one label followed by domain, the
// service domain. false when it is not, or domain is "".
func HostRoute(host, domain, escapedPath string) (Route, bool) {
	l, ok := hostLabel(host, domain)
	if !ok {
		return Route{}, false
	}
	return Route{Kind: KindFrameworkHost, Key: l, Tail: escapedPath}, true
}

// IsFramework reports a route to a framework UI, by name, id or host.
func (r Route) IsFramework() bool {
	return r.Kind == KindFrameworkName || r.Kind == KindFrameworkID || r.Kind == KindFrameworkHost
}

// unescapeSegment returns a path segment unescaped, or as it is when it
// does not unescape.
func unescapeSegment(seg string) string {
	if s, err := url.PathUnescape(seg); err == nil {
		return s
	}
	return seg
}

// AgentPrefix is an agent's gateway prefix.
func AgentPrefix(id string) string {
	return strings.TrimSuffix(agentsPath, "/") + "/" + url.PathEscape(id)
}

// MasterPrefix is a master's gateway prefix, by the address it is known
// by.
func MasterPrefix(addr string) string {
	return strings.TrimSuffix(mastersPath, "/") + "/" + url.PathEscape(addr)
}

// ServicePrefix is a framework UI's gateway prefix by its name.
func ServicePrefix(name string) string {
	return strings.TrimSuffix(servicesPath, "/") + "/" + url.PathEscape(name)
}

// FrameworkPrefix is a framework UI's gateway prefix by its id.
func FrameworkPrefix(id string) string {
	return strings.TrimSuffix(frameworkPath, "/") + "/" + url.PathEscape(id)
}
