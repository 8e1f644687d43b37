package mixer

import "time"

// Overload. A focus whose CPU is nearly full starts its ticks late: a
// tick that comes due waits for the rooms and packets ahead of it, and
// every millisecond it waits is latency for every participant of the
// room, and past a point loss. Encoding is the largest part of a tick
// (encode.go: four encodes a frame in a room with three speakers), so a
// mixer whose ticks keep starting late encodes with a cheaper setting
// (Options.OverloadComplexity, libopus complexity 2 by default: 27
// instead of 40 µs a frame, a third less; BenchmarkOpusEncode) until its
// ticks have been on time for a while. What that gives up is CELT's pitch
// pre-filter (complexity 5 and up), some of the quality of voiced speech
// at this bitrate; a late mix is worse. WebRTC degrades the same way
// under CPU overuse, for video (resolution, frame rate).
//
// The verdict is each mixer's own, from its own ticks, so that nothing is
// shared between rooms; as every room of a process sees the same CPU,
// they come to it together.
const (
	// overloadWindow is how many ticks make one verdict (1 s of 20 ms
	// frames).
	overloadWindow = 50
	// overloadEnter late ticks in a window (10%) switch to the cheaper
	// encoder.
	overloadEnter = 5
	// overloadCalm windows in a row with at most overloadLeave late
	// ticks switch back: slower than entering, so that the saving that
	// brought the ticks back on time is not given up at once.
	overloadCalm  = 10
	overloadLeave = 1
)

// overload is one mixer's verdict: whether it encodes cheaply, from how
// late its ticks started. A pure state machine (observe).
type overload struct {
	// after is how late a tick must start to count as late: half a frame
	// (newMixer). A quarter (5 ms at 20 ms frames), tried first, counted
	// a tenth of the ticks late already at 200 participants on a core
	// with 0.4 of it free, where the latency needed no help.
	after      time.Duration
	on         bool
	ticks      int // of the current window
	late       int // of the current window
	calmStreak int // calm windows in a row, while on
}

// observe takes one tick's lateness and reports whether the verdict
// changed (at the end of a window).
func (o *overload) observe(late time.Duration) bool {
	o.ticks++
	if late >= o.after {
		o.late++
	}
	if o.ticks < overloadWindow {
		return false
	}
	n, was := o.late, o.on
	o.ticks, o.late = 0, 0
	switch {
	case !o.on && n >= overloadEnter:
		o.on, o.calmStreak = true, 0
	case o.on && n <= overloadLeave:
		o.calmStreak++
		if o.calmStreak >= overloadCalm {
			o.on, o.calmStreak = false, 0
		}
	case o.on:
		o.calmStreak = 0
	}
	return o.on != was
}
