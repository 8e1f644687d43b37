package mixer

import "time"

var clockStart = time.Now()

// monotonic is the time since the package loaded, from the monotonic
// clock.
func monotonic() time.Duration { return time.Since(clockStart) }

// cpuMark is a point in the mixer goroutine's work: its thread's CPU
// time and id (threadCPU), and the wall clock.
type cpuMark struct {
	cpu, wall time.Duration
	tid       int
}

func markCPU() cpuMark {
	cpu, tid := threadCPU()
	return cpuMark{cpu: cpu, wall: monotonic(), tid: tid}
}

// cpuSince is the mixer's CPU time from a to b. When the goroutine moved
// to another thread in between (preempted and resumed elsewhere), the
// two thread clocks are not comparable and the wall time stands in: an
// upper bound, and rare. A thread id of -1 is a reading that could not
// tell its thread.
func cpuSince(a, b cpuMark) time.Duration {
	if a.tid == b.tid && a.tid != -1 && b.cpu >= a.cpu {
		return b.cpu - a.cpu
	}
	return b.wall - a.wall
}
