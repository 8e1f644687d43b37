package datachannel

import (
	"os"
	"strconv"
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

// udpRcvbufErrors reads the kernel's count of datagrams dropped at full
// UDP receive buffers in this network namespace (/proc/net/snmp's Udp
// RcvbufErrors), or -1 where there is none: the one loss the counting
// logger and the hop cannot see.
func udpRcvbufErrors() int64 {
	b, err := os.ReadFile("/proc/net/snmp")
	if err != nil {
		return -1
	}
	var names []string
	for _, line := range strings.Split(string(b), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || f[0] != "Udp:" {
			continue
		}
		if names == nil {
			names = f
			continue
		}
		for i, n := range names {
			if n == "RcvbufErrors" && i < len(f) {
				v, err := strconv.ParseInt(f[i], 10, 64)
				if err == nil {
					return v
				}
			}
		}
	}
	return -1
}
