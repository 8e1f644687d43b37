package mixer

import (
	"math"
	"testing"
	"time"
)

// TestFifoCut: a cut takes exactly n samples, keeps the audio before it,
// and joins the rest without a click: the largest step between samples
// of a 440 Hz sine stays near the sine's own, where a plain cut can jump
// by the whole amplitude.
func TestFifoCut(t *testing.T) {
	sine := func(n int) []float32 {
		s := make([]float32, n)
		for i := range s {
			s[i] = float32(math.Sin(2 * math.Pi * 440 * float64(i) / sampleRate))
		}
		return s
	}
	maxStep := func(s []float32) float64 {
		m := 0.0
		for i := 1; i < len(s); i++ {
			m = max(m, math.Abs(float64(s[i]-s[i-1])))
		}
		return m
	}
	own := maxStep(sine(2000)) // 0.058: 2π·440/48000
	for _, c := range []struct {
		name     string
		len, cut int
		wantLen  int
		maxStep  float64
	}{
		{"10 ms from 40 ms", 1920, 480, 1440, 2 * own},
		{"a cut of half a period", 1920, 55, 1865, 2 * own}, // the worst join: the sine's sign flips
		{"short tail: the crossfade shrinks", 500, 480, 20, 2.1},
		{"more than there is: nothing", 400, 480, 400, own},
		{"nothing", 400, 0, 400, own},
	} {
		t.Run(c.name, func(t *testing.T) {
			var f fifo
			f.push(sine(c.len))
			f.cut(c.cut, crossfade)
			if f.len() != c.wantLen {
				t.Fatalf("%d samples left, want %d", f.len(), c.wantLen)
			}
			orig := sine(c.len)
			if f.pcm[0] != orig[0] {
				t.Errorf("first sample %v, want %v (the join starts from the audio before the cut)", f.pcm[0], orig[0])
			}
			// The step into the fifo from the sample played before it.
			prev := float32(math.Sin(-2 * math.Pi * 440 / sampleRate))
			if s := max(maxStep(f.pcm), math.Abs(float64(f.pcm[0]-prev))); s > c.maxStep {
				t.Errorf("largest step %.3f, want <= %.3f", s, c.maxStep)
			}
		})
	}
}

// TestShortenAfterUnderrun plays one Opus input through gather and render
// with packets that arrive 3 ms before their tick, 2 ms of jitter on
// every other one, and one packet 10 ms late at packet 100. The late
// packet makes a tick find the buffer empty; from then on the buffer
// would hold a packet more than its delay asks, which is less than a
// whole packet over, so no packet can go. The cut takes it down in steps
// of at most 10 ms: by the end the level before a tick is within half a
// frame of the delay, as before the late packet, and no tick after the
// late packet's finds the buffer empty again.
func TestShortenAfterUnderrun(t *testing.T) {
	m := newMixer(Options{})
	t.Cleanup(m.Close)
	in := m.Add(Opus, func([]byte, time.Duration) {})
	src := newSource(t, Opus, 440, 20)
	t0 := time.Unix(100, 0)
	arrive := func(k int) time.Time {
		late := time.Duration(k%2) * 2 * time.Millisecond
		if k == 100 {
			late = 25 * time.Millisecond
		}
		return t0.Add(time.Duration(k)*20*time.Millisecond - 3*time.Millisecond + late)
	}
	next, emptyAfter := 0, 0
	var before, after []int // level over the delay before each tick: ticks 60-99, and the last 40
	const ticks = 400
	for n := range ticks {
		now := t0.Add(time.Duration(n) * 20 * time.Millisecond)
		in.mu.Lock()
		for ; !arrive(next).After(now); next++ {
			p := src.packet(t)
			in.jb.push(p.SequenceNumber, p.SSRC, 960, -1, p.Payload)
			in.jb.arrival(p.Timestamp, 1, arrive(next))
		}
		over := in.jb.level(now, m.frameLen) + in.st.fifo.len() - in.jb.delay
		in.mu.Unlock()
		m.mu.Lock()
		concealed := in.stats.concealed.Load()
		m.gather(in, now)
		m.render(in, true)
		if n > 110 && in.stats.concealed.Load() > concealed {
			emptyAfter++
		}
		m.mu.Unlock()
		switch {
		case n >= 60 && n < 100:
			before = append(before, over)
		case n >= ticks-40:
			after = append(after, over)
		}
	}
	st := in.Stats()
	if st.Shortened == 0 {
		t.Fatal("nothing was cut")
	}
	if emptyAfter > 0 {
		t.Errorf("%d ticks after the late packet found the buffer empty: the cuts went too far", emptyAfter)
	}
	maxOf := func(s []int) int {
		m := s[0]
		for _, v := range s {
			m = max(m, v)
		}
		return m
	}
	if b, a := maxOf(before), maxOf(after); a > b+m.frameLen/2 || a > m.frameLen/2+plcQuantum {
		t.Errorf("level over the delay before a tick: up to %d samples before the late packet, %d at the end; want it back (cut %d samples)", b, a, st.Shortened)
	}
	t.Logf("level over the delay: up to %d samples before the late packet, %d at the end; %d samples cut, %d packets dropped",
		maxOf(before), maxOf(after), st.Shortened, st.Dropped)
}
