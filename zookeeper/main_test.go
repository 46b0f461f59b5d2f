package zookeeper

import (
	"testing"

	"github.com/mesosgate/mesosgate/internal/testsupport"
	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// zkServer is the package's one ZooKeeper server, started by the first
// test that needs it (zkServer.Server(t)) and stopped after the last.
// Tests on it use paths of their own (zktest.Path); the tests that stop or
// restart ZooKeeper start servers of their own.
var zkServer zktest.Shared

func TestMain(m *testing.M) { testsupport.Main(m, zkServer.Setup) }
