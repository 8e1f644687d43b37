package turnserver

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"
)

// The UDP event loop (loop_linux.go). A relay spends most of its CPU on
// getting datagrams in and out, not on TURN: with a goroutine per socket,
// Go's netpoller costs a failed read (EAGAIN), an epoll_wait and a
// goroutine wake-up, often a spinning thread, per datagram, which made the
// relay spend 1.65-2.1x coturn's CPU per datagram at call rates
// (bench/turn/README.md). An event loop owns a set of sockets that the
// netpoller never sees and serves them from one goroutine: one epoll_pwait
// for every ready socket, one recvmmsg for up to 8 datagrams, the ChannelData fast
// path inline with its sends batched into sendmmsg (sendq_linux.go), and
// only what pion must handle (STUN requests, unbound peer data) queued to
// pion's reading goroutines through loopConn.
//
// loopConn is the net.PacketConn pion sees for such a socket.

var (
	errLoopClosed      = errors.New("turnserver: event loop closed")
	errNoDeadline      = fmt.Errorf("turnserver: deadlines on event-loop sockets: %w", errors.ErrUnsupported)
	errLoopUnsupported = fmt.Errorf("turnserver: UDP event loop: %w", errors.ErrUnsupported)
)

// loopQueue is how many datagrams wait for pion's reader per socket; more
// are dropped (metric dropped_total{reason="overload"}), as a busy kernel
// socket would, so a flood of requests cannot grow memory.
const loopQueue = 256

// readMax is the longest datagram read from any socket: pion's own
// buffers (its inboundMTU and its relay sockets' rtpMTU) are 1600 bytes,
// so both modes truncate alike.
const readMax = 1600

// loopBufSize holds the longest datagram plus a ChannelData header's room
// in front (relay sockets read behind it) and padding behind.
const loopBufSize = 4 + readMax + 4

// queuedSize is the pooled buffer size for queued datagrams; larger ones
// (rare: pion reads at most 1600 bytes) get a buffer of their own.
const queuedSize = 2048

// loopPacket is one datagram queued for pion; buf comes from packetPool.
type loopPacket struct {
	buf  *[]byte
	n    int
	from netip.AddrPort
}

var packetPool = sync.Pool{New: func() any {
	b := make([]byte, queuedSize)

	return &b
}}

// loopHandler sees each datagram on the loop's goroutine first; p has
// headroom bytes of room before it (p's backing array starts there). It
// returns true when it consumed the datagram. What it relays it may queue
// on q (sendq_linux.go), which the loop flushes after the batch.
type loopHandler func(buf []byte, n int, from netip.AddrPort, q *sendQueue) bool

// loopConn is a UDP socket served by a udpLoop.
type loopConn struct {
	loop     *udpLoop
	id       uint32
	fd       int
	local    net.Addr // 16-byte form, see udpAddr16
	localAP  netip.AddrPort
	headroom int
	readMax  int         // longest datagram read; longer ones are truncated like pion's reads
	handle   loopHandler // set before the socket joins the loop

	in        chan loopPacket
	done      chan struct{}
	closeOnce sync.Once

	// mu is held for reading around each use of fd (sends from any
	// goroutine, the loop's reads) and for writing to close it, so a
	// descriptor number is never used after it may have been reused.
	mu     sync.RWMutex
	closed bool

	addrs addrCache // the reader goroutine's
}

// deliver queues a datagram for the reader; it runs on the loop's
// goroutine and never blocks.
func (c *loopConn) deliver(p []byte, from netip.AddrPort, m *metrics) {
	var bp *[]byte
	if len(p) <= queuedSize {
		bp = packetPool.Get().(*[]byte) //nolint:forcetypeassert // Pool of *[]byte.
	} else {
		b := make([]byte, len(p))
		bp = &b
	}
	n := copy(*bp, p)
	select {
	case c.in <- loopPacket{buf: bp, n: n, from: from}:
	default:
		if len(*bp) == queuedSize {
			packetPool.Put(bp)
		}
		m.dropped.WithLabelValues("overload").Inc()
	}
}

// readAddrPort waits for the next queued datagram.
func (c *loopConn) readAddrPort(p []byte) (int, netip.AddrPort, error) {
	select {
	case pk := <-c.in:
		n := copy(p, (*pk.buf)[:pk.n])
		if len(*pk.buf) == queuedSize {
			packetPool.Put(pk.buf)
		}

		return n, pk.from, nil
	case <-c.done:
		return 0, netip.AddrPort{}, net.ErrClosed
	}
}

func (c *loopConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, ap, err := c.readAddrPort(p)
	if err != nil {
		return 0, nil, err
	}

	return n, c.addrs.get(ap), nil
}

// WriteTo sends at once from the calling goroutine; a full socket buffer
// drops the datagram with an error, as UDP may.
func (c *loopConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, fmt.Errorf("turnserver: send to %T", addr)
	}
	ip, ok := netip.AddrFromSlice(ua.IP)
	if !ok {
		return 0, fmt.Errorf("turnserver: send to %v: bad address", ua)
	}

	return c.WriteToUDPAddrPort(p, netip.AddrPortFrom(ip, uint16(ua.Port))) //nolint:gosec // Port.
}

func (c *loopConn) WriteToUDPAddrPort(p []byte, to netip.AddrPort) (int, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	if c.closed {
		return 0, net.ErrClosed
	}

	return sendTo(c.fd, p, to, c.localAP.Addr().Is6())
}

func (c *loopConn) LocalAddr() net.Addr { return c.local }

// Close stops the reader and closes the socket at once (pion closes a
// probe socket and binds its port again at once for EVEN-PORT).
func (c *loopConn) Close() error {
	c.closeOnce.Do(func() {
		close(c.done)
		c.closeFD()
		c.loop.remove(c)
	})

	return nil
}

func (c *loopConn) SetDeadline(time.Time) error      { return errNoDeadline }
func (c *loopConn) SetReadDeadline(time.Time) error  { return errNoDeadline }
func (c *loopConn) SetWriteDeadline(time.Time) error { return errNoDeadline }

// udpWriter is where the fast path sends ChannelData to clients: a
// listener's *net.UDPConn or its loopConn.
type udpWriter interface {
	WriteToUDPAddrPort(b []byte, addr netip.AddrPort) (int, error)
}
