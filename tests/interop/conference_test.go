package interop

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/internal/prosodytest"
)

// confSecret is the component secret of the suite's Prosody (TestMain)
// for the conference component at call.localhost.
const (
	confSubdomain = "call"
	confSecret    = "conference-test-secret"
	confDomain    = confSubdomain + "." + prosodytest.Domain
)

// componentConfig is jingled's [conference] table for the suite's Prosody.
func componentConfig(srv *prosodytest.Server, extra string) string {
	return fmt.Sprintf(`
[ice]
loopback_only = true
discover = false
[conference]
enabled = true
domain = %q
secret = %q
server = %q
%s
`, confDomain, confSecret, srv.ComponentAddr, extra)
}

// recording is what one participant received, decoded to PCM at
// mediatest.AnalysisRate, with the wall-clock time of its first sample.
type recording struct {
	who   string
	own   float64
	start time.Time
	pcm   []float64
}

func loadRecording(t *testing.T, who string, own float64, path string, start time.Time) *recording {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := mediatest.PCM(ctx, path)
	if err != nil {
		t.Fatalf("%s: decoding %s: %v", who, path, err)
	}
	if len(s) < mediatest.AnalysisRate {
		t.Fatalf("%s: %s holds %d samples, less than a second", who, path, len(s))
	}
	return &recording{who: who, own: own, start: start, pcm: s}
}

// between returns the samples from a to b (wall clock), clipped.
func (r *recording) between(a, b time.Time) []float64 {
	i := int(a.Sub(r.start).Seconds() * mediatest.AnalysisRate)
	j := int(b.Sub(r.start).Seconds() * mediatest.AnalysisRate)
	i = max(0, min(i, len(r.pcm)))
	j = max(i, min(j, len(r.pcm)))
	return r.pcm[i:j]
}

// checkMix asserts that s holds every tone of others at a clearly audible
// level and the participant's own tone at least 20 dB below the weakest
// of them (the acceptance), or lost in the noise around it: a
// room with a participant that sends garbage (which decodes to noise)
// has a noise floor near 20 dB below the tones, and one frequency bin of
// noise lies 6 dB above its mean one time in 55; a tone that leaked
// stands well above its neighbours instead.
func checkMix(t *testing.T, who string, s []float64, own float64, others []float64) {
	t.Helper()
	if len(s) < mediatest.AnalysisRate/2 {
		t.Errorf("%s: only %d samples to check", who, len(s))
		return
	}
	self := mediatest.ToneLevel(s, mediatest.AnalysisRate, own)
	noise := noiseFloor(s, own)
	weakest := math.Inf(1)
	var levels []string
	for _, f := range others {
		l := mediatest.ToneLevel(s, mediatest.AnalysisRate, f)
		levels = append(levels, fmt.Sprintf("%g Hz %.1f dB", f, l))
		weakest = min(weakest, l)
	}
	t.Logf("%s hears %s; its own %g Hz at %.1f dB, the noise around it at %.1f dB", who, strings.Join(levels, ", "), own, self, noise)
	if weakest < -45 {
		t.Errorf("%s: a tone of another participant is missing (%s)", who, strings.Join(levels, ", "))
	}
	if self > weakest-20 && self > noise+10 {
		t.Errorf("%s: its own %g Hz at %.1f dB is not 20 dB below the others (%s) and stands %.1f dB above the noise around it", who, own, self, strings.Join(levels, ", "), self-noise)
	}
}

// noiseFloor is the mean power, in dB like ToneLevel, of the ten bins 3
// to 11 Hz on either side of freq: far enough (an 8 s window's bins are
// an eighth of a hertz wide) to hold none of a tone at freq.
func noiseFloor(s []float64, freq float64) float64 {
	var sum float64
	n := 0
	for _, d := range []float64{3, 5, 7, 9, 11} {
		for _, f := range []float64{freq - d, freq + d} {
			l := mediatest.ToneLevel(s, mediatest.AnalysisRate, f)
			sum += math.Pow(10, l/10)
			n++
		}
	}
	return 10 * math.Log10(sum/float64(n))
}

// firstAudible returns the wall-clock time of the first 100 ms window of r
// at or after from where freq is audible (>= -45 dB), or zero.
func (r *recording) firstAudible(freq float64, from time.Time) time.Time {
	win := mediatest.AnalysisRate / 10
	on := mediatest.ToneOnsets(r.pcm, mediatest.AnalysisRate, freq, win, -45)
	for i, ok := range on {
		at := r.start.Add(time.Duration(i) * 100 * time.Millisecond)
		if ok && !at.Before(from.Add(-100*time.Millisecond)) {
			return at
		}
	}
	return time.Time{}
}

// lastAudible returns the end of the last 100 ms window where freq is
// audible, or zero.
func (r *recording) lastAudible(freq float64) time.Time {
	win := mediatest.AnalysisRate / 10
	on := mediatest.ToneOnsets(r.pcm, mediatest.AnalysisRate, freq, win, -45)
	for i := len(on) - 1; i >= 0; i-- {
		if on[i] {
			return r.start.Add(time.Duration(i+1) * 100 * time.Millisecond)
		}
	}
	return time.Time{}
}

// TestConferenceThreeStacks is the conference acceptance through the
// suite's Prosody with the component: two `jingle call` participants
// (ringing the bare room JID through JMI) and one StanzaJS (libwebrtc,
// direct session-initiate to the room's full JID) send 440, 660 and
// 880 Hz; each recording holds the two other tones and its own 20 dB
// below. A fourth CLI participant (1100 Hz) joins late and is heard
// within 1 s, then leaves and is gone within 1 s; the join and leave
// notices reach StanzaJS as chat messages.
func TestConferenceThreeStacks(t *testing.T) {
	srv := sharedServer(t)
	// Four tones play at once while the latecomer is in: mix all four
	// (the default mixes the three loudest, as a real room of four rarely
	// has four people talking at once).
	d := startJingled(t, componentConfig(srv, "max_speakers = 4\n"))
	room := "team@" + confDomain
	dir := t.TempDir()
	a, b, c, late := srv.NewAccount(t, "conf-a"), srv.NewAccount(t, "conf-b"), srv.NewAccount(t, "conf-c"), srv.NewAccount(t, "conf-d")

	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	const talk = 16 * time.Second
	toneA, toneB, toneD := sineFile(t, 440, talk+4*time.Second), sineFile(t, 660, talk+4*time.Second), sineFile(t, 1100, 10*time.Second)

	group := newCLIGroup(t, ctx, srv)
	call := group.start
	call("a", a, "call", room, "--audio", toneA, "--record", filepath.Join(dir, "a"), "--duration", talk.String())
	call("b", b, "call", room, "--audio", toneB, "--record", filepath.Join(dir, "b"), "--duration", talk.String())
	recC := filepath.Join(dir, "c.wav")
	sj := startPeer(t, srv, c, "call", room+"/focus", "--freq", "880", "--hangup-after", fmt.Sprint(int(talk.Seconds())), "--record", recC)
	sj.waitFor(30*time.Second, "ice-connected", nil)

	// The latecomer joins once the three are in, and leaves before them.
	time.Sleep(5 * time.Second)
	call("d", late, "call", room, "--audio", toneD, "--record", filepath.Join(dir, "d"), "--duration", "5s")
	runs := group.wait()
	if err := sj.wait(30 * time.Second); err != nil {
		t.Errorf("StanzaJS exited with %v", err)
	}
	for name, r := range runs {
		if r.code != 0 || r.summary()["reason"] != "success" {
			t.Fatalf("participant %s: %s", name, r)
		}
	}
	ra := loadRecording(t, "jingle call (a, 440 Hz)", 440, filepath.Join(dir, "a.ogg"), runs["a"].event("media"))
	rb := loadRecording(t, "jingle call (b, 660 Hz)", 660, filepath.Join(dir, "b.ogg"), runs["b"].event("media"))
	rc := loadRecording(t, "StanzaJS (c, 880 Hz)", 880, recC, recordStart(t, sj))
	rd := loadRecording(t, "jingle call (d, 1100 Hz, late)", 1100, filepath.Join(dir, "d.ogg"), runs["d"].event("media"))

	// All three in, the latecomer not yet: from 1 s after the last of
	// them connected to 1 s before the latecomer connected.
	dJoin, dEnd := runs["d"].event("ice-connected"), runs["d"].event("ended")
	if dJoin.IsZero() || dEnd.IsZero() {
		t.Fatalf("latecomer without ice-connected/ended events: %s", runs["d"])
	}
	from := maxTime(runs["a"].event("ice-connected"), runs["b"].event("ice-connected"), rc.start).Add(time.Second)
	to := dJoin.Add(-time.Second)
	all := []float64{440, 660, 880}
	for _, r := range []*recording{ra, rb, rc} {
		var others []float64
		for _, f := range all {
			if f != r.own {
				others = append(others, f)
			}
		}
		checkMix(t, r.who, r.between(from, to), r.own, others)
	}
	// The latecomer hears the three, not itself.
	checkMix(t, rd.who, rd.between(rd.start.Add(time.Second), dEnd.Add(-time.Second)), 1100, all)

	// Heard within 1 s of joining, gone within 1 s of leaving, by each of
	// the three.
	for _, r := range []*recording{ra, rb, rc} {
		on := r.firstAudible(1100, dJoin)
		switch {
		case on.IsZero():
			t.Errorf("%s never heard the latecomer", r.who)
		case on.Sub(dJoin) > time.Second:
			t.Errorf("%s heard the latecomer %v after it connected, want <= 1s", r.who, on.Sub(dJoin))
		default:
			t.Logf("%s heard the latecomer %v after it connected", r.who, on.Sub(dJoin).Round(10*time.Millisecond))
		}
		off := r.lastAudible(1100)
		if off.IsZero() {
			continue
		}
		if off.Sub(dEnd) > time.Second {
			t.Errorf("%s still heard the latecomer %v after it hung up, want <= 1s", r.who, off.Sub(dEnd))
		} else {
			t.Logf("%s stopped hearing the latecomer %v after it hung up", r.who, off.Sub(dEnd).Round(10*time.Millisecond))
		}
	}

	// The notices, as StanzaJS received them.
	var bodies []string
	for _, ev := range sj.all("xml") {
		if ev.Dir == "in" && strings.Contains(ev.XML, "<body>") {
			bodies = append(bodies, ev.XML)
		}
	}
	joined := late.JID + " joined, 4 in the call"
	left := late.JID + " left, 3 in the call"
	for _, want := range []string{joined, left} {
		found := false
		for _, b := range bodies {
			found = found || strings.Contains(b, want)
		}
		if !found {
			t.Errorf("StanzaJS did not receive %q; it got %d messages:\n%s", want, len(bodies), strings.Join(bodies, "\n"))
		}
	}

	// The room is reclaimed once empty, and the metrics saw the calls.
	deadline := time.Now().Add(30 * time.Second)
	var m string
	for time.Now().Before(deadline) {
		m = d.Scrape(t)
		if proctest.MetricValue(m, "jingled_conference_rooms") == 0 {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	if v := proctest.MetricValue(m, "jingled_conference_rooms"); v != 0 {
		t.Errorf("jingled_conference_rooms = %v after everybody left, want 0 (reclaimed)", v)
	}
	if v := proctest.MetricValue(m, "jingled_conference_participants_total", `event="joined"`); v != 4 {
		t.Errorf("jingled_conference_participants_total{event=joined} = %v, want 4", v)
	}
	if v := proctest.MetricValue(m, "jingled_conference_mixer_cpu_seconds_total"); v <= 0 {
		t.Errorf("jingled_conference_mixer_cpu_seconds_total = %v", v)
	}
	for _, acc := range []prosodytest.Account{a, b, c, late} {
		if strings.Contains(m, acc.JID) {
			t.Errorf("a participant's JID appears in the metrics")
		}
	}
}

func maxTime(ts ...time.Time) time.Time {
	var m time.Time
	for _, t := range ts {
		if t.After(m) {
			m = t
		}
	}
	return m
}

// recordStart is the wall clock of the first sample StanzaJS recorded.
func recordStart(t *testing.T, p *nodePeer) time.Time {
	t.Helper()
	ev := p.waitFor(5*time.Second, "record-start", nil)
	return time.UnixMilli(ev.Epoch)
}
