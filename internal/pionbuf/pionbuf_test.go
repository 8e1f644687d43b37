package pionbuf

import (
	"errors"
	"testing"

	"github.com/pion/transport/v4/packetio"
)

// A buffer that pion limits to 1 MB, as its mux and ICE agent do, takes
// Floor bytes after Apply (and fails without the patched transport).
func TestApplyRaisesPionsLimit(t *testing.T) {
	defer packetio.SetLimitSizeFloor(0)
	Apply()
	b := packetio.NewBuffer()
	b.SetLimitSize(1000 * 1000) // webrtc's internal/mux maxBufferSize
	packet := make([]byte, 1200)
	n := 0
	for ; ; n += len(packet) {
		if _, err := b.Write(packet); err != nil {
			if !errors.Is(err, packetio.ErrFull) {
				t.Fatal(err)
			}
			break
		}
	}
	if n < Floor*9/10 {
		t.Errorf("a 1 MB-limited buffer took %d bytes after Apply, want about %d", n, Floor)
	}
}
