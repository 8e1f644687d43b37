//go:build unix

package report

import (
	"syscall"
	"time"
)

// ProcessCPU returns this process's user+system CPU time so far, all
// threads (getrusage RUSAGE_SELF, as node's process.cpuUsage reports it
// for libwebrtc-dc.mjs).
func ProcessCPU() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
