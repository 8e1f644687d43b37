//go:build !linux

package xmpp

// setQuickAck: TCP_QUICKACK is Linux's; elsewhere the kernel's delayed
// ACKs stay.
func setQuickAck(fd uintptr) error { return nil }
