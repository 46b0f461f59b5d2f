package upstream

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/mesosgate/mesosgate/e2e/sim"
)

// TestDiscoveryFollowsRedirects configures only a standby: the leader is
// found through its 307, reached by probing (the Location is
// protocol-relative; the standby speaks plain HTTP, the leader TLS only).
func TestDiscoveryFollowsRedirects(t *testing.T) {
	sc := startSim(t, sim.Options{MasterModes: []sim.Mode{sim.SSL, sim.Plain}, Modes: []sim.Mode{sim.Plain}})
	leader, standby := sc.Masters()[0], sc.Masters()[1]
	c := newCluster(t, sc, Config{Masters: []Master{{Scheme: "http", Address: standby.HostPort()}}})
	discover(t, c)
	s := c.Snapshot()
	if s.Leader == nil || s.Leader.Address != leader.HostPort() || s.Leader.Configured || s.Leader.ID != leader.ID() || s.Leader.Speaks() != SSLOnly {
		t.Fatalf("leader %+v", s.Leader)
	}
	if !slices.Contains(s.Leader.Addresses, leader.Addr()) {
		t.Errorf("the leader's pid address is not among its names: %q", s.Leader.Addresses)
	}
	if len(s.Standbys) != 1 || s.Standbys[0].Address != standby.HostPort() || !s.Standbys[0].Configured || s.Standbys[0].Speaks() != PlainOnly {
		t.Errorf("standbys %+v", s.Standbys)
	}
	if len(s.Agents) != 1 || len(s.Frameworks) != 2 {
		t.Errorf("%d agents, %d frameworks", len(s.Agents), len(s.Frameworks))
	}
	if s.Error != "" || s.Age < 0 || s.Stale || s.Updated.IsZero() {
		t.Errorf("map state: error %q, age %s, stale %v", s.Error, s.Age, s.Stale)
	}
	// The leader is reachable by route key under any of its names.
	for _, key := range s.Leader.Addresses {
		if d, err := c.Resolve(context.Background(), Route{Kind: KindMaster, Key: key}); err != nil || d.Member.Role != RoleLeader {
			t.Errorf("Resolve(master, %q): %v", key, err)
		}
	}
}

// TestLeaderChangeByPolling moves leadership with SUBSCRIBE off: the next
// refresh finds the new leader, through a standby's redirect.
func TestLeaderChangeByPolling(t *testing.T) {
	sc := startSim(t, sim.Options{Masters: 3, MasterModes: []sim.Mode{sim.Plain, sim.Downgrade, sim.SSL}})
	c := newCluster(t, sc, Config{Refresh: 20 * time.Millisecond, NoSubscribe: true})
	run(t, c)
	waitReady(t, c)
	for _, next := range []*sim.Master{sc.Masters()[2], sc.Masters()[1], nil, sc.Masters()[0]} {
		sc.SetLeader(next)
		testsupport.Eventually(t, "the leader change", 0, func() bool {
			s := c.Snapshot()
			if next == nil {
				return s.Leader == nil && strings.Contains(s.Error, "no leader elected")
			}
			return s.Leader != nil && s.Leader.Address == next.HostPort() && s.Leader.ID == next.ID() && len(s.Standbys) == 2
		})
		_, err := c.Resolve(context.Background(), Route{Kind: KindLeader})
		if next == nil && ReasonOf(err) != ReasonNoLeader || next != nil && err != nil {
			t.Errorf("leader %v: Resolve(leader): %v", next != nil, err)
		}
	}
}

// TestLeaderChangeMastersByIP configures the masters by IP while they
// advertise a hostname (leader_info, redirects): after a failover the new
// leader is the configured master it is, with its id, not a second entry
// beside it (found by mesosgate's rolling-upgrade acceptance test).
func TestLeaderChangeMastersByIP(t *testing.T) {
	sc := startSim(t, sim.Options{Masters: 3})
	var masters []Master
	for _, m := range sc.Masters() {
		masters = append(masters, Master{Address: m.Addr()})
	}
	c := newCluster(t, sc, Config{Masters: masters, Refresh: 20 * time.Millisecond, NoSubscribe: true})
	run(t, c)
	waitReady(t, c)
	for _, next := range []*sim.Master{sc.Masters()[1], sc.Masters()[2], sc.Masters()[0]} {
		sc.SetLeader(next)
		testsupport.Eventually(t, "the leader change", 0, func() bool {
			s := c.Snapshot()
			return s.Leader != nil && s.Leader.Address == next.Addr()
		})
		s := c.Snapshot()
		if !s.Leader.Configured || s.Leader.ID != next.ID() || !slices.Contains(s.Leader.Addresses, next.HostPort()) {
			t.Errorf("leader %s: configured %v, id %q (want %q), names %q", next.Addr(), s.Leader.Configured, s.Leader.ID, next.ID(), s.Leader.Addresses)
		}
		if len(s.Standbys) != 2 {
			var names []string
			for _, m := range s.Standbys {
				names = append(names, m.Address)
			}
			t.Errorf("leader %s: standbys %q, want the other two masters", next.Addr(), names)
		}
	}
}

// TestSubscribe follows the SUBSCRIBE stream with polling effectively off
// (an hour): agents and frameworks added and removed are seen through
// events, and a leader change through the stream's end.
func TestSubscribe(t *testing.T) {
	sc := startSim(t, sim.Options{Masters: 2, Modes: []sim.Mode{sim.Plain}, HeartbeatInterval: 50 * time.Millisecond})
	c := newCluster(t, sc, Config{Refresh: time.Hour})
	run(t, c)
	waitReady(t, c)
	testsupport.Eventually(t, "the SUBSCRIBE stream", 0, func() bool { return c.Snapshot().Subscribed })

	gen := c.Snapshot().Generation
	a, err := sc.AddAgent(sim.SSL)
	if err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "the added agent, probed", 0, func() bool {
		m := findAgent(c.Snapshot(), a.ID())
		return m != nil && m.Speaks() == SSLOnly && m.Address == a.Addr()
	})
	if c.Snapshot().Generation == gen {
		t.Errorf("generation did not move")
	}
	if err := sc.RemoveAgent(a.ID()); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "the agent's removal", 0, func() bool { return findAgent(c.Snapshot(), a.ID()) == nil })
	if _, err := c.Resolve(context.Background(), Route{Kind: KindAgent, Key: a.ID()}); ReasonOf(err) != ReasonUnknown {
		t.Errorf("Resolve(removed agent): %v", err)
	}

	f, err := sc.AddFramework(sim.FrameworkSpec{Name: "spark", UIPath: "/spark/"})
	if err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "the added framework", 0, func() bool {
		d, err := c.Resolve(context.Background(), Route{Kind: KindFrameworkName, Key: "spark", Tail: "/"})
		return err == nil && d.Scheme+"://"+d.Host+d.Path == f.WebUIURL()
	})
	if err := sc.RemoveFramework(f.ID()); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "the framework's removal", 0, func() bool {
		_, err := c.Resolve(context.Background(), Route{Kind: KindFrameworkID, Key: f.ID()})
		return ReasonOf(err) == ReasonUnknown
	})

	next := sc.Masters()[1]
	sc.SetLeader(next)
	testsupport.Eventually(t, "the new leader, through the stream's end", 0, func() bool {
		s := c.Snapshot()
		return s.Leader != nil && s.Leader.Address == next.HostPort() && s.Subscribed
	})
	// Events from the new leader's stream are applied.
	b, err := sc.AddAgent(sim.Plain)
	if err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "an agent added under the new leader", 0, func() bool { return findAgent(c.Snapshot(), b.ID()) != nil })
}

// TestStreamClearsDiscoveryError: a refresh that met the restarting
// leader down failed; once the leader's SUBSCRIBE stream is back, its
// records confirm the map, so that failure is no longer news and the
// snapshot carries no error. (While the stream keeps the map current no
// refresh runs to clear it: the dashboard showed "The last discovery
// failed" until the next leader change.)
func TestStreamClearsDiscoveryError(t *testing.T) {
	sc := startSim(t, sim.Options{})
	c := newCluster(t, sc, Config{NoSubscribe: true})
	discover(t, c)
	leader := sc.Leader()
	if err := leader.Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(context.Background()); err == nil || c.Snapshot().Error == "" {
		t.Fatalf("discovery with the leader down: %v, snapshot error %q", err, c.Snapshot().Error)
	}
	if err := leader.Restart(sim.Plain); err != nil {
		t.Fatal(err)
	}
	c.mu.RLock()
	ms := c.leader
	c.mu.RUnlock()
	c.apply(ms, &event{Type: "HEARTBEAT"})
	if s := c.Snapshot(); s.Error != "" {
		t.Errorf("after a record of the leader's stream the snapshot still says %q", s.Error)
	}
}

// TestAgentsByPolling sees agents come and go with SUBSCRIBE off.
func TestAgentsByPolling(t *testing.T) {
	sc := startSim(t, sim.Options{Modes: []sim.Mode{sim.Plain}})
	c := newCluster(t, sc, Config{Refresh: 20 * time.Millisecond, NoSubscribe: true})
	run(t, c)
	waitReady(t, c)
	a, err := sc.AddAgent(sim.Downgrade)
	if err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "the added agent, probed", 0, func() bool {
		m := findAgent(c.Snapshot(), a.ID())
		return m != nil && m.Speaks() == SSLDowngrade
	})
	if c.Snapshot().Subscribed {
		t.Errorf("subscribed with NoSubscribe")
	}
	if err := sc.RemoveAgent(a.ID()); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "the agent's removal", 0, func() bool { return findAgent(c.Snapshot(), a.ID()) == nil })
}

// TestMissedHeartbeats freezes the leader's connections (a partition that
// neither closes nor answers): the stream is given up after missed
// heartbeats and subscribed again.
func TestMissedHeartbeats(t *testing.T) {
	sc := startSim(t, sim.Options{HeartbeatInterval: 40 * time.Millisecond})
	var frozen freezer
	c := newCluster(t, sc, Config{Refresh: time.Hour, Dial: frozen.dial})
	run(t, c)
	waitReady(t, c)
	testsupport.Eventually(t, "the SUBSCRIBE stream", 0, func() bool { return c.streams() == 1 })
	frozen.freeze()
	c.transport.CloseIdleConnections() // only the stream stays frozen
	testsupport.Eventually(t, "a second SUBSCRIBE stream after missed heartbeats", 0, func() bool { return c.streams() == 2 && c.Snapshot().Subscribed })
}

// TestCredentials runs discovery against masters that require HTTP
// authentication: without credentials it says what to do; with them it
// works, SUBSCRIBE included; proxied requests never carry them.
func TestCredentials(t *testing.T) {
	creds := &sim.Credentials{Principal: "gateway", Secret: "s3cret-for-masters"}
	sc := startSim(t, sim.Options{Modes: []sim.Mode{sim.SSL}, Auth: creds})

	t.Run("without credentials", func(t *testing.T) {
		c := newCluster(t, sc, Config{})
		err := c.Refresh(context.Background())
		if err == nil || !strings.Contains(err.Error(), `requires HTTP authentication (401 Basic realm="mesos-master-readonly"): give the gateway a principal and secret with --master-credentials`) {
			t.Errorf("Refresh: %v", err)
		}
		if err := c.Wait(context.Background()); err == nil {
			t.Errorf("Wait after a failed first discovery: nil")
		}
	})
	t.Run("wrong secret", func(t *testing.T) {
		var log bytes.Buffer
		c := newCluster(t, sc, Config{Credentials: &Credentials{"gateway", "wrong-secret"}, Logger: slog.New(slog.NewTextHandler(&log, nil))})
		err := c.Refresh(context.Background())
		if err == nil || !strings.Contains(err.Error(), `refused the credentials of principal "gateway"`) {
			t.Errorf("Refresh: %v", err)
		}
		if strings.Contains(log.String()+err.Error(), "wrong-secret") {
			t.Errorf("the secret was logged or returned")
		}
	})
	t.Run("with credentials", func(t *testing.T) {
		c := newCluster(t, sc, Config{Credentials: &Credentials{creds.Principal, creds.Secret}})
		run(t, c)
		waitReady(t, c)
		testsupport.Eventually(t, "the SUBSCRIBE stream", 0, func() bool { return c.Snapshot().Subscribed })

		get := func(auth string) int {
			req := httptest.NewRequest(http.MethodGet, "/master/state", nil).WithContext(context.Background())
			req.RequestURI = ""
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, _, err := send(t, c, Route{Kind: KindLeader}, req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		if code := get(""); code != http.StatusUnauthorized {
			t.Errorf("a proxied request without Authorization got %d: the transport added credentials", code)
		}
		if code := get("Basic Z2F0ZXdheTpzM2NyZXQtZm9yLW1hc3RlcnM="); code != http.StatusOK {
			t.Errorf("a proxied request with the browser's Authorization got %d", code)
		}
	})
}

// TestMalformedState puts a proxy between the gateway and the leader that
// corrupts the state on demand: the last good map stays, with a warning
// and the error in the snapshot, and comes back when the state does.
func TestMalformedState(t *testing.T) {
	sc := startSim(t, sim.Options{Modes: []sim.Mode{sim.Plain, sim.SSL}})
	target, _ := url.Parse("http://" + sc.Leader().Addr())
	var corrupt atomic.Value
	corrupt.Store("")
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ModifyResponse = func(resp *http.Response) error {
		if body := corrupt.Load().(string); body != "" && strings.HasPrefix(resp.Request.URL.Path, "/master/state") {
			resp.Body.Close()
			resp.Body = io.NopCloser(strings.NewReader(body))
			resp.ContentLength = int64(len(body))
			resp.Header.Del("Content-Length")
		}
		return nil
	}
	front := httptest.NewServer(proxy)
	t.Cleanup(front.Close)

	var log testsupport.Buffer
	c := newCluster(t, sc, Config{Masters: []Master{{Address: front.Listener.Addr().String()}}, NoSubscribe: true,
		Logger: slog.New(slog.NewTextHandler(&log, nil))})
	discover(t, c)
	good := c.Snapshot()
	if len(good.Agents) != 2 {
		t.Fatalf("%d agents", len(good.Agents))
	}
	for _, bad := range []struct{ name, body, err string }{
		{"truncated", `{"slaves": [{"id": "x"`, "the document ends early"},
		{"not JSON", "<html>oops</html>", "malformed state JSON at byte 1"},
		{"wrong types", `{"slaves": "many", "frameworks": []}`, "slaves is a string"},
		{"not a state", `{"hello": "world"}`, `no "slaves" and "frameworks" lists`},
	} {
		t.Run(bad.name, func(t *testing.T) {
			corrupt.Store(bad.body)
			err := c.Refresh(context.Background())
			if err == nil || !strings.Contains(err.Error(), bad.err) {
				t.Fatalf("Refresh: %v, want %q", err, bad.err)
			}
			s := c.Snapshot()
			if len(s.Agents) != 2 || s.Generation != good.Generation || !strings.Contains(s.Error, bad.err) {
				t.Errorf("after a malformed state: %d agents, generation %d (was %d), error %q", len(s.Agents), s.Generation, good.Generation, s.Error)
			}
			if !strings.Contains(log.String(), "keeping the last good cluster map") {
				t.Errorf("no warning logged:\n%s", log.String())
			}
		})
	}
	corrupt.Store("")
	if err := c.Refresh(context.Background()); err != nil || c.Snapshot().Error != "" {
		t.Errorf("after the state is good again: %v", err)
	}
}

// TestStaleness ages the map with an injected clock while the masters are
// down: served with a warning past the soft limit, refused past the hard
// limit, except for configured masters.
func TestStaleness(t *testing.T) {
	sc := startSim(t, sim.Options{Modes: []sim.Mode{sim.Plain}})
	var now atomic.Int64
	now.Store(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC).UnixNano())
	clock := func() time.Time { return time.Unix(0, now.Load()) }
	c := newCluster(t, sc, Config{Now: clock, StaleSoftLimit: time.Minute, StaleHardLimit: 10 * time.Minute})
	discover(t, c)
	agent := sc.Agents()[0].ID()
	if err := sc.Leader().Stop(); err != nil {
		t.Fatal(err)
	}
	if err := c.Refresh(context.Background()); err == nil || !strings.Contains(err.Error(), "connection refused") {
		t.Fatalf("Refresh with the master down: %v", err)
	}

	now.Add(int64(2 * time.Minute))
	s := c.Snapshot()
	if !s.Stale || s.Expired || s.Age != 2*time.Minute || len(s.Agents) != 1 {
		t.Errorf("after 2 minutes: stale %v, expired %v, age %s", s.Stale, s.Expired, s.Age)
	}
	if _, err := c.Resolve(context.Background(), Route{Kind: KindAgent, Key: agent}); err != nil {
		t.Errorf("Resolve while stale: %v", err)
	}

	now.Add(int64(10 * time.Minute))
	if s := c.Snapshot(); !s.Expired {
		t.Errorf("after 12 minutes: not expired")
	}
	if _, err := c.Resolve(context.Background(), Route{Kind: KindAgent, Key: agent}); ReasonOf(err) != ReasonStale || !strings.Contains(err.Error(), "12m0s ago, more than the stale hard limit 10m0s") {
		t.Errorf("Resolve past the hard limit: %v", err)
	}
	if _, err := c.Resolve(context.Background(), Route{Kind: KindMaster, Key: sc.Leader().HostPort()}); err != nil {
		t.Errorf("a configured master past the hard limit: %v", err)
	}
}

// TestWait: Resolve before the first discovery waits for it, and without
// one answers ReasonNotReady; Wait returns once it finished.
func TestWait(t *testing.T) {
	sc := startSim(t, sim.Options{Modes: []sim.Mode{sim.Plain}})
	c := newCluster(t, sc, Config{})
	short, stop := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer stop()
	if _, err := c.Resolve(short, Route{Kind: KindLeader}); ReasonOf(err) != ReasonNotReady {
		t.Errorf("Resolve before discovery: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := c.Wait(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("Wait with a cancelled context: %v", err)
	}
	run(t, c)
	waitReady(t, c)
	if _, err := c.Resolve(context.Background(), Route{Kind: KindAgent, Key: sc.Agents()[0].ID()}); err != nil {
		t.Errorf("Resolve after Wait: %v", err)
	}
}

func waitReady(t testing.TB, c *Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := c.Wait(ctx); err != nil {
		t.Fatalf("Wait: %v", err)
	}
}

func findAgent(s *Snapshot, id string) *Member {
	for _, m := range s.Agents {
		if m.ID == id {
			return m
		}
	}
	return nil
}

// TestLeaderDiesMidBrowsing: a request to a leader that died finds it
// unreachable, and that starts a discovery at once (the refresh interval
// here is an hour) which finds the next leader. The request, for whoever
// leads, is then served by the next leader instead of failing.
func TestLeaderDiesMidBrowsing(t *testing.T) {
	sc := startSim(t, sim.Options{Masters: 2})
	c := newCluster(t, sc, Config{Refresh: time.Hour, NoSubscribe: true})
	run(t, c)
	waitReady(t, c)
	old, next := sc.Masters()[0], sc.Masters()[1]
	d, err := c.Resolve(context.Background(), Route{Kind: KindLeader, Tail: "/master/state"})
	if err != nil {
		t.Fatal(err)
	}
	if err := old.Stop(); err != nil {
		t.Fatal(err)
	}
	sc.SetLeader(next)
	req, _ := http.NewRequest(http.MethodGet, "http://ignored/master/state", nil)
	req = req.WithContext(WithDestination(req.Context(), d))
	d.Rewrite(req)
	resp, err := c.Transport().RoundTrip(req)
	if err != nil {
		t.Fatalf("request to the dead leader: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || d.Address != next.HostPort() {
		t.Errorf("request to the dead leader: %d from %s, want 200 from the next leader %s", resp.StatusCode, d.Address, next.HostPort())
	}
	if s := c.Snapshot(); s.Leader == nil || s.Leader.Address != next.HostPort() {
		t.Errorf("the leader after the request: %+v, want %s", s.Leader, next.HostPort())
	}

	// A master route names one master: a request to it fails, naming it.
	req, _ = http.NewRequest(http.MethodGet, "http://ignored/master/state", nil)
	var ue *Error
	if _, _, err := send(t, c, Route{Kind: KindMaster, Key: old.Addr()}, req); !errors.As(err, &ue) || ue.Address != old.HostPort() {
		t.Errorf("request to the dead master by its address: %v", err)
	}
}
