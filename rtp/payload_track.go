package rtp

import (
	"math/rand/v2"
	"sync/atomic"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// PayloadTrack is a local audio track for a sender that already has one
// encoded frame per packet, such as a conference mix: WritePayload makes
// the RTP header and hands the packet to the call's stream.
//
// Why not pion's TrackLocalStaticSample: for each frame it runs a
// packetizer (a slice and a packet allocated, the payload copied), then
// TrackLocalStaticRTP copies the packet once per binding under a lock.
// On a conference focus, where every participant gets a mix every 20 ms,
// that was about 5% of the process at 300 participants (docs/BENCHMARKS.md,
// conference run 16). A PayloadTrack bound once, as a call's track is,
// writes its header straight to the binding's stream: the interceptors,
// and rtp's direct send (direct_send.go) first of them, see the same
// packet as before. Bound to several PeerConnections at once (pion
// allows it) it falls back to TrackLocalStaticRTP's loop.
//
// One goroutine writes; Bind and Unbind may run concurrently with it.
type PayloadTrack struct {
	*webrtc.TrackLocalStaticRTP
	clock   uint32 // the codec's RTP clock rate
	binding atomic.Pointer[payloadBinding]
	bound   atomic.Int32 // bindings; the direct write needs exactly one
	// direct is the direct send of the one PeerConnection the track is
	// added to (nil: none, or not audio), set before it is bound.
	direct *directTx

	// Owned by the writer.
	seq     uint16
	ts      uint32
	started bool
	// hdr is each packet's header in turn: the writers below the track
	// (interceptors, SRTP, the direct send) are done with it when
	// WriteRTP returns, so it need not be allocated per packet.
	hdr pionrtp.Header
}

// payloadBinding is what a write needs of the one binding.
type payloadBinding struct {
	id     string
	ssrc   uint32
	pt     uint8
	stream webrtc.TrackLocalWriter
}

// NewPayloadTrack returns a track for codec c, with ids as pion's.
func NewPayloadTrack(c webrtc.RTPCodecCapability, id, streamID string) (*PayloadTrack, error) {
	t, err := webrtc.NewTrackLocalStaticRTP(c, id, streamID)
	if err != nil {
		return nil, err
	}
	return &PayloadTrack{TrackLocalStaticRTP: t, clock: c.ClockRate, seq: uint16(rand.Uint32()), ts: rand.Uint32()}, nil
}

// Bind implements webrtc.TrackLocal: pion's codec choice, and the
// binding kept for WritePayload.
func (t *PayloadTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	c, err := t.TrackLocalStaticRTP.Bind(ctx)
	if err != nil {
		return c, err
	}
	if t.bound.Add(1) == 1 {
		t.binding.Store(&payloadBinding{id: ctx.ID(), ssrc: uint32(ctx.SSRC()), pt: uint8(c.PayloadType), stream: ctx.WriteStream()})
	} else {
		t.binding.Store(nil)
	}
	return c, nil
}

// Unbind implements webrtc.TrackLocal.
func (t *PayloadTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	err := t.TrackLocalStaticRTP.Unbind(ctx)
	if err == nil {
		t.bound.Add(-1)
		// A binding that remains is found again by the fallback's next
		// write; the direct one is only for the single binding.
		t.binding.Store(nil)
	}
	return err
}

// WritePayload sends one encoded frame of duration d as one RTP packet.
// Before Bind the frame is dropped, as pion's tracks do; the sequence
// number and timestamp advance either way, so a receiver sees the gap.
func (t *PayloadTrack) WritePayload(payload []byte, d time.Duration) error {
	h := pionrtp.Header{
		Version:        2,
		Marker:         !t.started, // the first packet sent starts a talkspurt (RFC 3551 §4.1)
		SequenceNumber: t.seq,
		Timestamp:      t.ts,
	}
	t.seq++
	t.ts += uint32(int64(d) * int64(t.clock) / int64(time.Second))
	if b := t.binding.Load(); b != nil {
		t.started = true
		h.SSRC, h.PayloadType = b.ssrc, b.pt
		t.hdr = h
		return t.writeBound(b, payload)
	}
	if t.bound.Load() == 0 {
		return nil
	}
	t.started = true
	return t.TrackLocalStaticRTP.WriteRTP(&pionrtp.Packet{Header: h, Payload: payload})
}

// WriteRTP sends p as it is but for the binding's SSRC and payload type,
// as pion's TrackLocalStaticRTP does: the echo's write, which keeps the
// caller's sequence numbers and timestamps. Bound once, it goes straight
// to the binding's stream, past pion's per-packet lock, binding loop and
// pooled packet copy (3.6% of jingled's CPU at 1000 echo calls). It
// shares the header with WritePayload: a track is written one way, by
// one goroutine at a time.
func (t *PayloadTrack) WriteRTP(p *pionrtp.Packet) error {
	b := t.binding.Load()
	if b == nil {
		return t.TrackLocalStaticRTP.WriteRTP(p)
	}
	t.hdr = p.Header
	t.hdr.SSRC, t.hdr.PayloadType = b.ssrc, b.pt
	if p.PaddingSize != 0 && t.hdr.PaddingSize == 0 { // as pion's writeRTP carries it
		t.hdr.PaddingSize = p.PaddingSize
	}
	return t.writeBound(b, p.Payload)
}

// writeBound writes t.hdr and payload to the one binding's stream. An
// audio track of a PeerConnection with a direct send tries that first:
// it is the outermost interceptor of the stream (direct_send.go), so
// calling it here does what the stream's writer would, without pion's
// writer, the interceptor chain's call and its closure, whose memory is
// cold at every packet when a thousand calls take turns (4.6% of
// jingled's CPU at 1000 echo calls). What it does not send (not armed
// yet, a relayed pair) goes down the stream as before, and the direct
// send, asked again there, declines again: it only follows the
// sequence number, which a second look at the same one leaves as is.
func (t *PayloadTrack) writeBound(b *payloadBinding, payload []byte) error {
	if t.direct != nil && t.direct.send(&t.hdr, payload) {
		return nil
	}
	_, err := b.stream.WriteRTP(&t.hdr, payload)
	return err
}

// sendDirect makes tx, the direct send of the PeerConnection t is about
// to be added to, t's shortcut; only for audio, which tx handles.
func (t *PayloadTrack) sendDirect(tx *directTx) {
	if tx != nil && t.Kind() == webrtc.RTPCodecTypeAudio {
		t.direct = tx
	}
}
