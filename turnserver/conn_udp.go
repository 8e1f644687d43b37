package turnserver

import (
	"net"

	"github.com/pion/stun/v4"
)

// gatedPacketConn is a UDP listener socket as pion sees it: each datagram
// goes through the gate before pion's read loop gets it. pion reads one
// socket from one goroutine, so scratch needs no lock.
type gatedPacketConn struct {
	net.PacketConn
	gate    *gate
	scratch stun.Message
}

func (c *gatedPacketConn) ReadFrom(p []byte) (int, net.Addr, error) {
	for {
		n, addr, err := c.PacketConn.ReadFrom(p)
		if err != nil {
			return n, addr, err //nolint:wrapcheck // pion matches net errors.
		}
		if c.gate.inspect(p[:n], addr, c.LocalAddr(), c, &c.scratch) {
			return n, addr, nil
		}
	}
}

func (c *gatedPacketConn) reply(b []byte, to net.Addr) error {
	_, err := c.PacketConn.WriteTo(b, to)

	return err //nolint:wrapcheck // Logged at debug by the caller.
}
