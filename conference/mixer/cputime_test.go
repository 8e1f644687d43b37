package mixer

import (
	"testing"
	"time"
)

func TestCPUSince(t *testing.T) {
	ms := time.Millisecond
	for _, tc := range []struct {
		name string
		a, b cpuMark
		want time.Duration
	}{
		{"same thread: its CPU time", cpuMark{cpu: 10 * ms, wall: 100 * ms, tid: 7}, cpuMark{cpu: 12 * ms, wall: 109 * ms, tid: 7}, 2 * ms},
		{"moved thread: the wall time", cpuMark{cpu: 10 * ms, wall: 100 * ms, tid: 7}, cpuMark{cpu: 3 * ms, wall: 104 * ms, tid: 8}, 4 * ms},
		{"unknown thread at both ends", cpuMark{cpu: 0, wall: 100 * ms, tid: -1}, cpuMark{cpu: 0, wall: 101 * ms, tid: -1}, ms},
		{"clock went back: the wall time", cpuMark{cpu: 10 * ms, wall: 100 * ms, tid: 7}, cpuMark{cpu: 9 * ms, wall: 103 * ms, tid: 7}, 3 * ms},
	} {
		if got := cpuSince(tc.a, tc.b); got != tc.want {
			t.Errorf("%s: cpuSince = %v, want %v", tc.name, got, tc.want)
		}
	}
}

// TestThreadCPUAdvances checks the real clock: busy work on one thread
// shows as CPU time, never negative, whatever thread the readings land on.
func TestThreadCPUAdvances(t *testing.T) {
	a := markCPU()
	x := 0
	for i := range 20_000_000 {
		x += i
	}
	_ = x
	b := markCPU()
	if d := cpuSince(a, b); d <= 0 || d > b.wall-a.wall+time.Millisecond {
		t.Errorf("cpuSince over busy work = %v (wall %v)", d, b.wall-a.wall)
	}
}
