package datachannel

import (
	"context"
	"fmt"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestICEServerSource: the source is asked for each new PeerConnection,
// and the servers it returns are used: a STUN binding request reaches the
// (loopback) STUN address it names.
func TestICEServerSource(t *testing.T) {
	stun, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer stun.Close()
	var calls atomic.Int32
	url := fmt.Sprintf("stun:%s", stun.LocalAddr())
	// The test STUN server never answers: keep gathering short.
	tr := New(WithLoopbackOnly(), WithGatherTimeout(300*time.Millisecond), WithICEServerSource(func() []webrtc.ICEServer {
		calls.Add(1)
		return []webrtc.ICEServer{{URLs: []string{url}}}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range 2 {
		h := tr.newHandle(sess{romeo, juliet, true}, "a-file-offer")
		if _, err := h.Local(ctx); err != nil {
			t.Fatal(err)
		}
		_ = h.Close()
		if got := calls.Load(); got != int32(i+1) {
			t.Fatalf("source asked %d times after %d PeerConnections", got, i+1)
		}
	}
	_ = stun.SetReadDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, _, err := stun.ReadFrom(buf)
	if err != nil {
		t.Fatalf("no STUN request reached the source's server: %v", err)
	}
	// A STUN message starts with a zero two-bit prefix and carries the
	// magic cookie 0x2112A442 at bytes 4..8 (RFC 8489 §5).
	if n < 20 || buf[4] != 0x21 || buf[5] != 0x12 || buf[6] != 0xA4 || buf[7] != 0x42 {
		t.Fatalf("not a STUN message: % x", buf[:min(n, 20)])
	}
}
