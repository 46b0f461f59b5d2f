package upstream

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/internal/testsupport"
	"github.com/mesosgate/mesosgate/zookeeper"
	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// zkSim starts a simulated cluster whose masters register in a group of
// the test's own on srv (creds, "user:password@" or "", in the masters'
// URL), and returns the group's URL with gatewayCreds for the gateway.
func zkSim(t *testing.T, srv *zktest.Server, creds, gatewayCreds string, opts sim.Options) (*sim.Cluster, *zookeeper.URL) {
	t.Helper()
	path := zktest.Path(t)
	opts.ZK = "zk://" + creds + srv.Addr() + path
	sc := startSim(t, opts)
	u, err := zookeeper.ParseURL("zk://" + gatewayCreds + srv.Addr() + path)
	if err != nil {
		t.Fatal(err)
	}
	return sc, &u
}

// masterIDs lists the ids of a snapshot's masters, leader first.
func masterIDs(s *Snapshot) []string {
	var ids []string
	if s.Leader != nil {
		ids = append(ids, s.Leader.ID)
	}
	for _, m := range s.Standbys {
		ids = append(ids, m.ID)
	}
	return ids
}

// simIDs lists the simulated masters' ids in the order ZooKeeper elects
// them: the leader first, then the others as they joined.
func simIDs(sc *sim.Cluster, order ...*sim.Master) []string {
	var ids []string
	for _, m := range order {
		ids = append(ids, m.ID())
	}
	return ids
}

// leaderID asks whoever the cluster routes the leader's requests to for
// its /master/state, and returns the id that answered, "" when the
// request failed or was not answered with a state.
func leaderID(t testing.TB, c *Cluster) string {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, "http://ignored/master/state", nil)
	resp, _, err := send(t, c, Route{Kind: KindLeader}, req)
	if err != nil {
		return ""
	}
	defer resp.Body.Close()
	var st struct {
		ID string `json:"id"`
	}
	if resp.StatusCode != http.StatusOK {
		io.Copy(io.Discard, resp.Body)
		return ""
	}
	if err := json.NewDecoder(resp.Body).Decode(&st); err != nil {
		return ""
	}
	return st.ID
}

// TestZKDiscovery: the masters are the ZooKeeper group's members, every
// one with its id, hostname and address, standbys included (known with
// --master, a standby that never led has no id); the leader is the lowest
// sequence; the state is read from it; each master's scheme is found by
// probing. One discovery without Run reads the group once, as `probe`
// and `certs` do; a master is reached by its prefix like a configured one.
func TestZKDiscovery(t *testing.T) {
	srv := zkServer.Server(t)
	for _, v := range []struct {
		name     string
		protobuf bool
	}{{"json", false}, {"protobuf, as Mesos 0.23 writes it", true}} {
		t.Run(v.name, func(t *testing.T) {
			sc, u := zkSim(t, srv, "", "", sim.Options{Masters: 3, MasterModes: []sim.Mode{sim.Plain, sim.SSL, sim.Downgrade},
				Modes: []sim.Mode{sim.Plain}, ZKProtobuf: v.protobuf})
			c := newCluster(t, sc, Config{ZooKeeper: u})
			discover(t, c)
			s := c.Snapshot()
			ms := sc.Masters()
			if got, want := masterIDs(s), simIDs(sc, ms...); !slices.Equal(got, want) {
				t.Fatalf("masters %q, want %q", got, want)
			}
			speaks := []Speaks{PlainOnly, SSLOnly, SSLDowngrade}
			for i, m := range append([]*Member{s.Leader}, s.Standbys...) {
				if m.Address != ms[i].Addr() || m.Hostname != "localhost" || !m.Configured || m.Speaks() != speaks[i] ||
					!slices.Contains(m.Addresses, ms[i].HostPort()) {
					t.Errorf("master %d: %+v (speaks %s)", i, m, m.Speaks())
				}
			}
			if s.Error != "" || len(s.Agents) != 1 || s.ZooKeeper == nil || s.ZooKeeper.URL != u.String() || s.ZooKeeper.Error != "" {
				t.Errorf("snapshot: error %q, %d agents, zookeeper %+v", s.Error, len(s.Agents), s.ZooKeeper)
			}
			// A standby found in ZooKeeper is reached like a configured one.
			req, _ := http.NewRequest(http.MethodGet, "http://ignored/version", nil)
			resp, d, err := send(t, c, Route{Kind: KindMaster, Key: ms[1].HostPort(), Prefix: MasterPrefix(ms[1].HostPort())}, req)
			if err != nil {
				t.Fatalf("request to a standby: %v", err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK || d.Address != ms[1].Addr() || d.Scheme != "https" || d.Member.Role != RoleStandby {
				t.Errorf("request to a standby: %d, %+v", resp.StatusCode, d)
			}
			var out strings.Builder
			c.Report().WriteText(&out)
			if !strings.Contains(out.String(), "zookeeper: "+u.String()) {
				t.Errorf("the report does not name ZooKeeper:\n%s", out.String())
			}
		})
	}
}

// TestZKFailover ends the leader's ZooKeeper session, three times: the
// gateway routes to the next leader within a second (a refresh interval
// of an hour and no SUBSCRIBE stream leave ZooKeeper's watch the only way
// to learn of it), reads the state from it, and keeps every master.
func TestZKFailover(t *testing.T) {
	sc, u := zkSim(t, zkServer.Server(t), "", "", sim.Options{Masters: 3, Modes: []sim.Mode{sim.Plain}})
	c := newCluster(t, sc, Config{ZooKeeper: u, Refresh: time.Hour, NoSubscribe: true})
	run(t, c)
	waitReady(t, c)
	order := sc.Masters()
	for i := range 3 {
		start := time.Now()
		next, took, err := sc.FailOver(20*time.Second, func(next *sim.Master) bool { return leaderID(t, c) == next.ID() })
		if err != nil {
			t.Fatal(err)
		}
		if took > time.Second {
			t.Errorf("failover %d: routed to the next leader after %s, want under a second", i, took)
		}
		order = append(order[1:], order[0]) // the old leader joins again, at the end of the line
		if next != order[0] {
			t.Fatalf("failover %d: ZooKeeper elected %s, want %s", i, next.Addr(), order[0].Addr())
		}
		testsupport.Eventually(t, "the next leader's state", 0, func() bool {
			s := c.Snapshot()
			return s.Leader != nil && s.Leader.ID == next.ID() && s.Error == "" && s.Updated.After(start) &&
				slices.Equal(masterIDs(s), simIDs(sc, order...))
		})
	}
}

// TestZKOutage: ZooKeeper unreachable at start is reported (the first
// requests fail at once saying why, instead of waiting) and retried; once
// it is back the map comes. Stopped under a running gateway, the last map
// keeps serving and the snapshot says why; back, the news clears.
func TestZKOutage(t *testing.T) {
	srv := zktest.Start(t)
	sc, u := zkSim(t, srv, "", "", sim.Options{Masters: 2, Modes: []sim.Mode{sim.Plain}})
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, sc, Config{ZooKeeper: u, Refresh: time.Hour})
	run(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := c.Wait(ctx)
	if ReasonOf(err) != ReasonNotReady || !strings.Contains(err.Error(), "ZooKeeper") {
		t.Fatalf("Wait with ZooKeeper down: %v", err)
	}
	if _, err := c.Resolve(context.Background(), Route{Kind: KindLeader}); ReasonOf(err) != ReasonNotReady {
		t.Errorf("Resolve with ZooKeeper down: %v", err)
	}
	if s := c.Snapshot(); s.ZooKeeper == nil || !strings.Contains(s.ZooKeeper.Error, "unreachable") || s.ZooKeeper.Since == nil {
		t.Errorf("snapshot with ZooKeeper down: %+v", s.ZooKeeper)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "the map once ZooKeeper is back", 0, func() bool {
		return c.Wait(context.Background()) == nil && c.Snapshot().Leader != nil
	})

	// Down under a running gateway: the map stays, and says why.
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "the outage reported", 0, func() bool {
		z := c.Snapshot().ZooKeeper
		return z != nil && strings.Contains(z.Error, "unreachable")
	})
	s := c.Snapshot()
	if s.Leader == nil || s.Leader.ID != sc.Masters()[0].ID() || len(s.Standbys) != 1 || s.Standbys[0].ID != sc.Masters()[1].ID() {
		t.Errorf("the masters during the outage: %q", masterIDs(s))
	}
	if got := leaderID(t, c); got != sc.Masters()[0].ID() {
		t.Errorf("the leader route during the outage reached %q", got)
	}
	// Discovery falls back to asking the masters it knows.
	if err := c.Refresh(context.Background()); err != nil {
		t.Errorf("a refresh during the outage: %v", err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "the outage cleared", 0, func() bool {
		z := c.Snapshot().ZooKeeper
		return z != nil && z.Error == "" && z.Since == nil
	})
	if got := leaderID(t, c); got != sc.Masters()[0].ID() {
		t.Errorf("the leader route after the outage reached %q", got)
	}
}

// TestZKDigest: a group readable only with digest credentials is read
// with the right ones; with wrong or no credentials, nothing is mapped
// and the snapshot and readiness say what to fix.
func TestZKDigest(t *testing.T) {
	srv := zkServer.Server(t)
	path := zktest.Path(t)
	conn := srv.Client(t, "mesos:right-secret")
	if _, err := conn.Create("/test", nil, 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
		t.Fatal(err)
	}
	if _, err := conn.Create(path, nil, 0, zk.DigestACL(zk.PermAll, "mesos", "right-secret")); err != nil {
		t.Fatal(err)
	}
	sc := startSim(t, sim.Options{Masters: 2, Modes: []sim.Mode{sim.Plain}, ZK: "zk://mesos:right-secret@" + srv.Addr() + path})
	for _, v := range []struct {
		name, creds string
		ok          bool
		want        string
	}{
		{"right", "mesos:right-secret@", true, ""},
		{"wrong", "mesos:wrong-secret@", false, `not authorized to read ` + path + ` in ZooKeeper: check the credentials of "mesos"`},
		{"none", "", false, "not authorized to read " + path + " in ZooKeeper: add the credentials its ACL names"},
	} {
		t.Run(v.name, func(t *testing.T) {
			u, err := zookeeper.ParseURL("zk://" + v.creds + srv.Addr() + path)
			if err != nil {
				t.Fatal(err)
			}
			c := newCluster(t, sc, Config{ZooKeeper: &u})
			run(t, c)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			err = c.Wait(ctx)
			s := c.Snapshot()
			if v.ok {
				if err != nil || !slices.Equal(masterIDs(s), simIDs(sc, sc.Masters()...)) {
					t.Errorf("Wait: %v; masters %q", err, masterIDs(s))
				}
				return
			}
			if ReasonOf(err) != ReasonNotReady || !strings.Contains(err.Error(), v.want) || s.Leader != nil ||
				s.ZooKeeper == nil || !strings.Contains(s.ZooKeeper.Error, v.want) || strings.Contains(s.ZooKeeper.URL, "secret") {
				t.Errorf("Wait: %v; zookeeper %+v", err, s.ZooKeeper)
			}
		})
	}
}

// TestZKGarbage: children that are not MasterInfo are passed over and
// listed; when the lowest is one, no master leads (Mesos's detector elects
// it and fails to read it), and the snapshot says which child is at
// fault. Children of other labels (the replicated log's) are ignored.
func TestZKGarbage(t *testing.T) {
	srv := zkServer.Server(t)
	path := zktest.Path(t)
	conn := srv.Client(t, "")
	for _, p := range []string{"/test", path} {
		if _, err := conn.Create(p, nil, 0, zk.WorldACL(zk.PermAll)); err != nil && err != zk.ErrNodeExists {
			t.Fatal(err)
		}
	}
	// Every child made and deleted moves the sequence ZooKeeper gives
	// the next: the masters' come after 0000000004, and the garbage made
	// once they lead is the lowest child.
	for range 3 {
		if _, err := conn.Create(path+"/x", nil, 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
		if err := conn.Delete(path+"/x", -1); err != nil {
			t.Fatal(err)
		}
	}
	sc := startSim(t, sim.Options{Masters: 2, Modes: []sim.Mode{sim.Plain}, ZK: "zk://" + srv.Addr() + path})
	garbage := path + "/json.info_0000000001"
	for node, data := range map[string]string{garbage: "{not json", path + "/log_replicas": "x"} {
		if _, err := conn.Create(node, []byte(data), 0, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	u, err := zookeeper.ParseURL("zk://" + srv.Addr() + path)
	if err != nil {
		t.Fatal(err)
	}
	c := newCluster(t, sc, Config{ZooKeeper: &u})
	run(t, c)
	waitReady(t, c)
	s := c.Snapshot()
	if s.Leader != nil || len(s.Standbys) != 2 || !strings.Contains(s.Error, "json.info_0000000001") ||
		s.ZooKeeper == nil || len(s.ZooKeeper.Skipped) != 1 || !strings.HasPrefix(s.ZooKeeper.Skipped[0], "json.info_0000000001: ") {
		t.Fatalf("with garbage leading: leader %+v, %d standbys, error %q, zookeeper %+v", s.Leader, len(s.Standbys), s.Error, s.ZooKeeper)
	}
	if _, err := c.Resolve(context.Background(), Route{Kind: KindLeader}); ReasonOf(err) != ReasonNoLeader {
		t.Errorf("Resolve(leader) with garbage leading: %v", err)
	}
	if err := conn.Delete(garbage, -1); err != nil {
		t.Fatal(err)
	}
	testsupport.Eventually(t, "the first master leading once the garbage is gone", 0, func() bool {
		s := c.Snapshot()
		return s.Leader != nil && s.Leader.ID == sc.Masters()[0].ID() && s.Error == "" && len(s.ZooKeeper.Skipped) == 0
	})
}
