package main

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestSmoke runs the whole benchmark tiny: the real jingled (built here)
// in component mode against a throwaway Prosody, one room of 3 joined by
// confload, a 2-second window. It checks that every piece works (calls
// up, mix flowing both ways, metrics read, burst onsets timed), never
// how fast: speed targets live in docs/BENCHMARKS.md.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Prosody and builds jingled; skipped with -short")
	}
	cfg := defaultConfig()
	cfg.roomSize, cfg.talkers, cfg.small, cfg.big = 3, 2, []int{3}, 0
	cfg.window, cfg.warmup, cfg.probes, cfg.pin = 2*time.Second, time.Second, 1, false
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	rows, err := run(ctx, cfg, &out)
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(rows) != 1 {
		t.Fatalf("%d rows, want 1", len(rows))
	}
	r := rows[0]
	switch {
	case r.res.Joined != 3:
		t.Errorf("%d of 3 participants joined", r.res.Joined)
	case r.res.Sent == 0 || r.res.Received == 0:
		t.Errorf("no media in the window: sent %d, received %d", r.res.Sent, r.res.Received)
	case r.mixerCores <= 0 || r.focusCores <= 0:
		t.Errorf("metrics did not move: mixer %v, focus %v cores", r.mixerCores, r.focusCores)
	case r.rssLoaded <= 0:
		t.Error("no process_resident_memory_bytes metric")
	case len(r.res.LatencyMS) == 0:
		t.Errorf("the probe timed no burst (%d unmatched)", r.res.Unmatched)
	}
}
