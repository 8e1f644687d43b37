package daemon

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jingled/jingled/rtp"
)

// callCounters are jingled_call_rtp_packets_total and
// jingled_call_rtp_bytes_total: the totals of ended calls plus the live
// counters of running ones, read when Prometheus scrapes. Reading every
// call's stats once a second instead cost a thousand-call echo account
// more CPU than its RTCP; at scrape time it costs nothing between scrapes
// and the counters are as fresh as the scrape.
type callCounters struct {
	packets, bytes *prometheus.Desc

	mu   sync.Mutex
	done counts // ended calls
	live map[*rtp.Call]struct{}
}

// counts are RTP totals by direction.
type counts struct{ packetsIn, packetsOut, bytesIn, bytesOut uint64 }

func (c *counts) add(s rtp.Stats) {
	c.packetsIn += s.PacketsReceived
	c.packetsOut += s.PacketsSent
	c.bytesIn += s.BytesReceived
	c.bytesOut += s.BytesSent
}

func newCallCounters() *callCounters {
	return &callCounters{
		packets: prometheus.NewDesc("jingled_call_rtp_packets_total", "RTP packets of ended and running calls, by direction.", []string{"direction"}, nil),
		bytes:   prometheus.NewDesc("jingled_call_rtp_bytes_total", "RTP payload bytes of calls, by direction.", []string{"direction"}, nil),
		live:    map[*rtp.Call]struct{}{},
	}
}

// started counts c from now on.
func (cc *callCounters) started(c *rtp.Call) {
	cc.mu.Lock()
	cc.live[c] = struct{}{}
	cc.mu.Unlock()
}

// ended moves c's final stats into the ended totals.
func (cc *callCounters) ended(c *rtp.Call, final rtp.Stats) {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	delete(cc.live, c)
	cc.done.add(final)
}

// Describe implements prometheus.Collector.
func (cc *callCounters) Describe(ch chan<- *prometheus.Desc) {
	ch <- cc.packets
	ch <- cc.bytes
}

// Collect implements prometheus.Collector. The lock is held across the
// live calls' stats so that a call ending meanwhile is counted once.
func (cc *callCounters) Collect(ch chan<- prometheus.Metric) {
	cc.mu.Lock()
	t := cc.done
	for c := range cc.live {
		t.add(c.Stats())
	}
	cc.mu.Unlock()
	for _, m := range []struct {
		d       *prometheus.Desc
		in, out uint64
	}{{cc.packets, t.packetsIn, t.packetsOut}, {cc.bytes, t.bytesIn, t.bytesOut}} {
		ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.in), "in")
		ch <- prometheus.MustNewConstMetric(m.d, prometheus.CounterValue, float64(m.out), "out")
	}
}
