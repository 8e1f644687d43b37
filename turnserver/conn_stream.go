package turnserver

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v4"
)

// gatedListener hands pion TCP (or TLS) connections whose byte stream is
// split into STUN and ChannelData frames (RFC 8656 section 11.5 framing) and
// put through the gate, as the UDP socket's datagrams are.
//
// With tls set the listener serves both TURN over TLS and plain TURN over
// TCP, told apart by the connection's first byte (see sniff.go): a network
// that lets only 443 out then gets turns:HOST:443 and
// turn:HOST:443?transport=tcp from one port, as coturn does on its TLS port.
type gatedListener struct {
	net.Listener
	gate *gate
	tls  *tls.Config
	// noPlain refuses plain TURN on the TLS port (disable_tcp).
	noPlain bool
}

func (l *gatedListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err //nolint:wrapcheck // pion stops on any error.
	}
	// A connection must authenticate a request within unauthTimeout, or it
	// is closed: otherwise idle connections hold a socket and a goroutine
	// each for as long as a client likes.
	_ = c.SetReadDeadline(time.Now().Add(unauthTimeout))
	gc := &gatedStreamConn{Conn: c, gate: l.gate, tls: l.tls, noPlain: l.noPlain}
	if l.tls == nil {
		gc.rw = c
		gc.started = true
		l.gate.metrics.streamConnection(transportTCP)
	}

	return gc, nil
}

// tlsHandshakeTimeout bounds a client that opens TLS and stalls.
const tlsHandshakeTimeout = 10 * time.Second

// unauthTimeout is how long a TCP or TLS connection may stay without an
// authenticated request.
var unauthTimeout = 30 * time.Second

var (
	errBadFrame = errors.New("turnserver: stream carries neither STUN nor ChannelData")
	// errNotStarted: a write before the connection's first byte decided
	// between TLS and TCP (pion only answers what it read, so never).
	errNotStarted = errors.New("turnserver: write before the stream started")
	// errPlainRefused: plain TURN on the TLS port with disable_tcp set.
	errPlainRefused = errors.New("turnserver: plain TURN over TCP is disabled (disable_tcp)")
)

type gatedStreamConn struct {
	// Conn is the accepted TCP connection: addresses, deadlines and Close
	// go to it, also under TLS (tls.Conn delegates them anyway).
	net.Conn
	// tls is the TLS configuration of a TLS port; the first Read decides
	// whether the connection speaks it (start).
	tls     *tls.Config
	noPlain bool
	gate    *gate

	readMu  sync.Mutex // pion reads from one goroutine; the lock keeps Read safe anyway.
	started bool
	authed  bool
	in      []byte // bytes read, not yet framed
	out     []byte // frames passed by the gate, not yet returned
	scratch stun.Message

	writeMu sync.Mutex
	// rw carries the TURN stream: Conn, or the TLS session on it. It is
	// set once, by start under both locks, before anything is written.
	rw io.ReadWriter
	// raw is set once a ConnectionBind succeeded (RFC 6062 section 5.4): the
	// connection then carries the peer's TCP stream, not STUN.
	raw atomic.Bool
}

func (c *gatedStreamConn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if !c.started {
		if err := c.start(); err != nil {
			return 0, err
		}
	}
	for len(c.out) == 0 {
		if c.raw.Load() {
			if len(c.in) > 0 {
				n := copy(p, c.in)
				c.in = c.in[n:]

				return n, nil
			}

			return c.rw.Read(p) //nolint:wrapcheck // io.Copy in pion matches io.EOF.
		}
		if err := c.frameOne(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]

	return n, nil
}

// start reads the first byte of a connection to the TLS port and sets up
// what follows it: a TLS handshake (the byte opened a TLS record), or
// plain TURN over TCP with the byte kept as the start of the first frame.
func (c *gatedStreamConn) start() error {
	var first [1]byte
	if _, err := io.ReadFull(c.Conn, first[:]); err != nil {
		return err //nolint:wrapcheck // pion matches io.EOF and net errors.
	}
	var rw io.ReadWriter = c.Conn
	transport := transportTCP
	if isTLSRecord(first[0]) {
		tc := tls.Server(&prefixConn{Conn: c.Conn, prefix: first[:]}, c.tls)
		ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
		err := tc.HandshakeContext(ctx)
		cancel()
		if err != nil {
			c.gate.metrics.streamConnection(transportTLSFailed)

			return fmt.Errorf("turnserver: TLS handshake: %w", err)
		}
		rw, transport = tc, transportTLS
	} else {
		if c.noPlain {
			return errPlainRefused
		}
		c.in = append(c.in, first[0])
	}
	c.gate.metrics.streamConnection(transport)
	c.writeMu.Lock()
	c.rw = rw
	c.writeMu.Unlock()
	c.started = true

	return nil
}

// frameOne reads until one whole frame is buffered and gates it.
func (c *gatedStreamConn) frameOne() error {
	for {
		if size, ok, err := frameSize(c.in); err != nil {
			return err
		} else if ok && len(c.in) >= size {
			frame := c.in[:size]
			if out := c.gate.inspect(frame, c.RemoteAddr(), c.LocalAddr(), c, &c.scratch); out != nil {
				c.out = append(c.out, out...)
			}
			c.in = c.in[size:]
			if len(c.in) == 0 {
				c.in = c.in[:0:0]
			}

			return nil
		}
		var buf [4096]byte
		n, err := c.rw.Read(buf[:])
		c.in = append(c.in, buf[:n]...)
		if err != nil {
			return err //nolint:wrapcheck // pion matches io.EOF and net errors.
		}
	}
}

// frameSize returns the length of the frame at the start of b, padding
// included: STUN is 20 + length; ChannelData over a stream is padded to 4
// bytes (RFC 8656 section 12.5).
func frameSize(b []byte) (int, bool, error) {
	if len(b) < 4 {
		return 0, false, nil
	}
	l := int(binary.BigEndian.Uint16(b[2:4]))
	switch b[0] >> 6 {
	case 0:
		return 20 + l, true, nil
	case 1:
		return 4 + (l+3)&^3, true, nil
	default:
		return 0, false, errBadFrame
	}
}

func (c *gatedStreamConn) Write(p []byte) (int, error) {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if len(p) >= 4 && binary.BigEndian.Uint16(p[0:2]) == stun.NewType(stun.MethodConnectionBind, stun.ClassSuccessResponse).Value() {
		c.raw.Store(true)
	}
	if c.rw == nil {
		return 0, errNotStarted
	}

	return c.rw.Write(p) //nolint:wrapcheck // Caller is pion.
}

// authenticated is called by the gate once a request on this connection
// verified: from then on the connection may idle between refreshes.
func (c *gatedStreamConn) authenticated() {
	if !c.authed {
		c.authed = true
		_ = c.Conn.SetReadDeadline(time.Time{})
	}
}

func (c *gatedStreamConn) reply(b []byte, _ net.Addr) error {
	c.writeMu.Lock()
	defer c.writeMu.Unlock()
	if c.rw == nil {
		return errNotStarted
	}
	_, err := c.rw.Write(b)

	return err //nolint:wrapcheck // Logged at debug by the caller.
}
