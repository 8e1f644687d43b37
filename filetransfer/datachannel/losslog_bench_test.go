package datachannel

import (
	"strings"
	"sync/atomic"

	"github.com/pion/logging"
)

// lossCounter is a pion LoggerFactory that counts, without formatting
// anything, the log lines by which pion tells of a lost or recovered
// packet: the ICE agent dropping a datagram its 1 MB buffer had no room
// for, webrtc's mux dropping a datagram its endpoint's 1 MB buffer
// had no room for, SCTP's receiver dropping DATA beyond its full receive
// buffer, SCTP's fast retransmissions (each halves the
// congestion window) and its retransmission timeouts (each drops it to
// one MTU). BenchmarkRTT reports them beside the rate, since which of
// them happened decides the rate of a long transfer.
type lossCounter struct {
	iceDrops, muxDrops, rwndDrops, fastRetransmits, t3Timeouts atomic.Int64
}

func (c *lossCounter) NewLogger(scope string) logging.LeveledLogger {
	return &countingLogger{c: c, scope: scope}
}

// countingLogger is one scope's logger of a lossCounter.
type countingLogger struct {
	c     *lossCounter
	scope string
}

func (l *countingLogger) count(format string) {
	switch {
	case l.scope == "ice" && strings.Contains(format, "Failed to write packet"):
		l.c.iceDrops.Add(1)
	case l.scope == "mux" && strings.Contains(format, "buffer is full"):
		l.c.muxDrops.Add(1)
	case l.scope == "sctp" && strings.Contains(format, "receive buffer full. dropping"):
		l.c.rwndDrops.Add(1)
	case l.scope == "sctp" && strings.Contains(format, "(FR)"):
		l.c.fastRetransmits.Add(1)
	case l.scope == "sctp" && strings.Contains(format, "T3-rtx timed out"):
		l.c.t3Timeouts.Add(1)
	}
}

func (l *countingLogger) Trace(msg string)               { l.count(msg) }
func (l *countingLogger) Tracef(format string, _ ...any) { l.count(format) }
func (l *countingLogger) Debug(msg string)               { l.count(msg) }
func (l *countingLogger) Debugf(format string, _ ...any) { l.count(format) }
func (l *countingLogger) Info(msg string)                { l.count(msg) }
func (l *countingLogger) Infof(format string, _ ...any)  { l.count(format) }
func (l *countingLogger) Warn(msg string)                { l.count(msg) }
func (l *countingLogger) Warnf(format string, _ ...any)  { l.count(format) }
func (l *countingLogger) Error(msg string)               { l.count(msg) }
func (l *countingLogger) Errorf(format string, _ ...any) { l.count(format) }
