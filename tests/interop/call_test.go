package interop

import (
	"context"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

// Tones: StanzaJS sends toneStanza (the 440 Hz check on our side), we
// send toneGo, which StanzaJS measures in what it receives.
const (
	toneStanza = 440
	toneGo     = 880
	// callLength is about how long media flows; our sine file is longer
	// so we never run out before the hang-up.
	callLength = 3 * time.Second
	// heardEnough is how much audible audio (ms) each side must have
	// received before the call is hung up: media slows down on a loaded
	// machine, so hang-ups wait for it instead of a fixed time.
	heardEnough = 1500
	// packetsEnough is heardEnough in 20 ms Opus packets.
	packetsEnough = heardEnough / 20
)

// heard reports whether a stats event shows heardEnough of audible audio.
func heard(ev event) bool {
	return ev.Tone != nil && ev.Tone.SignalMs >= heardEnough
}

// checkGoCall checks our end of a call with StanzaJS: it ended with
// <success/>, RTP went both ways on loopback, and the recording holds
// StanzaJS's tone.
func checkGoCall(t *testing.T, call *rtp.Call, record string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callWithin)
	defer cancel()
	r, err := call.Wait(ctx)
	if err != nil {
		t.Fatalf("our call did not end: %v", err)
	}
	if r == nil || r.Condition != jingle.ReasonSuccess {
		t.Errorf("our call ended with %v, want success", r)
	}
	st := call.Stats()
	t.Logf("our side: %s", st)
	if st.PacketsReceived == 0 {
		t.Error("we received no RTP packets from StanzaJS")
	}
	if st.PacketsSent == 0 {
		t.Error("we sent no RTP packets")
	}
	for _, a := range []string{st.Pair.Local, st.Pair.Remote} {
		if a != "" && !strings.HasPrefix(a, "127.") && !strings.HasPrefix(a, "[::1]") && !strings.HasPrefix(a, "::1") {
			t.Errorf("our selected pair %s <-> %s is not on loopback", st.Pair.Local, st.Pair.Remote)
		}
	}
	actx, acancel := context.WithTimeout(context.Background(), time.Minute)
	defer acancel()
	a, err := mediatest.AnalyzeAudio(actx, record)
	if err != nil {
		t.Fatalf("analysing what we recorded: %v", err)
	}
	t.Logf("we recorded %v of audio, %.1f Hz, rms %.3f", a.Duration, a.Frequency, a.RMS)
	if math.Abs(a.Frequency-toneStanza) > 5 {
		t.Errorf("we heard %.1f Hz from StanzaJS, want %d Hz", a.Frequency, toneStanza)
	}
	if a.Duration < 500*time.Millisecond {
		t.Errorf("we recorded only %v of StanzaJS's audio", a.Duration)
	}
}

// eventTypes drains the events of an ended call.
func eventTypes(c *rtp.Call) map[rtp.EventType]int {
	seen := map[rtp.EventType]int{}
	for {
		select {
		case e, ok := <-c.Events():
			if !ok {
				return seen
			}
			seen[e.Type]++
		default:
			return seen
		}
	}
}

// TestGoCallsStanzaJS: our caller, StanzaJS rings, answers, and we hang
// up after callLength. Audio both ways, checked on both sides.
func TestGoCallsStanzaJS(t *testing.T) {
	srv := sharedServer(t)
	dir := t.TempDir()
	tone := sineFile(t, toneGo, callLength+5*time.Second)

	st := startPeer(t, srv, srv.NewAccount(t, "stanza"), "answer", "--freq", "440", "--ring", "--answer-delay", "0.5", "--once")
	st.waitFor(readyWithin, "ready", nil)
	us := loginGo(t, srv, "go", jingle.WithTransport(rtp.ICEUDP{}))

	ctx, cancel := context.WithTimeout(context.Background(), callWithin)
	defer cancel()
	record := filepath.Join(dir, "go")
	call, err := rtp.Dial(ctx, us.mgr, st.jid, rtp.CallOptions{
		MediaOptions: rtp.MediaOptions{Audio: tone, Record: record},
		Peer:         rtp.PeerOptions{Loopback: true, Logger: testLogger()},
	})
	if err != nil {
		t.Fatalf("calling StanzaJS: %v", err)
	}
	st.waitFor(callWithin, "session-initiate", nil)
	// We hang up once both sides heard enough.
	st.waitFor(callWithin, "stats", heard)
	waitPackets(t, call, packetsEnough)
	if err := call.Hangup(ctx); err != nil {
		t.Fatalf("hanging up: %v", err)
	}
	checkGoCall(t, call, record+".ogg")
	seen := eventTypes(call)
	for _, want := range []rtp.EventType{rtp.EventRinging, rtp.EventAccepted, rtp.EventConnected, rtp.EventMedia, rtp.EventEnded} {
		if seen[want] == 0 {
			t.Errorf("our call had no %q event (saw %v)", want, seen)
		}
	}

	end := st.waitFor(callWithin, "ended", nil)
	if end.Reason != "success" {
		t.Errorf("StanzaJS saw the call end with %q, want success", end.Reason)
	}
	checkAudio(t, "StanzaJS", end.Stats, toneGo)
	checkLoopbackPair(t, "StanzaJS", end.Stats)
	if n := countAction(st.jingleXML("in"), "session-terminate"); n != 1 {
		t.Errorf("StanzaJS got %d session-terminate from us, want 1", n)
	}
	if n := countAction(st.jingleXML("out"), "session-terminate"); n != 0 {
		t.Errorf("StanzaJS sent %d session-terminate after ours, want 0", n)
	}
}

// countAction counts the Jingle IQs with action.
func countAction(iqs []string, action string) int {
	n := 0
	for _, x := range iqs {
		if strings.Contains(x, `action="`+action+`"`) || strings.Contains(x, `action='`+action+`'`) {
			n++
		}
	}
	return n
}

// waitPackets waits (bounded by callWithin) until our side of call has
// received n RTP packets.
func waitPackets(t *testing.T, call *rtp.Call, n uint64) {
	t.Helper()
	deadline := time.Now().Add(callWithin)
	for call.Stats().PacketsReceived < n {
		if time.Now().After(deadline) {
			t.Fatalf("we received only %d RTP packets", call.Stats().PacketsReceived)
		}
		select {
		case <-call.Done():
			t.Fatalf("call ended early after %d packets: %v", call.Stats().PacketsReceived, call.Reason())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestStanzaJSCallsGo: StanzaJS calls us, we auto-answer with our tone;
// StanzaJS hangs up after callLength.
func TestStanzaJSCallsGo(t *testing.T) {
	srv := sharedServer(t)
	dir := t.TempDir()
	tone := sineFile(t, toneGo, callLength+5*time.Second)
	record := filepath.Join(dir, "go")

	incoming := make(chan *rtp.Call, 1)
	app := rtp.NewApplication(rtp.ApplicationOptions{
		Peer:       rtp.PeerOptions{Loopback: true, Logger: testLogger()},
		AutoAnswer: &rtp.MediaOptions{Audio: tone, Record: record},
		OnIncoming: func(c *rtp.Call) {
			select {
			case incoming <- c:
			default:
			}
		},
	})
	us := loginGo(t, srv, "go", app.Options()...)

	st := startPeer(t, srv, srv.NewAccount(t, "stanza"), "call", us.client.JID(),
		"--freq", "440", "--hangup-after", "3", "--min-audio", "2000", "--once")
	var call *rtp.Call
	select {
	case call = <-incoming:
	case <-time.After(callWithin):
		t.Fatalf("no incoming call from StanzaJS\n%s", st.dump())
	}
	if call.Peer() != st.jid {
		t.Errorf("incoming call from %q, want %q", call.Peer(), st.jid)
	}
	st.waitFor(callWithin, "accepted", nil)
	checkGoCall(t, call, record+".ogg")

	end := st.waitFor(callWithin, "ended", nil)
	if end.Reason != "success" {
		t.Errorf("StanzaJS ended the call with %q, want success", end.Reason)
	}
	checkAudio(t, "StanzaJS", end.Stats, toneGo)
	checkLoopbackPair(t, "StanzaJS", end.Stats)
	if len(st.all("ringing")) == 0 {
		t.Error("StanzaJS was not told <ringing/> by our auto-answer")
	}
}

// TestStanzaJSDeclinesGo: StanzaJS refuses our call with <decline/>; our
// call ends with that reason and nothing else is sent.
func TestStanzaJSDeclinesGo(t *testing.T) {
	srv := sharedServer(t)
	st := startPeer(t, srv, srv.NewAccount(t, "stanza"), "answer", "--decline", "--once")
	st.waitFor(readyWithin, "ready", nil)
	us := loginGo(t, srv, "go", jingle.WithTransport(rtp.ICEUDP{}))

	ctx, cancel := context.WithTimeout(context.Background(), callWithin)
	defer cancel()
	tone := sineFile(t, toneGo, time.Second)
	call, err := rtp.Dial(ctx, us.mgr, st.jid, rtp.CallOptions{
		MediaOptions: rtp.MediaOptions{Audio: tone},
		Peer:         rtp.PeerOptions{Loopback: true, Logger: testLogger()},
	})
	if err != nil {
		t.Fatalf("calling StanzaJS: %v", err)
	}
	r, err := call.Wait(ctx)
	if err != nil {
		t.Fatalf("our call did not end: %v", err)
	}
	if r == nil || r.Condition != jingle.ReasonDecline {
		t.Errorf("our call ended with %v, want decline", r)
	}
	if err := st.wait(callWithin); err != nil {
		t.Errorf("StanzaJS exited: %v", err)
	}
	if out := st.jingleXML("out"); len(out) != 1 || !strings.Contains(out[0], "<decline/>") {
		t.Errorf("StanzaJS sent %d Jingle IQs, want exactly its session-terminate with <decline/>: %q", len(out), out)
	}
}
