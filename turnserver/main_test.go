package turnserver

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine the relay, pion/turn and the test clients start must be
// gone when the tests end: Close waits for them.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}
