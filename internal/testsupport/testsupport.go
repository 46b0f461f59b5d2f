// Package testsupport is what mesosgate's tests share across packages: a
// log buffer safe for concurrent writers, waiting on a condition with a
// deadline (never a sleep as synchronisation), the goroutine-leak check
// every package's TestMain runs, the rule for a missing command-line
// peer (skip outside CI, fail under CI=true), the ACME peers (Pebble
// and a DNS server for its validation, pebble.go) and an OpenID Provider
// (oidc.go). It is imported by tests only.
package testsupport

import (
	"bytes"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"os"
	"os/exec"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"
)

// Buffer is a bytes.Buffer safe for a logger or a child process writing
// while a test reads. The zero value is ready to use.
type Buffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

// Write appends p.
func (b *Buffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

// WriteString appends s.
func (b *Buffer) WriteString(s string) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.WriteString(s)
}

// String returns everything written so far.
func (b *Buffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// DefaultWait is how long Eventually waits when given no timeout.
const DefaultWait = 20 * time.Second

// Eventually checks cond every few milliseconds until it holds, failing
// the test with what it waited for once timeout passes (zero means
// DefaultWait).
func Eventually(tb testing.TB, what string, timeout time.Duration, cond func() bool) {
	tb.Helper()
	if timeout <= 0 {
		timeout = DefaultWait
	}
	deadline := time.Now().Add(timeout)
	for pause := time.Millisecond; !cond(); pause = min(2*pause, 50*time.Millisecond) {
		if time.Now().After(deadline) {
			tb.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(pause)
	}
}

// leakExceptions are goroutines that outlive their owner by design:
//   - certmagic's FileStorage refreshes each lock file it holds from a
//     goroutine that wakes every 5 seconds and ends at its first wake
//     after the lock is released (filestorage.go, keepLockfileFresh).
//   - certmagic's ACME client keeps one rate limiter per directory and
//     account for the life of the process (acmeclient.go, rateLimiters).
//   - certmagic renews a certificate a handshake finds in its renewal
//     window from a goroutine of its own, under a context of its own
//     bounded by 5 minutes, which a source's Close does not end
//     (handshake.go, renewDynamicCertificate); a renewal failing as its
//     test ends retries for a while (seen in about one tlsx run in ten).
var leakExceptions = []goleak.Option{
	goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.keepLockfileFresh"),
	goleak.IgnoreAnyFunction("github.com/caddyserver/certmagic.(*Config).renewDynamicCertificate.func2"),
	goleak.IgnoreTopFunction("github.com/caddyserver/certmagic.(*RingBufferRateLimiter).permit"),
}

// Main runs a package's tests between setup and teardown, then fails the
// run when a goroutine outlives them (goleak, which retries for a while
// so that goroutines ending on their own are not counted). setup may be
// nil; it returns the teardown (nil for none) or an error that ends the
// run. Use it as the whole TestMain:
//
//	func TestMain(m *testing.M) { testsupport.Main(m, setup) }
func Main(m *testing.M, setup func() (teardown func(), err error)) {
	os.Exit(run(m, setup))
}

func run(m *testing.M, setup func() (func(), error)) int {
	teardown := func() {}
	if setup != nil {
		down, err := setup()
		if down != nil {
			teardown = down
		}
		if err != nil {
			teardown()
			fmt.Fprintln(os.Stderr, "test setup:", err)
			return 1
		}
	}
	code := m.Run()
	teardown() // before the leak check: what it stops is no leak
	if code != 0 {
		return code
	}
	if err := goleak.Find(leakExceptions...); err != nil {
		fmt.Fprintln(os.Stderr, "goroutines leaked:", err)
		return 1
	}
	return 0
}

// InCI reports whether the tests run in CI (CI=true), where a missing
// peer fails a test instead of skipping it: CI must never pass by not
// looking.
func InCI() bool { return os.Getenv("CI") == "true" }

// Missing skips the test because what it needs is not installed, or
// fails it under CI=true. install says how to get it ("apt-get install
// openssl"; make test installs every peer).
func Missing(tb testing.TB, what, install string) {
	tb.Helper()
	if InCI() {
		tb.Fatalf("%s is not installed and CI=true: make test installs it (%s)", what, install)
	}
	tb.Skipf("%s is not installed: skipping (run make test, or %s)", what, install)
}

// Command returns the path of a command-line peer a test drives (openssl,
// curl, ...), skipping the test when it is missing (Missing). pkg is its
// Debian package.
func Command(tb testing.TB, name, pkg string) string {
	tb.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		Missing(tb, name, "apt-get install "+pkg)
	}
	return p
}

// ReadCert parses the first certificate of a PEM file, failing the test
// when there is none.
func ReadCert(tb testing.TB, path string) *x509.Certificate {
	tb.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		tb.Fatal(err)
	}
	block, _ := pem.Decode(b)
	if block == nil {
		tb.Fatalf("%s holds no PEM", path)
	}
	c, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		tb.Fatal(err)
	}
	return c
}
