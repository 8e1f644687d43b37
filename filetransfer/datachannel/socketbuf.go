// The socket buffers of a data channel's ICE sockets: a burst from pion's
// SCTP overflows a receive buffer of the kernel's default size on
// loopback, and every datagram lost costs a retransmission and a smaller
// congestion window (bench/ftref's UDP drop counts).

package datachannel

import (
	"fmt"
	"net"

	"github.com/pion/transport/v4"

	"github.com/jingled/jingled/internal/udpgso"
)

// socketBuffer is the SO_RCVBUF and SO_SNDBUF we ask for on every UDP
// socket ICE opens: 4 MiB holds a whole SCTP receive window
// in flight. Linux caps it at net.core.rmem_max and
// wmem_max without failing.
const socketBuffer = 4 << 20

// bufferedNet is the host network with larger socket buffers on each UDP
// socket ICE opens: host candidates (ListenUDP) and the TURN client's
// socket (ListenPacket).
type bufferedNet struct {
	transport.Net
	size int
}

// bufferSetter is what UDP sockets offer to size their buffers.
type bufferSetter interface {
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
}

// setBuffers sizes c's buffers. A failure is not fatal: the socket works
// with the default sizes, only slower.
func (n bufferedNet) setBuffers(c any) {
	if b, ok := c.(bufferSetter); ok {
		_ = b.SetReadBuffer(n.size)
		_ = b.SetWriteBuffer(n.size)
	}
}

// ListenUDP implements transport.Net.
func (n bufferedNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, fmt.Errorf("datachannel: listen %s %s: %w", network, laddr, err)
	}
	n.setBuffers(c)
	if uc, ok := c.(*net.UDPConn); ok {
		// Datagrams in segmented batches (internal/udpgso): the kernel's
		// cost per datagram was a quarter of a transfer's CPU.
		return udpgso.Wrap(uc), nil
	}
	return c, nil
}

// ListenPacket implements transport.Net.
func (n bufferedNet) ListenPacket(network, address string) (net.PacketConn, error) {
	c, err := n.Net.ListenPacket(network, address)
	if err != nil {
		return nil, fmt.Errorf("datachannel: listen %s %s: %w", network, address, err)
	}
	n.setBuffers(c)
	return c, nil
}
