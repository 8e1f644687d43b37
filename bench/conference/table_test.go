package main

import (
	"strings"
	"testing"

	"github.com/jingled/jingled/bench/conference/internal/loadwire"
)

// TestRenderCapacity: the summary quotes the loss-only capacity and the
// capacity with every target met, from the scaling runs that held.
func TestRenderCapacity(t *testing.T) {
	mk := func(joined int, p95 float64) row {
		return row{
			name: "x", rooms: joined / 10, asked: joined, scaling: true,
			res:        loadwire.Result{Joined: joined, LatencyMS: []float64{p95}},
			focusCores: 0.9, mixerCores: 0.1, p95: p95,
			rssIdle: 0, rssLoaded: float64(joined) * 0.6 * mib,
		}
	}
	cfg := defaultConfig()
	out := render([]row{mk(100, 30), mk(200, 58), mk(300, 90)}, cfg)
	want := "Participants held under 1% loss in rooms of 10 (3 talking): 300; with the latency and memory targets met too: 200."
	if !strings.Contains(out, want) {
		t.Errorf("render summary missing %q in:\n%s", want, out)
	}
}
