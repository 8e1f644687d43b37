package xmpp

import "syscall"

// setQuickAck sends the ACK the kernel is holding back now (TCP_QUICKACK
// is not sticky: the kernel may return to delayed ACKs, hence one call
// per stanza).
func setQuickAck(fd uintptr) error {
	return syscall.SetsockoptInt(int(fd), syscall.IPPROTO_TCP, syscall.TCP_QUICKACK, 1)
}
