package mixer

import "time"

// Adaptive playout delay. A fixed delay either adds latency on a good
// link or conceals too often on a jittery one; so each input measures its
// interarrival jitter (RFC 3550 §6.4.1, in 48 kHz samples) and plays out
// at its floor (Options.JitterDelay) plus three times that jitter, up to
// maxAdaptiveDelay. The buffer is also held at that level: when it has
// stayed above it for a whole levelWindow (a sender clock running fast, a
// burst after a stall, ticks the mixer missed), the excess is dropped.
const (
	// maxAdaptiveDelay caps the playout delay whatever the jitter.
	maxAdaptiveDelay = 48000 * 120 / 1000
	// delayQuantum rounds the delay up to 10 ms steps, so it does not
	// move with every packet.
	delayQuantum = 480
	// levelWindow is how many ticks the buffer level is watched before
	// excess audio is dropped.
	levelWindow = 25
)

// arrival feeds one packet's RTP timestamp (in units of scale samples at
// 48 kHz: 1 for Opus, 6 for G.711) and arrival time to the jitter
// estimate, and moves the playout delay to match.
func (j *jitterBuffer) arrival(ts uint32, scale int, now time.Time) {
	if j.arrivals > 0 {
		transit := float64(now.Sub(j.lastArrival)) * 48000 / float64(time.Second)
		d := transit - float64(int32(ts-j.lastTS))*float64(scale)
		if d < 0 {
			d = -d
		}
		// A jump of over a second is a new stream or a stall, not jitter.
		if d < 48000 {
			j.jitter += (d - j.jitter) / 16
		}
	}
	j.arrivals++
	j.lastArrival, j.lastTS = now, ts
	j.delay = adaptiveDelay(j.minDelay, j.jitter)
}

// adaptiveDelay is the playout delay for a floor and a jitter estimate,
// both in samples.
func adaptiveDelay(floor int, jitter float64) int {
	d := floor + int(3*jitter)
	d = (d + delayQuantum - 1) / delayQuantum * delayQuantum
	return max(floor, min(d, maxAdaptiveDelay))
}

// watchLevel is called once per tick with the audio buffered before the
// tick takes its frame; it returns how much to drop (samples) when the
// level stayed above delay + slack for a whole window.
func (j *jitterBuffer) watchLevel(slack int) int {
	if j.windowTicks == 0 || j.buffered < j.windowMin {
		j.windowMin = j.buffered
	}
	j.windowTicks++
	if j.windowTicks < levelWindow {
		return 0
	}
	excess := j.windowMin - j.delay
	j.windowTicks = 0
	if excess > slack {
		return excess
	}
	return 0
}

// dropOldest drops whole packets from the head while at least n samples
// remain to drop; it returns how many it dropped.
func (j *jitterBuffer) dropOldest(n int) int {
	dropped := 0
	for n > 0 && j.count > 0 {
		s := &j.slots[j.head%jitterSlots]
		size := 0
		if s.used && s.seq == j.head {
			size = s.samples
		}
		if size > n {
			break
		}
		j.pop()
		n -= max(size, 1)
		dropped++
	}
	return dropped
}
