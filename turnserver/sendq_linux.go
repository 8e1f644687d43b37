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
// Where the kernel has UDP GSO (UDP_SEGMENT, Linux 4.18), consecutive
// datagrams of a run bound for the same address with the same size (the
// last may be shorter) go as one message the kernel splits late, so the
// stack is walked once for them: that is how a flood from one peer to one
// client leaves.
//
// The queued bytes are the loop's receive buffers, which the next read
// reuses, so the loop flushes before it reads again. Only the loop's
// goroutine touches its queue; pion's goroutines still send at once.
type sendQueue struct {
	n     int
	conns [loopMsgs]*loopConn
	iovs  [loopMsgs]unix.Iovec
	names [loopMsgs]unix.RawSockaddrInet6
	lens  [loopMsgs]uint32 // names' lengths
	m     *metrics

	// The messages of one sendmmsg: one per datagram, or one per GSO
	// group of segs datagrams with its UDP_SEGMENT control message.
	out  [loopMsgs]mmsghdr
	segs [loopMsgs]int
	ctrl [loopMsgs][gsoCmsgSpace]byte

	gso      bool // the kernel takes UDP_SEGMENT
	gsoFails int  // GSO sends refused; past gsoMaxFails GSO is off
}

const (
	// gsoSegMax is the largest segment sent with GSO: a segment must fit
	// the path's MTU, which the kernel checks (EINVAL) and a relay does
	// not know; 1400 bytes fits Ethernet and most tunnels, and covers
	// audio and most video packets.
	gsoSegMax = 1400
	// gsoMaxFails turns GSO off for a loop whose sends it keeps failing
	// (a device without checksum offload, a tunnel with a small MTU).
	gsoMaxFails  = 16
	gsoCmsgSpace = 24 // unix.CmsgSpace(2) on 64-bit Linux
)

func newSendQueue(m *metrics) *sendQueue {
	return &sendQueue{m: m, gso: kernelHasGSO()}
}

// kernelHasGSO asks a throwaway UDP socket whether it takes UDP_SEGMENT.
func kernelHasGSO() bool {
	fd, err := unix.Socket(unix.AF_INET, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return false
	}
	defer unix.Close(fd) //nolint:errcheck // Probe socket.

	return unix.SetsockoptInt(fd, unix.IPPROTO_UDP, unix.UDP_SEGMENT, 0) == nil
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
		q.lens[i] = unix.SizeofSockaddrInet6
	} else {
		if !to.Addr().Unmap().Is4() {
			return false
		}
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		s4.Family = unix.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&s4.Port))[:], to.Port())
		s4.Addr = to.Addr().Unmap().As4()
		q.lens[i] = unix.SizeofSockaddrInet4
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
	k := q.build(start, end, q.gso)
	for i := 0; i < k; {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&q.out[i])),
			uintptr(k-i), 0, 0, 0)
		if e == 0 && r > 0 {
			i += int(r)

			continue
		}
		// Message i failed. A GSO group is sent again one by one (and GSO
		// given up if it keeps failing); a single datagram is dropped.
		if q.segs[i] > 1 {
			if q.gsoFails++; q.gsoFails >= gsoMaxFails {
				q.gso = false
			}
			first := q.first(i, start)
			q.sendPlain(c, first, first+q.segs[i])
		} else {
			q.m.dropped.WithLabelValues("send_error").Inc()
		}
		i++
	}
}

// first is the index of message i's first datagram.
func (q *sendQueue) first(i, start int) int {
	for j := range i {
		start += q.segs[j]
	}

	return start
}

// sendPlain sends datagrams [start, end) as one message each.
func (q *sendQueue) sendPlain(c *loopConn, start, end int) {
	k := q.build(start, end, false)
	for i := 0; i < k; {
		r, _, e := unix.RawSyscall6(unix.SYS_SENDMMSG, uintptr(c.fd), uintptr(unsafe.Pointer(&q.out[i])),
			uintptr(k-i), 0, 0, 0)
		if e != 0 || r == 0 {
			q.m.dropped.WithLabelValues("send_error").Inc()
			r = 1
		}
		i += int(r)
	}
}

// build fills q.out with the messages for datagrams [start, end) and
// returns how many: with gso, runs to one address of equal-size datagrams
// (the last may be shorter) share a message.
func (q *sendQueue) build(start, end int, gso bool) int {
	k := 0
	for i := start; i < end; k++ {
		size := q.iovs[i].Len
		j := i + 1
		if gso && size <= gsoSegMax {
			for j < end && q.names[j] == q.names[i] && q.iovs[j-1].Len == size && q.iovs[j].Len <= size {
				j++
			}
		}
		h := &q.out[k].hdr
		*h = unix.Msghdr{Name: (*byte)(unsafe.Pointer(&q.names[i])), Namelen: q.lens[i], Iov: &q.iovs[i]}
		h.SetIovlen(j - i)
		if j-i > 1 {
			c := &q.ctrl[k]
			cm := (*unix.Cmsghdr)(unsafe.Pointer(&c[0]))
			cm.Level, cm.Type = unix.IPPROTO_UDP, unix.UDP_SEGMENT
			cm.SetLen(unix.CmsgLen(2))
			binary.NativeEndian.PutUint16(c[unix.CmsgLen(0):], uint16(size)) //nolint:gosec // <= gsoSegMax.
			h.Control = &c[0]
			h.SetControllen(unix.CmsgSpace(2))
		}
		q.segs[k] = j - i
		i = j
	}

	return k
}
