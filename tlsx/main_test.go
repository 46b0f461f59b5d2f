package tlsx

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a test leaves a goroutine behind: every
// Context.Close and listener Close must end what it started.
//
// One exception: certmagic's FileStorage refreshes each lock file it holds
// from a goroutine that wakes every 5 seconds and ends at its first wake
// after the lock is released (filestorage.go, keepLockfileFresh), so it
// outlives every ManagedSource.Close by up to 5 seconds, by design.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m, goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.keepLockfileFresh"))
}
