package datachannel

import (
	"testing"

	"go.uber.org/goleak"
)

// pion must have stopped every goroutine of a closed PeerConnection.
func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }
