package sim

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/go-zookeeper/zk"

	"github.com/mesosgate/mesosgate/zookeeper"
	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// zkCluster starts a cluster of n masters registered in ZooKeeper under a
// path of the test's own.
func zkCluster(t *testing.T, n int, protobuf bool) (*Cluster, zookeeper.URL) {
	t.Helper()
	srv := zkServer.Server(t)
	raw := srv.URL(zktest.Path(t))
	u, err := zookeeper.ParseURL(raw)
	if err != nil {
		t.Fatal(err)
	}
	return start(t, Options{Masters: n, ZK: raw, ZKProtobuf: protobuf, Frameworks: []FrameworkSpec{}}), u
}

// readGroup reads the cluster's group as a gateway would.
func readGroup(t *testing.T, u zookeeper.URL) zookeeper.Group {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	g, err := zookeeper.Read(ctx, u, zookeeper.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return g
}

// TestZKRegistration: every master registers as a Mesos master does, in
// JSON (or 0.23 protobuf), and ZooKeeper's leader is the cluster's.
func TestZKRegistration(t *testing.T) {
	for _, tt := range []struct {
		name     string
		protobuf bool
		label    string
	}{{"json", false, zookeeper.LabelJSON}, {"protobuf", true, zookeeper.LabelProtobuf}} {
		t.Run(tt.name, func(t *testing.T) {
			c, u := zkCluster(t, 3, tt.protobuf)
			g := readGroup(t, u)
			l, ok := g.Leader()
			if !ok || l.ID != c.Leader().ID() || c.Leader() != c.Masters()[0] {
				t.Fatalf("ZooKeeper's leader %+v, the cluster's %s", l, c.Leader().ID())
			}
			var want []string
			for _, m := range c.Masters() {
				want = append(want, m.ID())
			}
			var got []string
			for i, zm := range g.Masters {
				got = append(got, zm.ID)
				m := c.Masters()[i]
				if zm.Label != tt.label || zm.Addr() != m.Addr() || zm.PID != m.PID() || zm.Hostname != m.Hostname() || zm.Version != mesosVersion {
					t.Errorf("master %d registered as %+v", i, zm)
				}
			}
			if !slices.Equal(got, want) {
				t.Errorf("group %v, masters %v", got, want)
			}
		})
	}
}

// TestZKMasterInfoJSON: the znode holds what a Mesos 1.x master writes:
// ip as a uint32 in network order (127.0.0.1 is 16777343), port, pid,
// hostname, version and address.
func TestZKMasterInfoJSON(t *testing.T) {
	c, u := zkCluster(t, 1, false)
	m := c.Masters()[0]
	conn, events, err := zk.Connect(u.Servers, 10*time.Second, zk.WithLogInfo(false))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		conn.Close()
		for range events {
		}
	})
	children, _, err := conn.Children(u.Path)
	if err != nil || len(children) != 1 || !strings.HasPrefix(children[0], "json.info_") {
		t.Fatalf("children %v, %v", children, err)
	}
	data, _, err := conn.Get(u.Path + "/" + children[0])
	if err != nil {
		t.Fatal(err)
	}
	var info map[string]any
	if err := json.Unmarshal(data, &info); err != nil {
		t.Fatal(err)
	}
	addr, _ := info["address"].(map[string]any)
	if info["ip"] != float64(16777343) || info["port"] != float64(m.Port()) || info["pid"] != m.PID() || info["id"] != m.ID() ||
		info["hostname"] != "localhost" || info["version"] != mesosVersion || addr["ip"] != "127.0.0.1" || addr["port"] != float64(m.Port()) {
		t.Errorf("MasterInfo JSON %s", data)
	}
}

// TestZKFailover: the leader's session ends; the next master leads, in
// ZooKeeper and in the cluster, and the standbys redirect to it.
func TestZKFailover(t *testing.T) {
	c, u := zkCluster(t, 3, false)
	masters := c.Masters()
	got := make(chan zookeeper.Group, 100)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		zookeeper.Watch(ctx, u, zookeeper.Options{OnChange: func(g zookeeper.Group) { got <- g }})
	}()
	t.Cleanup(func() { cancel(); <-done })
	awaitGroupLeader(t, got, masters[0].ID())

	start := time.Now()
	if err := masters[0].EndSession(); err != nil {
		t.Fatal(err)
	}
	awaitGroupLeader(t, got, masters[1].ID())
	t.Logf("a gateway's watcher saw the new leader %v after the session ended", time.Since(start))
	awaitClusterLeader(t, c, masters[1])

	for _, standby := range []*Master{masters[0], masters[2]} {
		r := get(t, standby.URL()+"/master/state")
		if r.status != http.StatusTemporaryRedirect || r.header.Get("Location") != "//"+masters[1].HostPort()+"/master/state" {
			t.Errorf("standby %s: %d %q", standby.Addr(), r.status, r.header.Get("Location"))
		}
	}
	// The old leader joined again, behind the others.
	g := readGroup(t, u)
	if ids := []string{g.Masters[0].ID, g.Masters[1].ID, g.Masters[2].ID}; !slices.Equal(ids, []string{masters[1].ID(), masters[2].ID(), masters[0].ID()}) {
		t.Errorf("group order after failover: %v", ids)
	}
}

// TestZKStopAndSetLeader: a stopped leader leaves the group, a restarted
// master joins at the end, and SetLeader goes through ZooKeeper.
func TestZKStopAndSetLeader(t *testing.T) {
	c, u := zkCluster(t, 2, false)
	masters := c.Masters()
	if err := masters[0].Stop(); err != nil {
		t.Fatal(err)
	}
	awaitClusterLeader(t, c, masters[1])
	if err := masters[0].Restart(Plain); err != nil {
		t.Fatal(err)
	}
	if g := readGroup(t, u); len(g.Masters) != 2 || g.Masters[1].ID != masters[0].ID() {
		t.Fatalf("after restart: %v", g)
	}
	c.SetLeader(masters[0])
	if c.Leader() != masters[0] {
		t.Fatalf("SetLeader: leader %v", c.Leader())
	}
	if l, _ := readGroup(t, u).Leader(); l.ID != masters[0].ID() {
		t.Errorf("ZooKeeper's leader %s after SetLeader", l.ID)
	}
	c.SetLeader(nil)
	if r := get(t, masters[1].URL()+"/master/redirect"); c.Leader() != nil || r.status != http.StatusServiceUnavailable {
		t.Errorf("SetLeader(nil): leader %v, redirect %d", c.Leader(), r.status)
	}
}

func awaitGroupLeader(t *testing.T, got <-chan zookeeper.Group, id string) {
	t.Helper()
	deadline := time.After(20 * time.Second)
	for {
		select {
		case g := <-got:
			if l, ok := g.Leader(); ok && l.ID == id {
				return
			}
		case <-deadline:
			t.Fatalf("ZooKeeper never said %s leads", id)
		}
	}
}

// awaitClusterLeader waits until the cluster follows ZooKeeper to m.
func awaitClusterLeader(t *testing.T, c *Cluster, m *Master) {
	t.Helper()
	if err := c.awaitLeader(m); err != nil {
		t.Fatal(err)
	}
}

// TestZKOptions: a bad URL is refused before anything starts.
func TestZKOptions(t *testing.T) {
	_, err := Start(Options{ZK: "zk://127.0.0.1/mesos"})
	if err == nil || !strings.Contains(err.Error(), "needs a port") {
		t.Errorf("Start with a bad ZK URL: %v", err)
	}
}
