package access

import (
	"testing"

	"go.uber.org/goleak"
)

// TestMain fails the run when a test leaves a goroutine behind: the
// classifier's body reader, the OpenID Provider and the TLS servers the
// tests start must all be gone when the tests end.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
