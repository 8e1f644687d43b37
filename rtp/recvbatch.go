// Reading a batch of datagrams with their senders (recvmmsg): what the
// shared UDP port's one read loop does for every call's packets.

package rtp

import "net/netip"

// batchReader reads the datagrams queued at a socket, as many as fit
// bufs, in one system call where the system has one: each one's length
// into ns and its sender into froms. It blocks until at least one is
// queued.
type batchReader interface {
	readBatch(bufs [][]byte, ns []int, froms []netip.AddrPort) (int, error)
}
