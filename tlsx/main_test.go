package tlsx

import (
	"testing"

	"github.com/mesosgate/mesosgate/internal/testsupport"
)

// TestMain fails the run when a test leaves a goroutine behind: every
// Context.Close and listener Close must end what it started (certmagic's
// own long-lived goroutines excepted, as testsupport explains).
func TestMain(m *testing.M) { testsupport.Main(m, nil) }
