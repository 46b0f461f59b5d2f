package server

import (
	"context"
	"io"
	"net"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"

	"github.com/mesosgate/mesosgate/e2e/sim"
	"github.com/mesosgate/mesosgate/upstream"
	"github.com/mesosgate/mesosgate/zookeeper"
)

// TestHealth: /gateway/healthz answers from the start; /gateway/readyz
// answers 503 while the first discovery is under way and while no master
// has answered, and 200 once one has, the same moment proxied requests
// stop waiting.
func TestHealth(t *testing.T) {
	c, err := sim.Start(sim.Options{PKI: testPKI, Modes: []sim.Mode{sim.Plain}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadAddr := refused.Addr().String()
	refused.Close() // a port nothing listens on

	tests := []struct {
		name    string
		masters []string
		// hold keeps the first discovery's connections waiting until
		// the test lets them go.
		hold     bool
		notReady string
		ready    bool
	}{
		{"discovering", []string{c.Leader().Addr()}, true, "the first discovery has not finished", true},
		{"no master answers", []string{deadAddr}, false, "no master has answered yet", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			var once sync.Once
			let := func() { once.Do(func() { close(release) }) }
			t.Cleanup(let)
			var ms []upstream.Master
			for _, m := range tt.masters {
				ms = append(ms, upstream.Master{Address: m})
			}
			dialer := &net.Dialer{Timeout: 2 * time.Second}
			cluster, err := upstream.New(upstream.Config{Masters: ms, ProbeTimeout: 2 * time.Second, Refresh: time.Hour, DiscoveryWait: 50 * time.Millisecond,
				Dial: func(ctx context.Context, network, addr string) (net.Conn, error) {
					if tt.hold {
						select {
						case <-release:
						case <-ctx.Done():
							return nil, ctx.Err()
						}
					}
					return dialer.DialContext(ctx, network, addr)
				}})
			if err != nil {
				t.Fatal(err)
			}
			get := serveCluster(t, cluster)
			if !tt.hold {
				// Let the first discovery fail before asking.
				if err := cluster.Wait(context.Background()); err == nil {
					t.Fatal("discovery with no master answering succeeded")
				}
			}
			if code, body := get("/gateway/healthz"); code != 200 || body != "ok\n" {
				t.Errorf("healthz: %d %q", code, body)
			}
			code, body := get("/gateway/readyz")
			if code != 503 || !strings.Contains(body, tt.notReady) {
				t.Errorf("readyz before: %d %q, want 503 saying %q", code, body, tt.notReady)
			}
			if code, _ := get("/master/state"); code != 503 {
				t.Errorf("a proxied request before: %d, want 503", code)
			}
			if !tt.ready {
				return
			}
			let()
			testsupport.Eventually(t, "readyz 200", 10*time.Second, func() bool {
				code, body := get("/gateway/readyz")
				return code == 200 && body == "ready\n"
			})
			if code, _ := get("/master/state"); code != 200 {
				t.Errorf("a proxied request once ready: %d", code)
			}
		})
	}
}

// TestReadyZooKeeperUnreachable: with the masters named by a ZooKeeper
// group that cannot be reached, readyz answers 503 saying so at once, a
// proxied request does not wait for discovery, and the dashboard says
// why, without the URL's password.
func TestReadyZooKeeperUnreachable(t *testing.T) {
	refused, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	dead := refused.Addr().String()
	refused.Close()
	u, err := zookeeper.ParseURL("zk://mesos:hunter2@" + dead + "/mesos")
	if err != nil {
		t.Fatal(err)
	}
	cluster, err := upstream.New(upstream.Config{ZooKeeper: &u})
	if err != nil {
		t.Fatal(err)
	}
	get := serveCluster(t, cluster)
	testsupport.Eventually(t, "readyz naming ZooKeeper", 10*time.Second, func() bool {
		code, body := get("/gateway/readyz")
		return code == 503 && strings.Contains(body, "the masters' ZooKeeper group cannot be read")
	})
	start := time.Now()
	if code, _ := get("/master/state"); code != 503 || time.Since(start) > 5*time.Second {
		t.Errorf("a proxied request: %d after %s, want 503 at once", code, time.Since(start))
	}
	_, page := get("/gateway/")
	if !strings.Contains(page, "The masters&#39; ZooKeeper group cannot be read: ZooKeeper unreachable") || strings.Contains(page, "hunter2") {
		t.Errorf("the dashboard does not say why, or shows the password:\n%s", page)
	}
}

// serveCluster runs cluster behind the gateway's handler on an httptest
// server until the test ends, and returns a GET of a path on it.
func serveCluster(t *testing.T, cluster *upstream.Cluster) func(path string) (int, string) {
	t.Helper()
	gw, err := New(Options{Cluster: cluster})
	if err != nil {
		t.Fatal(err)
	}
	front := httptest.NewServer(gw)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); cluster.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
		front.Close()
		cluster.Close()
	})
	return func(path string) (int, string) {
		t.Helper()
		resp, err := front.Client().Get(front.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
}
