package zookeeper

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/go-zookeeper/zk"

	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// waitTimeout bounds every wait for the watcher: generous for a loaded
// 2-core machine under the race detector; waits end as soon as the
// condition holds.
const waitTimeout = 20 * time.Second

// groupURL returns a URL for a path of the test's own on srv.
func groupURL(t testing.TB, srv *zktest.Server, creds string) URL {
	t.Helper()
	u, err := ParseURL("zk://" + creds + srv.Addr() + zktest.Path(t))
	if err != nil {
		t.Fatal(err)
	}
	return u
}

// testMaster is the MasterInfo of simulated master n.
func testMaster(n int) Master {
	ip := netip.AddrFrom4([4]byte{10, 0, 0, byte(n)})
	return Master{ID: fmt.Sprintf("master-%d", n), Hostname: fmt.Sprintf("master%d.example.com", n), IP: ip,
		Port: 5050, PID: fmt.Sprintf("master@%s:5050", ip), Version: "1.11.0"}
}

// joinAs registers m under label as a Mesos master does, leaving when the
// test ends.
func joinAs(t testing.TB, u URL, label string, m Master, opts Options) *Membership {
	t.Helper()
	data, err := EncodeMasterInfo(label, m)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	mem, err := Join(ctx, u, label, data, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(mem.Leave)
	return mem
}

// rawClient is a session for writing znodes the way no master would.
func rawClient(t testing.TB, u URL) *zk.Conn {
	t.Helper()
	c, err := connect(u, 0, nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.close)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	if err := c.waitSession(ctx); err != nil {
		t.Fatal(err)
	}
	c.monitor(nil)
	return c.conn
}

// delivery is a group the watcher delivered, and when.
type delivery struct {
	Group
	at time.Time
}

// recorder runs Watch for a test and keeps what it delivers.
type recorder struct {
	ch   chan delivery
	mu   sync.Mutex
	seen []Group
}

// watch runs Watch on u until the test ends; Cleanup checks it returned.
func watch(t testing.TB, u URL, opts Options) *recorder {
	t.Helper()
	r := &recorder{ch: make(chan delivery, 1000)}
	opts.OnChange = func(g Group) {
		r.mu.Lock()
		r.seen = append(r.seen, g)
		r.mu.Unlock()
		r.ch <- delivery{g, time.Now()}
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Watch(ctx, u, opts) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("Watch: %v", err)
			}
		case <-time.After(waitTimeout):
			t.Error("Watch did not return after its context ended")
		}
	})
	return r
}

// waitFor returns the first delivered group for which ok holds.
func (r *recorder) waitFor(t testing.TB, what string, ok func(Group) bool) delivery {
	t.Helper()
	deadline := time.After(waitTimeout)
	for {
		select {
		case d := <-r.ch:
			if ok(d.Group) {
				return d
			}
		case <-deadline:
			r.mu.Lock()
			defer r.mu.Unlock()
			t.Fatalf("no group with %s within %v; delivered: %v", what, waitTimeout, r.seen)
		}
	}
}

// leaderIs matches a group read without error led by id.
func leaderIs(id string) func(Group) bool {
	return func(g Group) bool {
		l, ok := g.Leader()
		return g.Err == nil && ok && l.ID == id
	}
}

func ids(ms []Master) []string {
	var out []string
	for _, m := range ms {
		out = append(out, m.ID)
	}
	return out
}

// TestWatchGroup: three JSON masters; the first to join leads, all three
// are masters in sequence order, and a standby leaving is seen.
func TestWatchGroup(t *testing.T) {
	u := groupURL(t, zkServer.Server(t), "")
	var mems []*Membership
	for i := 1; i <= 3; i++ {
		mems = append(mems, joinAs(t, u, LabelJSON, testMaster(i), Options{}))
	}
	r := watch(t, u, Options{})
	d := r.waitFor(t, "three masters", func(g Group) bool { return len(g.Masters) == 3 })
	if got := ids(d.Masters); !slices.Equal(got, []string{"master-1", "master-2", "master-3"}) || d.Err != nil {
		t.Fatalf("masters %v, err %v", got, d.Err)
	}
	l, ok := d.Leader()
	if !ok || l.Addr() != "10.0.0.1:5050" || l.Hostname != "master1.example.com" || l.Label != LabelJSON || l.Sequence != mems[0].Sequence {
		t.Errorf("leader %+v, %v", l, ok)
	}
	mems[1].Leave()
	d = r.waitFor(t, "two masters", func(g Group) bool { return len(g.Masters) == 2 })
	if got := ids(d.Masters); !slices.Equal(got, []string{"master-1", "master-3"}) {
		t.Errorf("after a standby left: %v", got)
	}
}

// TestWatchMesos023: a 0.23 master's info_ protobuf znode is read, and a
// mixed group (an upgrade from 0.23) elects by sequence across labels.
func TestWatchMesos023(t *testing.T) {
	u := groupURL(t, zkServer.Server(t), "")
	joinAs(t, u, LabelProtobuf, testMaster(1), Options{})
	joinAs(t, u, LabelJSON, testMaster(2), Options{})
	r := watch(t, u, Options{})
	d := r.waitFor(t, "two masters", func(g Group) bool { return len(g.Masters) == 2 })
	l, _ := d.Leader()
	if l.ID != "master-1" || l.Label != LabelProtobuf || l.Addr() != "10.0.0.1:5050" || l.Version != "1.11.0" {
		t.Errorf("leader %+v", l)
	}
	if d.Masters[1].Label != LabelJSON {
		t.Errorf("standby %+v", d.Masters[1])
	}
}

// TestWatchGarbage: children with garbage data are skipped with a reason;
// other children are ignored; garbage at the lowest sequence leaves no
// known leader, as Mesos's detector fails on it.
func TestWatchGarbage(t *testing.T) {
	u := groupURL(t, zkServer.Server(t), "")
	conn := rawClient(t, u)
	if _, err := conn.Create(u.Path+"/json.info_", []byte("{not json"), zk.FlagEphemeralSequential, zk.WorldACL(zk.PermAll)); !errors.Is(err, zk.ErrNoNode) {
		t.Fatalf("create under a missing group: %v", err)
	}
	joinAs(t, u, LabelJSON, testMaster(1), Options{}) // creates the group
	mustCreate := func(name string, data string, flags int32) {
		if _, err := conn.Create(u.Path+"/"+name, []byte(data), flags, zk.WorldACL(zk.PermAll)); err != nil {
			t.Fatal(err)
		}
	}
	mustCreate("log_replicas", "", zk.FlagPersistent)
	mustCreate("json.info_", "{not json", zk.FlagEphemeralSequential)
	mustCreate("info_", "\xff\xff", zk.FlagEphemeralSequential)
	mustCreate("lock_", "x", zk.FlagEphemeralSequential)
	r := watch(t, u, Options{})
	d := r.waitFor(t, "two skipped", func(g Group) bool { return len(g.Skipped) == 2 })
	if len(d.Masters) != 1 || d.Err != nil {
		t.Fatalf("group %v", d.Group)
	}
	if l, ok := d.Leader(); !ok || l.ID != "master-1" {
		t.Errorf("leader %v, %v", l.ID, ok)
	}
	for _, s := range d.Skipped {
		if !strings.Contains(s.Reason, "not MasterInfo JSON") && !strings.Contains(s.Reason, "not a MasterInfo protobuf") {
			t.Errorf("skipped %+v", s)
		}
	}

	// A group whose lowest child is garbage has no known leader.
	u2 := groupURL(t, zkServer.Server(t), "")
	conn2 := rawClient(t, u2)
	if err := ensure(conn2, u2.Path); err != nil {
		t.Fatal(err)
	}
	if _, err := conn2.Create(u2.Path+"/json.info_", []byte("garbage"), zk.FlagEphemeralSequential, zk.WorldACL(zk.PermAll)); err != nil {
		t.Fatal(err)
	}
	joinAs(t, u2, LabelJSON, testMaster(2), Options{})
	r2 := watch(t, u2, Options{})
	d = r2.waitFor(t, "a master after garbage", func(g Group) bool { return len(g.Masters) == 1 && len(g.Skipped) == 1 })
	if _, ok := d.Leader(); ok {
		t.Errorf("a leader was named behind a garbage child: %v", d.Group)
	}
}

// ensure creates path's parents and path, for tests writing raw znodes.
func ensure(conn *zk.Conn, path string) error {
	c := &client{conn: conn}
	return c.ensurePath(path, zk.WorldACL(zk.PermAll))
}

// TestWatchDigestAuth: a group whose ACL lets only the digest user read
// is read with the right credentials and refused, with a message naming
// what to check, with wrong or no credentials; the password never shows
// in the logs.
func TestWatchDigestAuth(t *testing.T) {
	srv := zkServer.Server(t)
	good := groupURL(t, srv, "mesos:right-secret@")
	conn := rawClient(t, good)
	if err := conn.AddAuth("digest", []byte("mesos:right-secret")); err != nil {
		t.Fatal(err)
	}
	if err := ensure(conn, strings.TrimSuffix(good.Path, "/"+lastSegment(good.Path))); err != nil {
		t.Fatal(err)
	}
	if _, err := conn.Create(good.Path, nil, 0, zk.DigestACL(zk.PermAll, "mesos", "right-secret")); err != nil {
		t.Fatal(err)
	}
	joinAs(t, good, LabelJSON, testMaster(1), Options{})

	tests := []struct {
		name, creds, want string
	}{
		{"right", "mesos:right-secret@", ""},
		{"wrong password", "mesos:wrong-secret@", `check the credentials of "mesos"`},
		{"none", "", "add the credentials its ACL names"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseURL("zk://" + tt.creds + srv.Addr() + good.Path)
			if err != nil {
				t.Fatal(err)
			}
			var log testsupport.Buffer
			r := watch(t, u, Options{Logger: slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug}))})
			d := r.waitFor(t, "an answer", func(g Group) bool { return g.Err != nil || len(g.Masters) > 0 })
			switch {
			case tt.want == "" && (d.Err != nil || len(d.Masters) != 1):
				t.Errorf("with the right credentials: %v", d.Group)
			case tt.want != "" && (d.Err == nil || !strings.Contains(d.Err.Error(), tt.want) || errors.Is(d.Err, ErrUnreachable)):
				t.Errorf("error %v, want %q", d.Err, tt.want)
			}
			if s := log.String(); strings.Contains(s, "secret") && !strings.Contains(s, "xxxxx") || strings.Contains(s, "right-secret") || strings.Contains(s, "wrong-secret") {
				t.Errorf("the password was logged:\n%s", s)
			}
		})
	}
}

func lastSegment(p string) string { return p[strings.LastIndex(p, "/")+1:] }

// TestWatchMissingPath: a path no master registered under is reported,
// and the group is read as soon as a master creates it.
func TestWatchMissingPath(t *testing.T) {
	u := groupURL(t, zkServer.Server(t), "")
	r := watch(t, u, Options{})
	d := r.waitFor(t, "an error", func(g Group) bool { return g.Err != nil })
	if !strings.Contains(d.Err.Error(), "does not exist") || errors.Is(d.Err, ErrUnreachable) {
		t.Errorf("error %v", d.Err)
	}
	joinAs(t, u, LabelJSON, testMaster(1), Options{})
	r.waitFor(t, "master-1 leading", leaderIs("master-1"))
}

// TestFailover ends the leader's session ten times and measures how long
// the watcher takes to deliver the next leader: the leader's znode
// vanishes when its session is closed, and the children watch fires.
func TestFailover(t *testing.T) {
	u := groupURL(t, zkServer.Server(t), "")
	mems := []*Membership{joinAs(t, u, LabelJSON, testMaster(1), Options{}), joinAs(t, u, LabelJSON, testMaster(2), Options{})}
	masters := []Master{testMaster(1), testMaster(2)}
	r := watch(t, u, Options{})
	r.waitFor(t, "master-1 leading", leaderIs("master-1"))
	var took []time.Duration
	for i := range 10 {
		leader, next := i%2, (i+1)%2
		start := time.Now()
		mems[leader].Leave() // the leader's session ends
		d := r.waitFor(t, masters[next].ID+" leading", leaderIs(masters[next].ID))
		took = append(took, d.at.Sub(start))
		// The old leader comes back as a standby, as a restarted master does.
		mems[leader] = joinAs(t, u, LabelJSON, masters[leader], Options{})
		r.waitFor(t, "two masters", func(g Group) bool { return len(g.Masters) == 2 })
	}
	slices.Sort(took)
	median, worst := (took[4]+took[5])/2, took[9]
	t.Logf("failover: session end to new leader delivered over %d failovers: median %v, max %v", len(took), median, worst)
	if worst > 5*time.Second {
		t.Errorf("a failover took %v to be seen", worst)
	}
}

// TestZooKeeperRestart: ZooKeeper restarted under a running watcher. While
// it is down the watcher reports it unreachable with the last masters
// kept; once it is back the session (which outlives the restart) and the
// watches are made again, and a change made afterwards is seen.
func TestZooKeeperRestart(t *testing.T) {
	srv := zktest.Start(t)
	u := groupURL(t, srv, "")
	long := Options{Timeout: 30 * time.Second}
	joinAs(t, u, LabelJSON, testMaster(1), long)
	r := watch(t, u, long)
	r.waitFor(t, "master-1 leading", leaderIs("master-1"))

	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	d := r.waitFor(t, "unreachable", func(g Group) bool { return errors.Is(g.Err, ErrUnreachable) })
	if len(d.Masters) != 1 || !strings.Contains(d.Err.Error(), srv.Addr()) {
		t.Errorf("while down: %v", d.Group)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	back := time.Now()
	d = r.waitFor(t, "master-1 leading again", leaderIs("master-1"))
	t.Logf("ZooKeeper start took %v; watcher read the group %v after", srv.StartTime(), d.at.Sub(back))
	joinAs(t, u, LabelJSON, testMaster(2), long)
	r.waitFor(t, "two masters", func(g Group) bool { return g.Err == nil && len(g.Masters) == 2 })
}

// TestUnreachableAtStart: a watcher started while ZooKeeper is down
// reports it, retries with backoff, and reads the group once it is up.
func TestUnreachableAtStart(t *testing.T) {
	srv := zktest.Start(t)
	u := groupURL(t, srv, "")
	joinAs(t, u, LabelJSON, testMaster(1), Options{Timeout: 30 * time.Second})
	if err := srv.Stop(); err != nil {
		t.Fatal(err)
	}
	r := watch(t, u, Options{})
	d := r.waitFor(t, "unreachable", func(g Group) bool { return g.Err != nil })
	if !errors.Is(d.Err, ErrUnreachable) || !strings.Contains(d.Err.Error(), "connection refused") {
		t.Errorf("error %v", d.Err)
	}
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	r.waitFor(t, "master-1 leading", leaderIs("master-1"))
}

// TestWatchCancel: Watch returns promptly when its context ends, with a
// session and while waiting to reconnect; TestMain's goleak check finds
// nothing left behind.
func TestWatchCancel(t *testing.T) {
	srv := zkServer.Server(t)
	tests := []struct{ name, addr string }{
		{"with a session", srv.Addr()},
		{"unreachable", "127.0.0.1:1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			u, err := ParseURL("zk://" + tt.addr + "/mesos")
			if err != nil {
				t.Fatal(err)
			}
			delivered := make(chan struct{}, 100)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan struct{})
			go func() {
				defer close(done)
				Watch(ctx, u, Options{OnChange: func(Group) { delivered <- struct{}{} }})
			}()
			<-delivered
			start := time.Now()
			cancel()
			select {
			case <-done:
				t.Logf("Watch returned %v after cancel", time.Since(start))
			case <-time.After(5 * time.Second):
				t.Fatal("Watch did not return within 5 s of cancel")
			}
		})
	}
}

// TestRead reads a group once, and gives up with the reason when
// ZooKeeper cannot be reached in time.
func TestRead(t *testing.T) {
	u := groupURL(t, zkServer.Server(t), "")
	joinAs(t, u, LabelJSON, testMaster(1), Options{})
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	g, err := Read(ctx, u, Options{})
	if l, ok := g.Leader(); err != nil || !ok || l.ID != "master-1" {
		t.Errorf("Read = %v, %v", g, err)
	}
	bad, _ := ParseURL("zk://127.0.0.1:1/mesos")
	ctx2, cancel2 := context.WithTimeout(context.Background(), 500*time.Millisecond)
	defer cancel2()
	if _, err := Read(ctx2, bad, Options{}); !errors.Is(err, ErrUnreachable) || !strings.Contains(err.Error(), "connection refused") {
		t.Errorf("Read of an unreachable ZooKeeper: %v", err)
	}
}
