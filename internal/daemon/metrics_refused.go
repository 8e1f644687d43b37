package daemon

import (
	"context"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/xmpp"
)

// refusedMetrics count what peers sent that jingled's accounts refused
// or dropped, so a flood of hostile or broken stanzas shows on a
// dashboard instead of only in its effect: Jingle IQs answered with an
// error, by reason, and JMI messages for proposals that do not exist,
// which XEP-0353 gives no error to answer with.
type refusedMetrics struct {
	iqs        *prometheus.CounterVec // by role, reason
	jmiIgnored *prometheus.Desc
	m          *metrics // its managers, for their JMI counts
}

func newRefusedMetrics(reg prometheus.Registerer, m *metrics) *refusedMetrics {
	r := &refusedMetrics{
		iqs: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jingled_stanzas_refused_total",
			Help: "Jingle IQs answered with an error, by account role and reason: the XEP-0166 condition (unknown-session, out-of-order, tie-break, unsupported-info) or else the stanza error (bad-request, resource-constraint, ...).",
		}, []string{"role", "reason"}),
		jmiIgnored: prometheus.NewDesc("jingled_jmi_ignored_total",
			"JMI (XEP-0353) proceed, reject, ringing and retract messages that matched no proposal of their sender and were dropped, by account role.",
			[]string{"role"}, nil),
		m: m,
	}
	reg.MustRegister(r.iqs, r)
	return r
}

// countIQ wraps a Jingle manager's IQ handler: every error reply it
// makes is counted by reason. The reasons are the manager's own fixed
// set, so the label stays bounded whatever peers send.
func (r *refusedMetrics) countIQ(role string, h xmpp.IQHandler) xmpp.IQHandler {
	return func(ctx context.Context, iq *jingle.IQ) *jingle.IQ {
		reply := h(ctx, iq)
		if reply != nil && reply.Type == jingle.IQError {
			r.iqs.WithLabelValues(role, refusalReason(reply.Error)).Inc()
		}
		return reply
	}
}

// refusalReason is the Jingle condition of e if it has one, else its
// stanza condition.
func refusalReason(e *jingle.Error) string {
	switch {
	case e == nil:
		return "unknown"
	case e.Jingle != "":
		return string(e.Jingle)
	case e.Condition != "":
		return e.Condition
	}
	return "unknown"
}

// Describe implements prometheus.Collector for jingled_jmi_ignored_total.
func (r *refusedMetrics) Describe(ch chan<- *prometheus.Desc) { ch <- r.jmiIgnored }

// Collect sums the managers' IgnoredJMI by role, read live like the
// session gauge.
func (r *refusedMetrics) Collect(ch chan<- prometheus.Metric) {
	r.m.mu.Lock()
	sums := map[string]uint64{}
	for mgr, role := range r.m.managers {
		sums[role] += mgr.Stats().IgnoredJMI
	}
	r.m.mu.Unlock()
	for role, n := range sums {
		ch <- prometheus.MustNewConstMetric(r.jmiIgnored, prometheus.CounterValue, float64(n), role)
	}
}
