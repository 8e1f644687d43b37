package mixer

import "time"

// Shortening the playout by less than a packet.
//
// The jitter buffer holds an input's audio at its playout delay (adapt.go)
// and, when the level has stayed above the delay by more than half a frame
// for a whole window, drops the excess; but it can drop whole packets
// only, and a 20 ms packet dropped from a level 15 ms over the delay would
// leave it 5 ms under, so the excess stays. That is the common case after
// one late packet: the tick found the buffer empty, concealed, and from
// then on the buffer holds a frame more than the delay asks, for as long
// as the input lasts, 20 ms more latency for everyone hearing it. On the
// conference focus at 300 participants that second frame was held in
// about half the ticks (docs/BENCHMARKS.md, runs 16-19).
//
// So what whole packets cannot take is cut from the decoded audio: the
// tick pulls that much more from the buffer and removes it with a short
// crossfade (fifo.cut), at most maxShorten per level window (2% of the
// time at 10 ms per 500 ms), in multiples of 2.5 ms. WebRTC's NetEq does
// the same with its "accelerate" (time-scale compression at a pitch
// period); a crossfade of 2.5 ms is cruder, but it runs once per window
// at most and only while the buffer is over its delay. Inputs that are
// not decoded this tick (silent, below the speakers) skip the samples
// without a crossfade: nobody hears them. Packets longer than a frame
// (40 and 60 ms) are left alone: their audio waits in the fifo between
// ticks by design.

const (
	// maxShorten is the most one level window cuts, samples.
	maxShorten = 480
	// crossfade is the length of the join, samples (2.5 ms).
	crossfade = 120
)

// watchLevel is the tick's level control for in (m.mu and in.mu held):
// whole packets over the delay are dropped (jitterBuffer.dropOldest) and
// what remains of the excess, if any, is cut from this tick's audio
// (in.st.shorten).
func (m *Mixer) watchLevel(in *Input, now time.Time) {
	st := &in.st
	level := in.jb.level(now, m.frameLen)
	short := st.lastLen > 0 && st.lastLen <= m.frameLen
	if short {
		// Audio decoded but not yet played is buffered too (a cut
		// leaves some in the fifo between ticks).
		level += st.fifo.len()
	}
	n := in.jb.watchLevel(level, m.frameLen/2)
	if n <= 0 {
		return
	}
	before := in.jb.buffered
	if d := in.jb.dropOldest(n); d > 0 {
		in.stats.dropped.Add(uint64(d))
	}
	if left := n - (before - in.jb.buffered); short && left >= plcQuantum {
		st.shorten = min(left, maxShorten) / plcQuantum * plcQuantum
	}
}
