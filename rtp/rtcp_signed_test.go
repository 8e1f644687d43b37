package rtp

import (
	"testing"
	"time"

	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/rtcp"
	pionrtp "github.com/pion/rtp"
)

func TestCumulativeLost(t *testing.T) {
	for _, c := range []struct {
		in, want int64
	}{
		{0, 0}, {1, 1}, {0x7FFFFF, 8388607}, {0xFFFFFF, -1}, {0xFFFFFE, -2}, {0x800000, -8388608},
	} {
		if got := cumulativeLost(c.in); got != c.want {
			t.Errorf("cumulativeLost(%#x) = %d, want %d", c.in, got, c.want)
		}
	}
}

// TestRemoteLossNegative feeds a receiver report with cumulative loss -1
// (what Dino sends after a duplicate) through the same stats interceptor
// and holder the calls use, and reads -1, not 16777215.
func TestRemoteLossNegative(t *testing.T) {
	const ssrc = 0x1234
	f, err := stats.NewInterceptor()
	if err != nil {
		t.Fatal(err)
	}
	h := &statsHolder{}
	f.OnNewPeerConnection(func(_ string, g stats.Getter) { h.set(g) })
	i, err := f.NewInterceptor("pc")
	if err != nil {
		t.Fatal(err)
	}
	defer i.Close()
	w := i.BindLocalStream(&interceptor.StreamInfo{SSRC: ssrc, ClockRate: 48000},
		interceptor.RTPWriterFunc(func(*pionrtp.Header, []byte, interceptor.Attributes) (int, error) { return 0, nil }))
	// On the wire, -1 is the 24 bits 0xFFFFFF.
	raw, err := rtcp.Marshal([]rtcp.Packet{&rtcp.ReceiverReport{SSRC: 1, Reports: []rtcp.ReceptionReport{{
		SSRC: ssrc, TotalLost: 0xFFFFFF, LastSequenceNumber: 109,
	}}}})
	if err != nil {
		t.Fatal(err)
	}
	r := i.BindRTCPReader(interceptor.RTCPReaderFunc(func(b []byte, a interceptor.Attributes) (int, interceptor.Attributes, error) {
		return copy(b, raw), a, nil
	}))
	// The recorder starts on a goroutine of its own and drops what comes
	// before: send until the report shows.
	seq := uint16(100)
	feed := func() {
		seq++
		if _, err := w.Write(&pionrtp.Header{SSRC: ssrc, SequenceNumber: seq, PayloadType: 111}, []byte{1, 2, 3}, nil); err != nil {
			t.Fatal(err)
		}
		if _, _, err := r.Read(make([]byte, 1500), nil); err != nil {
			t.Fatal(err)
		}
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		x := h.get(ssrc)
		if x != nil && x.RemoteInboundRTPStreamStats.PacketsLost != 0 {
			if got := cumulativeLost(x.RemoteInboundRTPStreamStats.PacketsLost); got != -1 {
				t.Fatalf("remote packets lost %d (pion: %d), want -1", got, x.RemoteInboundRTPStreamStats.PacketsLost)
			}
			return
		}
		feed()
		if time.Now().After(deadline) {
			t.Fatalf("the receiver report never reached the stats: %+v", x)
		}
		time.Sleep(10 * time.Millisecond)
	}
}
