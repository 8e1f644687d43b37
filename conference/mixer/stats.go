package mixer

import (
	"math"
	"sync/atomic"
	"time"
)

// Stats describe a Mixer. Packet counters include removed inputs.
type Stats struct {
	Participants int    // inputs present
	Speakers     int    // inputs mixed in the last frame
	FramesMixed  uint64 // ticks run
	Decodes      uint64 // decoder calls, concealment included
	Encodes      uint64 // encoder calls, one per distinct output payload
	// MixCPU is the CPU time spent mixing: jitter buffers, decoding,
	// mixing, encoding, summed over ticks. On Linux it is the mixer
	// thread's own CPU time; elsewhere the wall time around the work,
	// which a busy machine inflates.
	MixCPU time.Duration
	// LastMixCPU is what the last tick's mixing took.
	LastMixCPU time.Duration
	// SendCPU is the CPU time spent in the outs: handing each payload to
	// the participant's RTP track (pion packetizes, encrypts and sends on
	// this thread). It grows with the participants, not the speakers.
	SendCPU   time.Duration
	Received  uint64 // packets handed to WriteRTP
	Late      uint64 // packets that came after their playout time
	Lost      uint64 // packets never received by their playout time
	Concealed uint64 // stretches of audio made up for lost or late packets
	// OverloadFrames counts the frames encoded at Options.
	// OverloadComplexity because the mixer's ticks kept starting late
	// (overload.go); Overloaded says whether the last one was.
	OverloadFrames uint64
	Overloaded     bool
}

// InputStats describe one Input.
type InputStats struct {
	Received   uint64  // packets handed to WriteRTP
	Lost       uint64  // packets never received by their playout time
	Concealed  uint64  // stretches of audio made up (loss or underrun)
	Late       uint64  // packets that came after their playout time
	Duplicates uint64  // packets received twice
	Invalid    uint64  // packets dropped as malformed or of a wrong payload type
	Dropped    uint64  // packets dropped to bring the buffer back to its delay
	Shortened  uint64  // samples cut from decoded audio for the same (shorten.go)
	Level      float64 // smoothed level, dBov (-127 silent .. 0)
	GainDB     float64 // level normalization gain
	Speaking   bool    // mixed in the last frame
}

// counters are the Mixer's statistics, updated without locks.
type counters struct {
	participants, speakers          atomic.Int64
	frames, decodes, encodes        atomic.Uint64
	mixNanos, lastMixNanos          atomic.Int64
	sendNanos                       atomic.Int64
	received, late, lost, concealed atomic.Uint64
	overloadFrames                  atomic.Uint64
	overloaded                      atomic.Bool
}

// inputCounters are an Input's statistics, updated without locks.
type inputCounters struct {
	received, lost, concealed, late, dup, invalid, dropped atomic.Uint64
	shortened                                              atomic.Uint64
	level, gain                                            atomicFloat
	speaking                                               atomic.Bool
}

// atomicFloat is a float64 read and written atomically.
type atomicFloat struct{ bits atomic.Uint64 }

func (f *atomicFloat) load() float64   { return math.Float64frombits(f.bits.Load()) }
func (f *atomicFloat) store(v float64) { f.bits.Store(math.Float64bits(v)) }
