package turnserver

import (
	"net"
	"net/netip"
	"sync"
	"time"

	"github.com/pion/stun/v4"
)

// gatedPacketConn is a UDP listener socket as pion sees it: each datagram
// goes through the gate before pion's read loop gets it. pion reads one
// socket from one goroutine, so scratch needs no lock.
type gatedPacketConn struct {
	net.PacketConn
	gate    *gate
	scratch stun.Message
	addrs   addrCache
	local   net.Addr // LocalAddr in 16-byte form, see udpAddr16
	gen     *socketGenerator

	// The ChannelData fast path (fastpath.go), on real UDP sockets only:
	// udp is set when the socket has its own reading goroutine, lc when an
	// event loop serves it; out is whichever of them sends.
	udp    *net.UDPConn
	lc     *loopConn
	out    udpWriter
	fast   fastTable
	cur    netip.AddrPort // source of the datagram pion is handling
	bindMu sync.Mutex     // WriteTo also runs on pion's allocation goroutines
	bind   pendingBind
}

func (c *gatedPacketConn) reservePort(port int) { c.gen.pending = port }

// WriteTo notes reservation tokens in pion's Allocate responses.
func (c *gatedPacketConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	c.gate.noteReservation(p)
	c.noteBindResponse(p)

	return c.PacketConn.WriteTo(p, addr) //nolint:wrapcheck // Caller is pion.
}

// LocalAddr is asked for on every datagram by pion (the 5-tuple's
// destination); the 16-byte form spares it an allocation each time.
func (c *gatedPacketConn) LocalAddr() net.Addr {
	if c.local == nil {
		return c.PacketConn.LocalAddr()
	}

	return c.local
}

func newGatedPacketConn(pc net.PacketConn, g *gate, gen *socketGenerator) *gatedPacketConn {
	c := &gatedPacketConn{PacketConn: pc, gate: g, gen: gen}
	gen.conn = c
	switch u := pc.(type) {
	case *net.UDPConn:
		c.udp, c.out = u, u
	case *loopConn:
		c.lc, c.out = u, u
	}
	if ua, ok := pc.LocalAddr().(*net.UDPAddr); ok {
		c.local = udpAddr16(ua.AddrPort())
	}

	return c
}

// fromClient is the event loop's look at each datagram on the socket: a
// ChannelData on a mirrored channel is relayed there and then.
func (c *gatedPacketConn) fromClient(buf []byte, n int, from netip.AddrPort, q *sendQueue) bool {
	return n >= 4 && buf[0]&0xC0 == 0x40 && c.forward(buf[:n], from, q)
}

func (c *gatedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	if c.udp == nil && c.lc == nil {
		return c.readSlow(p)
	}
	for {
		var (
			n   int
			ap  netip.AddrPort
			err error
		)
		if c.lc != nil {
			n, ap, err = c.lc.readAddrPort(p) // fromClient has seen it.
		} else {
			n, ap, err = c.udp.ReadFromUDPAddrPort(p)
		}
		if err != nil {
			return n, nil, err //nolint:wrapcheck // pion matches net errors.
		}
		c.gen.pending = 0 // A reservation applies to one datagram only.
		ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
		if c.lc == nil && c.fromClient(p, n, ap, nil) {
			continue
		}
		c.clearBind()
		addr := c.addrs.get(ap)
		c.cur = ap
		out := c.gate.inspect(p[:n], addr, c.LocalAddr(), c, &c.scratch)
		if out == nil {
			continue
		}
		if p[0]&0xC0 == 0 {
			c.noteBind(&c.scratch, ap, time.Now())
		}
		if len(out) > 0 && len(p) > 0 && &out[0] != &p[0] {
			n = copy(p, out)
		}

		return n, addr, nil
	}
}

// readSlow serves sockets that are not *net.UDPConn (vnet): no fast path.
func (c *gatedPacketConn) readSlow(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := readFrom(c.PacketConn, &c.addrs, p)
		if err != nil {
			return n, addr, err //nolint:wrapcheck // pion matches net errors.
		}
		c.gen.pending = 0 // A reservation applies to one datagram only.
		out := c.gate.inspect(p[:n], addr, c.LocalAddr(), c, &c.scratch)
		if out == nil {
			continue
		}
		if len(out) > 0 && len(p) > 0 && &out[0] != &p[0] {
			n = copy(p, out)
		}

		return n, addr, nil
	}
}

func (c *gatedPacketConn) reply(b []byte, to net.Addr) error {
	_, err := c.PacketConn.WriteTo(b, to)

	return err //nolint:wrapcheck // Logged at debug by the caller.
}
