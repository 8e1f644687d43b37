package daemon

import (
	"sync"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jingled/jingled/jingle"
)

// metrics are the Jingle-side Prometheus metrics. Labels carry roles,
// states and outcomes, never JIDs: peers are end users.
type metrics struct {
	calls        *prometheus.CounterVec // by role, outcome
	callRTP      *callCounters
	transfers    *prometheus.CounterVec // by direction, outcome
	fileBytes    *prometheus.CounterVec // by direction
	connected    *prometheus.GaugeVec   // by role: XMPP connection up
	setup        prometheus.Histogram   // calls' set-up time
	loss         prometheus.Histogram   // calls' receive loss
	pairs        *prometheus.CounterVec // calls by candidate types, local, remote
	sessionsDesc *prometheus.Desc
	conference   *conferenceMetrics
	refused      *refusedMetrics
	// recent keeps the last calls' quality for the status page; the
	// histograms above see the same values.
	recent *qualityRing

	mu       sync.Mutex
	managers map[*jingle.Manager]string // manager -> role
}

func newMetrics(reg prometheus.Registerer) *metrics {
	m := &metrics{
		calls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jingled_calls_total", Help: "Calls ended, by account role and outcome (the Jingle reason).",
		}, []string{"role", "outcome"}),
		callRTP: newCallCounters(),
		transfers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jingled_file_transfers_total", Help: "File transfers ended, by direction and outcome.",
		}, []string{"direction", "outcome"}),
		fileBytes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jingled_file_bytes_total", Help: "File bytes transferred, by direction.",
		}, []string{"direction"}),
		connected: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "jingled_xmpp_connected", Help: "Accounts connected to their XMPP server, by role.",
		}, []string{"role"}),
		setup: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "jingled_call_setup_seconds",
			Help:    "Time from a call's session-initiate to its first RTP packet, for calls that got media.",
			Buckets: []float64{0.1, 0.25, 0.5, 1, 2, 3, 5, 10, 20},
		}),
		loss: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "jingled_call_loss_ratio",
			Help:    "Share of the peer's RTP packets a call lost, observed when it ends.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2},
		}),
		pairs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jingled_call_candidate_pairs_total",
			Help: "Calls ended, by the ICE candidate types of their selected pair (host, srflx, prflx, relay; none without a pair).",
		}, []string{"local", "remote"}),
		recent:       newQualityRing(recentCalls),
		sessionsDesc: prometheus.NewDesc("jingled_sessions", "Jingle sessions by state and role.", []string{"state", "role"}, nil),
		managers:     map[*jingle.Manager]string{},
	}
	reg.MustRegister(m.calls, m.callRTP, m.transfers, m.fileBytes, m.connected, m.setup, m.loss, m.pairs, m)
	m.conference = newConferenceMetrics(reg)
	m.refused = newRefusedMetrics(reg, m)
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

// recentCalls is how many ended calls the status page shows.
const recentCalls = 20

// callEnded records an ended call's quality: histograms for Prometheus,
// the ring for the status page.
func (m *metrics) callEnded(q callQuality) {
	if q.Media {
		m.setup.Observe(q.Setup.Seconds())
		m.loss.Observe(q.LossIn)
	}
	m.pairs.WithLabelValues(candidateLabel(q.LocalType), candidateLabel(q.RemoteType)).Inc()
	m.recent.add(q)
}

// candidateLabel keeps the pair labels to ICE's candidate types, whatever
// a stats report says.
func candidateLabel(typ string) string {
	switch typ {
	case "host", "srflx", "prflx", "relay":
		return typ
	case "":
		return "none"
	}
	return "other"
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
