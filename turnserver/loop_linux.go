package turnserver

import (
	"encoding/binary"
	"fmt"
	"net"
	"net/netip"
	"os"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
	"unsafe"

	"golang.org/x/sys/unix"
)

// udpLoop serves its sockets from one goroutine. While datagrams flow it
// waits in epoll_pwait through syscall.RawSyscall6, which does not tell the
// scheduler that the thread blocks: the goroutine keeps its P, so a
// datagram costs no goroutine wake-up, no P hand-off and no sysmon retake
// (a plain syscall.Syscall6 wait measured 4-7x worse than the netpoller,
// for exactly those). When nothing arrives for loopWait the loop parks in
// Go's netpoller on the epoll descriptor itself, so an idle loop holds no
// P and costs nothing. Holding a P has three consequences, all handled:
//   - the server runs fewer loops than GOMAXPROCS (Config.UDPLoops), so the
//     rest of the process always has a P;
//   - after loopYield the loop waits in the netpoller at its next idle
//     moment instead of in epoll_pwait, before sysmon would preempt it with
//     a signal (after 10 ms);
//   - a stop-the-world interrupts the wait with a signal (EINTR), and the
//     loop reaches a preemption point at its next call.
type udpLoop struct {
	epfd, evfd int
	epf        *os.File        // epfd in Go's netpoller, for idle waits
	epr        syscall.RawConn // epf's
	m          *metrics

	mu      sync.Mutex // guards ops, nextID, started, stopped
	ops     []loopOp
	nextID  uint32
	started bool
	stopped bool

	epollClosed atomic.Bool

	conns map[uint32]*loopConn // the loop goroutine's
	stop  chan struct{}
	done  chan struct{}
}

type loopOp struct {
	c   *loopConn
	add bool
}

const (
	loopWait  = 5 // ms without a datagram before the loop parks
	loopYield = 8 * time.Millisecond
	loopBatch = 64 // events per epoll_pwait
)

func newUDPLoop(m *metrics) (*udpLoop, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("turnserver: epoll_create1: %w", err)
	}
	r, _, e := syscall.Syscall(syscall.SYS_EVENTFD2, 0, syscall.O_NONBLOCK|syscall.O_CLOEXEC, 0)
	if e != 0 {
		_ = syscall.Close(epfd)

		return nil, fmt.Errorf("turnserver: eventfd: %w", e)
	}
	l := &udpLoop{
		epfd: epfd, evfd: int(r), m: m, nextID: 1,
		conns: map[uint32]*loopConn{}, stop: make(chan struct{}), done: make(chan struct{}),
	}
	fail := func(what string, err error) (*udpLoop, error) {
		if l.epf != nil {
			_ = l.epf.Close()
		} else {
			_ = syscall.Close(epfd)
		}
		_ = syscall.Close(l.evfd)

		return nil, fmt.Errorf("turnserver: %s: %w", what, err)
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: 0} // id 0: the eventfd
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, l.evfd, &ev); err != nil {
		return fail("epoll_ctl", err)
	}
	// An epoll descriptor is readable while it has events: the netpoller
	// can wait on it like on a socket.
	if err := syscall.SetNonblock(epfd, true); err != nil {
		return fail("epoll nonblock", err)
	}
	l.epf = os.NewFile(uintptr(epfd), "turnserver-epoll")
	if l.epr, err = l.epf.SyscallConn(); err != nil {
		return fail("epoll in netpoller", err)
	}

	return l, nil
}

// listen opens a non-blocking UDP socket for l that the netpoller never
// sees, bound to addr; reusePort lets several listener sockets share a
// port. It is served only once join hands it to the loop, so that its
// handler's state can be set up first. Reads put headroom bytes of room in
// front of each datagram and take at most maxRead bytes.
func (l *udpLoop) listen(addr netip.AddrPort, reusePort bool, bufSize, headroom, maxRead int, h loopHandler) (*loopConn, error) {
	family := syscall.AF_INET
	if addr.Addr().Is6() && !addr.Addr().Is4In6() {
		family = syscall.AF_INET6
	}
	fd, err := syscall.Socket(family, syscall.SOCK_DGRAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return nil, fmt.Errorf("turnserver: socket: %w", err)
	}
	fail := func(what string, err error) (*loopConn, error) {
		_ = syscall.Close(fd)

		return nil, fmt.Errorf("turnserver: %s %s: %w", what, addr, err)
	}
	if reusePort {
		if err := syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, soReusePort, 1); err != nil {
			return fail("SO_REUSEPORT", err)
		}
	}
	if family == syscall.AF_INET6 {
		_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_IPV6, syscall.IPV6_V6ONLY, 1)
	}
	if bufSize > 0 {
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, bufSize)
		_ = syscall.SetsockoptInt(fd, syscall.SOL_SOCKET, syscall.SO_SNDBUF, bufSize)
	}
	var sa syscall.Sockaddr
	if family == syscall.AF_INET {
		sa = &syscall.SockaddrInet4{Port: int(addr.Port()), Addr: addr.Addr().Unmap().As4()}
	} else {
		sa = &syscall.SockaddrInet6{Port: int(addr.Port()), Addr: addr.Addr().As16()}
	}
	if err := syscall.Bind(fd, sa); err != nil {
		return fail("bind", err)
	}
	got, err := syscall.Getsockname(fd)
	if err != nil {
		return fail("getsockname", err)
	}
	var local netip.AddrPort
	switch g := got.(type) {
	case *syscall.SockaddrInet4:
		local = netip.AddrPortFrom(netip.AddrFrom4(g.Addr), uint16(g.Port)) //nolint:gosec // Port.
	case *syscall.SockaddrInet6:
		local = netip.AddrPortFrom(netip.AddrFrom16(g.Addr), uint16(g.Port)) //nolint:gosec // Port.
	}
	c := &loopConn{
		loop: l, fd: fd, localAP: local, local: udpAddr16(local), headroom: headroom, readMax: maxRead, handle: h,
		in: make(chan loopPacket, loopQueue), done: make(chan struct{}),
	}

	return c, nil
}

// soReusePort is SO_REUSEPORT, which package syscall does not name.
const soReusePort = 0xf

// join hands c to the loop; a socket that cannot join is closed.
func (l *udpLoop) join(c *loopConn) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		c.closeFD()

		return errLoopClosed
	}
	c.id = l.nextID
	l.nextID++
	if l.nextID == 0 {
		l.nextID = 1
	}
	l.ops = append(l.ops, loopOp{c: c, add: true})
	l.wake()

	return nil
}

// remove drops a closed socket from the loop's table.
func (l *udpLoop) remove(c *loopConn) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.stopped {
		return
	}
	l.ops = append(l.ops, loopOp{c: c})
	l.wake()
}

func (l *udpLoop) wake() {
	one := [8]byte{1}
	_, _ = syscall.Write(l.evfd, one[:])
}

// closeFD leaves the epoll set (closing alone would not, while a dup of
// the descriptor lived) and closes the socket.
func (c *loopConn) closeFD() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.closed {
		c.closed = true
		if !c.loop.epollClosed.Load() {
			_ = syscall.EpollCtl(c.loop.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
		}
		_ = syscall.Close(c.fd)
	}
}

// start runs the loop until close.
func (l *udpLoop) start() {
	l.mu.Lock()
	l.started = true
	l.mu.Unlock()
	go l.run()
}

// close stops the loop and closes every socket still in it.
func (l *udpLoop) close() {
	l.mu.Lock()
	started := l.started
	select {
	case <-l.stop:
	default:
		close(l.stop)
	}
	if started {
		l.wake()
	}
	l.mu.Unlock()
	if started {
		<-l.done

		return
	}
	select {
	case <-l.done:
	default:
		l.applyOps() // never started: clean up here, once
		close(l.done)
	}
}

func (l *udpLoop) run() {
	defer close(l.done)
	var events [loopBatch]syscall.EpollEvent
	b := newBatch()
	q := newSendQueue(l.m)
	last := time.Now()
	for {
		var n int
		if time.Since(last) >= loopYield {
			// Time to give the scheduler a turn: wait in the netpoller at
			// the next moment with nothing to read. Cheaper than
			// runtime.Gosched, which wakes an idle thread to take the
			// goroutine over; the profile showed that as the largest cost
			// at call rates.
			var parked bool
			if n, parked = l.park(events[:]); parked {
				last = time.Now()
			}
		} else {
			var idle bool
			if n, idle = l.wait(events[:]); idle {
				n, _ = l.park(events[:])
				last = time.Now()
			}
		}
		for i := range n {
			id := uint32(events[i].Fd) //nolint:gosec // The id we stored.
			if id == 0 {
				var b [8]byte
				_, _ = syscall.Read(l.evfd, b[:])
				if l.applyOps() {
					return
				}

				continue
			}
			if c := l.conns[id]; c != nil {
				l.read(c, b, q)
			}
		}
	}
}

// read takes up to loopMsgs datagrams from c, if c is still open, and
// sends what their handlers queued.
func (l *udpLoop) read(c *loopConn, b *batch, q *sendQueue) {
	l.handleBatch(c, b, q)
	q.flush()
}

func (l *udpLoop) handleBatch(c *loopConn, b *batch, q *sendQueue) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return
	}
	n := b.recv(c.fd, c.headroom, c.readMax)
	for i := range n {
		m := int(b.hdrs[i].n)
		from, ok := b.from(i)
		if !ok {
			continue
		}
		buf := b.bufs[i]
		if c.handle != nil && c.handle(buf, m, from, q) {
			continue
		}
		c.deliver(buf[c.headroom:c.headroom+m], from, l.m)
	}
}

// loopMsgs is how many datagrams one recvmmsg takes from a socket. At call
// rates a socket rarely holds more than one, and recvmmsg then costs what
// recvfrom does; under load it saves a system call per extra datagram.
const loopMsgs = 8

// mmsghdr is struct mmsghdr of recvmmsg(2).
type mmsghdr struct {
	hdr unix.Msghdr
	n   uint32
}

// batch is a loop's receive buffers, reused for every read.
type batch struct {
	hdrs  [loopMsgs]mmsghdr
	iovs  [loopMsgs]unix.Iovec
	names [loopMsgs]unix.RawSockaddrInet6
	bufs  [loopMsgs][]byte
}

func newBatch() *batch {
	b := &batch{}
	for i := range loopMsgs {
		b.bufs[i] = make([]byte, loopBufSize)
		b.hdrs[i].hdr.Iov = &b.iovs[i]
		b.hdrs[i].hdr.SetIovlen(1)
		b.hdrs[i].hdr.Name = (*byte)(unsafe.Pointer(&b.names[i]))
	}

	return b
}

// recv reads up to loopMsgs datagrams into bufs[i][headroom:], at most max
// bytes each, without allocating; it returns how many.
func (b *batch) recv(fd, headroom, max int) int {
	for i := range loopMsgs {
		b.iovs[i].Base = &b.bufs[i][headroom]
		b.iovs[i].SetLen(max)
		b.hdrs[i].hdr.Namelen = uint32(unsafe.Sizeof(b.names[i]))
		b.hdrs[i].hdr.Flags = 0
	}
	r, _, e := unix.RawSyscall6(unix.SYS_RECVMMSG, uintptr(fd), uintptr(unsafe.Pointer(&b.hdrs[0])), loopMsgs, 0, 0, 0)
	if e != 0 {
		return 0
	}

	return int(r)
}

// from is datagram i's source, IPv4-mapped addresses unmapped.
func (b *batch) from(i int) (netip.AddrPort, bool) {
	sa := &b.names[i]
	switch sa.Family {
	case unix.AF_INET:
		s4 := (*unix.RawSockaddrInet4)(unsafe.Pointer(sa))
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&s4.Port))[:])

		return netip.AddrPortFrom(netip.AddrFrom4(s4.Addr), port), true
	case unix.AF_INET6:
		port := binary.BigEndian.Uint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:])

		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr).Unmap(), port), true
	}

	return netip.AddrPort{}, false
}

// applyOps adds and removes sockets; it reports whether the loop stops.
func (l *udpLoop) applyOps() bool {
	l.mu.Lock()
	ops := l.ops
	l.ops = nil
	stop := false
	select {
	case <-l.stop:
		stop = true
		l.stopped = true
	default:
	}
	l.mu.Unlock()
	for _, op := range ops {
		if op.add {
			if l.register(op.c) {
				l.conns[op.c.id] = op.c
			}

			continue
		}
		delete(l.conns, op.c.id)
	}
	if stop {
		for id, c := range l.conns {
			delete(l.conns, id)
			c.closeFD()
		}
		l.epollClosed.Store(true)
		_ = l.epf.Close()
		_ = syscall.Close(l.evfd)
	}

	return stop
}

// register adds c's socket to the epoll set unless c was closed meanwhile.
func (l *udpLoop) register(c *loopConn) bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return false
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN, Fd: int32(c.id)} //nolint:gosec // Our id.

	return syscall.EpollCtl(l.epfd, syscall.EPOLL_CTL_ADD, c.fd, &ev) == nil
}

// wait is epoll_pwait with the P kept (see udpLoop). It returns the
// number of events; idle is true when loopWait passed without any.
//
//go:noinline
func (l *udpLoop) wait(ev []syscall.EpollEvent) (n int, idle bool) {
	r, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.epfd), uintptr(unsafe.Pointer(&ev[0])),
		uintptr(len(ev)), loopWait, 0, 0)
	if e != 0 { // EINTR: a signal, maybe a stop-the-world; return to Go.
		return 0, false
	}

	return int(r), r == 0
}

// park waits for events in Go's netpoller, holding no P; parked tells
// whether it had to wait (events already pending are returned at once).
func (l *udpLoop) park(ev []syscall.EpollEvent) (n int, parked bool) {
	calls := 0
	_ = l.epr.Read(func(uintptr) bool {
		calls++
		r, _, e := syscall.RawSyscall6(syscall.SYS_EPOLL_PWAIT, uintptr(l.epfd), uintptr(unsafe.Pointer(&ev[0])),
			uintptr(len(ev)), 0, 0, 0)
		if e == 0 && r > 0 {
			n = int(r)

			return true
		}

		return e != 0 && e != syscall.EINTR && e != syscall.EAGAIN
	})

	return n, calls > 1
}

// sendTo sends one datagram without allocating; v6 is the socket's family.
func sendTo(fd int, b []byte, to netip.AddrPort, v6 bool) (int, error) {
	var p unsafe.Pointer
	if len(b) > 0 {
		p = unsafe.Pointer(&b[0])
	}
	var (
		r uintptr
		e syscall.Errno
	)
	if v6 {
		var sa syscall.RawSockaddrInet6
		sa.Family = syscall.AF_INET6
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
		sa.Addr = to.Addr().As16()
		r, _, e = syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(b)),
			0, uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	} else {
		if !to.Addr().Unmap().Is4() {
			return 0, fmt.Errorf("turnserver: send to %v from an IPv4 socket: %w", to, syscall.EAFNOSUPPORT)
		}
		var sa syscall.RawSockaddrInet4
		sa.Family = syscall.AF_INET
		binary.BigEndian.PutUint16((*[2]byte)(unsafe.Pointer(&sa.Port))[:], to.Port())
		sa.Addr = to.Addr().Unmap().As4()
		r, _, e = syscall.RawSyscall6(syscall.SYS_SENDTO, uintptr(fd), uintptr(p), uintptr(len(b)),
			0, uintptr(unsafe.Pointer(&sa)), unsafe.Sizeof(sa))
	}
	if e != 0 {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: net.UDPAddrFromAddrPort(to), Err: e}
	}

	return int(r), nil
}

const loopSupported = true
