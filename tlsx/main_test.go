package tlsx

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a test leaves a goroutine behind: every
// Context.Close and listener Close must end what it started.
//
// Two exceptions, both certmagic's by design and bounded:
//   - FileStorage refreshes each lock file it holds from a goroutine that
//     wakes every 5 seconds and ends at its first wake after the lock is
//     released (filestorage.go, keepLockfileFresh), so it outlives
//     ManagedSource.Close by up to 5 seconds.
//   - The ACME client keeps one rate limiter per directory and account
//     for the life of the process (acmeclient.go, rateLimiters; "TODO:
//     stop rate limiter"): one goroutine per ACME CA a process has used.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.keepLockfileFresh"),
		goleak.IgnoreTopFunction("github.com/caddyserver/certmagic.(*RingBufferRateLimiter).permit"))
}
