package turnserver

import (
	"context"
	"crypto/tls"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/stun/v4"
)

// gatedListener hands pion TCP (or TLS) connections whose byte stream is
// split into STUN and ChannelData frames (RFC 8656 section 11.5 framing) and
// put through the gate, as the UDP socket's datagrams are.
type gatedListener struct {
	net.Listener
	gate *gate
	tls  *tls.Config
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
	gc := &gatedStreamConn{Conn: c, gate: l.gate}
	if l.tls != nil {
		gc.tlsConn = tls.Server(c, l.tls)
		gc.Conn = gc.tlsConn
	}

	return gc, nil
}

// tlsHandshakeTimeout bounds a client that opens TLS and stalls.
const tlsHandshakeTimeout = 10 * time.Second

// unauthTimeout is how long a TCP or TLS connection may stay without an
// authenticated request.
var unauthTimeout = 30 * time.Second

// maxFrame is the largest STUN or ChannelData frame: 16-bit length plus header.
const maxFrame = 0xFFFF + 20

var errBadFrame = errors.New("turnserver: stream carries neither STUN nor ChannelData")

type gatedStreamConn struct {
	net.Conn
	tlsConn *tls.Conn
	gate    *gate

	readMu    sync.Mutex // pion reads from one goroutine; the lock keeps Read safe anyway.
	handshook bool
	authed    bool
	in        []byte // bytes read, not yet framed
	out       []byte // frames passed by the gate, not yet returned
	scratch   stun.Message

	writeMu sync.Mutex
	// raw is set once a ConnectionBind succeeded (RFC 6062 section 5.4): the
	// connection then carries the peer's TCP stream, not STUN.
	raw atomic.Bool
}

func (c *gatedStreamConn) Read(p []byte) (int, error) {
	c.readMu.Lock()
	defer c.readMu.Unlock()
	if c.tlsConn != nil && !c.handshook {
		ctx, cancel := context.WithTimeout(context.Background(), tlsHandshakeTimeout)
		err := c.tlsConn.HandshakeContext(ctx)
		cancel()
		if err != nil {
			return 0, fmt.Errorf("turnserver: TLS handshake: %w", err)
		}
		c.handshook = true
	}
	for len(c.out) == 0 {
		if c.raw.Load() {
			if len(c.in) > 0 {
				n := copy(p, c.in)
				c.in = c.in[n:]

				return n, nil
			}

			return c.Conn.Read(p) //nolint:wrapcheck // io.Copy in pion matches io.EOF.
		}
		if err := c.frameOne(); err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]

	return n, nil
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
		n, err := c.Conn.Read(buf[:])
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

	return c.Conn.Write(p) //nolint:wrapcheck // Caller is pion.
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
	_, err := c.Conn.Write(b)

	return err //nolint:wrapcheck // Logged at debug by the caller.
}
