// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package netctx

import (
	"context"
	"io"
	"net"
	"sync"
	"time"
)

// ReaderFrom is an interface for context controlled packet reader.
type ReaderFrom interface {
	ReadFromContext(context.Context, []byte) (int, net.Addr, error)
}

// WriterTo is an interface for context controlled packet writer.
type WriterTo interface {
	WriteToContext(context.Context, []byte, net.Addr) (int, error)
}

// PacketConn is a wrapper of net.PacketConn using context.Context.
type PacketConn interface {
	ReaderFrom
	WriterTo
	io.Closer
	LocalAddr() net.Addr
	Conn() net.PacketConn
}

type packetConn struct {
	nextConn  net.PacketConn
	closed    chan struct{}
	closeOnce sync.Once
	readMu    sync.Mutex
	writeMu   sync.Mutex
}

// NewPacketConn creates a new PacketConn wrapping the given net.PacketConn.
func NewPacketConn(pconn net.PacketConn) PacketConn {
	p := &packetConn{
		nextConn: pconn,
		closed:   make(chan struct{}),
	}

	return p
}

// ReadFromContext reads a packet from the connection,
// copying the payload into p. It returns the number of
// bytes copied into p and the return address that
// was on the packet.
// It returns the number of bytes read (0 <= n <= len(p))
// and any error encountered. Callers should always process
// the n > 0 bytes returned before considering the error err.
// Unlike net.PacketConn.ReadFrom(), the provided context is
// used to control timeout.
func (p *packetConn) ReadFromContext(ctx context.Context, b []byte) (int, net.Addr, error) { //nolint:cyclop
	p.readMu.Lock()
	defer p.readMu.Unlock()

	select {
	case <-p.closed:
		return 0, nil, net.ErrClosed
	default:
	}

	finish := watch(ctx, p.nextConn.SetReadDeadline)

	n, raddr, err := p.nextConn.ReadFrom(b)

	errSetDeadline := finish()
	if e := ctx.Err(); e != nil && n == 0 {
		err = e
	}
	if err == nil && errSetDeadline != nil {
		err = errSetDeadline
	}

	return n, raddr, err
}

// WriteToContext writes a packet with payload p to addr.
// Unlike net.PacketConn.WriteTo(), the provided context
// is used to control timeout.
// On packet-oriented connections, write timeouts are rare.
func (p *packetConn) WriteToContext(ctx context.Context, b []byte, raddr net.Addr) (int, error) { //nolint:cyclop
	p.writeMu.Lock()
	defer p.writeMu.Unlock()

	select {
	case <-p.closed:
		return 0, ErrClosing
	default:
	}

	finish := watch(ctx, p.nextConn.SetWriteDeadline)

	n, err := p.nextConn.WriteTo(b, raddr)

	errSetDeadline := finish()
	if e := ctx.Err(); e != nil && n == 0 {
		err = e
	}
	if err == nil && errSetDeadline != nil {
		err = errSetDeadline
	}

	return n, err
}

// Close closes the connection.
// Any blocked ReadFromContext or WriteToContext operations will be unblocked
// and return errors.
func (p *packetConn) Close() error {
	err := p.nextConn.Close()
	p.closeOnce.Do(func() {
		p.writeMu.Lock()
		p.readMu.Lock()
		close(p.closed)
		p.readMu.Unlock()
		p.writeMu.Unlock()
	})

	return err
}

// LocalAddr returns the local network address, if known.
func (p *packetConn) LocalAddr() net.Addr {
	return p.nextConn.LocalAddr()
}

// Conn returns the underlying net.PacketConn.
func (p *packetConn) Conn() net.PacketConn {
	return p.nextConn
}

// afterFuncer is a context that can register a callback for its end
// without a goroutine (the method context.AfterFunc also looks for).
type afterFuncer interface {
	AfterFunc(f func()) (stop func() bool)
}

// watch makes the operation that follows it end early when ctx is done:
// it sets the connection's deadline (set) to the past, and the returned
// finish, called after the operation, clears it again and reports an
// error from setting it.
//
// jingled patch: upstream started a goroutine per call to wait on
// ctx.Done(), and pion/dtls reads and writes every datagram through here.
// A context that has an AfterFunc method (pion/dtls's read and write
// contexts in the jingled fork) gets a callback registered instead, which
// runs only if the context ends during the operation. Any other context
// keeps upstream's goroutine: context.AfterFunc is not used on it, since
// the standard library requires Err to stay non-nil once Done is closed,
// and deadline.Deadline, a context, can be Set again before Err is read.
// Same idea as pion/transport#395.
func watch(ctx context.Context, set func(time.Time) error) (finish func() error) {
	if ctx.Done() == nil {
		return func() error { return nil }
	}
	a, ok := ctx.(afterFuncer)
	if !ok {
		return watchGoroutine(ctx, set)
	}
	var (
		setErr error
		ran    = make(chan struct{})
	)
	stop := a.AfterFunc(func() {
		defer close(ran)
		setErr = set(veryOld)
	})

	return func() error {
		if stop() {
			return nil // ctx did not end during the operation
		}
		<-ran
		if setErr != nil {
			return setErr
		}

		return set(time.Time{})
	}
}

// watchGoroutine is upstream's watch: a goroutine waits for ctx or the
// end of the operation.
func watchGoroutine(ctx context.Context, set func(time.Time) error) (finish func() error) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	var errSetDeadline error
	wg.Add(1)
	go func() {
		defer wg.Done()
		select {
		case <-ctx.Done():
			// context canceled
			if err := set(veryOld); err != nil {
				errSetDeadline = err

				return
			}
			<-done
			if err := set(time.Time{}); err != nil {
				errSetDeadline = err
			}
		case <-done:
		}
	}()

	return func() error {
		close(done)
		wg.Wait()

		return errSetDeadline
	}
}
