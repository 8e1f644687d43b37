//go:build !linux

package mixer

import "time"

// threadCPU falls back to the wall clock where the thread's CPU time is
// not at hand; the thread id is always -1, so cpuSince takes the wall
// clock.
func threadCPU() (time.Duration, int) { return monotonic(), -1 }
