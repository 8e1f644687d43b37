package main

import (
	"encoding/binary"
	"net"
	"net/netip"
	"os"
	"runtime"
	"strconv"
	"time"

	"syscall"
	"unsafe"
)

// epollLoop serves one listener socket and every relay socket it allocated
// from one OS thread, without Go's netpoller: epoll_pwait, then one
// recvfrom per ready socket (level-triggered, so no read ends in EAGAIN),
// then one sendto. With raw set the wait does not tell the scheduler that
// the thread blocks (the P stays with it; preemption signals interrupt the
// wait with EINTR and the loop yields at its next call).
type epollLoop struct {
	s        *server
	c        *rawSock
	lfd      int
	epfd     int
	raw      bool
	relay    map[int32]*loopAlloc
	byClient map[netip.AddrPort]*loopAlloc
}

type loopAlloc struct {
	a      *alloc
	fd     int
	client netip.AddrPort
}

// rawSock is a non-blocking UDP socket that Go's netpoller never sees (a
// socket the runtime polls would wake its poller on every datagram too).
type rawSock struct {
	fd    int
	local netip.AddrPort
}

func listenRaw(addr string) (*rawSock, error) {
	ap, err := netip.ParseAddrPort(addr)
	if err != nil {
		return nil, err
	}
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, 0xf /* SO_REUSEPORT */, 1)
	_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
	if err := syscall.Bind(fd, &syscall.SockaddrInet4{Port: int(ap.Port()), Addr: ap.Addr().As4()}); err != nil {
		_ = syscall.Close(fd)

		return nil, err
	}
	sa, err := syscall.Getsockname(fd)
	if err != nil {
		_ = syscall.Close(fd)

		return nil, err
	}
	s4 := sa.(*syscall.SockaddrInet4) //nolint:forcetypeassert // AF_INET.

	return &rawSock{fd: fd, local: netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), uint16(s4.Port))}, nil //nolint:gosec // Port.
}

func (r *rawSock) WriteToUDPAddrPort(b []byte, to netip.AddrPort) (int, error) {
	sendTo(r.fd, b, to)

	return len(b), nil
}

func (r *rawSock) LocalAddr() net.Addr { return net.UDPAddrFromAddrPort(r.local) }
func (r *rawSock) Close() error        { return syscall.Close(r.fd) }

func (s *server) serveEpoll(c *rawSock, raw bool) {
	defer s.wg.Done()
	// no lock

	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		panic(err)
	}
	defer syscall.Close(epfd)
	l := &epollLoop{s: s, c: c, lfd: c.fd, epfd: epfd, raw: raw, relay: map[int32]*loopAlloc{}, byClient: map[netip.AddrPort]*loopAlloc{}}
	l.add(l.lfd)
	s.mu.Lock()
	s.loops[c] = l
	s.mu.Unlock()
	var events [64]syscall.EpollEvent
	buf := make([]byte, 1604)
	var sa syscall.RawSockaddrInet6
	last := time.Now()
	for {
		if yieldEvery > 0 {
			if now := time.Now(); now.Sub(last) > yieldEvery {
				runtime.Gosched()
				last = now
			}
		}
		n := l.wait(events[:])
		if n <= 0 {
			if s.closed.Load() {
				return
			}

			continue
		}
		for i := range n {
			fd := events[i].Fd
			if int(fd) == l.lfd {
				m, from, ok := recvFrom(l.lfd, buf, &sa)
				if !ok {
					continue
				}
				p := buf[:m]
				if m >= 4 && p[0]&0xC0 == 0x40 {
					la := l.byClient[from]
					if la == nil {
						continue
					}
					ch := binary.BigEndian.Uint16(p[0:2])
					ln := int(binary.BigEndian.Uint16(p[2:4]))
					peer, ok := la.a.channels[ch]
					if ok && 4+ln <= m {
						sendTo(la.fd, p[4:4+ln], peer)
					}

					continue
				}
				s.control(c, from, p)

				continue
			}
			la := l.relay[fd]
			if la == nil {
				continue
			}
			m, from, ok := recvFrom(la.fd, buf[4:], &sa)
			if !ok {
				continue
			}
			ch, ok := la.a.peers[from]
			if !ok {
				continue
			}
			binary.BigEndian.PutUint16(buf[0:2], ch)
			binary.BigEndian.PutUint16(buf[2:4], uint16(m)) //nolint:gosec // m <= 1600.
			sendTo(l.lfd, buf[:4+m], la.client)
		}
	}
}

func (l *epollLoop) add(fd int) {
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(fd)} //nolint:gosec // fd.
	if err := syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		panic(err)
	}
}

func (l *epollLoop) wait(ev []syscall.EpollEvent) int {
	var r uintptr
	var e syscall.Errno
	p := uintptr(unsafe.Pointer(&ev[0]))
	if l.raw {
		// Wake at least every 500 ms so a stop request is seen.
		r, _, e = syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.epfd), p, uintptr(len(ev)), waitMS, 0, 0)
	} else {
		r, _, e = syscall.Syscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.epfd), p, uintptr(len(ev)), 500, 0, 0)
	}
	if e != 0 {
		return -1
	}

	return int(r)
}

func recvFrom(fd int, b []byte, sa *syscall.RawSockaddrInet6) (int, netip.AddrPort, bool) {
	sl := uint32(unsafe.Sizeof(*sa))
	r, _, e := syscall.RawSyscall6(syscall.SYS_RECVFROM, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		0, uintptr(unsafe.Pointer(sa)), uintptr(unsafe.Pointer(&sl)))
	if e != 0 {
		return 0, netip.AddrPort{}, false
	}
	switch sa.Family {
	case syscall.AF_INET:
		s4 := (*syscall.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&s4.Port))[:])

		return int(r), netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), port), true
	case syscall.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])

		return int(r), netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port), true
	}

	return 0, netip.AddrPort{}, false
}

func sendTo(fd int, b []byte, to netip.AddrPort) {
	var sa syscall.RawSockaddrInet4
	sa.Family = syscall.AF_INET
	binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
	sa.Addr = to.Addr().As4()
	_, _, _ = syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(unsafe.Pointer(&b[0])), uintptr(len(b)),
		0, uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
}

// adopt registers a new allocation's relay socket with the loop; it runs on
// the loop's thread (control is called from it).
func (l *epollLoop) adopt(a *alloc, client netip.AddrPort) {
	fd := a.relay.(*rawSock).fd //nolint:forcetypeassert // loop mode.
	la := &loopAlloc{a: a, fd: fd, client: client}
	l.relay[int32(fd)] = la //nolint:gosec // fd.
	l.byClient[client] = la
	l.add(fd)
}

var yieldEvery, waitMS = func() (time.Duration, uintptr) {
	y, _ := time.ParseDuration(os.Getenv("FWD_YIELD"))
	w, _ := strconv.Atoi(os.Getenv("FWD_WAITMS"))
	if w == 0 {
		w = 500
	}

	return y, uintptr(w)
}()
