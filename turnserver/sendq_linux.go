package turnserver

import (
	"encoding/binary"
	"net/netip"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sendQueue batches the fast path's sends. While the event loop handles
// the datagrams of one recvmmsg, the ChannelData it relays is queued here
// instead of sent one sendto at a time; after the batch, flush sends each
// run of datagrams leaving by the same socket with one sendmmsg. Under a
// flood a relay socket's read brings several datagrams from one peer, all
// bound for one client through one listener socket, so that direction
// costs one system call per batch instead of one per datagram; at call
// rates a batch holds one datagram and flush costs what sendto did.
//
// The queued bytes are the loop's receive buffers, which the next read
// reuses, so the loop flushes before it reads again. Only the loop's
// goroutine touches its queue; pion's goroutines still send at once.
type sendQueue struct {
	n     int
	conns [loopMsgs]*loopConn
	hdrs  [loopMsgs]mmsghdr
	iovs  [loopMsgs]unix.Iovec
	names [loopMsgs]unix.RawSockaddrInet6
	m     *metrics
}

func newSendQueue(m *metrics) *sendQueue {
	q := &sendQueue{m: m}
	for i := range loopMsgs {
		q.hdrs[i].hdr.Iov = &q.iovs[i]
		q.hdrs[i].hdr.SetIovlen(1)
		q.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&q.names[i]))
	}

	return q
}

// add queues b for to on c and reports whether it did; false (a full
// queue, or an address c's family cannot reach) leaves the send to the
// caller, which then sends at once and reports the error itself.
func (q *sendQueue) add(c *loopConn, b []byte, to netip.AddrPort) bool {
	if q == nil || q.n == loopMsgs || len(b) == 0 {
		return false
	}
	i := q.n
	sa := &q.names[i]
	*sa = unix.RawSockaddrInet6{}
	if c.localAP.Addr().Is6() {
		sa.Family = unix.AF_INET6
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
		sa.Addr = to.Addr().As16()
		q.hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet6
	} else {
		if !to.Addr().Unmap().Is4() {
			return false
		}
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		s4.Family = unix.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&s4.Port))[:], to.Port())
		s4.Addr = to.Addr().Unmap().As4()
		q.hdrs[i].hdr.Namelen = unix.SizeofSockaddrInet4
	}
	q.iovs[i].Base = &b[0]
	q.iovs[i].SetLen(len(b))
	q.conns[i] = c
	q.n++

	return true
}

// flush sends everything queued, one sendmmsg per run of datagrams on the
// same socket. A datagram the kernel refuses (a full socket buffer) is
// dropped and counted as a send error, as the immediate path counts it.
func (q *sendQueue) flush() {
	for start := 0; start < q.n; {
		c := q.conns[start]
		end := start + 1
		for end < q.n && q.conns[end] == c {
			end++
		}
		q.sendRun(c, start, end)
		start = end
	}
	clear(q.conns[:q.n])
	q.n = 0
}

// sendRun sends datagrams [start, end) on c, unless c was closed since
// they were queued (its descriptor number may belong to another socket
// by now).
func (q *sendQueue) sendRun(c *loopConn, start, end int) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return
	}
	for start < end {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&q.hdrs[start])),
			uintptr(end-start), 0, 0, 0)
		if e != 0 || r == 0 {
			// The first datagram failed; drop it and go on with the rest.
			q.m.dropped.WithLabelValues("send_error").Inc()
			start++

			continue
		}
		start += int(r)
	}
}
