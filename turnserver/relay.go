package turnserver

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/netip"
	"strconv"
	"sync"
	"time"

	"github.com/pion/transport/v4"
	"github.com/pion/transport/v4/reuseport"
	"github.com/pion/turn/v5"
	"golang.org/x/time/rate"
)

var (
	errNoRelayPort = errors.New("turnserver: no free relay port in range")
	errPeerDenied  = errors.New("turnserver: peer address refused by policy")
)

// relayGenerator opens relay sockets in the configured port range, bound to
// the relay bind address and advertised under the external address, and
// wraps each UDP one so every datagram is counted, rate-limited and checked
// against the peer policy per address and port.
type relayGenerator struct {
	net        transport.Net
	bindIP     net.IP
	advertised net.IP
	min, max   int
	policy     *PeerPolicy
	metrics    *metrics
	userBW     int64
	total      *rate.Limiter
	users      *userLimiters
}

var _ turn.RelayAddressGenerator = (*relayGenerator)(nil)

func (r *relayGenerator) Validate() error { return nil }

func (r *relayGenerator) randomPorts() []int {
	const tries = 20
	span := r.max - r.min + 1
	out := make([]int, 0, tries)
	for range tries {
		out = append(out, r.min+rand.IntN(span)) //nolint:gosec // Port choice, not a secret.
	}

	return out
}

func (r *relayGenerator) AllocatePacketConn(conf turn.AllocateListenerConfig) (net.PacketConn, net.Addr, error) {
	rc, addr, err := r.allocate(conf, nil)
	if err != nil {
		return nil, nil, err
	}

	return rc, addr, nil
}

// allocate opens a relay socket: on loop when it is set (the socket joins
// the loop only when the caller says so, see socketGenerator), else through
// r.net with a reading goroutine of pion's.
func (r *relayGenerator) allocate(conf turn.AllocateListenerConfig, loop *udpLoop) (*relayConn, net.Addr, error) {
	ports := r.randomPorts()
	if conf.RequestedPort != 0 {
		ports = []int{conf.RequestedPort}
	}
	if loop != nil {
		bind, _ := netip.AddrFromSlice(r.bindIP)
		for _, port := range ports {
			rc := &relayConn{gen: r, limited: r.userBW > 0 || r.total != nil}
			lc, err := loop.listen(netip.AddrPortFrom(bind.Unmap(), uint16(port)), false, relayBuffer, 4, //nolint:gosec // Port.
				relayReadMax, rc.fromPeer)
			if err != nil {
				continue
			}
			rc.PacketConn, rc.lc, rc.out = lc, lc, lc
			r.limit(rc, conf.UserID)

			return rc, &net.UDPAddr{IP: r.advertised, Port: int(lc.localAP.Port())}, nil
		}

		return nil, nil, errNoRelayPort
	}
	for _, port := range ports {
		conn, err := r.net.ListenPacket(conf.Network, net.JoinHostPort(r.bindIP.String(), strconv.Itoa(port)))
		if err != nil {
			continue
		}
		udp, ok := conn.LocalAddr().(*net.UDPAddr)
		if !ok {
			_ = conn.Close()

			return nil, nil, fmt.Errorf("turnserver: relay socket has address %T", conn.LocalAddr())
		}
		setBuffers(conn, relayBuffer)
		rc := &relayConn{PacketConn: conn, gen: r, limited: r.userBW > 0 || r.total != nil}
		if u, ok := conn.(*net.UDPConn); ok {
			rc.udp, rc.out = u, u
		}
		r.limit(rc, conf.UserID)

		return rc, &net.UDPAddr{IP: r.advertised, Port: udp.Port}, nil
	}

	return nil, nil, errNoRelayPort
}

func (r *relayGenerator) limit(rc *relayConn, userID string) {
	if r.userBW > 0 {
		rc.user = r.users.get(userID)
		rc.userID = userID
	}
}

func (r *relayGenerator) AllocateListener(conf turn.AllocateListenerConfig) (net.Listener, net.Addr, error) {
	lc := r.net.CreateListenConfig(&net.ListenConfig{Control: reuseport.Control})
	ports := r.randomPorts()
	if conf.RequestedPort != 0 {
		ports = []int{conf.RequestedPort}
	}
	for _, port := range ports {
		ln, err := lc.Listen(context.Background(), conf.Network, net.JoinHostPort(r.bindIP.String(), strconv.Itoa(port)))
		if err != nil {
			continue
		}
		tcp, ok := ln.Addr().(*net.TCPAddr)
		if !ok {
			_ = ln.Close()

			return nil, nil, fmt.Errorf("turnserver: relay listener has address %T", ln.Addr())
		}

		return ln, &net.TCPAddr{IP: r.advertised, Port: tcp.Port}, nil
	}

	return nil, nil, errNoRelayPort
}

// AllocateConn dials a TCP peer for an RFC 6062 Connect. The gate has
// checked the peer already; the check here keeps the invariant local. pion
// passes the advertised relay address as the local address, which a host
// behind 1:1 NAT cannot bind, so the bind address replaces its IP.
func (r *relayGenerator) AllocateConn(conf turn.AllocateConnConfig) (net.Conn, error) {
	ra, ok := conf.RemoteAddr.(*net.TCPAddr)
	if !ok {
		return nil, fmt.Errorf("turnserver: connect to %T", conf.RemoteAddr)
	}
	if reason := r.policy.CheckAddr(ra.IP, ra.Port); reason != DenyNone {
		r.metrics.denied.WithLabelValues(string(reason)).Inc()

		return nil, fmt.Errorf("%w: %s", errPeerDenied, reason)
	}
	local := conf.LocalAddr
	if la, ok := conf.LocalAddr.(*net.TCPAddr); ok {
		local = &net.TCPAddr{IP: r.bindIP, Port: la.Port}
	}
	d := r.net.CreateDialer(&net.Dialer{LocalAddr: local, Control: reuseport.Control, Timeout: 30 * time.Second})
	c, err := d.Dial(conf.Network, ra.String())
	if err != nil {
		return nil, fmt.Errorf("turnserver: connect to peer: %w", err)
	}

	return c, nil
}

// relayConn is one allocation's relay socket.
type relayConn struct {
	net.PacketConn
	gen     *relayGenerator
	user    *rate.Limiter
	userID  string
	limited bool // a bandwidth cap applies
	addrs   addrCache

	// The ChannelData fast path (fastpath.go); nil fast means pion's path.
	// udp is set when pion's goroutine reads the socket, lc when an event
	// loop does; out is whichever of them is set (nil on vnet).
	udp       *net.UDPConn
	lc        *loopConn
	out       udpWriter
	fast      *fastAlloc
	fastTable *fastTable
	buf       []byte // 4-byte header room + datagram + padding

	// The last destination and its verdict: a media flow sends to one or two
	// peers, so the policy's prefix walk runs once per peer, not per packet.
	// Only pion's allocation goroutines write here, one at a time per
	// direction; the mutex keeps it correct if that ever changes.
	memoMu     sync.Mutex
	memoIP     [16]byte
	memoPort   int
	memoReason DenyReason
	memoValid  bool
}

func (c *relayConn) check(ua *net.UDPAddr) DenyReason {
	var key [16]byte
	copy(key[:], ua.IP.To16())
	c.memoMu.Lock()
	defer c.memoMu.Unlock()
	if c.memoValid && c.memoIP == key && c.memoPort == ua.Port {
		return c.memoReason
	}
	r := c.gen.policy.CheckAddr(ua.IP, ua.Port)
	c.memoIP, c.memoPort, c.memoReason, c.memoValid = key, ua.Port, r, true

	return r
}

// WriteTo sends to a peer: pion has checked the permission (per IP); the
// policy is checked again per IP and port, which is where the server's own
// addresses are limited to relay ports.
func (c *relayConn) WriteTo(p []byte, addr net.Addr) (int, error) {
	ua, _ := addr.(*net.UDPAddr)
	if send, n, err := c.admit(p, ua); !send {
		return n, err
	}

	return c.send(p, addr)
}

// writeTo is WriteTo for the fast path, which knows the peer in both
// forms: on an event-loop socket with the loop's queue, the send is
// queued (sendq_linux.go).
func (c *relayConn) writeTo(p []byte, ua *net.UDPAddr, to netip.AddrPort, q *sendQueue) (int, error) {
	if send, n, err := c.admit(p, ua); !send {
		return n, err
	}
	if c.lc != nil && q.add(c.lc, p, to) {
		return len(p), nil
	}

	return c.send(p, ua)
}

// admit is what every datagram to a peer passes before it is sent: the
// policy for ua's IP and port, the bandwidth caps, the counters. send is
// false when it must not go out; n and err are then WriteTo's answer.
func (c *relayConn) admit(p []byte, ua *net.UDPAddr) (send bool, n int, err error) {
	g := c.gen
	if ua != nil {
		if reason := c.check(ua); reason != DenyNone {
			g.metrics.dropped.WithLabelValues("denied_peer").Inc()

			return false, 0, fmt.Errorf("%w: %s", errPeerDenied, reason)
		}
	}
	if c.limited && !c.allowBytes(len(p)) {
		g.metrics.dropped.WithLabelValues("bandwidth").Inc()

		return false, len(p), nil // Dropped like a congested link would.
	}
	// Counted before the send: once it returns, the peer's answer may
	// already be on its way back, and observers must not see the reply
	// before the request.
	g.metrics.toPeerBytes.Add(float64(len(p)))
	g.metrics.toPeerPackets.Inc()

	return true, 0, nil
}

// send hands an admitted datagram to the socket.
func (c *relayConn) send(p []byte, addr net.Addr) (int, error) {
	n, err := c.PacketConn.WriteTo(p, addr)
	if err != nil {
		c.gen.metrics.dropped.WithLabelValues("send_error").Inc()

		return n, err //nolint:wrapcheck // pion logs it.
	}

	return n, nil
}

// fromPeer is what happens to each datagram from a peer before pion sees
// it: bandwidth caps, metrics, and the fast path; true means it was
// consumed. buf[4:4+n] holds the datagram, buf[:4] is room for a
// ChannelData header and buf has room for padding behind.
func (c *relayConn) fromPeer(buf []byte, n int, from netip.AddrPort, q *sendQueue) bool {
	g := c.gen
	if c.limited && !c.allowBytes(n) {
		g.metrics.dropped.WithLabelValues("bandwidth").Inc()

		return true
	}
	g.metrics.fromPeerBytes.Add(float64(n))
	g.metrics.fromPeerPackets.Inc()

	return c.fast != nil && c.fast.toClient(buf, n, from, g.metrics, q)
}

func (c *relayConn) ReadFrom(p []byte) (int, net.Addr, error) {
	if c.lc != nil {
		return c.lc.ReadFrom(p) //nolint:wrapcheck // fromPeer has seen it.
	}
	for {
		var (
			n    int
			addr net.Addr
			ap   netip.AddrPort
			err  error
		)
		if c.fast != nil {
			// Read behind room for a ChannelData header, no more than pion
			// asked for, so both paths truncate alike.
			n, ap, err = c.udp.ReadFromUDPAddrPort(c.buf[4 : 4+min(len(p), relayReadMax)])
			if err == nil {
				ap = netip.AddrPortFrom(ap.Addr().Unmap(), ap.Port())
				addr = c.addrs.get(ap)
			}
		} else {
			n, addr, err = readFrom(c.PacketConn, &c.addrs, p)
		}
		if err != nil {
			return n, addr, err //nolint:wrapcheck // pion ends the allocation on any error.
		}
		if c.fast == nil {
			if c.fromPeer(nil, n, ap, nil) {
				continue
			}

			return n, addr, nil
		}
		if c.fromPeer(c.buf, n, ap, nil) {
			continue
		}
		n = copy(p, c.buf[4:4+n])

		return n, addr, nil
	}
}

// relayReadMax is the largest datagram a relay socket reads (pion's buffer
// is 1600 bytes, its RTP MTU).
const relayReadMax = readMax

func (c *relayConn) allowBytes(n int) bool {
	now := time.Now()
	if c.user != nil && !c.user.AllowN(now, n) {
		return false
	}
	if t := c.gen.total; t != nil && !t.AllowN(now, n) {
		return false
	}

	return true
}

func (c *relayConn) Close() error {
	if c.fast != nil {
		c.fastTable.remove(c.fast)
	}
	if c.user != nil {
		c.gen.users.release(c.userID)
	}

	return c.PacketConn.Close() //nolint:wrapcheck // pion logs it.
}
