package daemon

import (
	"cmp"
	"maps"
	"slices"
	"time"

	dto "github.com/prometheus/client_model/go"

	"github.com/jingled/jingled/conference"
)

// snapshot is what the status page (/) and /status.json show: one
// consistent picture of the daemon, built by buildSnapshot from a
// statusInput. Peer JIDs and room names are end users' data: they are
// empty unless the operator set [http] status_jids, so the JSON twin
// carries no more than the page.
type snapshot struct {
	Version    string            `json:"version"`
	Time       time.Time         `json:"time"`
	Started    time.Time         `json:"started"`
	Health     healthStatus      `json:"health"`
	JIDsShown  bool              `json:"jids_shown"`
	Relay      *relayStatus      `json:"relay,omitempty"`
	Accounts   []accountState    `json:"accounts"`
	Live       liveStatus        `json:"live"`
	Totals     totalsStatus      `json:"totals"`
	Recent     recentStatus      `json:"recent"`
	Conference *conferenceStatus `json:"conference,omitempty"`
}

type healthStatus struct {
	OK       bool     `json:"ok"`
	Problems []string `json:"problems,omitempty"`
}

// relayStatus is the TURN relay, read from its Prometheus counters.
type relayStatus struct {
	AllocationsOpen  int     `json:"allocations_open"`
	AllocationsTotal int     `json:"allocations_total"`
	BytesToPeers     uint64  `json:"bytes_to_peers"`
	BytesFromPeers   uint64  `json:"bytes_from_peers"`
	BitrateToPeers   float64 `json:"bitrate_to_peers"`
	BitrateFromPeers float64 `json:"bitrate_from_peers"`
	// RateWindow is the span the bit rates are averaged over.
	RateWindow time.Duration `json:"rate_window_ns"`
}

// accountState is one [[account]]: its own JID (the operator's, shown
// always), role and XMPP connection state.
type accountState struct {
	JID    string `json:"jid"`
	Role   string `json:"role"`
	State  string `json:"state"` // online, connecting, offline
	Detail string `json:"detail,omitempty"`
}

// Account XMPP states.
const (
	stateOnline     = "online"
	stateConnecting = "connecting"
	stateOffline    = "offline"
)

// sessionRow is one live Jingle session of an account.
type sessionRow struct {
	Account string `json:"account"`
	Role    string `json:"role"`
	Kind    string `json:"kind"`
	State   string `json:"state"`
	Peer    string `json:"peer,omitempty"`
}

type kindCount struct {
	Kind  string `json:"kind"`
	Count int    `json:"count"`
}

// liveStatus counts the sessions running now.
type liveStatus struct {
	Calls     int          `json:"calls"`
	Transfers int          `json:"transfers"`
	ByKind    []kindCount  `json:"by_kind"`
	Sessions  []sessionRow `json:"sessions"`
}

// totalsStatus are counters since start.
type totalsStatus struct {
	CallsEnded     uint64 `json:"calls_ended"`
	TransfersEnded uint64 `json:"transfers_ended"`
	FileBytes      uint64 `json:"file_bytes"`
}

// recentStatus is the ring of the last calls' quality.
type recentStatus struct {
	Calls   []callQuality `json:"calls"`
	Relayed int           `json:"relayed"`
}

type conferenceStatus struct {
	// Component is the XEP-0114 component (component mode), or nil.
	Component    *accountState `json:"component,omitempty"`
	Rooms        []roomRow     `json:"rooms"`
	Participants int           `json:"participants"`
}

type roomRow struct {
	Name         string   `json:"name,omitempty"`
	Participants int      `json:"participants"`
	People       []string `json:"people,omitempty"`
	Speakers     int      `json:"speakers"`
	MixCPU       float64  `json:"mixer_cpu_seconds"`
	Loss         float64  `json:"loss"`
}

// statusInput is everything buildSnapshot reads, gathered from the
// running daemon (Daemon.statusInput, statusPage.snapshot) so that
// building stays a pure function.
type statusInput struct {
	Now, Started time.Time
	Version      string
	ShowJIDs     bool
	Health       error
	// Families are the gathered Prometheus metrics: the relay's and the
	// call counters come from there, not from copies.
	Families []*dto.MetricFamily
	Relay    bool // the relay is enabled
	// Rates are the relay's last measured bit rates and the sample the
	// next measurement starts from.
	Rates     relayRates
	Accounts  []accountState
	Sessions  []sessionRow
	Recent    []callQuality
	Component *accountState
	Rooms     []conference.RoomStatus
	// Conference: rooms can exist (component or an account room).
	Conference bool
}

// relaySample is the relay's byte counters at one time.
type relaySample struct {
	At                 time.Time
	ToPeers, FromPeers uint64
}

// relayRates are bit rates measured between two samples, and the later
// sample, which the next measurement starts from.
type relayRates struct {
	Base               relaySample
	ToPeers, FromPeers float64 // bit/s
	Window             time.Duration
}

// The metrics the page reads. dashboard_test checks that each exists, so
// renaming one fails a test instead of blanking the page.
const (
	metricCallsEnded     = "jingled_calls_total"
	metricTransfersEnded = "jingled_file_transfers_total"
	metricFileBytes      = "jingled_file_bytes_total"
	metricRelayBytes     = "jingled_turn_relayed_bytes_total"
	metricRelayOpen      = "jingled_turn_allocations_open"
	metricRelayTotal     = "jingled_turn_allocations_total"
)

// minRateWindow keeps a page reloaded in quick succession (several
// viewers, the page and its JSON) from measuring bit rates over a few
// milliseconds: within it the last rates are shown again.
const minRateWindow = time.Second

// nextRates measures the bit rates from prev's base to cur, or keeps
// prev's when cur is too close to it (or the counters went back).
func nextRates(prev relayRates, cur relaySample) relayRates {
	window := cur.At.Sub(prev.Base.At)
	if prev.Base.At.IsZero() {
		return relayRates{Base: cur}
	}
	if window < minRateWindow || cur.ToPeers < prev.Base.ToPeers || cur.FromPeers < prev.Base.FromPeers {
		return prev
	}
	return relayRates{
		Base:      cur,
		ToPeers:   float64(cur.ToPeers-prev.Base.ToPeers) * 8 / window.Seconds(),
		FromPeers: float64(cur.FromPeers-prev.Base.FromPeers) * 8 / window.Seconds(),
		Window:    window,
	}
}

// buildSnapshot makes the page's picture, and the relay's rates for the
// next one.
func buildSnapshot(in statusInput) (snapshot, relayRates) {
	s := snapshot{
		Version: in.Version, Time: in.Now, Started: in.Started, JIDsShown: in.ShowJIDs,
		Health:   healthOf(in.Health),
		Accounts: slices.Clone(in.Accounts),
		Live:     liveOf(in.Sessions, in.ShowJIDs),
		Recent:   recentOf(in.Recent, in.ShowJIDs),
	}
	if s.Accounts == nil {
		s.Accounts = []accountState{}
	}
	m := indexFamilies(in.Families)
	s.Totals = totalsStatus{
		CallsEnded:     uint64(m.sum(metricCallsEnded)),
		TransfersEnded: uint64(m.sum(metricTransfersEnded)),
		FileBytes:      uint64(m.sum(metricFileBytes)),
	}
	next := in.Rates
	if in.Relay {
		s.Relay, next = relayOf(m, in.Rates, in.Now)
	}
	if in.Conference {
		s.Conference = conferenceOf(in.Component, in.Rooms, in.ShowJIDs)
	}
	return s, next
}

func healthOf(err error) healthStatus {
	if err == nil {
		return healthStatus{OK: true}
	}
	return healthStatus{Problems: problems(err)}
}

// problems lists the parts of an errors.Join, each on its own line.
func problems(err error) []string {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []string
		for _, e := range j.Unwrap() {
			out = append(out, problems(e)...)
		}
		return out
	}
	return []string{err.Error()}
}

func liveOf(rows []sessionRow, jids bool) liveStatus {
	l := liveStatus{Sessions: make([]sessionRow, 0, len(rows))}
	counts := map[string]int{}
	for _, r := range rows {
		counts[r.Kind]++
		switch r.Kind {
		case kindAudio, kindVideo:
			l.Calls++
		case kindFile:
			l.Transfers++
		}
		if !jids {
			r.Peer = ""
		}
		l.Sessions = append(l.Sessions, r)
	}
	slices.SortStableFunc(l.Sessions, func(a, b sessionRow) int {
		return cmp.Or(cmp.Compare(a.Account, b.Account), cmp.Compare(a.Kind, b.Kind), cmp.Compare(a.Peer, b.Peer))
	})
	// The call and transfer kinds are always listed, zero or not, so a
	// reader (or a script) finds them in the same place.
	for _, k := range []string{kindAudio, kindVideo, kindFile} {
		l.ByKind = append(l.ByKind, kindCount{k, counts[k]})
		delete(counts, k)
	}
	for _, k := range slices.Sorted(maps.Keys(counts)) {
		l.ByKind = append(l.ByKind, kindCount{k, counts[k]})
	}
	return l
}

func recentOf(calls []callQuality, jids bool) recentStatus {
	r := recentStatus{Calls: make([]callQuality, 0, len(calls))}
	for _, q := range calls {
		if !jids {
			q.Peer = ""
		}
		if q.Relayed {
			r.Relayed++
		}
		r.Calls = append(r.Calls, q)
	}
	return r
}

func relayOf(m families, prev relayRates, now time.Time) (*relayStatus, relayRates) {
	cur := relaySample{
		At:        now,
		ToPeers:   uint64(m.sum(metricRelayBytes, "direction", "to_peer")),
		FromPeers: uint64(m.sum(metricRelayBytes, "direction", "from_peer")),
	}
	rates := nextRates(prev, cur)
	return &relayStatus{
		AllocationsOpen:  int(m.sum(metricRelayOpen)),
		AllocationsTotal: int(m.sum(metricRelayTotal)),
		BytesToPeers:     cur.ToPeers,
		BytesFromPeers:   cur.FromPeers,
		BitrateToPeers:   rates.ToPeers,
		BitrateFromPeers: rates.FromPeers,
		RateWindow:       rates.Window,
	}, rates
}

func conferenceOf(comp *accountState, rooms []conference.RoomStatus, jids bool) *conferenceStatus {
	c := &conferenceStatus{Component: comp, Rooms: make([]roomRow, 0, len(rooms))}
	for _, r := range rooms {
		row := roomRow{Participants: len(r.Participants), Speakers: r.Mixer.Speakers, MixCPU: r.Mixer.MixCPU.Seconds()}
		row.Loss = share(int64(r.Mixer.Lost), r.Mixer.Received+r.Mixer.Lost)
		if jids {
			row.Name = r.JID
			for _, p := range r.Participants {
				row.People = append(row.People, p.JID)
			}
			slices.Sort(row.People)
		}
		c.Participants += row.Participants
		c.Rooms = append(c.Rooms, row)
	}
	slices.SortStableFunc(c.Rooms, func(a, b roomRow) int {
		return cmp.Or(cmp.Compare(b.Participants, a.Participants), cmp.Compare(a.Name, b.Name))
	})
	return c
}

// families indexes gathered metrics by name.
type families map[string]*dto.MetricFamily

func indexFamilies(fs []*dto.MetricFamily) families {
	m := make(families, len(fs))
	for _, f := range fs {
		m[f.GetName()] = f
	}
	return m
}

// sum adds the counter, gauge or untyped samples of name whose labels
// include the given name/value pairs.
func (m families) sum(name string, labelPairs ...string) float64 {
	f := m[name]
	if f == nil {
		return 0
	}
	var total float64
	for _, s := range f.GetMetric() {
		if !hasLabels(s.GetLabel(), labelPairs) {
			continue
		}
		switch {
		case s.Counter != nil:
			total += s.GetCounter().GetValue()
		case s.Gauge != nil:
			total += s.GetGauge().GetValue()
		case s.Untyped != nil:
			total += s.GetUntyped().GetValue()
		}
	}
	return total
}

func hasLabels(have []*dto.LabelPair, want []string) bool {
	for i := 0; i+1 < len(want); i += 2 {
		found := false
		for _, l := range have {
			if l.GetName() == want[i] && l.GetValue() == want[i+1] {
				found = true
				break
			}
		}
		if !found {
			return false
		}
	}
	return true
}
