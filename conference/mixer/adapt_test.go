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
		{960, 100, 1440},               // 960+300 rounded up to 10 ms
		{960, 480, 2400},               // 10 ms of jitter: +30 ms
		{960, 48000, maxAdaptiveDelay}, // capped
		{7000, 0, 7000},                // a floor above the cap wins
		{960, -5, 960},                 // never below the floor
		{1920, 160, 2400},              // 1920+480
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
	j.ready()
	var drop int
	for i := 0; i < levelWindow; i++ {
		drop = j.watchLevel(480)
	}
	if drop != 3*960 {
		t.Fatalf("watchLevel = %d, want %d (3 frames over the delay)", drop, 3*960)
	}
	if n := j.dropOldest(drop); n != 3 || j.buffered != 960 {
		t.Errorf("dropOldest dropped %d packets, %d samples left; want 3 and 960", n, j.buffered)
	}
	for i := 0; i < levelWindow; i++ {
		drop = j.watchLevel(480)
	}
	if drop != 0 {
		t.Errorf("at its delay the buffer is trimmed by %d", drop)
	}
}
