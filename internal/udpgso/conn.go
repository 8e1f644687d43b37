// Package udpgso moves a UDP socket's datagrams in segments of one system
// call: writes are queued and sent by the socket's own goroutine with
// UDP generic segmentation offload (UDP_SEGMENT: up to 64 equal datagrams
// to one address in one sendmsg), and reads take what the kernel
// coalesced with UDP_GRO in one recvmsg and hand it out datagram by
// datagram.
//
// Why: a data channel moves a file in 1200-byte SCTP packets, one DTLS
// record and one UDP datagram each (pion's sctpOutboundMTU is a constant),
// and on Linux the kernel's cost per datagram, about 10 CPU ms per MB
// sent and received on loopback, was a quarter of a transfer's CPU
// (docs/BENCHMARKS.md). With segmentation the stack runs once per batch:
// about 0.5 ms per MB. Nothing changes on the wire: a segmented send
// leaves as ordinary datagrams of the segment size, so any peer
// (libwebrtc, another pion) receives them as before, and GRO only joins
// datagrams of one flow that arrive together.
//
// quic-go and wireguard-go do the same inside their own socket types;
// neither exports a net.PacketConn that pion's ICE could read and write,
// hence this small one. Where the kernel lacks either option (or on
// another OS) Wrap returns the socket unchanged.
package udpgso

import (
	"errors"
	"net"
	"net/netip"
	"sync"
	"syscall"
	"time"
)

// Limits of one segmented send: the kernel takes at most 64 segments
// (UDP_MAX_SEGMENTS on older kernels) and one IP datagram's worth of
// payload.
const (
	maxSegments = 64
	maxBatch    = 65000
)

// maxQueued and maxBatches bound what is written and not yet sent: a
// writer that finds more waits, as it would for a full socket buffer. A
// batch's buffer is maxBatch bytes, so the socket holds at most
// 2*maxBatches of them (queued and spare): 2 MiB.
const (
	maxQueued  = 1 << 20
	maxBatches = 16
)

// readBuffer holds one coalesced read: 64 KiB is the most UDP_GRO joins.
const readBuffer = 1 << 16

// Conn is a UDP socket whose writes leave in segmented batches and whose
// reads split coalesced batches. It implements pion/transport's UDPConn
// and pion/ice's AddrPortReaderWriter. Writes return once queued: an
// error of the later send is counted (SendErrors) and the datagram is
// lost, as a datagram may be. Close sends what is queued, then closes.
type Conn struct {
	c   *net.UDPConn
	sys *sysConn

	rmu  sync.Mutex
	rbuf []byte
	roob []byte
	rseg int            // segment size of rbuf's batch
	rend int            // end of rbuf's batch
	roff int            // next segment
	radr netip.AddrPort // the batch's sender

	wmu      sync.Mutex
	wcond    sync.Cond // writers waiting for room, Close for the sender
	queue    []*batch
	queued   int
	closed   bool
	sending  bool
	kick     chan struct{}
	done     chan struct{}
	spare    []*batch
	sendErrs int
}

// batch is datagrams to one address, all seg bytes long but the last,
// back to back in buf.
type batch struct {
	addr netip.AddrPort
	buf  []byte
	seg  int
	n    int  // datagrams
	full bool // the last is shorter than seg, or a limit is reached
}

// Wrap returns c moving datagrams in batches, or c itself where the
// kernel offers neither segmentation nor coalescing.
func Wrap(c *net.UDPConn) UDPConn {
	sys, ok := newSys(c)
	if !ok {
		return c
	}
	w := &Conn{
		c:    c,
		sys:  sys,
		rbuf: make([]byte, readBuffer),
		roob: make([]byte, sys.oobSize()),
		kick: make(chan struct{}, 1),
		done: make(chan struct{}),
	}
	w.wcond.L = &w.wmu
	go w.sendLoop()
	return w
}

// UDPConn is what Wrap returns: *net.UDPConn's methods that pion uses.
type UDPConn interface {
	net.PacketConn
	Read(b []byte) (int, error)
	Write(b []byte) (int, error)
	RemoteAddr() net.Addr
	SetReadBuffer(int) error
	SetWriteBuffer(int) error
	ReadFromUDP(b []byte) (int, *net.UDPAddr, error)
	ReadMsgUDP(b, oob []byte) (n, oobn, flags int, addr *net.UDPAddr, err error)
	WriteToUDP(b []byte, addr *net.UDPAddr) (int, error)
	WriteMsgUDP(b, oob []byte, addr *net.UDPAddr) (n, oobn int, err error)
}

// ReadFromAddrPort returns the next datagram: the next segment of the
// last coalesced read, or the first of a new one. A datagram longer than
// b is truncated, as a UDP read truncates.
func (w *Conn) ReadFromAddrPort(b []byte) (int, netip.AddrPort, error) {
	w.rmu.Lock()
	defer w.rmu.Unlock()
	if w.roff >= w.rend {
		n, oobn, _, from, err := w.c.ReadMsgUDPAddrPort(w.rbuf, w.roob)
		if err != nil {
			return 0, netip.AddrPort{}, err
		}
		seg := w.sys.groSize(w.roob[:oobn])
		if seg <= 0 || seg > n {
			seg = n
		}
		w.rseg, w.rend, w.roff, w.radr = seg, n, 0, from
	}
	end := min(w.roff+w.rseg, w.rend)
	n := copy(b, w.rbuf[w.roff:end])
	w.roff = end
	return n, w.radr, nil
}

// WriteToAddrPort queues b for to and returns len(b). It waits while
// more than maxQueued bytes are queued.
func (w *Conn) WriteToAddrPort(b []byte, to netip.AddrPort) (int, error) {
	if len(b) > maxBatch {
		// Larger than a batch: the kernel says what it thinks of it.
		return w.c.WriteToUDPAddrPort(b, to)
	}
	w.wmu.Lock()
	defer w.wmu.Unlock()
	for (w.queued >= maxQueued || len(w.queue) >= maxBatches) && !w.closed {
		w.wcond.Wait()
	}
	if w.closed {
		return 0, net.ErrClosed
	}
	w.add(b, to)
	w.queued += len(b)
	if !w.sending {
		w.sending = true
		select {
		case w.kick <- struct{}{}:
		default:
		}
	}
	return len(b), nil
}

// add appends b to the last batch if it continues it (same address, same
// length, or shorter and then the last, but not empty), else to a new
// one. Called with wmu held.
func (w *Conn) add(b []byte, to netip.AddrPort) {
	if k := len(w.queue); k > 0 {
		last := w.queue[k-1]
		if !last.full && last.addr == to && len(b) > 0 && len(b) <= last.seg && len(last.buf)+len(b) <= maxBatch {
			last.buf = append(last.buf, b...)
			last.n++
			if len(b) < last.seg || last.n == maxSegments {
				last.full = true
			}
			return
		}
	}
	var nb *batch
	if k := len(w.spare); k > 0 {
		nb, w.spare = w.spare[k-1], w.spare[:k-1]
	} else {
		nb = &batch{buf: make([]byte, 0, maxBatch)}
	}
	// An empty datagram is a batch of its own: segments of size 0 would
	// leave as one.
	nb.addr, nb.seg, nb.n, nb.full = to, len(b), 1, !w.sys.canSegment() || len(b) == 0
	nb.buf = append(nb.buf[:0], b...)
	w.queue = append(w.queue, nb)
}

// sendLoop sends the queue whenever a writer kicks it, until Close; it
// sends what was queued before Close, then ends.
func (w *Conn) sendLoop() {
	defer close(w.done)
	var out []*batch
	for range w.kick {
		for {
			w.wmu.Lock()
			if len(w.queue) == 0 {
				w.sending = false
				closed := w.closed
				w.wmu.Unlock()
				if closed {
					return
				}
				break
			}
			out, w.queue = w.queue, out[:0]
			w.wmu.Unlock()

			sent, failed := 0, 0
			for _, b := range out {
				if err := w.sys.send(b.buf, b.seg, b.addr); err != nil {
					failed++
				}
				sent += len(b.buf)
			}

			w.wmu.Lock()
			w.queued -= sent
			w.sendErrs += failed
			w.spare = append(w.spare, out[:min(len(out), maxBatches-len(w.spare))]...)
			w.wcond.Broadcast()
			w.wmu.Unlock()
			clear(out)
		}
	}
}

// SendErrors is how many batches a send failed for since Wrap.
func (w *Conn) SendErrors() int {
	w.wmu.Lock()
	defer w.wmu.Unlock()
	return w.sendErrs
}

// Close sends what is queued, then closes the socket; reads blocked in
// it return net.ErrClosed.
func (w *Conn) Close() error {
	w.wmu.Lock()
	if w.closed {
		w.wmu.Unlock()
		return w.c.Close()
	}
	w.closed = true
	w.wcond.Broadcast()
	w.wmu.Unlock()
	// The sender drains the queue and stops. A send blocked on a full
	// socket buffer is cut short by the deadline.
	_ = w.c.SetWriteDeadline(time.Now().Add(time.Second))
	close(w.kick)
	<-w.done
	return w.c.Close()
}

// ReadFrom implements net.PacketConn.
func (w *Conn) ReadFrom(b []byte) (int, net.Addr, error) {
	n, from, err := w.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// ReadFromUDP implements transport.UDPConn.
func (w *Conn) ReadFromUDP(b []byte) (int, *net.UDPAddr, error) {
	n, from, err := w.ReadFromAddrPort(b)
	if err != nil {
		return n, nil, err
	}
	return n, net.UDPAddrFromAddrPort(from), nil
}

// Read implements transport.UDPConn.
func (w *Conn) Read(b []byte) (int, error) {
	n, _, err := w.ReadFromAddrPort(b)
	return n, err
}

// ReadMsgUDP implements transport.UDPConn: a datagram with no control
// messages (the socket's are consumed to split batches).
func (w *Conn) ReadMsgUDP(b, _ []byte) (n, oobn, flags int, addr *net.UDPAddr, err error) {
	n, addr, err = w.ReadFromUDP(b)
	return n, 0, 0, addr, err
}

// WriteTo implements net.PacketConn.
func (w *Conn) WriteTo(b []byte, addr net.Addr) (int, error) {
	ua, ok := addr.(*net.UDPAddr)
	if !ok {
		return 0, &net.OpError{Op: "write", Net: "udp", Addr: addr, Err: errors.New("not a UDP address")}
	}
	return w.WriteToUDP(b, ua)
}

// WriteToUDP implements transport.UDPConn.
func (w *Conn) WriteToUDP(b []byte, addr *net.UDPAddr) (int, error) {
	return w.WriteToAddrPort(b, addr.AddrPort())
}

// Write implements transport.UDPConn for a connected socket; it is not
// batched.
func (w *Conn) Write(b []byte) (int, error) { return w.c.Write(b) }

// WriteMsgUDP implements transport.UDPConn; with control messages it is
// not batched.
func (w *Conn) WriteMsgUDP(b, oob []byte, addr *net.UDPAddr) (n, oobn int, err error) {
	if len(oob) == 0 && addr != nil {
		n, err = w.WriteToAddrPort(b, addr.AddrPort())
		return n, 0, err
	}
	return w.c.WriteMsgUDP(b, oob, addr)
}

// SyscallConn gives the socket's file descriptor (syscall.Conn), for
// socket options.
func (w *Conn) SyscallConn() (syscall.RawConn, error) { return w.c.SyscallConn() }

// LocalAddr implements net.PacketConn.
func (w *Conn) LocalAddr() net.Addr { return w.c.LocalAddr() }

// RemoteAddr implements transport.UDPConn.
func (w *Conn) RemoteAddr() net.Addr { return w.c.RemoteAddr() }

// SetDeadline implements net.PacketConn.
func (w *Conn) SetDeadline(t time.Time) error { return w.c.SetDeadline(t) }

// SetReadDeadline implements net.PacketConn.
func (w *Conn) SetReadDeadline(t time.Time) error { return w.c.SetReadDeadline(t) }

// SetWriteDeadline implements net.PacketConn; queued writes do not wait
// for the socket, so it bounds only the sends of the socket's goroutine.
func (w *Conn) SetWriteDeadline(t time.Time) error { return w.c.SetWriteDeadline(t) }

// SetReadBuffer implements transport.UDPConn.
func (w *Conn) SetReadBuffer(n int) error { return w.c.SetReadBuffer(n) }

// SetWriteBuffer implements transport.UDPConn.
func (w *Conn) SetWriteBuffer(n int) error { return w.c.SetWriteBuffer(n) }
