//go:build !linux

package rtp

// forceBuffer: only Linux lets a privileged process past the system's
// buffer limit.
func forceBuffer(fd, want int) bool { return false }

func socketBuffer(fd, opt int) int { return 0 }
