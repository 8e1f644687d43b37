package datachannel

import (
	"testing"

	"go.uber.org/goleak"

	"github.com/jingled/jingled/internal/pionbuf"
)

// pion must have stopped every goroutine of a closed PeerConnection.
// pion's datagram buffers as the binaries set them (internal/pionbuf).
func TestMain(m *testing.M) {
	pionbuf.Apply()
	goleak.VerifyTestMain(m)
}

// pionbuf's floor covers what a peer may have in flight: the window, the
// DTLS and packetio overhead on each datagram, and the retransmissions.
func TestBufferFloorCoversWindow(t *testing.T) {
	if pionbuf.Floor < 2*receiveWindow {
		t.Errorf("pionbuf.Floor %d is below twice the SCTP receive window %d: a full window can overflow pion's datagram buffers", pionbuf.Floor, receiveWindow)
	}
}
