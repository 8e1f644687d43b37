package mixer

import "time"

// Adaptive playout delay. A fixed delay either adds latency on a good
// link or conceals too often on a jittery one; so each input measures its
// interarrival jitter (RFC 3550 §6.4.1, in 48 kHz samples) and plays out
// at its floor (Options.JitterDelay) plus three times that jitter, up to
// maxAdaptiveDelay. The buffer is also held at that level: when it has
// stayed above it by a whole packet for a whole levelWindow (a sender
// clock running fast, a burst after a stall, ticks the mixer missed), the
// excess is dropped.
//
// What the delay is compared with, at each tick before it takes its
// frame, is the buffer's level (jitterBuffer.level): the audio buffered
// plus the time since the newest packet arrived. The second term is the
// wait for the tick. The mix runs on its own 20 ms clock, so a packet that
// arrives some φ (0..20 ms) before a tick has waited φ when the tick takes
// it, and that wait is margin too: the next packet may come up to φ late
// and still make its tick. Counting the audio alone, as this code did
// before, took φ as 0: with the 20 ms floor (the frame the tick takes)
// and any jitter at all (one sample rounds up to the next step), every
// input needed a second packet in hand, 20 ms more latency than its link
// asked for whenever φ alone covers three times its jitter.
//
// # Latency budget
//
// From a talker's packet arriving (WriteRTP) to the mix that holds it
// leaving (the out callback, pion's send), with 20 ms packets and frames:
//
//	wait in the jitter buffer   level - 20 ms: φ (0..20 ms, 10 on average)
//	                            when φ >= 3 x jitter, else φ + 20 ms;
//	                            at least 3 x jitter (rounded up to 2.5 ms)
//	mixing                      decode, mix, encode of the room: about
//	                            0.2 ms on an idle core (BenchmarkMix100),
//	                            but all rooms' ticks and pion share the
//	                            focus's core, so under load a tick queues
//	                            behind the others
//	the mix's encoder           2.5 ms lookahead (restricted-lowdelay,
//	                            encode.go; 6.5 ms in VoIP mode)
//
// so 12.5 ms on average and 22.5 ms at most on a clean link with an idle
// core, 20 ms more for an input whose jitter the tick's phase does not
// cover. What make bench-conference measures on top is pion and SRTP
// both ways and the receiver's decoder, and, near saturation, queueing
// for the CPU.
const (
	// maxAdaptiveDelay caps the playout delay whatever the jitter.
	maxAdaptiveDelay = 48000 * 120 / 1000
	// delayQuantum rounds the delay up to 2.5 ms steps (Opus's smallest
	// frame), so it does not move with every packet. It was 10 ms: with
	// the level counting the tick's phase, a coarse step would round a
	// jitter of a few samples into a second packet held.
	delayQuantum = 120
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

// level is the playout delay the buffer holds at a tick, before the
// tick takes its frame, in samples: the audio buffered plus the time
// since the newest packet arrived, the latter at most one frame (longer
// means the next packet is overdue, not that there is margin).
func (j *jitterBuffer) level(now time.Time, frame int) int {
	if j.count == 0 || j.arrivals == 0 {
		return j.buffered
	}
	age := int(now.Sub(j.lastArrival) * sampleRate / time.Second)
	return j.buffered + max(0, min(age, frame))
}

// watchLevel is called once per tick with the buffer's level (level) as
// the tick starts; it returns how much to drop (samples) when the level
// stayed above delay + slack for a whole window. dropOldest drops only
// whole packets that fit in that, so the level stays at the delay or
// above.
func (j *jitterBuffer) watchLevel(level, slack int) int {
	if j.windowTicks == 0 || level < j.windowMin {
		j.windowMin = level
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
