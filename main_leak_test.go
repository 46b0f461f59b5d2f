package main

import (
	"testing"

	"github.com/mesosgate/mesosgate/internal/testsupport"
	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// zkServer is the package's one ZooKeeper server, started by the first
// test that asks for it; tests on it use paths of their own
// (zktest.Path).
var zkServer zktest.Shared

// TestMain fails the run when a command leaves a goroutine behind once it
// returned: demo and serve stop their cluster, listeners and streams.
func TestMain(m *testing.M) { testsupport.Main(m, zkServer.Setup) }
