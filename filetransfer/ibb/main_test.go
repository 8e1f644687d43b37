package ibb

import (
	"testing"

	"go.uber.org/goleak"
)

// Every stream goroutine must be gone once the handles are closed.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
