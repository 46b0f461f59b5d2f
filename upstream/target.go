package upstream

import (
	"fmt"
	"net/http"
	"net/url"
)

// Kind is what a route key names.
type Kind int

// The kinds of route keys.
const (
	// KindLeader is the leading master; the key is ignored.
	KindLeader Kind = iota
	// KindAgent is an agent, by id.
	KindAgent
	// KindMaster is a master by host:port: a configured one (by its
	// address), or the leader by any name it goes by.
	KindMaster
	// KindFrameworkName is a framework's web UI by the framework's name.
	// When several frameworks share it, the one that is active and has a
	// web UI wins, then the one registered last (the greatest id).
	KindFrameworkName
	// KindFrameworkID is a framework's web UI by the framework's id.
	KindFrameworkID
)

// Target is where a route key leads, and how to get there.
type Target struct {
	Kind Kind
	// Member is the master or agent (nil for a framework); its Probe is
	// the latest.
	Member *Member
	// Framework is the framework (nil for a member).
	Framework *Framework
	// URL is the base URL of requests: "scheme://address" with the scheme
	// of the member's latest probe, or the framework's webui_url (its path
	// included). The Transport decides scheme and host again for every
	// request, so a proxy may set this URL on requests and need not
	// follow a member's changes itself.
	URL *url.URL
	// Transport sends requests there. It never follows redirects and never
	// adds credentials: a request's Authorization reaches the addressed
	// member or framework only. Its errors include *UnreachableError and
	// ErrTLSRequired.
	Transport http.RoundTripper
}

// Target resolves a route key. It never blocks on the network: call Wait
// first so that requests arriving at start wait for the first discovery.
// Errors wrap ErrNotReady, ErrUnknown, ErrNoWebUI, ErrNoLeader or ErrStale,
// with a message for people. Configured masters are reached even when the
// map is stale: they do not depend on it.
func (c *Cluster) Target(kind Kind, key string) (*Target, error) {
	select {
	case <-c.ready:
	default:
		return nil, fmt.Errorf("the first discovery is still running: %w", ErrNotReady)
	}
	c.mu.RLock()
	defer c.mu.RUnlock()
	if kind == KindMaster {
		if ms := c.masterNamedLocked(key); ms != nil && ms.configured {
			return c.memberTarget(kind, c.masterViewLocked(ms), ms.m), nil
		}
	}
	if err := c.usableLocked(); err != nil {
		return nil, err
	}
	switch kind {
	case KindLeader:
		if c.leader == nil {
			return nil, fmt.Errorf("no master leads now (%d configured): %w", len(c.masters), ErrNoLeader)
		}
		t := c.memberTarget(kind, c.masterViewLocked(c.leader), c.leader.m)
		t.Transport = &leaderTransport{c: c, m: c.leader.m}
		return t, nil
	case KindMaster:
		if ms := c.masterNamedLocked(key); ms != nil {
			return c.memberTarget(kind, c.masterViewLocked(ms), ms.m), nil
		}
		return nil, fmt.Errorf("master %q is neither configured nor leading: %w", key, ErrUnknown)
	case KindAgent:
		if a := c.agents[key]; a != nil {
			return c.memberTarget(kind, agentView(a), a.m), nil
		}
		return nil, fmt.Errorf("agent %q is not among the %d agents the leader knows: %w", key, len(c.agents), ErrUnknown)
	case KindFrameworkID:
		if f := c.frameworks[key]; f != nil {
			return c.frameworkTarget(kind, f)
		}
		return nil, fmt.Errorf("framework %q is not among the %d frameworks the leader knows: %w", key, len(c.frameworks), ErrUnknown)
	case KindFrameworkName:
		if f := c.frameworkNamedLocked(key); f != nil {
			return c.frameworkTarget(kind, f)
		}
		return nil, fmt.Errorf("no framework is named %q: %w", key, ErrUnknown)
	}
	return nil, fmt.Errorf("route kind %d: %w", kind, ErrUnknown)
}

// usableLocked checks that there is a map and that it is not past the
// hard staleness limit.
func (c *Cluster) usableLocked() error {
	if !c.discovered {
		return fmt.Errorf("no master has answered yet (%v): %w", c.lastErr, ErrNotReady)
	}
	if c.updated.IsZero() {
		return nil // masters answered, none leads: nothing mapped to be stale
	}
	if age := c.cfg.Now().Sub(c.updated); age > c.cfg.StaleHardLimit {
		return fmt.Errorf("the masters last confirmed the cluster map %s ago, more than the stale hard limit %s (latest problem: %v); check that the masters are up and reachable: %w",
			age.Round(1e9), c.cfg.StaleHardLimit, c.lastErr, ErrStale)
	}
	return nil
}

func (c *Cluster) memberTarget(kind Kind, view *Member, m *member) *Target {
	scheme := view.Scheme()
	if scheme == "" {
		scheme = "http"
	}
	return &Target{Kind: kind, Member: view, URL: &url.URL{Scheme: scheme, Host: m.addr}, Transport: m.rt}
}

func (c *Cluster) frameworkTarget(kind Kind, f *Framework) (*Target, error) {
	if f.WebUIURL == "" {
		return nil, fmt.Errorf("framework %s (%s): %w", f.Name, f.ID, ErrNoWebUI)
	}
	u, err := url.Parse(f.WebUIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.User != nil {
		return nil, fmt.Errorf("framework %s (%s) registered webui_url %q, which is not an http(s) URL: %w", f.Name, f.ID, f.WebUIURL, ErrNoWebUI)
	}
	return &Target{Kind: kind, Framework: f, URL: u, Transport: newFrameworkTransport(c, u)}, nil
}

// frameworkNamedLocked picks the framework a name means (see
// KindFrameworkName).
func (c *Cluster) frameworkNamedLocked(name string) *Framework {
	var best *Framework
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
	for _, f := range c.frameworks {
		if f.Name != name {
			continue
		}
		if best == nil || rank(f) > rank(best) || rank(f) == rank(best) && f.ID > best.ID {
			best = f
		}
	}
	return best
}
