//go:build unix

// Package proccpu reads the CPU time this process has used, all threads:
// the CPU-per-MB columns of the throughput benchmarks (bench/ftref, the
// file-transfer benchmark) divide it by the bytes moved.
package proccpu

import (
	"syscall"
	"time"
)

// Used returns this process's user+system CPU time so far, all
// threads (getrusage RUSAGE_SELF, as node's process.cpuUsage reports it
// for libwebrtc-dc.mjs).
func Used() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
