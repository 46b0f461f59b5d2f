package main

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mesosgate/mesosgate/internal/testsupport"
	"github.com/mesosgate/mesosgate/zookeeper"
	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// TestSimZK: `mesosgate sim --zk` registers the masters in ZooKeeper, and
// the leader it prints is the one ZooKeeper elects.
func TestSimZK(t *testing.T) {
	srv := zkServer.Server(t)
	url := srv.URL(zktest.Path(t))
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var stdout, stderr testsupport.Buffer
	done := make(chan int, 1)
	go func() {
		done <- simCommand(ctx, []string{"--masters", "2", "--agents", "1", "--modes", "plain", "--zk", url}, nil, &stdout, &stderr)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for !strings.Contains(stdout.String(), "Running until interrupted") {
		select {
		case code := <-done:
			t.Fatalf("exited %d before running: %s %s", code, stdout.String(), stderr.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no cluster after 60s; output: %s", stdout.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	out := stdout.String()
	if !strings.Contains(out, "Masters registered in ZooKeeper: "+url) {
		t.Errorf("output does not name the ZooKeeper group:\n%s", out)
	}
	leaderID := regexp.MustCompile(`(?m)^leader +\S+ +\S+ +(\S+)$`).FindStringSubmatch(out)
	u, _ := zookeeper.ParseURL(url)
	rctx, rcancel := context.WithTimeout(ctx, 20*time.Second)
	defer rcancel()
	g, err := zookeeper.Read(rctx, u, zookeeper.Options{})
	l, ok := g.Leader()
	if err != nil || !ok || leaderID == nil || l.ID != leaderID[1] || len(g.Masters) != 2 {
		t.Errorf("ZooKeeper's group %v (%v), printed leader %v", g, err, leaderID)
	}
	cancel()
	if code := <-done; code != 0 {
		t.Errorf("exit status %d; stderr %s", code, stderr.String())
	}
}
