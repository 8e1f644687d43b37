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

// TestPayloadTrackWriteRTP: an echo's write keeps the packet's sequence
// number, timestamp, marker and payload and takes the binding's SSRC and
// payload type, bound once (straight to the stream) and bound twice
// (pion's loop) alike; before Bind it is dropped without error.
func TestPayloadTrackWriteRTP(t *testing.T) {
	tr, err := NewPayloadTrack(CodecOpus, "audio", "s")
	if err != nil {
		t.Fatal(err)
	}
	pkt := func(seq uint16, ts uint32, marker bool, b byte) *pionrtp.Packet {
		return &pionrtp.Packet{Header: pionrtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts, Marker: marker, SSRC: 42, PayloadType: 100}, Payload: []byte{b, b}}
	}
	if err := tr.WriteRTP(pkt(1, 100, true, 1)); err != nil {
		t.Fatal(err)
	}
	a := &fakeBinding{id: "a", ssrc: 1111, pt: 111}
	if _, err := tr.Bind(a); err != nil {
		t.Fatal(err)
	}
	if err := tr.WriteRTP(pkt(65535, 4294967000, true, 2)); err != nil {
		t.Fatal(err)
	}
	if err := tr.WriteRTP(pkt(0, 664, false, 3)); err != nil {
		t.Fatal(err)
	}
	b := &fakeBinding{id: "b", ssrc: 2222, pt: 96}
	if _, err := tr.Bind(b); err != nil {
		t.Fatal(err)
	}
	if err := tr.WriteRTP(pkt(1, 1624, false, 4)); err != nil {
		t.Fatal(err)
	}
	want := []struct {
		seq    uint16
		ts     uint32
		marker bool
		b      byte
	}{{65535, 4294967000, true, 2}, {0, 664, false, 3}, {1, 1624, false, 4}}
	pa, pb := a.packets(), b.packets()
	if len(pa) != 3 || len(pb) != 1 {
		t.Fatalf("a got %d packets (want 3), b %d (want 1)", len(pa), len(pb))
	}
	for i, p := range pa {
		w := want[i]
		if p.SequenceNumber != w.seq || p.Timestamp != w.ts || p.Marker != w.marker || !bytes.Equal(p.Payload, []byte{w.b, w.b}) {
			t.Errorf("a's packet %d: %+v, want seq %d ts %d marker %v payload %d", i, p, w.seq, w.ts, w.marker, w.b)
		}
		if p.SSRC != 1111 || p.PayloadType != 111 {
			t.Errorf("a's packet %d: SSRC %d PT %d, want 1111, 111", i, p.SSRC, p.PayloadType)
		}
	}
	if p := pb[0]; p.SequenceNumber != 1 || p.Timestamp != 1624 || p.SSRC != 2222 || p.PayloadType != 96 {
		t.Errorf("b's packet %+v, want seq 1 ts 1624 SSRC 2222 PT 96", p)
	}
}
