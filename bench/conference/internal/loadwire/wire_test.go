package loadwire

import (
	"reflect"
	"testing"
)

// TestAdd checks how two load processes' results over one window
// combine: counts add up, the worst loss and the longest times are kept,
// latencies are joined.
func TestAdd(t *testing.T) {
	r := Result{Participants: 260, Joined: 259, Rooms: 26, SetupSeconds: 40, WindowSeconds: 30.1,
		Sent: 100, Received: 90, ExpectedSeq: 95, ExpectedRate: 100, WorstLoss: 0.02, Ended: 1,
		CPUSeconds: 15, LateTicks: 10, Ticks: 1500}
	r.Add(Result{Participants: 40, Joined: 40, Rooms: 4, SetupSeconds: 8, WindowSeconds: 30.2,
		Sent: 10, Received: 9, ExpectedSeq: 9, ExpectedRate: 10, WorstLoss: 0.01,
		LatencyMS: []float64{20, 30}, Probes: 4, Unmatched: 1, CPUSeconds: 3, LateTicks: 2, Ticks: 1500})
	want := Result{Participants: 300, Joined: 299, Rooms: 30, SetupSeconds: 40, WindowSeconds: 30.2,
		Sent: 110, Received: 99, ExpectedSeq: 104, ExpectedRate: 110, WorstLoss: 0.02, Ended: 1,
		LatencyMS: []float64{20, 30}, Probes: 4, Unmatched: 1, CPUSeconds: 18, LateTicks: 12, Ticks: 3000}
	if !reflect.DeepEqual(r, want) {
		t.Errorf("got  %+v\nwant %+v", r, want)
	}
}
