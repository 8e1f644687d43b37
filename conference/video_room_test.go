package conference

import (
	"context"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

// timedSink records a video track to IVF and the arrival time of its
// first packet: with the presentation times in the file (the RTP clock,
// which the room keeps continuous), each frame gets a wall-clock time.
type timedSink struct {
	rtp.Sink
	mu    sync.Mutex
	first time.Time
}

func (s *timedSink) WriteRTP(p *pionrtp.Packet) error {
	s.mu.Lock()
	if s.first.IsZero() {
		s.first = time.Now()
	}
	s.mu.Unlock()
	return s.Sink.WriteRTP(p)
}

// TestRoomShowsTheActiveSpeaker: red, green and blue participants each
// send video and a tone; red talks loudly, then at a moment T the loud
// tone moves to blue. Green is shown red, then blue within 2 s of T; red
// is shown green (blue is quieter), then blue; blue is shown red, then
// green. Every recording decodes without an error and its presentation
// times run on across the switches.
func TestRoomShowsTheActiveSpeaker(t *testing.T) {
	if testing.Short() {
		t.Skip("real calls with ffmpeg-made media")
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	r, room := newTestRoom(t, RoomConfig{})
	type part struct {
		colour string
		tone   *switchTone
		call   *rtp.Call
		sink   *timedSink
		ivf    string
	}
	parts := []*part{
		{colour: "red", tone: newSwitchTone(t, 440, 0.5, 0.02, true)},
		{colour: "green", tone: newSwitchTone(t, 660, 0.1, 0.1, true)},
		{colour: "blue", tone: newSwitchTone(t, 880, 0.5, 0.02, false)},
	}
	for _, p := range parts {
		video := filepath.Join(dir, p.colour+".ivf")
		if err := mediatest.ColourVP8(ctx, video, p.colour, 40, 15); err != nil {
			t.Fatal(err)
		}
		p.ivf = filepath.Join(dir, "seen-by-"+p.colour+".ivf")
		p.sink = &timedSink{}
		sinks := func(_ string, c webrtc.RTPCodecParameters) (rtp.Sink, error) {
			if !strings.EqualFold(c.MimeType, webrtc.MimeTypeVP8) {
				return nil, nil
			}
			s, err := rtp.NewFileSink(p.ivf, c)
			p.sink.Sink = s
			return p.sink, err
		}
		c := mustDial(t, r, p.colour+"@localhost/t", rtp.MediaOptions{AudioSource: p.tone, Video: video, Sinks: sinks})
		p.call = c
	}
	waitJoined(t, room, 3)
	time.Sleep(5 * time.Second)
	switchAt := time.Now()
	parts[0].tone.SetLoud(false)
	parts[2].tone.SetLoud(true)
	time.Sleep(6 * time.Second)
	for _, p := range parts {
		if err := p.call.Hangup(ctx); err != nil {
			t.Fatal(err)
		}
		if rr := p.call.Reason(); rr == nil || rr.Condition != jingle.ReasonSuccess {
			t.Errorf("%s ended with %v", p.colour, rr)
		}
	}
	expect := map[string][2]string{"red": {"green", "blue"}, "green": {"red", "blue"}, "blue": {"red", "green"}}
	for _, p := range parts {
		cs, err := mediatest.FrameColours(ctx, p.ivf)
		if err != nil {
			t.Fatalf("%s's recording: %v", p.colour, err)
		}
		pts, err := mediatest.IVFTimes(p.ivf)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) == 0 || len(pts) != len(cs) {
			t.Fatalf("%s: %d frames decoded, %d in the file", p.colour, len(cs), len(pts))
		}
		for i := 1; i < len(pts); i++ {
			// One continuous stream across switches: presentation times
			// only move forward, never by more than a stall would.
			if d := pts[i] - pts[i-1]; d <= 0 || d > 3*time.Second {
				t.Errorf("%s: frame %d: pts step %v", p.colour, i, d)
				break
			}
		}
		before, after := expect[p.colour][0], expect[p.colour][1]
		seen := map[string]int{}
		var firstAfter time.Time
		for i, c := range cs {
			at := p.sink.first.Add(pts[i])
			name := c.Name()
			switch {
			case at.After(switchAt.Add(-4*time.Second)) && at.Before(switchAt):
				seen["before:"+name]++
			case at.After(switchAt.Add(2*time.Second)) && at.Before(switchAt.Add(6*time.Second)):
				seen["after:"+name]++
			}
			if name == after && at.After(switchAt) && firstAfter.IsZero() {
				firstAfter = at
			}
		}
		t.Logf("%s was shown %v; %s from %v after the switch", p.colour, seen, after, firstAfter.Sub(switchAt).Round(10*time.Millisecond))
		// A machine starved of CPU (this test runs beside the whole suite,
		// under -race) may stall a sender's video for a moment, which
		// rightly moves the picture; the windows ask for the expected
		// colour in 80% of the frames.
		for _, w := range []struct{ when, want string }{{"before", before}, {"after", after}} {
			total := 0
			for k, n := range seen {
				if strings.HasPrefix(k, w.when+":") {
					total += n
				}
			}
			if got := seen[w.when+":"+w.want]; got < 20 || got*5 < total*4 {
				t.Errorf("%s: %s the switch, %s in %d of %d frames: %v", p.colour, w.when, w.want, got, total, seen)
			}
		}
		// Red and green are shown the new loud speaker within 2 s (the
		// acceptance); blue sees red fade, which takes the level's
		// release on top: 4 s.
		limit := 2 * time.Second
		if p.colour == "blue" {
			limit = 4 * time.Second
		}
		if firstAfter.IsZero() || firstAfter.Sub(switchAt) > limit {
			t.Errorf("%s: shown %s %v after the loud tone moved, want within %v", p.colour, after, firstAfter.Sub(switchAt), limit)
		}
	}
}
