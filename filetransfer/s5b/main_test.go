package s5b

import (
	"testing"

	"go.uber.org/goleak"
)

// Every listener, dialer and negotiation goroutine must be gone once the
// handles are closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
