package interop

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
)

// videoTimeline is what one participant was shown: each frame's colour
// and wall-clock time.
type videoTimeline struct {
	who    string
	times  []time.Time
	colour []string
}

// loadTimeline decodes a CLI recording (IVF on the RTP clock) and places
// its frames in wall-clock time from the first video packet's arrival.
func loadTimeline(t *testing.T, who, path string, first time.Time) *videoTimeline {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cs, err := mediatest.FrameColours(ctx, path)
	if err != nil {
		t.Fatalf("%s: %v", who, err)
	}
	pts, err := mediatest.IVFTimes(path)
	if err != nil {
		t.Fatalf("%s: %v", who, err)
	}
	if len(cs) == 0 || len(cs) != len(pts) {
		t.Fatalf("%s: %d frames decoded, %d in the file", who, len(cs), len(pts))
	}
	tl := &videoTimeline{who: who}
	for i := range cs {
		tl.times = append(tl.times, first.Add(pts[i]))
		tl.colour = append(tl.colour, cs[i].Name())
	}
	return tl
}

// share is the fraction of frames between a and b that are colour.
func (v *videoTimeline) share(colour string, a, b time.Time) (float64, int) {
	n, hit := 0, 0
	for i, at := range v.times {
		if at.After(a) && at.Before(b) {
			n++
			if v.colour[i] == colour {
				hit++
			}
		}
	}
	if n == 0 {
		return 0, 0
	}
	return float64(hit) / float64(n), n
}

// firstAt is the first frame of colour at or after from.
func (v *videoTimeline) firstAt(colour string, from time.Time) time.Time {
	for i, at := range v.times {
		if !at.Before(from) && v.colour[i] == colour {
			return at
		}
	}
	return time.Time{}
}

func (v *videoTimeline) String() string {
	var b strings.Builder
	last := ""
	for i, c := range v.colour {
		if c != last {
			fmt.Fprintf(&b, " %s@%s", c, v.times[i].Format("15:04:05.000"))
			last = c
		}
	}
	return v.who + ":" + b.String()
}

// stanzaTimeline is the colours StanzaJS reported (one event per change)
// as a timeline, ending at end.
func stanzaTimeline(p *nodePeer, end time.Time) *videoTimeline {
	tl := &videoTimeline{who: "StanzaJS"}
	evs := p.all("video-colour")
	for i, ev := range evs {
		from := time.UnixMilli(ev.Epoch)
		to := end
		if i+1 < len(evs) {
			to = time.UnixMilli(evs[i+1].Epoch)
		}
		// One sample per 1/15 s, as the frames came.
		for at := from; at.Before(to); at = at.Add(time.Second / 15) {
			tl.times = append(tl.times, at)
			tl.colour = append(tl.colour, ev.Colour)
		}
	}
	return tl
}

// TestConferenceActiveSpeakerVideo is the group-video acceptance through
// Prosody: two `jingle call` participants send red and blue video, and
// StanzaJS (libwebrtc) green, each with a tone; red talks loudly first,
// then blue. Each is shown the loudest other; when the loud tone moves
// from red to blue, green's (StanzaJS) and red's pictures turn blue
// within 2 s; the CLI recordings decode without an error (no broken frame
// at a switch).
func TestConferenceActiveSpeakerVideo(t *testing.T) {
	srv := sharedServer(t)
	startJingled(t, componentConfig(srv, ""))
	room := "video@" + confDomain
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	type part struct {
		colour, volume string
		freq           float64
		run            *cliRun
	}
	// ffmpeg's sine is 1/8 of full scale; the quiet side is 30 dB down.
	parts := []*part{
		{colour: "red", freq: 440, volume: "if(lt(t,12),1,0.03)"},
		{colour: "blue", freq: 880, volume: "if(lt(t,12),0.03,1)"},
	}
	var wg sync.WaitGroup
	for _, p := range parts {
		acc := srv.NewAccount(t, "vid-"+p.colour)
		audio, video := filepath.Join(dir, p.colour+".ogg"), filepath.Join(dir, p.colour+".ivf")
		if err := mediatest.SineEnvelopeOpus(ctx, audio, p.freq, 28, p.volume); err != nil {
			t.Fatal(err)
		}
		if err := mediatest.ColourVP8(ctx, video, p.colour, 28, 15); err != nil {
			t.Fatal(err)
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			p.run = runCLI(t, ctx, srv, acc, "call", room, "--audio", audio, "--video", video, "--record", filepath.Join(dir, "seen-by-"+p.colour), "--duration", "24s")
		}()
	}
	// Green is StanzaJS at a fifth of the CLIs' loud level (14 dB down).
	sj := startPeer(t, srv, srv.NewAccount(t, "vid-green"), "call", room+"/focus", "--freq", "660", "--amplitude", "0.025", "--video", "green", "--hangup-after", "24")
	wg.Wait()
	if err := sj.wait(30 * time.Second); err != nil {
		t.Errorf("StanzaJS exited with %v", err)
	}
	end := time.Now()
	// t0 is when the last CLI's media started, tFirst the first's: on a
	// busy machine they can be seconds apart, and the windows below stay
	// long enough for up to 7 s (each call lasts 24 s, the loud phase 12).
	var t0, tFirst time.Time
	for _, p := range parts {
		if p.run.code != 0 || p.run.summary()["reason"] != "success" {
			t.Fatalf("%s: %s", p.colour, p.run)
		}
		c := p.run.event("ice-connected")
		if c.After(t0) {
			t0 = c
		}
		if tFirst.IsZero() || c.Before(tFirst) {
			tFirst = c
		}
	}
	// Each envelope turns 12 s after its sender's media started: red goes
	// quiet at redQuiet, blue loud at blueLoud; a receiver's picture
	// changes at the one of the two that concerns it.
	redQuiet := parts[0].run.event("ice-connected").Add(12 * time.Second)
	blueLoud := parts[1].run.event("ice-connected").Add(12 * time.Second)
	first, last := redQuiet, blueLoud
	if last.Before(first) {
		first, last = last, first
	}
	switchFor := map[string]time.Time{"red": blueLoud, "green": last}
	t.Logf("media started by %s; red quiet at %s, blue loud at %s", t0.Format("15:04:05.000"), redQuiet.Format("15:04:05.000"), blueLoud.Format("15:04:05.000"))
	timelines := map[string]*videoTimeline{"green": stanzaTimeline(sj, end)}
	for _, p := range parts {
		timelines[p.colour] = loadTimeline(t, p.colour, filepath.Join(dir, "seen-by-"+p.colour+".ivf"), p.run.eventFor("media", "video"))
	}
	want := map[string][2]string{"red": {"green", "blue"}, "green": {"red", "blue"}, "blue": {"red", "green"}}
	for _, colour := range []string{"red", "green", "blue"} {
		tl := timelines[colour]
		t.Log(tl)
		before, after := want[colour][0], want[colour][1]
		if share, n := tl.share(before, t0.Add(2*time.Second), first.Add(-500*time.Millisecond)); share < 0.8 || n < 30 {
			t.Errorf("%s was shown %s in %.0f%% of %d frames before the switch, want 80%%+", tl.who, before, 100*share, n)
		}
		if share, n := tl.share(after, last.Add(2*time.Second), tFirst.Add(23*time.Second)); share < 0.8 || n < 30 {
			t.Errorf("%s was shown %s in %.0f%% of %d frames after the switch, want 80%%+", tl.who, after, 100*share, n)
		}
		if colour == "blue" {
			continue // blue sees green take over, on the quieter side of the margin
		}
		switchAt := switchFor[colour]
		at := tl.firstAt(after, first.Add(-time.Second))
		if at.IsZero() || at.Sub(switchAt) > 2*time.Second {
			t.Errorf("%s was shown %s %v after the loud tone moved to it, want <= 2s", tl.who, after, at.Sub(switchAt))
		} else {
			t.Logf("%s shown %s %v after the loud tone moved", tl.who, after, at.Sub(switchAt).Round(10*time.Millisecond))
		}
	}
}

// TestConferenceEveryVideoToTheCLI: `jingle call --all-video` takes every
// other participant's video as a content of its own; each recording
// decodes to one participant's colour.
func TestConferenceEveryVideoToTheCLI(t *testing.T) {
	srv := sharedServer(t)
	startJingled(t, componentConfig(srv, ""))
	room := "everyone@" + confDomain
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	var wg sync.WaitGroup
	runs := map[string]*cliRun{}
	var mu sync.Mutex
	for i, colour := range []string{"red", "blue", "green"} {
		acc := srv.NewAccount(t, "all-"+colour)
		audio, video := filepath.Join(dir, colour+".ogg"), filepath.Join(dir, colour+".ivf")
		if err := mediatest.SineEnvelopeOpus(ctx, audio, float64(440+220*i), 16, "0.5"); err != nil {
			t.Fatal(err)
		}
		if err := mediatest.ColourVP8(ctx, video, colour, 16, 15); err != nil {
			t.Fatal(err)
		}
		args := []string{"call", room, "--audio", audio, "--video", video, "--duration", "10s"}
		if colour == "green" {
			args = append(args, "--all-video", "--record", filepath.Join(dir, "seen-by-green"))
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			r := runCLI(t, ctx, srv, acc, args...)
			mu.Lock()
			runs[colour] = r
			mu.Unlock()
		}()
	}
	wg.Wait()
	for c, r := range runs {
		if r.code != 0 || r.summary()["reason"] != "success" {
			t.Fatalf("%s: %s", c, r)
		}
	}
	files, _ := filepath.Glob(filepath.Join(dir, "seen-by-green*.ivf"))
	single := map[string]bool{}
	for _, f := range files {
		cs, err := mediatest.FrameColours(ctx, f)
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		seen := map[string]int{}
		for _, c := range cs {
			seen[c.Name()]++
		}
		t.Logf("%s: %v", filepath.Base(f), seen)
		for c, n := range seen {
			if len(seen) == 1 && n >= 30 {
				single[c] = true
			}
		}
	}
	if len(files) != 3 || !single["red"] || !single["blue"] {
		t.Errorf("green recorded %d video tracks, single-colour ones %v; want 3 tracks with red and blue each on its own", len(files), single)
	}
}
