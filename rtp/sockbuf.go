// The shared UDP port's socket buffers: how much of a stall the kernel
// holds for us instead of dropping.

package rtp

import (
	"net"
	"syscall"
)

// muxSocketBuffer is the receive and send buffer the shared UDP port asks
// for (the kernel doubles it for its bookkeeping). A thousand echo calls
// bring 50,000 datagrams a second, each charged about 800 bytes on
// loopback and 2 KiB or more from a network card. When the process stops
// reading for a moment (a garbage collection marking 150 MB of call
// state stalled the read loop for 230-400 ms in bench/calls), the queue
// must hold what arrives meanwhile: at 4 MiB (8 in the kernel's count)
// it overflowed and those calls lost audio; 16 MiB holds most of a
// second.
const muxSocketBuffer = 16 << 20

// setSocketBuffers asks for want bytes of receive and send buffer on c
// and returns the receive buffer the kernel granted (in its own,
// doubled, count; 0 if it cannot be read). Linux caps the plain request
// at net.core.rmem_max; a process with CAP_NET_ADMIN is granted the
// whole request anyway (forceBuffer).
func setSocketBuffers(c *net.UDPConn, want int) int {
	_ = c.SetReadBuffer(want)
	_ = c.SetWriteBuffer(want)
	rc, err := c.SyscallConn()
	if err != nil {
		return 0
	}
	got := 0
	_ = rc.Control(func(fd uintptr) {
		got = socketBuffer(int(fd), syscall.SO_RCVBUF)
		if got < 2*want && forceBuffer(int(fd), want) {
			got = socketBuffer(int(fd), syscall.SO_RCVBUF)
		}
	})
	return got
}
