package datachannel

import (
	"testing"
	"time"
)

func TestWriteMarks(t *testing.T) {
	for _, c := range []struct {
		rtt       time.Duration
		high, low uint64
	}{
		{0, 8 << 20, 4 << 20},                        // unknown: as for the longest path
		{200 * time.Microsecond, 1 << 20, 512 << 10}, // loopback, LAN: the floor
		{5 * time.Millisecond, 1 << 20, 512 << 10},   // 1 MB needed
		{10 * time.Millisecond, 2e6, 1e6},            // 2 x 100 MB/s x 10 ms
		{20 * time.Millisecond, 4e6, 2e6},            // 2 x 100 MB/s x 20 ms
		{50 * time.Millisecond, 8 << 20, 4 << 20},    // twice the window
		{time.Second, 8 << 20, 4 << 20},
	} {
		high, low := writeMarks(c.rtt)
		if high != c.high || low != c.low {
			t.Errorf("writeMarks(%v) = %d, %d; want %d, %d", c.rtt, high, low, c.high, c.low)
		}
	}
	// The largest mark must not be what bounds a round trip: above the
	// receive window.
	if high, _ := writeMarks(0); high <= receiveWindow {
		t.Errorf("the largest high mark %d is not above the receive window %d", high, receiveWindow)
	}
}
