package turnserver

import (
	"testing"

	"go.uber.org/goleak"
)

// Every goroutine the relay, pion/turn's server and the test peers start
// must be gone when the tests end: Close waits for them. One exception, on
// the client side: pion's TURN client (used here as a test client) can leave
// a channel-bind transaction waiting for its result when the client is
// closed mid-bind, which the fast in-memory vnet makes likely.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m,
		goleak.IgnoreTopFunction("github.com/pion/turn/v5/internal/client.(*Transaction).WaitForResult"))
}
