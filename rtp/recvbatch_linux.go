package rtp

import (
	"encoding/binary"
	"net"
	"net/netip"
	"strconv"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// mmsgReader is recvmmsg with the senders' addresses parsed in place:
// x/net's ReadBatch allocates a net.UDPAddr for every datagram (its
// parseInetAddr), which at a thousand calls was a fifth of jingled's
// allocation and so of its garbage collections' frequency, each of which
// stalls the port's read loop for a few hundred milliseconds on one core.
// Here the headers, vectors and address buffers are allocated once.
type mmsgReader struct {
	rc    syscall.RawConn
	hdrs  []mmsghdr
	iovs  []unix.Iovec
	names []unix.RawSockaddrInet6 // big enough for either family
	// recv is r.recvmmsg, bound once: a closure made per read escapes
	// to the runtime's poller and was the read's one allocation left.
	recv func(fd uintptr) bool
	// k is how many headers the read offers; n and errno are what
	// recvmmsg returned.
	k, n  int
	errno syscall.Errno
}

// mmsghdr is Linux's struct mmsghdr: Go lays it out as C does (the
// length padded to the header's alignment).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

func newBatchReader(c *net.UDPConn, size int) (batchReader, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return nil, err
	}
	r := &mmsgReader{rc: rc, hdrs: make([]mmsghdr, size), iovs: make([]unix.Iovec, size), names: make([]unix.RawSockaddrInet6, size)}
	for i := range r.hdrs {
		// What never changes: each header's address buffer and its one
		// vector.
		h := &r.hdrs[i].hdr
		h.Name = (*byte)(unsafe.Pointer(&r.names[i]))
		h.Iov = &r.iovs[i]
		h.SetIovlen(1)
	}
	r.recv = r.recvmmsg
	return r, nil
}

// recvmmsg is the raw read of r.k datagrams; it reports false (wait for
// the socket to be readable and call again) when there are none.
func (r *mmsgReader) recvmmsg(fd uintptr) bool {
	r0, _, e := unix.Syscall6(unix.SYS_RECVMMSG, fd, uintptr(unsafe.Pointer(&r.hdrs[0])), uintptr(r.k), unix.MSG_DONTWAIT, 0, 0)
	r.n, r.errno = int(r0), e
	return e != unix.EAGAIN && e != unix.EWOULDBLOCK
}

func (r *mmsgReader) readBatch(bufs [][]byte, ns []int, froms []netip.AddrPort) (int, error) {
	k := min(len(bufs), len(r.hdrs), len(ns), len(froms))
	for i := range k {
		// What the kernel overwrote, and the buffers of this read.
		r.iovs[i].Base = unsafe.SliceData(bufs[i])
		r.iovs[i].SetLen(len(bufs[i]))
		r.hdrs[i].hdr.Namelen = uint32(unsafe.Sizeof(r.names[i]))
		r.hdrs[i].n = 0
	}
	r.k = k
	if err := r.rc.Read(r.recv); err != nil {
		return 0, err
	}
	if r.errno != 0 {
		return 0, &net.OpError{Op: "read", Net: "udp", Err: r.errno}
	}
	n := r.n
	for i := range n {
		ns[i] = int(r.hdrs[i].n)
		froms[i] = sockaddrAddrPort(&r.names[i], r.hdrs[i].hdr.Namelen)
	}
	return n, nil
}

// sockaddrAddrPort reads an AF_INET or AF_INET6 address; anything else is
// the zero AddrPort.
func sockaddrAddrPort(sa *unix.RawSockaddrInet6, n uint32) netip.AddrPort {
	// The port is in network order in both families, at the same offset.
	port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])
	switch sa.Family {
	case unix.AF_INET:
		if n < unix.SizeofSockaddrInet4 {
			return netip.AddrPort{}
		}
		sa4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		return netip.AddrPortFrom(netip.AddrFrom4(sa4.Addr), port)
	case unix.AF_INET6:
		if n < unix.SizeofSockaddrInet6 {
			return netip.AddrPort{}
		}
		a := netip.AddrFrom16(sa.Addr)
		if sa.Scope_id != 0 {
			a = a.WithZone(zoneName(sa.Scope_id))
		}
		return netip.AddrPortFrom(a, port)
	}
	return netip.AddrPort{}
}

// zoneName names an IPv6 zone by interface index, as net does: the name
// if the interface is known, else the number.
func zoneName(idx uint32) string {
	if ifi, err := net.InterfaceByIndex(int(idx)); err == nil {
		return ifi.Name
	}
	return strconv.FormatUint(uint64(idx), 10)
}
