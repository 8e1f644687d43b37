package mixer

import "time"

// jitterSlots is the jitter buffer's window in packets, a power of two.
// 64 packets are 1.28 s of 20 ms audio, far beyond any playout delay we
// run with, so a packet outside the window is a sequence jump (a new
// stream, a sender restart, garbage), not jitter.
const jitterSlots = 64

// jitterSlot is one buffered packet.
type jitterSlot struct {
	used    bool
	seq     uint16
	samples int    // audio in the packet, 48 kHz samples
	level   int    // RFC 6464 level (0..127), -1 if the packet had none
	payload []byte // a copy; the backing array is reused across packets
}

// jitterBuffer orders one input's packets by RTP sequence number and
// holds them for the playout delay.
//
// We do not use pion/interceptor's pkg/jitterbuffer: its queue is a
// linked list that compares sequence numbers without wrap-around, grows
// without bound (overflow only emits an event), keeps duplicates, counts
// its start threshold in packets rather than audio duration, and
// allocates a node per packet. A fixed ring indexed by sequence number
// has none of these problems and is shorter than the adapter would be.
//
// It is not safe for concurrent use; Input.mu guards it.
type jitterBuffer struct {
	slots    [jitterSlots]jitterSlot
	delay    int    // samples buffered before playout starts
	started  bool   // head and ssrc are valid
	playing  bool   // playout started (false: buffering)
	head     uint16 // next sequence number to play
	last     uint16 // highest sequence number buffered
	ssrc     uint32
	count    int // used slots
	buffered int // samples in used slots

	// Adaptive delay (adapt.go): the floor, the jitter estimate and the
	// last arrival, and the buffer-level window.
	minDelay    int
	jitter      float64
	arrivals    int
	lastArrival time.Time
	lastTS      uint32
	windowMin   int
	windowTicks int
}

// pushResult tells what push did with a packet.
type pushResult int

const (
	pushed    pushResult = iota
	pushLate             // its turn to play has passed
	pushDup              // already buffered
	pushReset            // a jump or a new SSRC: buffer restarted with it
)

// push buffers a packet; payload is copied.
func (j *jitterBuffer) push(seq uint16, ssrc uint32, samples, level int, payload []byte) pushResult {
	res := pushed
	if j.started && ssrc != j.ssrc {
		j.reset()
		res = pushReset
	}
	if !j.started {
		j.started, j.ssrc, j.head, j.last = true, ssrc, seq, seq
	}
	d := int(int16(seq - j.head))
	switch {
	case d >= jitterSlots || d <= -jitterSlots:
		j.reset()
		j.started, j.ssrc, j.head, j.last = true, ssrc, seq, seq
		res, d = pushReset, 0
	case d < 0 && (j.playing || int(int16(j.last-seq)) >= jitterSlots):
		return pushLate
	case d < 0:
		// Still buffering and the packet came before the first one we
		// saw: start playout from it instead.
		j.head = seq
	}
	s := &j.slots[seq%jitterSlots]
	if s.used {
		if s.seq == seq {
			return pushDup
		}
		j.free(s) // stale; cannot happen inside the window, but be safe
	}
	s.used, s.seq, s.samples, s.level = true, seq, samples, level
	s.payload = append(s.payload[:0], payload...)
	j.count++
	j.buffered += samples
	if int16(seq-j.last) > 0 {
		j.last = seq
	}
	return res
}

// free empties a slot.
func (j *jitterBuffer) free(s *jitterSlot) {
	s.used = false
	j.count--
	j.buffered -= s.samples
}

// popKind tells what pop found at the playout head.
type popKind int

const (
	popPacket popKind = iota // the packet at the head
	popLost                  // the head is missing but later packets are here
	popEmpty                 // nothing buffered: underrun
)

// pop takes the packet at the playout head. For popPacket the returned
// slot is valid until the next push.
func (j *jitterBuffer) pop() (*jitterSlot, popKind) {
	if j.count == 0 {
		return nil, popEmpty
	}
	s := &j.slots[j.head%jitterSlots]
	seq := j.head
	j.head++
	if !s.used || s.seq != seq {
		return nil, popLost
	}
	j.free(s)
	return s, popPacket
}

// peek returns the packet at the playout head without taking it.
func (j *jitterBuffer) peek() *jitterSlot {
	s := &j.slots[j.head%jitterSlots]
	if !s.used || s.seq != j.head {
		return nil
	}
	return s
}

// ready reports whether playout may proceed at a tick of frame samples
// at now, starting it once the buffer's level (adapt.go) reaches the
// playout delay and the frame (or the delay, if less) is buffered: the
// time since the newest packet is margin against the next one being late,
// but the tick cannot play it.
func (j *jitterBuffer) ready(now time.Time, frame int) bool {
	if !j.playing && j.count > 0 && j.buffered >= min(frame, j.delay) && j.level(now, frame) >= j.delay {
		j.playing = true
	}
	return j.playing
}

// trim drops the oldest packets once more than high samples are
// buffered, down to low, so a sender whose clock runs fast, or a burst
// after a stall, does not add latency for good. It returns how many
// packets (or gaps) it dropped.
func (j *jitterBuffer) trim(high, low int) int {
	if j.buffered <= high {
		return 0
	}
	n := 0
	for j.buffered > low && j.count > 0 {
		j.pop()
		n++
	}
	return n
}

// reset empties the buffer; the next packet starts a new stream.
func (j *jitterBuffer) reset() {
	for i := range j.slots {
		j.slots[i].used = false
	}
	j.count, j.buffered = 0, 0
	j.started, j.playing = false, false
}
