package datachannel

import (
	"github.com/jingled/jingled/ice"
	"io"
	"sync"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/webrtc/v4"
)

// Flow control: a writer waits while more than highWater bytes are queued
// in SCTP, until the queue drains below lowWater. Blocking writes (pion's
// EnableDataChannelBlockWrite) wait for the queue to empty after every
// message, which measured 24 MB/s on loopback against 3x that here.
// pion's buffered amount counts the bytes in flight until they are acked,
// so highWater must stay above the receive window or it, not the window,
// bounds what one round trip carries: at 4 MiB with a 4 MiB window a 128
// MiB transfer at 50 ms RTT measured 207-247 Mbit/s, at twice the window
// 239-311 (docs/BENCHMARKS.md).
const (
	highWater = 2 * receiveWindow
	lowWater  = receiveWindow
)

// conn adapts a detached data channel, which is message-oriented, to a
// byte stream: writes are cut into messages the peer accepts, reads
// drain one message at a time.
type conn struct {
	rwc   datachannel.ReadWriteCloser
	dc    *webrtc.DataChannel
	low   chan struct{}
	chunk int

	rmu sync.Mutex
	buf []byte
	r   []byte

	closeOnce sync.Once
	closeErr  error

	pair ice.Pair
	// pathRTT is ICE's round-trip time when the channel opened, before
	// our data loaded the path; 0 if unknown.
	pathRTT time.Duration
	// sctp gives SCTP's smoothed RTT where pathRTT is unknown; nil if
	// neither is known.
	sctp *webrtc.SCTPTransport
}

// Tail waits: bytes a sender writes behind the last one we read travel
// in the same ordered stream, at most a congestion window behind, so
// they arrive within a round trip or two of it; tailRTTs round trips
// plus tailSlack for the receiver's scheduling.
const (
	tailRTTs  = 4
	tailSlack = 20 * time.Millisecond
)

// TailWait tells filetransfer how long to look for bytes beyond a file's
// declared end: a data channel stays open after the data, so the wait
// always runs out; a few round trips, not the fixed wait streams that
// close get. The round trip is the path's as ICE measured it when the
// channel opened: later measurements, ICE's consent checks as SCTP's
// smoothed RTT, include the queue a bulk transfer builds in the
// receiver's buffers (tens to hundreds of milliseconds on a busy
// loopback), which the last byte read has already drained.
func (c *conn) TailWait() time.Duration {
	rtt := c.pathRTT
	if rtt <= 0 && c.sctp != nil {
		rtt = seconds(c.sctp.Stats().SmoothedRoundTripTime)
	}
	return tailSlack + tailRTTs*rtt
}

// pathRTT reads ICE's current round-trip time on pc's selected pair, 0
// if unknown.
func pathRTT(pc *webrtc.PeerConnection) time.Duration {
	sctp := pc.SCTP()
	if sctp == nil || sctp.Transport() == nil {
		return 0
	}
	return ice.SelectedRTT(sctp.Transport().ICETransport())
}

// seconds converts pion's float seconds.
func seconds(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Pair returns the candidate pair the channel runs over (zero if unknown).
func (c *conn) Pair() ice.Pair { return c.pair }

func newConn(rwc datachannel.ReadWriteCloser, dc *webrtc.DataChannel, peerMax uint64) *conn {
	chunk := defaultChunk
	if peerMax > 0 && peerMax < uint64(chunk) {
		chunk = int(peerMax)
	}
	c := &conn{rwc: rwc, dc: dc, chunk: chunk, buf: make([]byte, DefaultMaxMessageSize), low: make(chan struct{}, 1)}
	dc.SetBufferedAmountLowThreshold(lowWater)
	dc.OnBufferedAmountLow(func() {
		select {
		case c.low <- struct{}{}:
		default:
		}
	})
	return c
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

// Write sends p as binary messages, waiting while the channel has more
// than highWater bytes queued, so a fast sender cannot queue the whole
// file in memory.
func (c *conn) Write(p []byte) (int, error) {
	written := 0
	for len(p) > 0 {
		for c.dc.BufferedAmount() > highWater {
			select {
			case <-c.low:
			case <-time.After(50 * time.Millisecond):
				// The low-water callback may have fired before we
				// started waiting; look again.
			}
			if c.dc.ReadyState() != webrtc.DataChannelStateOpen {
				return written, io.ErrClosedPipe
			}
		}
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
