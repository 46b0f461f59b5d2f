package zookeeper

import (
	"fmt"
	"os"
	"testing"

	"go.uber.org/goleak"

	"github.com/mesosgate/mesosgate/zookeeper/zktest"
)

// zkServer is the package's one ZooKeeper server, started by the first
// test that needs it (zkServer.Server(t)) and stopped after the last.
// Tests on it use paths of their own (zktest.Path); the tests that stop or
// restart ZooKeeper start servers of their own.
var zkServer zktest.Shared

func TestMain(m *testing.M) {
	code := m.Run()
	if err := zkServer.Close(); err != nil {
		fmt.Fprintln(os.Stderr, err)
		code = 1
	}
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
			code = 1
		}
	}
	os.Exit(code)
}
