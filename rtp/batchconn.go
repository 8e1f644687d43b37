// A UDP socket read and written in batches (recvmmsg, sendmmsg): the
// sockets of the shared UDP port (udpmux.go).

package rtp

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"golang.org/x/net/ipv4"
	"golang.org/x/net/ipv6"
)

// xnetBatch is x/net's batch I/O on a UDP socket (sendmmsg and recvmmsg
// on Linux, one datagram per call elsewhere): its ipv4 and ipv6
// PacketConns share it, and an IPv6 socket needs the ipv6 one. The
// batchConn sends with it; it reads with recvbatch.go's reader, which
// does not allocate per datagram on Linux.
type xnetBatch interface {
	ReadBatch(ms []ipv4.Message, flags int) (int, error)
	WriteBatch(ms []ipv4.Message, flags int) (int, error)
}

func xnetConn(c *net.UDPConn) xnetBatch {
	if a, ok := c.LocalAddr().(*net.UDPAddr); ok && a.IP.To4() == nil {
		return ipv6.NewPacketConn(c)
	}
	return ipv4.NewPacketConn(c)
}

// batchSize is the most datagrams one recvmmsg or sendmmsg moves.
const batchSize = 64

// batchConn is a UDP socket that moves datagrams in batches: reads take
// every queued datagram with one recvmmsg and hand them out one by one;
// writes combine: a writer that finds no send in progress sends its
// datagram at once, with whatever other writers queued meanwhile, in one
// sendmmsg, and keeps sending until the queue is empty; a writer that
// finds a send in progress queues its datagram and returns. Nothing waits
// for a timer or another goroutine, so an idle socket sends each datagram
// at once and a busy one sends many per system call when writers overlap
// (GOMAXPROCS > 1). A first version handed every write to a flusher
// goroutine: on a saturated core it waited its turn behind the media
// goroutines and added latency.
//
// It implements net.PacketConn and pion/ice's AddrPortReaderWriter, the
// allocation-free path pion's UDP mux reads and writes through. Only the
// mux's one read loop reads.
type batchConn struct {
	conn *net.UDPConn
	io   xnetBatch
	rd   batchReader

	// routes takes the datagrams of direct receivers (direct.go) before
	// they are handed out; nil: none.
	routes *directRoutes

	rmu    sync.Mutex
	rbufs  [][]byte         // a batch's datagrams
	rns    []int            // their lengths
	rfroms []netip.AddrPort // their senders
	rn     int              // datagrams in the batch
	ri     int              // next to hand out

	wmu     sync.Mutex
	queue   []outgoing
	spare   []outgoing // a sent batch's slice, reused
	sending bool       // a writer is sending the queue
	corked  int        // hold: writes queue until the last uncork
	closed  bool
	wmsg    []ipv4.Message // the sender's; guarded by sending
	waddr   []net.UDPAddr  // wmsg's addresses, reused; guarded by sending
	free    sync.Pool
}

type outgoing struct {
	buf  *[]byte
	addr netip.AddrPort
}

func newBatchConn(c *net.UDPConn) (*batchConn, error) {
	rd, err := newBatchReader(c, batchSize)
	if err != nil {
		return nil, err
	}
	b := &batchConn{conn: c, rd: rd, wmsg: make([]ipv4.Message, batchSize), waddr: make([]net.UDPAddr, batchSize)}
	for i := range b.wmsg {
		// One buffer each; send points it at the datagram. x/net copies
		// the address into the system call's sockaddr, so the UDPAddrs
		// are reused too: no allocation per datagram sent.
		b.wmsg[i].Buffers = make([][]byte, 1)
		b.waddr[i].IP = make(net.IP, 0, net.IPv6len)
	}
	b.io = xnetConn(c)
	b.rbufs, b.rns, b.rfroms = make([][]byte, batchSize), make([]int, batchSize), make([]netip.AddrPort, batchSize)
	for i := range b.rbufs {
		b.rbufs[i] = make([]byte, readMTU)
	}
	b.free.New = func() any { s := make([]byte, 0, readMTU); return &s }
	return b, nil
}

// ReadFromAddrPort returns the next datagram, reading a new batch when
// the last one is handed out.
func (b *batchConn) ReadFromAddrPort(p []byte) (int, netip.AddrPort, error) {
	b.rmu.Lock()
	defer b.rmu.Unlock()
	// The sends of the direct receivers' sinks (an echo's reply) while
	// they take a batch's datagrams queue, and leave together when the
	// batch is done or a datagram goes to pion.
	corked := false
	defer func() {
		if corked {
			b.uncork()
		}
	}()
	for {
		if b.ri == b.rn {
			if corked {
				b.uncork()
				corked = false
			}
			n, err := b.rd.readBatch(b.rbufs, b.rns, b.rfroms)
			if err != nil {
				return 0, netip.AddrPort{}, err
			}
			b.rn, b.ri = n, 0
		}
		i := b.ri
		b.ri++
		d, from := b.rbufs[i][:b.rns[i]], b.rfroms[i]
		if rx := b.routes.lookup(from); rx != nil {
			if !corked {
				b.cork()
				corked = true
			}
			if rx.take(d) {
				continue
			}
		}
		return copy(p, d), from, nil
	}
}

// ReadFrom implements net.PacketConn.
func (b *batchConn) ReadFrom(p []byte) (int, net.Addr, error) {
	n, from, err := b.ReadFromAddrPort(p)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// WriteToAddrPort sends p, or queues a copy for the writer that is
// sending. Like a UDP send it reports success once the datagram is handed
// over; a datagram the kernel refuses is lost, as on the wire.
func (b *batchConn) WriteToAddrPort(p []byte, to netip.AddrPort) (int, error) {
	buf := b.free.Get().(*[]byte)
	*buf = append((*buf)[:0], p...)
	b.wmu.Lock()
	if b.closed {
		b.wmu.Unlock()
		b.free.Put(buf)
		return 0, errBatchConnClosed
	}
	b.queue = append(b.queue, outgoing{buf: buf, addr: to})
	b.flushLocked()
	b.wmu.Unlock()
	return len(p), nil
}

// flushLocked sends the queue unless another writer is sending it or
// the socket is corked; wmu is held, and released while sending.
func (b *batchConn) flushLocked() {
	if b.sending || b.corked > 0 {
		return
	}
	b.sending = true
	for len(b.queue) > 0 {
		q := b.queue
		b.queue = b.spare[:0]
		b.wmu.Unlock()
		b.send(q)
		b.wmu.Lock()
		b.spare = q[:0]
	}
	b.sending = false
}

// cork holds the socket's sends until the matching uncork, which sends
// what queued meanwhile in as few sendmmsg calls as it takes: a
// conference room's mixer corks around one tick's mixes, so its ten
// participants' packets leave in one system call instead of ten.
func (b *batchConn) cork() {
	b.wmu.Lock()
	b.corked++
	b.wmu.Unlock()
}

func (b *batchConn) uncork() {
	b.wmu.Lock()
	b.corked--
	if !b.closed {
		b.flushLocked()
	}
	b.wmu.Unlock()
}

// send writes q with sendmmsg, batchSize at a time, and recycles its
// buffers. Only the writer holding sending calls it.
func (b *batchConn) send(q []outgoing) {
	msgs := b.wmsg
	for len(q) > 0 {
		n := min(len(q), batchSize)
		for i := range n {
			msgs[i].Buffers[0] = *q[i].buf
			msgs[i].Addr = setUDPAddr(&b.waddr[i], q[i].addr)
			msgs[i].N = 0
		}
		sent := 0
		for sent < n {
			k, err := b.io.WriteBatch(msgs[sent:n], 0)
			if err != nil || k <= 0 {
				break // a refused datagram is lost, as on the wire
			}
			sent += k
		}
		for i := range n {
			b.free.Put(q[i].buf)
			q[i] = outgoing{}
			msgs[i].Buffers[0], msgs[i].Addr = nil, nil
		}
		q = q[n:]
	}
}

// setUDPAddr sets *u to a, in u's own IP buffer (of IPv6 length), and
// returns u: net.UDPAddrFromAddrPort without the allocations.
func setUDPAddr(u *net.UDPAddr, a netip.AddrPort) *net.UDPAddr {
	ip := a.Addr()
	if ip.Is4() {
		b := ip.As4()
		u.IP = append(u.IP[:0], b[:]...)
	} else {
		b := ip.As16()
		u.IP = append(u.IP[:0], b[:]...)
	}
	u.Port, u.Zone = int(a.Port()), ip.Zone()
	return u
}

// WriteTo implements net.PacketConn.
func (b *batchConn) WriteTo(p []byte, to net.Addr) (int, error) {
	ua, ok := to.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: to, Err: errors.New("not a UDP address")}
	}
	return b.WriteToAddrPort(p, ua.AddrPort())
}

// Close closes the socket; a send in progress ends with an error (its
// datagrams are lost, as they would be in the kernel's queue).
func (b *batchConn) Close() error {
	b.wmu.Lock()
	if b.closed {
		b.wmu.Unlock()
		return nil
	}
	b.closed = true
	b.wmu.Unlock()
	return b.conn.Close()
}

func (b *batchConn) LocalAddr() net.Addr                { return b.conn.LocalAddr() }
func (b *batchConn) SetDeadline(t time.Time) error      { return b.conn.SetDeadline(t) }
func (b *batchConn) SetReadDeadline(t time.Time) error  { return b.conn.SetReadDeadline(t) }
func (b *batchConn) SetWriteDeadline(t time.Time) error { return b.conn.SetWriteDeadline(t) }
