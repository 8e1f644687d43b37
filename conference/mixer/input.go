package mixer

import (
	"fmt"
	"sync"
	"time"

	"github.com/pion/rtp"
)

// Input is one participant: the audio it sends and the mix it gets.
type Input struct {
	m     *Mixer
	id    int
	codec Codec
	out   func(payload []byte, d time.Duration)

	// mu guards what WriteRTP touches; the receive goroutine and the
	// mixer goroutine meet here and nowhere else.
	mu      sync.Mutex
	jb      jitterBuffer
	extID   uint8 // RFC 6464 extension id, 0 for none
	pt      int   // expected payload type, -1 for any
	removed bool

	// dec is used on the receive goroutine (samples, under mu) and on
	// the mixer goroutine (decode, conceal); samples is stateless.
	dec decoder

	// The rest belongs to the mixer goroutine (guarded by Mixer.mu).
	st    inputState
	stats inputCounters
}

// inputState is an Input's mixing state, touched by ticks only.
type inputState struct {
	units     []unit
	arena     []byte    // payloads of units
	fifo      fifo      // decoded (or counted) audio not yet mixed
	frame     []float32 // this tick's audio, gain applied once decoded
	mix       []float32 // speakers: their own mix
	decoded   bool      // frame holds decoded audio this tick
	frameDB   float64   // level of the decoded frame before gain, dBov
	byLevel   bool      // levels come from RFC 6464, not from decoding
	hadLevel  bool      // the last packet played carried a level
	raw       float64   // this tick's level, dBov
	level     float64   // smoothed level, dBov
	gainDB    float64
	speaking  bool
	underruns int // consecutive ticks concealed for an empty buffer
	lastLen   int // duration of the last packet, samples
	shorten   int // samples this tick cuts from the input's audio (shorten.go)
	enc       encoder
	lim       limiter
}

// unitKind tells what one piece of an input's tick is made of.
type unitKind uint8

const (
	unitPacket  unitKind = iota // a received packet
	unitLost                    // a packet lost in a gap; FEC may hold it
	unitConceal                 // nothing buffered: make something up
)

// unit is one piece of audio pulled from the jitter buffer for a tick.
type unit struct {
	kind       unitKind
	samples    int
	start, end int // payload (unitPacket) or next packet (unitLost) in arena
}

// SetAudioLevelExtension sets the id of the RFC 6464 ssrc-audio-level
// header extension negotiated for this input; 0 means none. With levels,
// the mixer picks speakers without decoding, and does not decode this
// input while it is not a speaker.
func (in *Input) SetAudioLevelExtension(id uint8) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.extID = id
}

// SetPayloadType makes WriteRTP drop packets of any other RTP payload
// type (telephone-event, comfort noise, garbage). By default every
// payload type is taken as audio of the input's codec.
func (in *Input) SetPayloadType(pt uint8) {
	in.mu.Lock()
	defer in.mu.Unlock()
	in.pt = int(pt)
}

// WriteRTP hands the mixer one packet from the participant. It is safe
// to call concurrently with everything else and only holds a short lock.
// The packet is copied; the caller may reuse it.
//
// An error says why the packet was dropped (malformed, wrong payload
// type) or that the input was removed; the stream goes on either way.
func (in *Input) WriteRTP(p *rtp.Packet) error {
	if p == nil {
		return errNilPacket
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.removed {
		return ErrRemoved
	}
	in.stats.received.Add(1)
	in.m.stats.received.Add(1)
	if in.pt >= 0 && int(p.PayloadType) != in.pt {
		in.stats.invalid.Add(1)
		return fmt.Errorf("%w: %d", errPayloadType, p.PayloadType)
	}
	n, err := in.dec.samples(p.Payload)
	if err != nil {
		in.stats.invalid.Add(1)
		return err
	}
	level := -1
	if in.extID != 0 {
		if ext := p.GetExtension(in.extID); len(ext) > 0 {
			level = int(ext[0] & 0x7f) // RFC 6464 section 3: V bit, then level
		}
	}
	scale := 1
	if in.codec.isG711() {
		scale = 6
	}
	res := in.jb.push(p.SequenceNumber, p.SSRC, n, level, p.Payload)
	if res != pushReset {
		in.jb.arrival(p.Timestamp, scale, time.Now())
	}
	switch res {
	case pushLate:
		in.stats.late.Add(1)
		in.m.stats.late.Add(1)
	case pushDup:
		in.stats.dup.Add(1)
	case pushed, pushReset:
	}
	return nil
}

// Remove takes the participant out of the mix at once. After Remove
// returns, out is not called again and WriteRTP returns ErrRemoved.
// It must not be called from out.
func (in *Input) Remove() {
	in.m.remove(in)
	in.mu.Lock()
	defer in.mu.Unlock()
	in.removed = true
	in.jb.reset()
}

// Stats returns the input's statistics.
func (in *Input) Stats() InputStats {
	s := &in.stats
	return InputStats{
		Received:   s.received.Load(),
		Lost:       s.lost.Load(),
		Concealed:  s.concealed.Load(),
		Late:       s.late.Load(),
		Duplicates: s.dup.Load(),
		Invalid:    s.invalid.Load(),
		Dropped:    s.dropped.Load(),
		Shortened:  s.shortened.Load(),
		Level:      s.level.load(),
		GainDB:     s.gain.load(),
		Speaking:   s.speaking.Load(),
	}
}
