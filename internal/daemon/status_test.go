package daemon

import (
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"

	"github.com/jingled/jingled/conference"
	"github.com/jingled/jingled/conference/mixer"
)

var t0 = time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)

// peopleInput is a daemon with end users in every place a JID can be: a
// live session, a recent call and a conference room.
func peopleInput(show bool) statusInput {
	return statusInput{
		Now: t0, Started: t0.Add(-time.Hour), Version: "v1", ShowJIDs: show,
		Accounts:   []accountState{{JID: "echo@example.org", Role: "echo", State: stateOnline}},
		Sessions:   []sessionRow{{Account: "echo@example.org", Role: "echo", Kind: kindAudio, State: "active", Peer: "alice@example.org/phone"}},
		Recent:     []callQuality{{Account: "echo@example.org", Peer: "bob@example.org/laptop", Kind: kindAudio}},
		Conference: true,
		Rooms: []conference.RoomStatus{{
			JID:          "secret-plans@call.example.org",
			Participants: []conference.Participant{{JID: "carol@example.org/x"}, {JID: "dave@example.org/y"}},
		}},
	}
}

// TestSnapshotJIDs: peers' JIDs and room names appear only when the
// operator shows them, in the page's data and so in the JSON twin; the
// service's own accounts always do.
func TestSnapshotJIDs(t *testing.T) {
	people := []string{"alice@example.org/phone", "bob@example.org/laptop", "secret-plans@call.example.org", "carol@example.org/x", "dave@example.org/y"}
	for _, show := range []bool{false, true} {
		t.Run(fmt.Sprintf("status_jids=%v", show), func(t *testing.T) {
			s, _ := buildSnapshot(peopleInput(show))
			raw, err := json.Marshal(s)
			if err != nil {
				t.Fatal(err)
			}
			for _, p := range people {
				if got := strings.Contains(string(raw), p); got != show {
					t.Errorf("%s in the snapshot: %v, want %v\n%s", p, got, show, raw)
				}
			}
			if !strings.Contains(string(raw), "echo@example.org") {
				t.Errorf("the service's own account is missing: %s", raw)
			}
			if s.JIDsShown != show {
				t.Errorf("JIDsShown = %v", s.JIDsShown)
			}
			// Counts do not depend on showing JIDs.
			if s.Live.Calls != 1 || len(s.Recent.Calls) != 1 || s.Conference.Participants != 2 || len(s.Conference.Rooms) != 1 {
				t.Errorf("counts: live %d, recent %d, participants %d, rooms %d", s.Live.Calls, len(s.Recent.Calls), s.Conference.Participants, len(s.Conference.Rooms))
			}
		})
	}
}

func TestSnapshotLiveByKind(t *testing.T) {
	row := func(kind, state string) sessionRow { return sessionRow{Account: "a@x", Kind: kind, State: state} }
	for _, tc := range []struct {
		name             string
		rows             []sessionRow
		calls, transfers int
		byKind           []kindCount
	}{
		{"idle", nil, 0, 0, []kindCount{{kindAudio, 0}, {kindVideo, 0}, {kindFile, 0}}},
		{"one audio call", []sessionRow{row(kindAudio, "active")}, 1, 0, []kindCount{{kindAudio, 1}, {kindVideo, 0}, {kindFile, 0}}},
		{"ringing counts", []sessionRow{row(kindVideo, "pending"), row(kindAudio, "active")}, 2, 0, []kindCount{{kindAudio, 1}, {kindVideo, 1}, {kindFile, 0}}},
		{"transfers", []sessionRow{row(kindFile, "active"), row(kindFile, "pending")}, 0, 2, []kindCount{{kindAudio, 0}, {kindVideo, 0}, {kindFile, 2}}},
		{"other kinds listed after", []sessionRow{row(kindOther, "pending"), row(kindAudio, "active")}, 1, 0, []kindCount{{kindAudio, 1}, {kindVideo, 0}, {kindFile, 0}, {kindOther, 1}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, _ := buildSnapshot(statusInput{Now: t0, Sessions: tc.rows})
			if s.Live.Calls != tc.calls || s.Live.Transfers != tc.transfers {
				t.Errorf("calls %d transfers %d, want %d %d", s.Live.Calls, s.Live.Transfers, tc.calls, tc.transfers)
			}
			if !reflect.DeepEqual(s.Live.ByKind, tc.byKind) {
				t.Errorf("by kind %v, want %v", s.Live.ByKind, tc.byKind)
			}
			if len(s.Live.Sessions) != len(tc.rows) {
				t.Errorf("%d session rows, want %d", len(s.Live.Sessions), len(tc.rows))
			}
		})
	}
}

// testFamilies gathers counters named as the daemon's and the relay's
// are, with the given values.
func testFamilies(t *testing.T, values map[string]float64) []*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	vecs := map[string]*prometheus.CounterVec{}
	for key, v := range values {
		name, label, _ := strings.Cut(key, "|")
		lname, lvalue, _ := strings.Cut(label, "=")
		if lname == "" {
			lname, lvalue = "x", "y"
		}
		vec := vecs[name]
		if vec == nil {
			vec = prometheus.NewCounterVec(prometheus.CounterOpts{Name: name, Help: name}, []string{lname})
			reg.MustRegister(vec)
			vecs[name] = vec
		}
		vec.WithLabelValues(lvalue).Add(v)
	}
	fs, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	return fs
}

func TestSnapshotCounters(t *testing.T) {
	fs := testFamilies(t, map[string]float64{
		metricCallsEnded + "|outcome=success":       3,
		metricCallsEnded + "|outcome=decline":       1,
		metricTransfersEnded + "|outcome=success":   2,
		metricFileBytes + "|direction=in":           1000,
		metricFileBytes + "|direction=out":          24,
		metricRelayOpen:                             2,
		metricRelayTotal:                            7,
		metricRelayBytes + "|direction=to_peer":     125000,
		metricRelayBytes + "|direction=from_peer":   250000,
		"jingled_unrelated_total|direction=to_peer": 99,
	})
	prev := relayRates{Base: relaySample{At: t0.Add(-10 * time.Second)}}
	for _, tc := range []struct {
		name  string
		relay bool
		want  *relayStatus
	}{
		{"relay off", false, nil},
		{"relay on", true, &relayStatus{
			AllocationsOpen: 2, AllocationsTotal: 7, BytesToPeers: 125000, BytesFromPeers: 250000,
			BitrateToPeers: 100000, BitrateFromPeers: 200000, RateWindow: 10 * time.Second,
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s, next := buildSnapshot(statusInput{Now: t0, Families: fs, Relay: tc.relay, Rates: prev})
			if want := (totalsStatus{CallsEnded: 4, TransfersEnded: 2, FileBytes: 1024}); s.Totals != want {
				t.Errorf("totals %+v, want %+v", s.Totals, want)
			}
			if !reflect.DeepEqual(s.Relay, tc.want) {
				t.Errorf("relay %+v, want %+v", s.Relay, tc.want)
			}
			if !tc.relay && next != prev {
				t.Errorf("without a relay the rates moved: %+v", next)
			}
			if s.Conference != nil {
				t.Errorf("conference section without rooms: %+v", s.Conference)
			}
		})
	}
}

func TestNextRates(t *testing.T) {
	sample := func(after time.Duration, to, from uint64) relaySample {
		return relaySample{At: t0.Add(after), ToPeers: to, FromPeers: from}
	}
	measured := relayRates{Base: sample(0, 1000, 2000), ToPeers: 8, FromPeers: 16, Window: 5 * time.Second}
	for _, tc := range []struct {
		name string
		prev relayRates
		cur  relaySample
		want relayRates
	}{
		{"no base yet: this is the base", relayRates{}, sample(0, 5, 5), relayRates{Base: sample(0, 5, 5)}},
		{"one second later", relayRates{Base: sample(0, 0, 0)}, sample(time.Second, 1000, 500),
			relayRates{Base: sample(time.Second, 1000, 500), ToPeers: 8000, FromPeers: 4000, Window: time.Second}},
		{"too soon: the last rates again", measured, sample(10*time.Millisecond, 9999, 9999), measured},
		{"counters went back: the last rates again", measured, sample(2*time.Second, 10, 10), measured},
		{"idle relay", measured, sample(2*time.Second, 1000, 2000),
			relayRates{Base: sample(2*time.Second, 1000, 2000), Window: 2 * time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextRates(tc.prev, tc.cur); got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestSnapshotRooms(t *testing.T) {
	rooms := []conference.RoomStatus{
		{JID: "small@c", Participants: make([]conference.Participant, 1), Mixer: mixer.Stats{Speakers: 1, MixCPU: 1500 * time.Millisecond, Received: 98, Lost: 2}},
		{JID: "big@c", Participants: make([]conference.Participant, 3)},
	}
	comp := &accountState{JID: "c", Role: "component", State: stateOnline}
	s, _ := buildSnapshot(statusInput{Now: t0, Conference: true, Component: comp, Rooms: rooms, ShowJIDs: true})
	c := s.Conference
	if c == nil || c.Component != comp || c.Participants != 4 || len(c.Rooms) != 2 {
		t.Fatalf("conference %+v", c)
	}
	if c.Rooms[0].Name != "big@c" {
		t.Errorf("rooms not busiest first: %+v", c.Rooms)
	}
	if r := c.Rooms[1]; r.MixCPU != 1.5 || r.Speakers != 1 || r.Loss != 0.02 {
		t.Errorf("small room %+v", r)
	}
	s, _ = buildSnapshot(statusInput{Now: t0, Conference: true})
	if s.Conference == nil || len(s.Conference.Rooms) != 0 {
		t.Errorf("a conference service with no room open: %+v", s.Conference)
	}
}

func TestHealthOf(t *testing.T) {
	for _, tc := range []struct {
		name string
		err  error
		want healthStatus
	}{
		{"ok", nil, healthStatus{OK: true}},
		{"one", errors.New("echo@x: disconnected"), healthStatus{Problems: []string{"echo@x: disconnected"}}},
		{"joined", errors.Join(errors.New("a: down"), errors.New("b: connecting")), healthStatus{Problems: []string{"a: down", "b: connecting"}}},
		{"nested join", errors.Join(errors.Join(errors.New("a"), errors.New("b")), errors.New("metrics: c")), healthStatus{Problems: []string{"a", "b", "metrics: c"}}},
		{"wrapped join stays one", fmt.Errorf("w: %w", errors.Join(errors.New("a"), errors.New("b"))), healthStatus{Problems: []string{"w: a\nb"}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := healthOf(tc.err); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestConnState(t *testing.T) {
	for _, tc := range []struct {
		err    error
		state  string
		detail string
	}{
		{nil, stateOnline, ""},
		{errConnecting, stateConnecting, ""},
		{fmt.Errorf("connect attempt 3 failed: %w", errors.New("refused")), stateOffline, "connect attempt 3 failed: refused"},
	} {
		got := connState(tc.err)
		if got.State != tc.state || got.Detail != tc.detail {
			t.Errorf("connState(%v) = %+v, want %s %q", tc.err, got, tc.state, tc.detail)
		}
	}
}
