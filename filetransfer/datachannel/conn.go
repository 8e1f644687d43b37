package datachannel

import (
	"github.com/jingled/jingled/ice"
	"io"
	"sync"
	"time"

	"github.com/pion/datachannel"
	"github.com/pion/webrtc/v4"
)

// Flow control: a writer waits while more than its high mark of bytes
// are queued in SCTP, until the queue drains below its low mark (see
// writeMarks). Blocking writes (pion's EnableDataChannelBlockWrite) wait
// for the queue to empty after every message, which measured 24 MB/s on
// loopback against 3x that here.
//
// pion's buffered amount counts the bytes in flight until they are acked,
// so the high mark bounds what one round trip carries: on a long path it
// must stay above the receive window or it, not the window, is the limit
// (at 4 MiB with a 4 MiB window a 64 MiB transfer at 50 ms RTT measured
// 207-247 Mbit/s, at twice the window 239-311). On a short one a full
// window only queues in the receiver: on loopback, 2 MiB carried bench-ft
// 8% faster at 8% less CPU per MB than 8 MiB, and 1 MiB (with batched UDP
// and pion's copies cut) 13-18% faster again than 2 MiB, while 512 and
// 256 KiB measured as 1 MiB (docs/BENCHMARKS.md). Through BenchmarkRTT's
// hop at no added delay, whose own queue lengthens the round trip under
// load, 1 MiB measured about 5% below 2 MiB; at 20 ms and more the marks
// come from the round trip, not this floor.
const (
	// pathRate is more than one channel moves here (pion's SCTP, 50-65
	// MB/s on loopback): the high mark is twice pathRate times the path's
	// round trip, within [minHighWater, maxHighWater].
	pathRate     = 100e6 // bytes per second
	minHighWater = 1 << 20
	maxHighWater = 2 * receiveWindow
)

// writeMarks returns the high and low marks of the flow control for a
// path of rtt (0: unknown, the largest).
func writeMarks(rtt time.Duration) (high, low uint64) {
	high = maxHighWater
	if rtt > 0 {
		high = min(max(uint64(2*pathRate*rtt.Seconds()), minHighWater), maxHighWater)
	}
	return high, high / 2
}

// conn adapts a detached data channel, which is message-oriented, to a
// byte stream: writes are cut into messages the peer accepts, reads
// drain one message at a time.
type conn struct {
	rwc   datachannel.ReadWriteCloser
	dc    *webrtc.DataChannel
	low   chan struct{}
	chunk int
	// highWater and lowWater are the flow control's marks (writeMarks),
	// set once before the conn is handed out.
	highWater, lowWater uint64

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

// setPathRTT records the path's round trip (0: unknown) and sizes the
// flow control for it.
func (c *conn) setPathRTT(rtt time.Duration) {
	c.pathRTT = rtt
	c.highWater, c.lowWater = writeMarks(rtt)
	c.dc.SetBufferedAmountLowThreshold(c.lowWater)
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
	c.setPathRTT(0)
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
		for c.dc.BufferedAmount() > c.highWater {
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
