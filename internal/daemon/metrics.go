package daemon

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

// metrics are the Jingle-side Prometheus metrics. Labels carry roles,
// states and outcomes, never JIDs: peers are end users.
type metrics struct {
	calls        *prometheus.CounterVec // by role, outcome
	callPackets  *prometheus.CounterVec // by direction
	callBytes    *prometheus.CounterVec // by direction
	transfers    *prometheus.CounterVec // by direction, outcome
	fileBytes    *prometheus.CounterVec // by direction
	connected    *prometheus.GaugeVec   // by role: XMPP connection up
	sessionsDesc *prometheus.Desc
	conference   *conferenceMetrics

	mu       sync.Mutex
	managers map[*jingle.Manager]string // manager -> role
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jingled_calls_total", Help: "Calls ended, by account role and outcome (the Jingle reason).",
		}, []string{"role", "outcome"}),
		callPackets: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jingled_call_rtp_packets_total", Help: "RTP packets of ended and running calls, by direction.",
		}, []string{"direction"}),
		callBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jingled_call_rtp_bytes_total", Help: "RTP payload bytes of calls, by direction.",
		}, []string{"direction"}),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jingled_file_transfers_total", Help: "File transfers ended, by direction and outcome.",
		}, []string{"direction", "outcome"}),
		fileBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jingled_file_bytes_total", Help: "File bytes transferred, by direction.",
		}, []string{"direction"}),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jingled_xmpp_connected", Help: "Accounts connected to their XMPP server, by role.",
		}, []string{"role"}),
		sessionsDesc: prometheus.NewDesc("jingled_sessions", "Jingle sessions by state and role.", []string{"state", "role"}, nil),
		managers:     map[*jingle.Manager]string{},
	}
	reg.MustRegister(m.calls, m.callPackets, m.callBytes, m.transfers, m.fileBytes, m.connected, m)
	m.conference = newConferenceMetrics(reg)
	return m
}

// Describe implements prometheus.Collector for the session gauge.
func (m *metrics) Describe(ch chan<- *prometheus.Desc) { ch <- m.sessionsDesc }

// Collect counts the sessions of every registered manager by state, read
// live so the gauge can never drift from the managers' truth.
func (m *metrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	counts := map[[2]string]int{}
	for mgr, role := range m.managers {
		for _, s := range mgr.Sessions() {
			counts[[2]string{s.State().String(), role}]++
		}
	}
	for _, st := range []jingle.State{jingle.StatePending, jingle.StateActive} {
		for _, role := range m.roles() {
			ch <- prometheus.MustNewConstMetric(m.sessionsDesc, prometheus.GaugeValue, float64(counts[[2]string{st.String(), role}]), st.String(), role)
		}
	}
}

func (m *metrics) roles() []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range m.managers {
		if !seen[r] {
			seen[r] = true
			out = append(out, r)
		}
	}
	return out
}

// addCallStats adds what a call's counters grew by since prev and returns
// cur, the new baseline.
func (m *metrics) addCallStats(prev, cur rtp.Stats) rtp.Stats {
	delta := func(c, p uint64) float64 {
		if c < p {
			return 0
		}
		return float64(c - p)
	}
	m.callPackets.WithLabelValues("in").Add(delta(cur.PacketsReceived, prev.PacketsReceived))
	m.callPackets.WithLabelValues("out").Add(delta(cur.PacketsSent, prev.PacketsSent))
	m.callBytes.WithLabelValues("in").Add(delta(cur.BytesReceived, prev.BytesReceived))
	m.callBytes.WithLabelValues("out").Add(delta(cur.BytesSent, prev.BytesSent))
	return cur
}

func (m *metrics) addManager(mgr *jingle.Manager, role string) {
	m.mu.Lock()
	m.managers[mgr] = role
	m.mu.Unlock()
}

func (m *metrics) removeManager(mgr *jingle.Manager) {
	m.mu.Lock()
	delete(m.managers, mgr)
	m.mu.Unlock()
}
