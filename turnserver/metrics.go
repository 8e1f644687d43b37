package turnserver

import (
	"fmt"

	"github.com/prometheus/client_golang/prometheus"
)

// metrics are the relay's Prometheus series. No label ever holds a username,
// an address or anything else a client chooses: label values come from fixed
// sets (directions, reasons), so cardinality is bounded.
type metrics struct {
	allocOpen  prometheus.Gauge
	allocTotal prometheus.Counter
	bytes      *prometheus.CounterVec
	packets    *prometheus.CounterVec
	auth       *prometheus.CounterVec
	denied     *prometheus.CounterVec
	quota      *prometheus.CounterVec
	dropped    *prometheus.CounterVec
	duration   prometheus.Histogram
	streams    *prometheus.CounterVec

	toPeerBytes, fromPeerBytes     prometheus.Counter
	toPeerPackets, fromPeerPackets prometheus.Counter
}

func newMetrics(reg prometheus.Registerer) (*metrics, error) {
	const ns, sub = "jingled", "turn"
	m := &metrics{
		allocOpen: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: ns, Subsystem: sub, Name: "allocations_open",
			Help: "Allocations currently open.",
		}),
		allocTotal: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "allocations_total",
			Help: "Allocations created since start.",
		}),
		bytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "relayed_bytes_total",
			Help: "Payload bytes relayed, by direction (to_peer: sent from relay sockets; from_peer: received on them).",
		}, []string{"direction"}),
		packets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "relayed_packets_total",
			Help: "Datagrams relayed, by direction.",
		}, []string{"direction"}),
		auth: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "auth_total",
			Help: "Authenticated requests by result: ok, bad_password, unknown_user, expired, bad_realm, rate_limited.",
		}, []string{"result"}),
		denied: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "denied_peers_total",
			Help: "Peer addresses refused by the peer policy, by reason.",
		}, []string{"reason"}),
		quota: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "quota_rejections_total",
			Help: "Requests refused by a limit: user, total (486), permissions (508), draining (508).",
		}, []string{"kind"}),
		dropped: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "dropped_total",
			Help: "Datagrams dropped: malformed, bandwidth, denied_peer, send_error (counted as relayed too), overload (pion fell behind the event loop).",
		}, []string{"reason"}),
		duration: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: ns, Subsystem: sub, Name: "session_duration_seconds",
			Help:    "Lifetime of allocations that ended.",
			Buckets: []float64{1, 10, 30, 60, 300, 900, 1800, 3600, 7200, 14400},
		}),
		streams: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: ns, Subsystem: sub, Name: "stream_connections_total",
			Help: "TCP connections accepted by the TURN listeners, by what they carried: tcp (plain TURN), tls (TURN over TLS), tls_failed (the TLS handshake failed).",
		}, []string{"transport"}),
	}
	for _, c := range []prometheus.Collector{
		m.allocOpen, m.allocTotal, m.bytes, m.packets, m.auth, m.denied, m.quota, m.dropped, m.duration, m.streams,
	} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("turnserver: registering metrics: %w", err)
		}
	}
	// Resolved once: WithLabelValues per packet would hash the label each time.
	m.toPeerBytes = m.bytes.WithLabelValues("to_peer")
	m.fromPeerBytes = m.bytes.WithLabelValues("from_peer")
	m.toPeerPackets = m.packets.WithLabelValues("to_peer")
	m.fromPeerPackets = m.packets.WithLabelValues("from_peer")

	return m, nil
}

// Values of the stream_connections_total transport label.
const (
	transportTCP       = "tcp"
	transportTLS       = "tls"
	transportTLSFailed = "tls_failed"
)

// streamConnection counts a TCP connection by what it turned out to carry,
// so an operator sees how many clients need TURN over TLS (on 443).
func (m *metrics) streamConnection(transport string) {
	m.streams.WithLabelValues(transport).Inc()
}
