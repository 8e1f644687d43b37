package vnet

import (
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/vnet"
)

// jitterNet is a vnet.Net whose UDP sockets delay each datagram they
// send by its own random time, uniform over [0, maxDelay) and
// independent of every other datagram's: the textbook jitter model whose
// RFC 3550 interarrival jitter is E|X-Y| = maxDelay/3.
//
// vnet's own RouterConfig.MaxJitter is not that model: the router sleeps
// a random time holding its lock each time it wakes, so a sender's write
// blocks behind the sleep and a MaxJitter above the packet spacing
// throttles the sender instead of delaying its packets independently
// (pion/transport/v4 vnet/router.go, Router.push and processChunks).
// Here a datagram is handed to vnet when its delay ends, from a timer, so
// the sender never waits and datagrams may overtake each other, as on a
// network with parallel paths.
type jitterNet struct {
	*vnet.Net
	maxDelay time.Duration
}

// ListenUDP implements transport.Net: ICE's host candidates listen
// through it.
func (n *jitterNet) ListenUDP(network string, laddr *net.UDPAddr) (transport.UDPConn, error) {
	c, err := n.Net.ListenUDP(network, laddr)
	if err != nil {
		return nil, err
	}
	return &jitterConn{UDPConn: c, maxDelay: n.maxDelay, pending: map[*time.Timer]struct{}{}}, nil
}

// jitterConn delays WriteTo; every other method is the vnet socket's.
type jitterConn struct {
	transport.UDPConn
	maxDelay time.Duration

	mu      sync.Mutex
	closed  bool
	pending map[*time.Timer]struct{}
	wg      sync.WaitGroup // delayed writes running
}

// WriteTo copies p and sends it after its delay. Errors of the delayed
// write are lost, as a network loses a datagram.
func (c *jitterConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	b := append([]byte(nil), p...)
	d := time.Duration(rand.Int64N(int64(c.maxDelay)))
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return 0, net.ErrClosed
	}
	c.wg.Add(1)
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		defer c.wg.Done()
		c.mu.Lock()
		_, ok := c.pending[t]
		delete(c.pending, t)
		c.mu.Unlock()
		if ok {
			_, _ = c.UDPConn.WriteTo(b, addr)
		}
	})
	c.pending[t] = struct{}{}
	return len(p), nil
}

// Close drops the datagrams still delayed and waits for the writes
// already under way, so no timer outlives the socket.
func (c *jitterConn) Close() error {
	c.mu.Lock()
	c.closed = true
	for t := range c.pending {
		if t.Stop() {
			c.wg.Done()
		}
		delete(c.pending, t)
	}
	c.mu.Unlock()
	c.wg.Wait()
	return c.UDPConn.Close()
}
