package upstream

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// This file finds the leader and reads its state. A standby answers 307
// with a protocol-relative Location ("//host:port/master/state") and
// /master/redirect answers 307 to the leader, 503 without one
// (master/http.cpp, Master::Http::redirect). Redirects are followed here,
// not by an HTTP client: the scheme for the next master comes from probing
// it, never from the redirect, whose scheme is the one the request used.

// errNoLeaderElected is a master's 503: it knows of no leader.
var errNoLeaderElected = errors.New("no leader elected")

const (
	maxRedirects     = 3
	userAgent        = "mesosgate"
	discoveryTimeout = 60 * time.Second
)

// Refresh asks the masters for the cluster once: it finds the leader
// (starting with the one it knows, then the configured masters in order),
// and reads its agents and frameworks. On an error the last good map stays
// (and ages); the error says what each master answered.
//
// With ZooKeeper, the leader is the one ZooKeeper elects, and only it is
// asked; outside Run (the probe and certs commands) Refresh reads the
// group first.
func (c *Cluster) Refresh(ctx context.Context) error {
	defer c.markReady()
	if c.cfg.ZooKeeper != nil && !c.running.Load() {
		if err := c.readGroup(ctx); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(ctx, discoveryTimeout)
	defer cancel()
	c.mu.RLock()
	candidates, zkLeads := c.candidatesLocked(), c.zkLeadsLocked()
	if zkLeads {
		candidates = candidates[:min(1, len(candidates))]
		if c.leader == nil {
			candidates = nil
		}
	}
	if c.cfg.ZooKeeper != nil && len(candidates) == 0 {
		err := c.lastErr
		c.mu.RUnlock()
		if err == nil {
			err = errNoMasterYet
		}
		return err // applyGroup said why already
	}
	// /master/state names the master itself; the lighter state-summary is
	// enough once the leader's id is known.
	path := "/master/state-summary"
	if c.leader == nil || c.leader.id == "" {
		path = "/master/state"
	}
	c.mu.RUnlock()

	var problems []string
	noLeader := false
	for _, ms := range candidates {
		leader, st, made, err := c.askState(ctx, ms, path, !zkLeads)
		if err == nil {
			c.applyState(leader, st, made)
			return nil
		}
		c.dropMasters(made)
		if ctx.Err() != nil {
			return fmt.Errorf("discovery: %w", ctx.Err())
		}
		noLeader = noLeader || errors.Is(err, errNoLeaderElected)
		problems = append(problems, err.Error())
	}
	err := fmt.Errorf("discovery found no leader: %s", strings.Join(problems, "; "))
	switch {
	case zkLeads:
		// ZooKeeper, not the master, says who leads: one that is not
		// ready (503 while it recovers, a redirect before it has
		// noticed) is asked again shortly.
		err = fmt.Errorf("the leading master ZooKeeper elected is not ready: %s", strings.Join(problems, "; "))
		noLeader = false
	case noLeader:
		err = &Error{Reason: ReasonNoLeader, Detail: strings.Join(problems, "; ")}
	}
	c.discoveryFailed(err, noLeader)
	return err
}

// candidatesLocked lists the masters to ask: the leader first.
func (c *Cluster) candidatesLocked() []*masterState {
	var out []*masterState
	if c.leader != nil {
		out = append(out, c.leader)
	}
	for _, ms := range c.masters {
		if ms != c.leader {
			out = append(out, ms)
		}
	}
	return out
}

// masterError is a configured master that did not answer. It reads
// "master ADDR is unreachable: REASON" rather than naming the role the
// master had (a master that cannot be asked is neither leader nor standby
// as far as anyone knows), and unwraps to the cause.
type masterError struct {
	addr string
	err  error
}

func (e *masterError) Error() string {
	var ue *Error
	if errors.As(e.err, &ue) && ue.Reason != ReasonInternal {
		return fmt.Sprintf("master %s is unreachable: %s", e.addr, ue.Detail)
	}
	return fmt.Sprintf("master %s: %v", e.addr, e.err)
}

func (e *masterError) Unwrap() error { return e.err }

// askState asks ms for its state, following redirects to the leader when
// follow is true. It returns the master that answered (the leader), its
// state, and the masters it learned of on the way (the caller keeps or
// drops them).
func (c *Cluster) askState(ctx context.Context, ms *masterState, path string, follow bool) (*masterState, *state, []*masterState, error) {
	var made []*masterState
	for range maxRedirects + 1 {
		resp, err := c.get(ctx, ms, path, true)
		if err != nil {
			return nil, nil, made, &masterError{addr: ms.m.addr, err: err}
		}
		switch {
		case resp.StatusCode == http.StatusOK:
			st, err := parseState(resp.Body)
			resp.Body.Close()
			if err != nil {
				c.log.Warn("keeping the last good cluster map: a master's state is unreadable", "master", ms.m.addr, "path", path, "err", err)
				return nil, nil, made, fmt.Errorf("master %s: GET %s: %w", ms.m.addr, path, err)
			}
			return ms, st, made, nil
		case isRedirect(resp.StatusCode) && !follow:
			loc := resp.Header.Get("Location")
			drain(resp)
			return nil, nil, made, fmt.Errorf("master %s redirects to %q: it has not taken over yet", ms.m.addr, loc)
		case isRedirect(resp.StatusCode):
			loc := resp.Header.Get("Location")
			drain(resp)
			target, err := redirectTarget(loc)
			if err != nil {
				return nil, nil, made, fmt.Errorf("master %s redirects to %q: %w", ms.m.addr, loc, err)
			}
			c.mu.Lock()
			next, isNew := c.masterForLocked(target)
			c.mu.Unlock()
			if isNew {
				made = append(made, next)
			}
			if next == ms {
				return nil, nil, made, fmt.Errorf("master %s redirects to itself", ms.m.addr)
			}
			// Another master leads now: only the full state names it (id,
			// pid), which state-summary leaves out.
			ms, path = next, "/master/state"
		default:
			err := c.statusError(ms, path, resp)
			drain(resp)
			return nil, nil, made, err
		}
	}
	return nil, nil, made, fmt.Errorf("master %s: more than %d redirects", ms.m.addr, maxRedirects)
}

// statusError explains a master's unexpected answer.
func (c *Cluster) statusError(ms *masterState, path string, resp *http.Response) error {
	switch resp.StatusCode {
	case http.StatusServiceUnavailable:
		return fmt.Errorf("master %s: %w (503)", ms.m.addr, errNoLeaderElected)
	case http.StatusUnauthorized:
		if c.cfg.Credentials == nil {
			return fmt.Errorf("master %s requires HTTP authentication (401 %s): give the gateway a principal and secret with --master-credentials",
				ms.m.addr, resp.Header.Get("WWW-Authenticate"))
		}
		return fmt.Errorf("master %s refused the credentials of principal %q (401): check the --master-credentials file against the masters' --credentials",
			ms.m.addr, c.cfg.Credentials.Principal)
	case http.StatusForbidden:
		return fmt.Errorf("master %s forbids principal %q to read %s (403): authorize it in the masters' ACLs", ms.m.addr, c.principal(), path)
	}
	return fmt.Errorf("master %s answered %q to GET %s", ms.m.addr, resp.Status, path)
}

func (c *Cluster) principal() string {
	if c.cfg.Credentials == nil {
		return ""
	}
	return c.cfg.Credentials.Principal
}

// get sends a GET for the gateway's own purposes to a master, with the
// discovery credentials when withAuth.
func (c *Cluster) get(ctx context.Context, ms *masterState, path string, withAuth bool) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	return c.ownRequest(req, ms, withAuth)
}

// ownRequest sends one of the gateway's own requests (discovery,
// SUBSCRIBE) to a master, never waiting for one that is down: there are
// other masters to ask. withAuth adds the discovery credentials.
func (c *Cluster) ownRequest(req *http.Request, ms *masterState, withAuth bool) (*http.Response, error) {
	c.mu.RLock()
	view := c.masterViewLocked(ms)
	c.mu.RUnlock()
	d := c.memberDestination(Route{Kind: KindMaster, Key: ms.m.addr, Tail: req.URL.EscapedPath()}, view, ms.m, noWait)
	d.KeepAuthorization = false
	if withAuth {
		d.Credentials = c.cfg.Credentials
	}
	req.Header.Set("User-Agent", userAgent)
	d.Rewrite(req)
	return c.roundTrip(req, d)
}

func isRedirect(code int) bool {
	return code == http.StatusMovedPermanently || code == http.StatusFound || code == http.StatusSeeOther ||
		code == http.StatusTemporaryRedirect || code == http.StatusPermanentRedirect
}

// redirectTarget returns the host:port a master's Location names:
// "//host:port/path" (what Mesos sends) or an absolute URL, whose scheme
// is ignored.
func redirectTarget(loc string) (string, error) {
	u, err := url.Parse(loc)
	if err != nil || u.Host == "" {
		return "", errors.New("not a redirect to another master")
	}
	if _, port, err := net.SplitHostPort(u.Host); err != nil || port == "" {
		return "", errors.New("the redirect names no port")
	}
	return u.Host, nil
}

// drain discards a small body so the connection can be reused.
func drain(resp *http.Response) {
	io.CopyN(io.Discard, resp.Body, 64<<10)
	resp.Body.Close()
}

// applyState makes the leader's state the cluster map. With ZooKeeper
// electing, the state of a master that no longer leads is dropped: the
// discovery that the change asked for reads the new leader's.
func (c *Cluster) applyState(leader *masterState, st *state, made []*masterState) {
	c.mu.Lock()
	if c.zkLeadsLocked() && leader != c.leader {
		c.mu.Unlock()
		c.dropMasters(made)
		return
	}
	if li := st.leader; li != nil && (st.id == "" || li.ID == st.id) {
		leader.learn(li.ID, li.Hostname, li.Port, li.PID)
	}
	leader.learn(st.id, st.hostname, 0, st.pid)
	leader = c.configuredTwinLocked(leader)
	newLeader := c.setLeaderLocked(leader)
	agents := c.setAgentsLocked(st.agents)
	frameworks := c.setFrameworksLocked(st.frameworks)
	for _, ms := range made {
		c.dropMasterLocked(ms)
	}
	c.updated = c.cfg.Now()
	c.discovered = true
	c.lastErr = nil
	c.mu.Unlock()
	c.changed(newLeader || agents || frameworks)
	if newLeader {
		c.log.Info("leading master", "master", leader.m.addr, "id", leader.id, "agents", len(st.agents), "frameworks", len(st.frameworks))
	}
}

// configuredTwinLocked returns the configured master that ms, a leader
// reached through a redirect, is under another name, or ms when there is
// none. Masters configured by IP advertise their hostname in leader_info
// and redirects (or the other way round); the pid's ip:port ties the two,
// so that a failover does not list the new leader twice, once as leader
// and once as a configured standby. The twin learns ms's id and names.
func (c *Cluster) configuredTwinLocked(ms *masterState) *masterState {
	if ms.configured {
		return ms
	}
	for _, cm := range c.masters {
		for _, a := range ms.aliases {
			if !cm.named(a) {
				continue
			}
			cm.learn(ms.id, ms.hostname, 0, "")
			for _, a := range ms.aliases {
				cm.addAlias(a)
			}
			return cm
		}
	}
	return ms
}

// dropMasters forgets masters a failed discovery learned of.
func (c *Cluster) dropMasters(made []*masterState) {
	if len(made) == 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, ms := range made {
		c.dropMasterLocked(ms)
	}
}

// discoveryFailed records a failed discovery. When masters answered that
// none leads, that is the map's news: no leader (the agents stay as they
// were, ageing).
func (c *Cluster) discoveryFailed(err error, noLeader bool) {
	c.mu.Lock()
	c.lastErr = err
	changed := false
	if noLeader {
		changed = c.setLeaderLocked(nil)
		c.discovered = true
	}
	c.mu.Unlock()
	c.changed(changed)
	c.log.Warn("discovery failed; the last good cluster map stays", "err", err)
}

// discoverLoop refreshes at once, then every Refresh, and whenever asked
// to (a SUBSCRIBE stream ended, ZooKeeper elected a leader). While a
// SUBSCRIBE stream keeps the map current, a refresh only checks who leads.
// With ZooKeeper the first refresh waits for the group, and a leader that
// is not ready yet is asked again after zkRetry, doubling up to Refresh.
func (c *Cluster) discoverLoop(ctx context.Context) {
	if c.cfg.ZooKeeper == nil {
		c.Refresh(ctx)
	}
	timer := time.NewTimer(c.cfg.Refresh)
	defer timer.Stop()
	for failures := 0; ; {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-c.refreshNow:
		}
		var err error
		if !c.streaming() || !c.leaderConfirmed(ctx) {
			err = c.Refresh(ctx)
		}
		if err != nil {
			failures++
		} else {
			failures = 0
		}
		if !timer.Stop() {
			select {
			case <-timer.C:
			default:
			}
		}
		timer.Reset(c.nextRefresh(failures))
	}
}

// nextRefresh is the wait before the next refresh after failures failed
// ones in a row.
func (c *Cluster) nextRefresh(failures int) time.Duration {
	if failures == 0 || c.cfg.ZooKeeper == nil {
		return c.cfg.Refresh
	}
	wait := zkRetry
	for range failures - 1 {
		if wait >= c.cfg.Refresh {
			break
		}
		wait *= 2
	}
	return min(wait, c.cfg.Refresh)
}

// leaderConfirmed reports whether the leader the gateway follows still
// leads: ZooKeeper says so while its group can be read; otherwise the
// configured masters' /master/redirect is asked, and the first that
// answers must name it.
func (c *Cluster) leaderConfirmed(ctx context.Context) bool {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ProbeTimeout*2)
	defer cancel()
	c.mu.RLock()
	masters, leader, zkLeads := append([]*masterState(nil), c.masters...), c.leader, c.zkLeadsLocked()
	c.mu.RUnlock()
	if zkLeads {
		return leader != nil
	}
	for _, ms := range masters {
		resp, err := c.get(ctx, ms, "/master/redirect", false)
		if err != nil {
			continue
		}
		drain(resp)
		if !isRedirect(resp.StatusCode) {
			return false
		}
		target, err := redirectTarget(resp.Header.Get("Location"))
		return err == nil && leader != nil && leader.named(target)
	}
	return false
}
