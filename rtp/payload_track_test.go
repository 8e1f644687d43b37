package rtp

import (
	"bytes"
	"net/netip"
	"sync"
	"testing"
	"time"

	"github.com/pion/interceptor"
	pionrtp "github.com/pion/rtp"
	"github.com/pion/srtp/v3"
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

// capturingWriter is a socket for directTx that keeps what it is given.
type capturingWriter struct {
	got [][]byte
	to  []netip.AddrPort
}

func (w *capturingWriter) WriteToAddrPort(b []byte, to netip.AddrPort) (int, error) {
	w.got = append(w.got, bytes.Clone(b))
	w.to = append(w.to, to)
	return len(b), nil
}

// TestPayloadTrackDirectSend: an audio track with its PeerConnection's
// direct send writes through it, encrypted with the direct context for
// the binding's SSRC and payload type, and never reaches the stream;
// while the direct send declines (not armed), packets go down the stream
// as before, and the direct send still follows their sequence numbers.
func TestPayloadTrackDirectSend(t *testing.T) {
	key, salt := make([]byte, 16), make([]byte, 12)
	enc, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := srtp.CreateContext(key, salt, srtp.ProtectionProfileAeadAes128Gcm)
	if err != nil {
		t.Fatal(err)
	}
	tr, err := NewPayloadTrack(CodecOpus, "audio", "s")
	if err != nil {
		t.Fatal(err)
	}
	tx := newDirectTx(func(netip.AddrPort) addrPortWriter { return nil })
	tr.sendDirect(tx)
	if tr.direct != tx {
		t.Fatal("an audio track does not take its PeerConnection's direct send")
	}
	video, err := NewPayloadTrack(CodecVP8, "video", "s")
	if err != nil {
		t.Fatal(err)
	}
	if video.sendDirect(tx); video.direct != nil {
		t.Fatal("a video track took the direct send, which handles audio only")
	}
	a := &fakeBinding{id: "a", ssrc: 1111, pt: 111}
	if _, err := tr.Bind(a); err != nil {
		t.Fatal(err)
	}
	pkt := func(seq uint16, b byte) *pionrtp.Packet {
		return &pionrtp.Packet{Header: pionrtp.Header{Version: 2, SequenceNumber: seq, Timestamp: uint32(seq) * 960, SSRC: 42, PayloadType: 100}, Payload: []byte{b, b, b}}
	}
	// Not armed: the stream gets it.
	if err := tr.WriteRTP(pkt(65535, 1)); err != nil {
		t.Fatal(err)
	}
	if n := len(a.packets()); n != 1 {
		t.Fatalf("the stream got %d packets before the direct send was armed, want 1", n)
	}
	// Armed, with a selected pair on a socket of ours.
	sock := &capturingWriter{}
	remote := netip.MustParseAddrPort("127.0.0.1:5004")
	tx.mu.Lock()
	tx.srtp, tx.conn, tx.remote, tx.checked = enc, sock, remote, time.Now()
	tx.mu.Unlock()
	if err := tr.WriteRTP(pkt(0, 2)); err != nil {
		t.Fatal(err)
	}
	if n := len(a.packets()); n != 1 {
		t.Fatalf("the stream got %d packets, want still 1: the armed direct send takes them", n)
	}
	if len(sock.got) != 1 || sock.to[0] != remote {
		t.Fatalf("the socket got %d packets to %v, want 1 to %v", len(sock.got), sock.to, remote)
	}
	// The direct context took over at the rollover counter the stream
	// reached: seq 65535 then 0 wrapped once.
	if roc, _ := enc.ROC(1111); roc != 1 {
		t.Errorf("direct context's rollover counter %d, want 1", roc)
	}
	dec.SetROC(1111, 1)
	var h pionrtp.Header
	plain, err := dec.DecryptRTP(nil, sock.got[0], &h)
	if err != nil {
		t.Fatal(err)
	}
	var p pionrtp.Packet
	if err := p.Unmarshal(plain); err != nil {
		t.Fatal(err)
	}
	if p.SSRC != 1111 || p.PayloadType != 111 || p.SequenceNumber != 0 || !bytes.Equal(p.Payload, []byte{2, 2, 2}) {
		t.Errorf("sent %+v, want SSRC 1111 PT 111 seq 0 payload 2 2 2", p)
	}
	if pk, _ := tx.counts(1111); pk != 1 {
		t.Errorf("direct send counted %d packets, want 1", pk)
	}
}
