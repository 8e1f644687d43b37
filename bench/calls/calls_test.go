package main

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestSmoke runs the whole benchmark tiny: the real jingled (built here)
// with an echo account against a throwaway Prosody, two set-up calls
// against Prosody as shipped and two with Nagle off, and
// one level of 3 concurrent calls from two caller accounts over a
// 1-second window. It checks that every piece works (calls up, echo
// flowing, jingled's process and metrics read), never how fast: speed
// targets live in docs/BENCHMARKS.md.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Prosody and builds jingled; skipped with -short")
	}
	cfg := defaultConfig()
	cfg.setup, cfg.levels, cfg.window, cfg.perAccount, cfg.batch, cfg.pin = 2, []int{3}, time.Second, 2, 2, false
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := run(ctx, cfg, &out)
	t.Log(out.String())
	if err != nil {
		t.Fatal(err)
	}
	if len(res.setups) != 2 || len(res.setupsShipped) != 2 || len(res.rows) != 1 {
		t.Fatalf("%d+%d set-up times and %d levels, want 2+2 and 1", len(res.setupsShipped), len(res.setups), len(res.rows))
	}
	r := res.rows[0]
	switch {
	case r.held != 3:
		t.Errorf("%d of 3 calls held", r.held)
	case r.sentPerCall <= 0:
		t.Error("the load sent nothing in the window")
	case r.loss >= 0.5:
		t.Errorf("echo loss %.0f%%: the echo is not coming back", 100*r.loss)
	case r.jingledCores <= 0:
		t.Error("jingled's CPU did not move")
	case r.rssLoaded <= 0:
		t.Error("no process_resident_memory_bytes metric")
	}
}
