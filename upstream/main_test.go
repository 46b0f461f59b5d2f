package upstream

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/internal/testsupport"
	"github.com/mesosgate/mesosgate/tlsx"
	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// testPKI is shared by the package's simulated clusters: RSA keys are slow
// to make.
var testPKI *sim.PKI

// zkServer is the package's one ZooKeeper server, started by the first
// test that asks for it; tests on it use paths of their own
// (zktest.Path). Tests that stop ZooKeeper start their own.
var zkServer zktest.Shared

func TestMain(m *testing.M) {
	testsupport.Main(m, func() (func(), error) {
		dir, err := os.MkdirTemp("", "upstream-test-pki-")
		if err != nil {
			return nil, err
		}
		testPKI, err = sim.NewPKI(dir)
		closeZK, _ := zkServer.Setup()
		return func() {
			os.RemoveAll(dir)
			closeZK()
		}, err
	})
}

// startSim starts a simulated cluster with the shared PKI, closed when the
// test ends.
func startSim(t testing.TB, opts sim.Options) *sim.Cluster {
	t.Helper()
	if opts.PKI == nil {
		opts.PKI = testPKI
	}
	if opts.Frameworks == nil {
		opts.Frameworks = []sim.FrameworkSpec{{Name: "marathon"}, {Name: "batch", NoUI: true}}
	}
	c, err := sim.Start(opts)
	if err != nil {
		t.Fatalf("start the simulated cluster: %v", err)
	}
	t.Cleanup(func() {
		if err := c.Close(); err != nil {
			t.Errorf("close the simulated cluster: %v", err)
		}
	})
	return c
}

// gatewayTLS are the gateway's connecting-side settings for a simulated
// cluster: its CA trusted, TLS 1.3 offered, and the client certificate
// when clientCert.
func gatewayTLS(clientCert bool) tlsx.Settings {
	s := tlsx.Settings{CAFile: testPKI.CAFile, EnableTLSv13: tlsx.On}
	if clientCert {
		s.CertFile, s.KeyFile = testPKI.ClientCertFile, testPKI.ClientKeyFile
	}
	return s
}

// newTLS makes a tlsx.Context, closed when the test ends.
func newTLS(t testing.TB, s tlsx.Settings) *tlsx.Context {
	t.Helper()
	ctx, err := tlsx.NewContext(s, tlsx.Options{ReloadInterval: -1})
	if err != nil {
		t.Fatalf("tlsx.NewContext: %v", err)
	}
	t.Cleanup(func() { ctx.Close() })
	return ctx
}

// newTLSAt makes a tlsx.Context whose clock says now.
func newTLSAt(t testing.TB, s tlsx.Settings, now time.Time) *tlsx.Context {
	t.Helper()
	ctx, err := tlsx.NewContext(s, tlsx.Options{ReloadInterval: -1, Now: func() time.Time { return now }})
	if err != nil {
		t.Fatalf("tlsx.NewContext: %v", err)
	}
	t.Cleanup(func() { ctx.Close() })
	return ctx
}

// newCluster makes a Cluster for a simulated cluster: every master
// configured by hostname:port, the CA trusted and the client certificate
// presented unless cfg says otherwise. It is closed when the test ends.
func newCluster(t testing.TB, sc *sim.Cluster, cfg Config) *Cluster {
	t.Helper()
	if cfg.Masters == nil && cfg.ZooKeeper == nil {
		for _, m := range sc.Masters() {
			cfg.Masters = append(cfg.Masters, Master{Address: m.HostPort()})
		}
	}
	if cfg.TLS == nil {
		cfg.TLS = newTLS(t, gatewayTLS(true))
	}
	if cfg.Logger == nil && testing.Verbose() {
		cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// run runs c until the test ends.
func run(t testing.TB, c *Cluster) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
}

// discover runs one discovery and one probe sweep.
func discover(t testing.TB, c *Cluster) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Refresh(ctx); err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	c.ProbeAll(ctx)
}

// sweep probes every member once and returns the snapshot.
func sweep(t testing.TB, c *Cluster) *Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c.ProbeAll(ctx)
	return c.Snapshot()
}

// agentMember returns the snapshot's member for a simulated agent.
func agentMember(t testing.TB, s *Snapshot, id string) *Member {
	t.Helper()
	for _, m := range s.Agents {
		if m.ID == id {
			return m
		}
	}
	t.Fatalf("agent %s is not in the snapshot (%d agents)", id, len(s.Agents))
	return nil
}

// freezer dials real connections and can freeze the ones open so far:
// their reads block and their writes fail, as over a partition that
// neither closes nor answers.
type freezer struct {
	mu    sync.Mutex
	conns []*freezable
}

func (f *freezer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	fc := &freezable{Conn: conn, closed: make(chan struct{})}
	f.mu.Lock()
	f.conns = append(f.conns, fc)
	f.mu.Unlock()
	return fc, nil
}

func (f *freezer) freeze() {
	f.mu.Lock()
	defer f.mu.Unlock()
	for _, c := range f.conns {
		c.frozen.Store(true)
	}
}

type freezable struct {
	net.Conn
	frozen atomic.Bool
	closed chan struct{}
	once   sync.Once
}

func (c *freezable) Read(p []byte) (int, error) {
	if !c.frozen.Load() {
		n, err := c.Conn.Read(p)
		if !c.frozen.Load() {
			return n, err
		}
	}
	<-c.closed
	return 0, net.ErrClosed
}

func (c *freezable) Write(p []byte) (int, error) {
	if c.frozen.Load() {
		return 0, errors.New("frozen connection")
	}
	return c.Conn.Write(p)
}

func (c *freezable) Close() error {
	c.once.Do(func() { close(c.closed) })
	return c.Conn.Close()
}
