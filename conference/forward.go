package conference

import (
	"time"

	pionrtp "github.com/pion/rtp"
)

// rewriter makes the packets of whichever participant a receiver is shown
// look like one continuous VP8 stream: sequence numbers, timestamps and
// picture IDs go on from where the previous speaker's stopped, so the
// receiver's jitter buffer and decoder never see a jump back or a gap.
// The SSRC and payload type are the receiver's own (pion's track binding
// writes them). It is pure state: one per receiver, used under its lock.
type rewriter struct {
	started bool
	// Offsets from the current source's numbering to the output's.
	seqOff uint16
	tsOff  uint32
	picOff uint16
	// The last packet written, for the next switch.
	lastSeq  uint16
	lastTS   uint32
	lastPic  uint16
	lastTime time.Time
}

// switchTo makes first (a key frame's first packet of the new source) the
// continuation of what was written so far.
func (w *rewriter) switchTo(first *pionrtp.Packet, d vp8Desc, now time.Time) {
	if !w.started {
		w.seqOff, w.tsOff, w.picOff = 0, 0, 0
		return
	}
	w.seqOff = w.lastSeq + 1 - first.SequenceNumber
	// Advance the clock by the wall time since the last packet (90 kHz),
	// at least one tick, so the new picture is later than the old one.
	step := uint32(now.Sub(w.lastTime) * 90 / time.Millisecond)
	if step == 0 {
		step = 1
	}
	w.tsOff = w.lastTS + step - first.Timestamp
	if d.picLen > 0 {
		w.picOff = (w.lastPic + 1 - d.picID) & picMask(d.picLen)
	}
}

// rewrite returns the output copy of p: header rewritten, header
// extensions dropped (their ids are the sender's negotiation, not the
// receiver's), picture ID rewritten in a copy of the payload.
func (w *rewriter) rewrite(p *pionrtp.Packet, d vp8Desc, now time.Time) *pionrtp.Packet {
	out := &pionrtp.Packet{Header: pionrtp.Header{
		Version:        2,
		Marker:         p.Marker,
		PayloadType:    p.PayloadType,
		SequenceNumber: p.SequenceNumber + w.seqOff,
		Timestamp:      p.Timestamp + w.tsOff,
		SSRC:           p.SSRC,
	}}
	payload := p.Payload
	if d.picLen > 0 {
		payload = append([]byte(nil), p.Payload...)
		id := (d.picID + w.picOff) & picMask(d.picLen)
		setPicID(payload, d, id)
		w.lastPic = id
	}
	out.Payload = payload
	if !w.started || seqAfter(out.SequenceNumber, w.lastSeq) {
		w.lastSeq = out.SequenceNumber
	}
	if !w.started || int32(out.Timestamp-w.lastTS) > 0 {
		w.lastTS = out.Timestamp
	}
	w.lastTime = now
	w.started = true
	return out
}

// seqAfter reports whether a comes after b in RTP sequence order.
func seqAfter(a, b uint16) bool { return int16(a-b) > 0 }
