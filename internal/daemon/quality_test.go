package daemon

import (
	"fmt"
	"reflect"
	"testing"
	"time"

	"github.com/jingled/jingled/rtp"
)

func TestNewCallQuality(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 8, 0, 0, 0, time.UTC)
	pair := func(l, r string) rtp.CandidatePair { return rtp.CandidatePair{LocalType: l, RemoteType: r} }
	for _, tc := range []struct {
		name       string
		firstMedia time.Time
		st         rtp.Stats
		want       callQuality
	}{
		{
			name:       "clean host call",
			firstMedia: t0.Add(300 * time.Millisecond),
			st:         rtp.Stats{PacketsReceived: 500, PacketsSent: 500, Pair: pair("host", "host")},
			want:       callQuality{Setup: 300 * time.Millisecond, Media: true, LocalType: "host", RemoteType: "host"},
		},
		{
			name:       "loss both ways through the relay",
			firstMedia: t0.Add(2 * time.Second),
			st:         rtp.Stats{PacketsReceived: 90, PacketsLost: 10, PacketsSent: 200, RemotePacketsLost: 4, Pair: pair("relay", "srflx")},
			want:       callQuality{Setup: 2 * time.Second, Media: true, LossIn: 0.1, LossOut: 0.02, LocalType: "relay", RemoteType: "srflx", Relayed: true},
		},
		{
			name: "remote relay counts as relayed",
			st:   rtp.Stats{Pair: pair("host", "relay")},
			want: callQuality{LocalType: "host", RemoteType: "relay", Relayed: true},
		},
		{
			name: "no media: no set-up time",
			st:   rtp.Stats{},
			want: callQuality{},
		},
		{
			name:       "media stamped before the start (clock step): no set-up time",
			firstMedia: t0.Add(-time.Second),
			want:       callQuality{},
		},
		{
			name: "negative loss (duplicates) is no loss",
			st:   rtp.Stats{PacketsReceived: 100, PacketsLost: -3, PacketsSent: 10, RemotePacketsLost: -1},
			want: callQuality{},
		},
		{
			name: "everything lost",
			st:   rtp.Stats{PacketsLost: 50, PacketsSent: 10, RemotePacketsLost: 10},
			want: callQuality{LossIn: 1, LossOut: 1},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			end := t0.Add(10 * time.Second)
			got := newCallQuality(t0, tc.firstMedia, end, tc.st)
			tc.want.Ended, tc.want.Duration = end, 10*time.Second
			if got != tc.want {
				t.Errorf("got  %+v\nwant %+v", got, tc.want)
			}
		})
	}
}

func TestQualityRing(t *testing.T) {
	q := func(i int) callQuality { return callQuality{Outcome: fmt.Sprint(i)} }
	outcomes := func(qs []callQuality) []string {
		out := []string{}
		for _, c := range qs {
			out = append(out, c.Outcome)
		}
		return out
	}
	for _, tc := range []struct {
		size, adds int
		want       []string
	}{
		{3, 0, []string{}},
		{3, 1, []string{"0"}},
		{3, 3, []string{"2", "1", "0"}},
		{3, 4, []string{"3", "2", "1"}},
		{3, 7, []string{"6", "5", "4"}},
		{1, 2, []string{"1"}},
		{0, 2, []string{}},
	} {
		t.Run(fmt.Sprintf("%d in %d", tc.adds, tc.size), func(t *testing.T) {
			r := newQualityRing(tc.size)
			for i := range tc.adds {
				r.add(q(i))
			}
			if got := outcomes(r.list()); !reflect.DeepEqual(got, tc.want) {
				t.Errorf("list = %v, want %v (newest first, at most %d)", got, tc.want, tc.size)
			}
		})
	}
}

func TestCandidateLabel(t *testing.T) {
	for in, want := range map[string]string{
		"host": "host", "srflx": "srflx", "prflx": "prflx", "relay": "relay",
		"": "none", "Relay": "other", "evil\"label": "other",
	} {
		if got := candidateLabel(in); got != want {
			t.Errorf("candidateLabel(%q) = %q, want %q", in, got, want)
		}
	}
}
