package main

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a command leaves a goroutine behind once it
// returned: demo and serve stop their cluster, listeners and streams.
// certmagic's lock file refresher is the one exception: it ends at its
// first wake (every 5 seconds) after the lock is released, so it outlives
// the internal certificate source's Close by up to 5 seconds (as
// tlsx/main_test.go explains).
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.keepLockfileFresh"))
}
