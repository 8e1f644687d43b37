package rtp

import (
	"bytes"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// fakeBinding is a TrackLocalContext whose stream records what it gets.
type fakeBinding struct {
	id   string
	ssrc webrtc.SSRC
	pt   webrtc.PayloadType

	mu  sync.Mutex
	got []pionrtp.Packet
}

func (b *fakeBinding) CodecParameters() []webrtc.RTPCodecParameters {
	return []webrtc.RTPCodecParameters{{RTPCodecCapability: CodecOpus, PayloadType: b.pt}}
}
func (b *fakeBinding) HeaderExtensions() []webrtc.RTPHeaderExtensionParameter { return nil }
func (b *fakeBinding) SSRC() webrtc.SSRC                                      { return b.ssrc }
func (b *fakeBinding) SSRCRetransmission() webrtc.SSRC                        { return 0 }
func (b *fakeBinding) SSRCForwardErrorCorrection() webrtc.SSRC                { return 0 }
func (b *fakeBinding) WriteStream() webrtc.TrackLocalWriter                   { return b }
func (b *fakeBinding) ID() string                                             { return b.id }
func (b *fakeBinding) RTCPReader() interceptor.RTCPReader                     { return nil }

func (b *fakeBinding) WriteRTP(h *pionrtp.Header, payload []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.got = append(b.got, pionrtp.Packet{Header: *h, Payload: bytes.Clone(payload)})
	return len(payload), nil
}
func (b *fakeBinding) Write([]byte) (int, error) { return 0, nil }

func (b *fakeBinding) packets() []pionrtp.Packet {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]pionrtp.Packet(nil), b.got...)
}

// TestPayloadTrack: one packet per frame with the binding's SSRC and
// payload type, sequence numbers and timestamps that run on through
// drops before Bind and through a second binding (pion's loop), and a
// marker on the first packet only.
func TestPayloadTrack(t *testing.T) {
	tr, err := NewPayloadTrack(CodecOpus, "audio", "s")
	if err != nil {
		t.Fatal(err)
	}
	frame := 20 * time.Millisecond
	if err := tr.WritePayload([]byte{1}, frame); err != nil { // before Bind: dropped
		t.Fatal(err)
	}
	a := &fakeBinding{id: "a", ssrc: 1111, pt: 111}
	if _, err := tr.Bind(a); err != nil {
		t.Fatal(err)
	}
	for i := byte(2); i <= 4; i++ {
		if err := tr.WritePayload([]byte{i, i}, frame); err != nil {
			t.Fatal(err)
		}
	}
	b := &fakeBinding{id: "b", ssrc: 2222, pt: 96}
	if _, err := tr.Bind(b); err != nil {
		t.Fatal(err)
	}
	if err := tr.WritePayload([]byte{5}, frame); err != nil { // both bindings
		t.Fatal(err)
	}
	if err := tr.Unbind(a); err != nil {
		t.Fatal(err)
	}
	if err := tr.WritePayload([]byte{6}, frame); err != nil { // b alone, by the fallback
		t.Fatal(err)
	}

	pa, pb := a.packets(), b.packets()
	if len(pa) != 4 || len(pb) != 2 {
		t.Fatalf("a got %d packets (want 4), b %d (want 2)", len(pa), len(pb))
	}
	first := pa[0]
	if first.Payload[0] != 2 || !first.Marker || first.SSRC != 1111 || first.PayloadType != 111 || first.Version != 2 {
		t.Errorf("first packet %+v, want payload 2, marker, SSRC 1111, PT 111", first)
	}
	check := func(name string, ps []pionrtp.Packet, ssrc uint32, pt uint8) {
		for _, p := range ps {
			k := int(p.Payload[0]) - 2 // frames written since the first bound one
			if p.SequenceNumber != first.SequenceNumber+uint16(k) || p.Timestamp != first.Timestamp+uint32(960*k) {
				t.Errorf("%s: frame %d has seq %d ts %d, want %d, %d", name, k+2, p.SequenceNumber, p.Timestamp,
					first.SequenceNumber+uint16(k), first.Timestamp+uint32(960*k))
			}
			if p.SSRC != ssrc || p.PayloadType != pt {
				t.Errorf("%s: frame %d SSRC %d PT %d, want %d, %d", name, k+2, p.SSRC, p.PayloadType, ssrc, pt)
			}
			if k > 0 && p.Marker {
				t.Errorf("%s: marker on frame %d", name, k+2)
			}
		}
	}
	check("a", pa, 1111, 111)
	check("b", pb, 2222, 96)
}
