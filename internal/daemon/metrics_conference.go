package daemon

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jingled/jingled/conference"
)

// conferenceMetrics are what a room operator watches: rooms,
// participants, the mixer's CPU time and the participants' loss. No label
// names a room or a person.
type conferenceMetrics struct {
	events  *prometheus.CounterVec // by event, reason
	loss    prometheus.Histogram   // per participant, at leave
	rooms   *prometheus.Desc
	parts   *prometheus.Desc
	cpu     *prometheus.Desc
	send    *prometheus.Desc
	packets *prometheus.Desc
	codec   *prometheus.Desc
	over    *prometheus.Desc

	mu     sync.Mutex
	hosts  []*conference.Host
	single map[*conference.Room]bool // account-mode rooms
	seen   map[*conference.Room]roomTotals
	closed roomTotals // of rooms gone
}

type roomTotals struct {
	cpu, send        time.Duration
	received, lost   uint64
	decodes, encodes uint64
	overload         uint64 // frames encoded at the overload complexity
}

func (t *roomTotals) add(o roomTotals) {
	t.cpu += o.cpu
	t.send += o.send
	t.received += o.received
	t.lost += o.lost
	t.decodes += o.decodes
	t.encodes += o.encodes
	t.overload += o.overload
}

func newConferenceMetrics(reg prometheus.Registerer) *conferenceMetrics {
	m := &conferenceMetrics{
		events: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "jingled_conference_participants_total",
			Help: "Conference participants by event (joined, left, refused) and reason (the Jingle reason of leaving or refusal).",
		}, []string{"event", "reason"}),
		loss: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name:    "jingled_conference_participant_loss_ratio",
			Help:    "Share of a participant's audio packets lost before the mixer, observed when it leaves.",
			Buckets: []float64{0.001, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2},
		}),
		rooms:   prometheus.NewDesc("jingled_conference_rooms", "Conference rooms open.", nil, nil),
		parts:   prometheus.NewDesc("jingled_conference_participants", "Participants in open rooms (connecting ones included).", nil, nil),
		cpu:     prometheus.NewDesc("jingled_conference_mixer_cpu_seconds_total", "CPU time the audio mixers spent mixing, decoding and encoding (the mixer threads' own CPU time on Linux).", nil, nil),
		send:    prometheus.NewDesc("jingled_conference_mixer_send_cpu_seconds_total", "CPU time the mixer threads spent handing the mixes to the participants' RTP tracks (packetizing, SRTP, sending).", nil, nil),
		packets: prometheus.NewDesc("jingled_conference_packets_total", "Audio packets the mixers expected, by outcome (received, lost).", []string{"outcome"}, nil),
		// The mixer's design goal made visible: decodes follow the
		// speakers and encodes the speakers plus one shared mix per codec,
		// not the participants.
		codec:  prometheus.NewDesc("jingled_conference_mixer_codec_calls_total", "Decoder calls (concealment included) and encoder calls of the audio mixers, by op (decode, encode).", []string{"op"}, nil),
		over:   prometheus.NewDesc("jingled_conference_mixer_overload_frames_total", "Frames the audio mixers encoded at the cheaper overload complexity because their ticks kept starting late ([conference] overload_complexity): the focus's CPU is nearly full.", nil, nil),
		single: map[*conference.Room]bool{},
		seen:   map[*conference.Room]roomTotals{},
	}
	reg.MustRegister(m.events, m.loss, m)
	return m
}

func (m *conferenceMetrics) addHost(h *conference.Host) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.hosts = append(m.hosts, h)
}

func (m *conferenceMetrics) addRoom(r *conference.Room) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.single[r] = true
}

func (m *conferenceMetrics) removeRoom(r *conference.Room) {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.single, r)
}

// onEvent counts joins, leaves and refusals.
func (m *conferenceMetrics) onEvent(e conference.Event) {
	switch e.Kind {
	case conference.EventJoined:
		m.events.WithLabelValues("joined", "").Inc()
	case conference.EventLeft:
		m.events.WithLabelValues("left", e.Reason).Inc()
		if n := e.Input.Received + e.Input.Lost; n > 0 {
			m.loss.Observe(float64(e.Input.Lost) / float64(n))
		}
	case conference.EventRefused:
		m.events.WithLabelValues("refused", e.Reason).Inc()
	}
}

func (m *conferenceMetrics) Describe(ch chan<- *prometheus.Desc) {
	ch <- m.rooms
	ch <- m.parts
	ch <- m.cpu
	ch <- m.send
	ch <- m.packets
	ch <- m.codec
	ch <- m.over
}

// Collect reads the open rooms live; the totals of rooms that closed
// since the last scrape are kept so the counters never go back.
func (m *conferenceMetrics) Collect(ch chan<- prometheus.Metric) {
	m.mu.Lock()
	defer m.mu.Unlock()
	live := m.liveLocked()
	now := map[*conference.Room]roomTotals{}
	participants := 0
	for _, r := range live {
		st := r.Mixer()
		now[r] = roomTotals{cpu: st.MixCPU, send: st.SendCPU, received: st.Received, lost: st.Lost, decodes: st.Decodes, encodes: st.Encodes, overload: st.OverloadFrames}
		participants += r.Len()
	}
	for r, t := range m.seen {
		if _, ok := now[r]; !ok {
			m.closed.add(t)
		}
	}
	m.seen = now
	total := m.closed
	for _, t := range now {
		total.add(t)
	}
	ch <- prometheus.MustNewConstMetric(m.rooms, prometheus.GaugeValue, float64(len(live)))
	ch <- prometheus.MustNewConstMetric(m.parts, prometheus.GaugeValue, float64(participants))
	ch <- prometheus.MustNewConstMetric(m.cpu, prometheus.CounterValue, total.cpu.Seconds())
	ch <- prometheus.MustNewConstMetric(m.send, prometheus.CounterValue, total.send.Seconds())
	ch <- prometheus.MustNewConstMetric(m.packets, prometheus.CounterValue, float64(total.received), "received")
	ch <- prometheus.MustNewConstMetric(m.packets, prometheus.CounterValue, float64(total.lost), "lost")
	ch <- prometheus.MustNewConstMetric(m.codec, prometheus.CounterValue, float64(total.decodes), "decode")
	ch <- prometheus.MustNewConstMetric(m.codec, prometheus.CounterValue, float64(total.encodes), "encode")
	ch <- prometheus.MustNewConstMetric(m.over, prometheus.CounterValue, float64(total.overload))
}

// roomStatus is the open rooms. status: the component's and the account
// rooms.
func (m *conferenceMetrics) roomStatus() []conference.RoomStatus {
	m.mu.Lock()
	live := m.liveLocked()
	m.mu.Unlock()
	out := make([]conference.RoomStatus, 0, len(live))
	for _, r := range live {
		out = append(out, r.Status())
	}
	return out
}

// liveLocked lists the open rooms; m.mu is held.
func (m *conferenceMetrics) liveLocked() []*conference.Room {
	var live []*conference.Room
	for _, h := range m.hosts {
		live = append(live, h.OpenRooms()...)
	}
	for r := range m.single {
		live = append(live, r)
	}
	return live
}
