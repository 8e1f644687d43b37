package mixer

import (
	"time"

	"golang.org/x/sys/unix"
)

// threadCPU is the calling thread's CPU time (CLOCK_THREAD_CPUTIME_ID)
// and the thread's id, so that the mixer's cost is not inflated by a busy
// machine preempting it. The mixer goroutine is not locked to its thread:
// one mixer runs per room, and with 30 rooms' goroutines locked to 30
// threads on one core (GOMAXPROCS 1) each wake-up costs two thread
// switches and Go's CPU profiler lost a third of the process's samples
// (docs/BENCHMARKS.md, run 11), the profile the focus is tuned by. So
// cpuSince compares the ids of two readings instead. Between two
// readings of one tick the mixer does not block; another goroutine runs
// on its thread in between only if the scheduler preempts it, after a
// 10 ms time slice, which a tick of one room does not reach.
//
// The id is read before and after the clock, since the clock's system
// call may end on another thread; when the two differ the id is -1,
// which cpuSince never takes as a match.
func threadCPU() (time.Duration, int) {
	tid := unix.Gettid()
	var ts unix.Timespec
	if err := unix.ClockGettime(unix.CLOCK_THREAD_CPUTIME_ID, &ts); err != nil {
		return monotonic(), -1
	}
	if unix.Gettid() != tid {
		return 0, -1
	}
	return time.Duration(ts.Nano()), tid
}
