package rtp

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/jingle"
)

// TestSendState: each reason not to send is lifted on its own.
func TestSendState(t *testing.T) {
	type step struct {
		what    EventType
		content string
		local   bool
	}
	for _, tc := range []struct {
		name  string
		steps []step
		audio bool // sending on "audio" at the end
		video bool
	}{
		{"nothing", nil, true, true},
		{"our hold", []step{{EventHold, "", true}}, false, false},
		{"our hold lifted", []step{{EventHold, "", true}, {EventUnhold, "", true}}, true, true},
		{"peer's hold", []step{{EventHold, "", false}}, false, false},
		{"peer's hold lifted by active", []step{{EventHold, "", false}, {EventActive, "", false}}, true, true},
		{"peer's unhold leaves ours", []step{{EventHold, "", true}, {EventHold, "", false}, {EventUnhold, "", false}}, false, false},
		{"our unhold leaves the peer's", []step{{EventHold, "", false}, {EventHold, "", true}, {EventUnhold, "", true}}, false, false},
		{"mute one content", []step{{EventMute, "audio", true}}, false, true},
		{"mute all", []step{{EventMute, "", true}}, false, false},
		{"unmute all", []step{{EventMute, "audio", true}, {EventMute, "", true}, {EventUnmute, "", true}}, true, true},
		{"unmute one of all", []step{{EventMute, "", true}, {EventUnmute, "audio", true}}, true, false},
		{"mute all again", []step{{EventMute, "", true}, {EventUnmute, "audio", true}, {EventMute, "", true}}, false, false},
		{"mute one again after all", []step{{EventMute, "", true}, {EventUnmute, "audio", true}, {EventMute, "audio", true}}, false, false},
		{"unmute all after one", []step{{EventMute, "video", true}, {EventUnmute, "", true}}, true, true},
		{"unmute while held", []step{{EventHold, "", false}, {EventMute, "", true}, {EventUnmute, "", true}}, false, false},
		{"the peer's mute is not ours", []step{{EventMute, "audio", false}}, true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var s sendState
			for _, st := range tc.steps {
				s.info(st.what, st.content, st.local)
			}
			if s.sending("audio") != tc.audio || s.sending("video") != tc.video {
				t.Errorf("sending audio %v video %v, want %v %v", s.sending("audio"), s.sending("video"), tc.audio, tc.video)
			}
		})
	}
	var s sendState
	s.setSender("video", jingle.SendersInitiator, jingle.CreatorResponder)
	if s.sending("video") || !s.sending("audio") {
		t.Error("content-modify senders=initiator: the responder still sends video, or stopped audio")
	}
	s.setSender("video", jingle.SendersBoth, jingle.CreatorResponder)
	if !s.sending("video") {
		t.Error("content-modify senders=both: the responder does not send video")
	}
}

// TestHoldBothWaysAndContentEvents: the caller's hold stops what both
// sides send (the callee too, as the peer is not listening) and unhold
// resumes both; video added mid-call and removed gives content-add and
// content-remove events on both sides.
func TestHoldBothWaysAndContentEvents(t *testing.T) {
	dir := t.TempDir()
	tone := sine(t, 440, 40*time.Second)
	video := filepath.Join(dir, "v.ivf")
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if err := mediatest.TestsrcVP8(ctx, video, 150, 15, 160, 120); err != nil {
		t.Fatal(err)
	}
	l := newLink()
	bobOpts := ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Audio: tone, Record: filepath.Join(dir, "bob")}}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{MediaOptions: MediaOptions{Audio: tone}, Peer: loopback(t)})
	if err != nil {
		t.Fatal(err)
	}
	bobCall := <-in
	ae := &events{ch: call.Events()}
	be := &events{ch: bobCall.Events()}
	ae.wait(t, EventMedia, "audio")
	be.wait(t, EventMedia, "audio")
	counts := func() [2]uint64 { return [2]uint64{call.Stats().PacketsReceived, bobCall.Stats().PacketsReceived} }

	if err := call.Info(ctx, EventHold, ""); err != nil {
		t.Fatal(err)
	}
	be.wait(t, EventHold, "")
	// Eventually nothing more arrives either way: two reads 500 ms apart
	// agree on both sides.
	held, stopped := settle(counts)
	if !stopped {
		t.Fatalf("media kept flowing on hold: received (alice, bob) %v", counts())
	}
	if err := call.Info(ctx, EventUnhold, ""); err != nil {
		t.Fatal(err)
	}
	be.wait(t, EventUnhold, "")
	if !eventually(func() bool { now := counts(); return now[0] > held[0] && now[1] > held[1] }) {
		t.Fatalf("media did not resume both ways after unhold: received (alice, bob) %v on hold, %v now", held, counts())
	}

	src, err := OpenFile(video, "video", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := call.AddContent(ctx, "video", webrtc.RTPCodecTypeVideo, src); err != nil {
		t.Fatal(err)
	}
	ae.wait(t, EventContentAdd, "video")
	be.wait(t, EventContentAdd, "video")
	be.wait(t, EventMedia, "video")
	videoIn := func() uint64 {
		for _, st := range bobCall.Stats().Streams {
			if st.Content == "video" {
				return st.PacketsReceived
			}
		}
		return 0
	}
	eventually(func() bool { return videoIn() >= 30 })
	if err := call.RemoveContent(ctx, "video"); err != nil {
		t.Fatal(err)
	}
	ae.wait(t, EventContentRemove, "video")
	be.wait(t, EventContentRemove, "video")
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if r := waitEnd(t, bobCall, 10*time.Second); r.Condition != jingle.ReasonSuccess {
		t.Fatalf("bob's call ended with %s", r)
	}
	if n, err := mediatest.DecodeVideo(ctx, filepath.Join(dir, "bob.ivf")); err != nil || n == 0 {
		t.Errorf("bob recorded %d decodable video frames (%v)", n, err)
	}
}

// settle reads read until two reads 500 ms apart agree (for 15 s at
// most) and returns the last read and whether they agreed.
func settle[T comparable](read func() T) (T, bool) {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); {
		a := read()
		time.Sleep(500 * time.Millisecond)
		if b := read(); b == a {
			return b, true
		}
	}
	return read(), false
}

// eventually polls ok every 100 ms until it holds (for 15 s at most).
func eventually(ok func() bool) bool {
	for deadline := time.Now().Add(15 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if ok() {
			return true
		}
	}
	return false
}
