package udpgso

import (
	"encoding/binary"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"unsafe"

	"golang.org/x/sys/unix"
)

// sysConn is the socket options and system calls Conn uses: UDP_SEGMENT
// on send and UDP_GRO on receive, each used only where the kernel takes
// it.
type sysConn struct {
	c   *net.UDPConn
	gro bool
	// gso turns false for good at the first send the kernel refuses to
	// segment (EIO: a device without checksum offload).
	gso atomic.Bool
	// oob is the UDP_SEGMENT control message, its size field rewritten
	// per send; only the sending goroutine uses it.
	oob []byte
}

// newSys turns UDP_GRO on and checks that UDP_SEGMENT is known; false if
// neither is available (Linux before 4.18 and 5.0).
func newSys(c *net.UDPConn) (*sysConn, bool) {
	raw, err := c.SyscallConn()
	if err != nil {
		return nil, false
	}
	s := &sysConn{c: c}
	var groErr, gsoErr error
	if err := raw.Control(func(fd uintptr) {
		groErr = unix.SetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_GRO, 1)
		_, gsoErr = unix.GetsockoptInt(int(fd), unix.IPPROTO_UDP, unix.UDP_SEGMENT)
	}); err != nil {
		return nil, false
	}
	s.gro = groErr == nil
	s.gso.Store(gsoErr == nil)
	if !s.gro && !s.gso.Load() {
		return nil, false
	}
	s.oob = make([]byte, unix.CmsgSpace(2))
	h := (*unix.Cmsghdr)(unsafe.Pointer(&s.oob[0]))
	h.Level = unix.IPPROTO_UDP
	h.Type = unix.UDP_SEGMENT
	h.SetLen(unix.CmsgLen(2))
	return s, true
}

// oobSize is the room a read needs for the UDP_GRO control message.
func (s *sysConn) oobSize() int { return unix.CmsgSpace(4) }

// canSegment says whether a batch may hold more than one datagram.
func (s *sysConn) canSegment() bool { return s.gso.Load() }

// groSize returns the segment size of a coalesced read from its control
// messages, or 0 when the read is one datagram.
func (s *sysConn) groSize(oob []byte) int {
	if !s.gro || len(oob) == 0 {
		return 0
	}
	msgs, err := unix.ParseSocketControlMessage(oob)
	if err != nil {
		return 0
	}
	for _, m := range msgs {
		if m.Header.Level == unix.IPPROTO_UDP && m.Header.Type == unix.UDP_GRO && len(m.Data) >= 4 {
			return int(binary.NativeEndian.Uint32(m.Data))
		}
	}
	return 0
}

// send sends buf to to as datagrams of seg bytes (the last may be
// shorter): one sendmsg with UDP_SEGMENT, or one send per datagram where
// the kernel cannot segment.
func (s *sysConn) send(buf []byte, seg int, to netip.AddrPort) error {
	if len(buf) <= seg {
		_, err := s.c.WriteToUDPAddrPort(buf, to)
		return err
	}
	if s.gso.Load() {
		binary.NativeEndian.PutUint16(s.oob[unix.CmsgLen(0):], uint16(seg))
		_, _, err := s.c.WriteMsgUDPAddrPort(buf, s.oob, to)
		if err == nil || !isNoGSO(err) {
			return err
		}
		s.gso.Store(false)
	}
	var first error
	for off := 0; off < len(buf); off += seg {
		if _, err := s.c.WriteToUDPAddrPort(buf[off:min(off+seg, len(buf))], to); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// isNoGSO is the kernel refusing to segment: EIO where the device has no
// checksum offload (quic-go checks the same).
func isNoGSO(err error) bool {
	var errno syscall.Errno
	return errors.As(err, &errno) && errno == unix.EIO
}
