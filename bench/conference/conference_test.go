package main

import (
	"bytes"
	"context"
	"testing"
	"time"
)

// TestSmoke runs the whole benchmark tiny: the real jingled (built here)
// in component mode against a throwaway Prosody, two rooms of 3 joined by
// two confload processes (the probe's room in one of its own, as
// -probe-process does by default), a 2-second window. It checks that
// every piece works (calls up, mix flowing both ways, metrics read, burst
// onsets timed, both loads' results added up), never how fast: speed
// targets live in docs/BENCHMARKS.md.
func TestSmoke(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Prosody and builds jingled; skipped with -short")
	}
	cfg := defaultConfig()
	cfg.roomSize, cfg.talkers, cfg.small, cfg.big = 3, 2, []int{6}, 0
	cfg.window, cfg.warmup, cfg.probes, cfg.pin = 2*time.Second, time.Second, 1, false
	r := runSmoke(t, cfg)
	switch {
	case r.res.Joined != 6 || r.res.Rooms != 2:
		t.Errorf("%d of 6 participants joined, in %d of 2 rooms", r.res.Joined, r.res.Rooms)
	case r.probeRes == nil || r.probeRes.Joined != 3 || r.probeRes.Probes != 1:
		t.Errorf("the probe's room did not run in a load process of its own: %+v", r.probeRes)
	case r.res.Sent == 0 || r.res.Received == 0:
		t.Errorf("no media in the window: sent %d, received %d", r.res.Sent, r.res.Received)
	case r.mixerCores <= 0 || r.focusCores <= 0:
		t.Errorf("metrics did not move: mixer %v, focus %v cores", r.mixerCores, r.focusCores)
	case r.encodes <= 0 || r.decodes <= 0:
		t.Errorf("mixer codec metrics did not move: %v decodes/s, %v encodes/s", r.decodes, r.encodes)
	case r.rssLoaded <= 0:
		t.Error("no process_resident_memory_bytes metric")
	case len(r.res.LatencyMS) == 0:
		t.Errorf("the probe timed no burst (%d unmatched)", r.res.Unmatched)
	}
}

// TestSmokeVideo is TestSmoke for the -video runs: one room of 3, one
// talking, everyone sending VP8, no audio-only baseline. It checks that
// every receiver gets one forwarded stream, that the packets are the load's
// own (none of a receiver's own video) and that their latency is timed;
// never how fast.
func TestSmokeVideo(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Prosody and ffmpeg and builds jingled; skipped with -short")
	}
	cfg := defaultConfig()
	cfg.video, cfg.baseline = true, false
	cfg.roomSize, cfg.talkers, cfg.small, cfg.big = 3, 1, []int{3}, 0
	cfg.window, cfg.warmup, cfg.probes, cfg.pin = 2*time.Second, 2*time.Second, 1, false
	r := runSmoke(t, cfg)
	v := r.res.Video
	switch {
	case r.res.Joined != 3:
		t.Errorf("%d of 3 participants joined", r.res.Joined)
	case v == nil:
		t.Error("no video result")
	case v.Sent == 0 || v.Received == 0:
		t.Errorf("no video in the window: sent %d, received %d", v.Sent, v.Received)
	case v.Streams != 3:
		t.Errorf("%d receivers got forwarded video, want 3", v.Streams)
	case v.Self != 0 || v.Unknown != 0:
		t.Errorf("misrouted video: %d packets of a receiver's own, %d without the trailer", v.Self, v.Unknown)
	case v.ExpectedSent == 0 || v.ReceivedSent == 0:
		t.Errorf("window's packets not counted: %d of %d arrived", v.ReceivedSent, v.ExpectedSent)
	case v.Timed == 0:
		t.Error("no forwarded packet timed")
	case r.focusCores <= 0:
		t.Errorf("metrics did not move: focus %v cores", r.focusCores)
	}
}

// TestSmokeAllVideo is TestSmokeVideo for the multi-stream runs
// (-all-video): one room of 3, everyone sending VP8 and advertising the
// room's all-video feature. It checks that every receiver gets its view
// and one added content per other participant (3 + 6 streams), that
// every added content had media before the window and carried the one
// sender it should, and that packets are timed; never how fast.
func TestSmokeAllVideo(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Prosody and ffmpeg and builds jingled; skipped with -short")
	}
	cfg := defaultConfig()
	cfg.video, cfg.allVideo, cfg.baseline = true, true, false
	cfg.roomSize, cfg.talkers, cfg.small, cfg.big = 3, 1, []int{3}, 0
	cfg.window, cfg.warmup, cfg.probes, cfg.pin = 2*time.Second, 2*time.Second, 1, false
	cfg.contentsWait = 30 * time.Second
	r := runSmoke(t, cfg)
	v := r.res.Video
	switch {
	case r.res.Joined != 3:
		t.Errorf("%d of 3 participants joined", r.res.Joined)
	case v == nil || !v.AllVideo:
		t.Errorf("no multi-stream video result: %+v", v)
	case v.ContentsExpected != 6 || v.Contents != 6:
		t.Errorf("%d of %d added contents had media before the window, want 6 of 6", v.Contents, v.ContentsExpected)
	case v.Streams != 9 || v.Extra != 6:
		t.Errorf("%d streams (%d added contents) got video in the window, want 9 (6)", v.Streams, v.Extra)
	case v.Self != 0 || v.Unknown != 0 || v.Misrouted != 0 || v.Missing != 0:
		t.Errorf("misrouted video: %d packets of a receiver's own, %d without the trailer, %d contents with a wrong sender, %d pairs missing", v.Self, v.Unknown, v.Misrouted, v.Missing)
	case v.ExpectedSent == 0 || v.ReceivedSent == 0:
		t.Errorf("window's packets not counted: %d of %d arrived", v.ReceivedSent, v.ExpectedSent)
	case v.Timed == 0:
		t.Error("no forwarded packet timed")
	case !r.videoHeld():
		t.Errorf("the row's video is not held: %s", r.videoLine())
	}
}

// runSmoke runs cfg, logs its output and returns its one row.
func runSmoke(t *testing.T, cfg config) row {
	t.Helper()
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
	return rows[0]
}
