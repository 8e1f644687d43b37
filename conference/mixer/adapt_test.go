package mixer

import (
	"testing"
	"time"
)

func TestAdaptiveDelay(t *testing.T) {
	cases := []struct {
		floor  int
		jitter float64
		want   int
	}{
		{960, 0, 960},                  // clean link: the floor
		{960, 100, 1320},               // 960+300 rounded up to 2.5 ms
		{960, 480, 2400},               // 10 ms of jitter: +30 ms
		{960, 48000, maxAdaptiveDelay}, // capped
		{7000, 0, 7000},                // a floor above the cap wins
		{960, -5, 960},                 // never below the floor
		{1920, 160, 2400},              // 1920+480
		{960, 1, 1080},                 // a sample of jitter: one 2.5 ms step, not a packet
		{960, 40, 1080},                // 960+120
		{960, 41, 1200},                // 960+123 rounded up to 2.5 ms
	}
	for _, c := range cases {
		if got := adaptiveDelay(c.floor, c.jitter); got != c.want {
			t.Errorf("adaptiveDelay(%d, %v) = %d, want %d", c.floor, c.jitter, got, c.want)
		}
	}
}

// TestJitterEstimate: packets on time give no jitter; packets arriving
// ±10 ms around their time raise the delay by about three times that.
func TestJitterEstimate(t *testing.T) {
	var steady, jittery jitterBuffer
	steady.minDelay, jittery.minDelay = 960, 960
	t0 := time.Unix(0, 0)
	for i := 0; i < 500; i++ {
		ts := uint32(i * 960)
		steady.arrival(ts, 1, t0.Add(time.Duration(i)*20*time.Millisecond))
		wobble := 10 * time.Millisecond
		if i%2 == 0 {
			wobble = -wobble
		}
		jittery.arrival(ts, 1, t0.Add(time.Duration(i)*20*time.Millisecond+wobble))
	}
	if steady.delay != 960 {
		t.Errorf("steady link: delay %d samples, want the 960 floor", steady.delay)
	}
	// |D| is 20 ms (960 samples) every packet: jitter -> 960, delay ->
	// 960 + 2880 = 3840 (80 ms), within the cap.
	if jittery.jitter < 900 || jittery.delay != 3840 {
		t.Errorf("jittery link: jitter %.0f, delay %d, want ~960 and 3840", jittery.jitter, jittery.delay)
	}
}

// TestLevelControl: a buffer that stays a frame above its delay for a
// whole window is brought back to it; one that dips to its delay is not.
func TestLevelControl(t *testing.T) {
	var j jitterBuffer
	j.delay = 960
	for seq := uint16(0); seq < 4; seq++ {
		j.push(seq, 1, 960, -1, []byte{1})
	}
	j.ready(time.Time{}, 960)
	var drop int
	for i := 0; i < levelWindow; i++ {
		drop = j.watchLevel(j.buffered, 480)
	}
	if drop != 3*960 {
		t.Fatalf("watchLevel = %d, want %d (3 frames over the delay)", drop, 3*960)
	}
	if n := j.dropOldest(drop); n != 3 || j.buffered != 960 {
		t.Errorf("dropOldest dropped %d packets, %d samples left; want 3 and 960", n, j.buffered)
	}
	for i := 0; i < levelWindow; i++ {
		drop = j.watchLevel(j.buffered, 480)
	}
	if drop != 0 {
		t.Errorf("at its delay the buffer is trimmed by %d", drop)
	}
}

func TestBufferLevel(t *testing.T) {
	t0 := time.Unix(100, 0)
	cases := []struct {
		name    string
		packets int
		age     time.Duration
		want    int
	}{
		{"just arrived", 1, 0, 960},
		{"5 ms before the tick", 1, 5 * time.Millisecond, 960 + 240},
		{"two packets", 2, 12500 * time.Microsecond, 1920 + 600},
		{"overdue: at most a frame", 1, 35 * time.Millisecond, 960 + 960},
		{"arrived after the tick began", 1, -time.Millisecond, 960},
		{"empty", 0, 5 * time.Millisecond, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var j jitterBuffer
			for seq := range c.packets {
				j.push(uint16(seq), 1, 960, -1, []byte{1})
			}
			j.arrival(0, 1, t0)
			if got := j.level(t0.Add(c.age), 960); got != c.want {
				t.Errorf("level = %d, want %d", got, c.want)
			}
		})
	}
}

// TestTickPhaseMargin plays a 20 ms stream into ticks at a fixed phase
// after each packet's due time, the way gather does, with packets that
// come late now and then. A late packet beyond the phase empties the
// buffer once (the mixer conceals), which leaves two packets in hand.
// When the phase alone covers three times the jitter, the level control
// takes the second packet out again (20 ms less latency; counting the
// buffered audio alone, as before, kept it for good); when it does not,
// the second packet stays, and the buffer does not swing between
// dropping and concealing.
func TestTickPhaseMargin(t *testing.T) {
	for _, c := range []struct {
		name  string
		phase time.Duration
		late  func(k int) time.Duration
		// each packet's wait from arrival to its tick, settled
		minWait, maxWait time.Duration
	}{
		{"phase covers the jitter", 12 * time.Millisecond, func(k int) time.Duration {
			if k == 50 {
				return 15 * time.Millisecond // one very late packet
			}
			return time.Duration(k%2) * time.Millisecond
		}, 11 * time.Millisecond, 12 * time.Millisecond},
		{"phase does not", 3 * time.Millisecond, func(k int) time.Duration {
			if k%10 == 5 {
				return 5 * time.Millisecond
			}
			return 0
		}, 18 * time.Millisecond, 23 * time.Millisecond},
	} {
		t.Run(c.name, func(t *testing.T) {
			const frame = 960
			t0 := time.Unix(100, 0)
			j := jitterBuffer{delay: frame, minDelay: frame}
			arrive := func(k int) time.Time {
				return t0.Add(time.Duration(k)*20*time.Millisecond + c.late(k))
			}
			next, underruns := 0, 0
			for n := range 300 {
				now := t0.Add(time.Duration(n)*20*time.Millisecond + c.phase)
				for ; !arrive(next).After(now); next++ {
					j.push(uint16(next), 1, frame, -1, []byte{1})
					j.arrival(uint32(next*frame), 1, arrive(next))
				}
				if j.playing {
					if d := j.watchLevel(j.level(now, frame), frame/2); d > 0 {
						j.dropOldest(d)
					}
				}
				if !j.ready(now, frame) {
					continue
				}
				seq := j.head
				if _, kind := j.pop(); kind == popEmpty {
					underruns++
					continue
				}
				if wait := now.Sub(arrive(int(seq))); n >= 200 && (wait < c.minWait || wait > c.maxWait) {
					t.Fatalf("tick %d: packet %d waited %v, want %v..%v (delay %d, jitter %.0f)",
						n, seq, wait, c.minWait, c.maxWait, j.delay, j.jitter)
				}
			}
			if underruns != 1 {
				t.Errorf("%d ticks found the buffer empty, want 1 (the first late packet)", underruns)
			}
		})
	}
}
