package rtp

import "syscall"

// forceBuffer sets fd's receive and send buffers to want past
// net.core.rmem_max/wmem_max (SO_RCVBUFFORCE, SO_SNDBUFFORCE), which
// Linux allows a process with CAP_NET_ADMIN; it reports whether the
// receive buffer was set.
func forceBuffer(fd, want int) bool {
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUFFORCE, want)
	return syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUFFORCE, want) == nil
}

func socketBuffer(fd, opt int) int {
	v, err := syscall.GetsockoptInt(fd, syscall.SOL_SOCKET, opt)
	if err != nil {
		return 0
	}
	return v
}
