package datachannel

import (
	"io"
	"sync"

	"github.com/pion/datachannel"
)

// conn adapts a detached data channel, which is message-oriented, to a
// byte stream: writes are cut into messages the peer accepts, reads
// drain one message at a time.
type conn struct {
	rwc   datachannel.ReadWriteCloser
	chunk int

	rmu sync.Mutex
	buf []byte
	r   []byte

	closeOnce sync.Once
	closeErr  error
}

func newConn(rwc datachannel.ReadWriteCloser, peerMax uint64) *conn {
	chunk := defaultChunk
	if peerMax > 0 && peerMax < uint64(chunk) {
		chunk = int(peerMax)
	}
	return &conn{rwc: rwc, chunk: chunk, buf: make([]byte, DefaultMaxMessageSize)}
}

// Read returns bytes of the current message, then of the next.
func (c *conn) Read(p []byte) (int, error) {
	c.rmu.Lock()
	defer c.rmu.Unlock()
	for len(c.r) == 0 {
		n, err := c.rwc.Read(c.buf)
		if err != nil {
			if n == 0 {
				return 0, err
			}
		}
		c.r = c.buf[:n]
		if err != nil && n > 0 {
			break
		}
	}
	n := copy(p, c.r)
	c.r = c.r[n:]
	return n, nil
}

// Write sends p as binary messages; with blocking writes enabled it
// returns once SCTP has taken them, so a fast sender cannot queue the
// whole file in memory.
func (c *conn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		n := min(len(p), c.chunk)
		w, err := c.rwc.Write(p[:n])
		written += w
		if err != nil {
			return written, err
		}
		p = p[n:]
	}
	return written, nil
}

// Close closes the channel once.
func (c *conn) Close() error {
	c.closeOnce.Do(func() { c.closeErr = c.rwc.Close() })
	return c.closeErr
}

var _ io.ReadWriteCloser = (*conn)(nil)
