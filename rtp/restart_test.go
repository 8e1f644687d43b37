package rtp

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/jingled/jingled/jingle"
)

// TestRestartCrossesContentAdd: the peer's ICE restart offer crosses our
// content-add (the conference focus adding a participant's video while
// that participant, overloaded, restarts ICE). The link holds each until
// the other is sent, so each side receives the other's offer while its
// own is pending: the responder (bob) gets alice's restart while its
// content-add awaits content-accept, alice gets the content-add while her
// restart awaits its answer. The call goes on, both complete the restart,
// the content-add completes and its video reaches alice.
func TestRestartCrossesContentAdd(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	tone := sine(t, 440, 20*time.Second)
	video := vp8(t, 150)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := newLink()
	x := newCrossing()
	l.filter = func(from, _ string, iq *jingle.IQ) *jingle.IQ {
		switch {
		case from == alice && restartOffer(iq):
			x.hold(0)
		case from == bob && isAction(iq, jingle.ActionContentAdd):
			x.hold(1)
		}
		return iq
	}
	call, bobCall := echoCall(ctx, t, l, CallOptions{MediaOptions: MediaOptions{Audio: tone}, Peer: loopback(t)})
	ae, be := &events{ch: call.Events()}, &events{ch: bobCall.Events()}
	ae.wait(t, EventMedia, "audio")

	src, err := OpenFile(video, "bob-video", 0)
	if err != nil {
		t.Fatal(err)
	}
	errs := make(chan error, 2)
	go func() { errs <- call.RestartICE(ctx) }()
	go func() { errs <- bobCall.AddContent(ctx, "bob-video", webrtc.RTPCodecTypeVideo, src) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("crossing restart and content-add: %v", err)
		}
	}
	ae.wait(t, EventRestart, "")
	be.wait(t, EventRestart, "")
	be.wait(t, EventContentAdd, "bob-video")
	ae.wait(t, EventContentAdd, "bob-video")
	ae.wait(t, EventMedia, "bob-video")
	mediaFlows(t, call, "the restart crossing the content-add")
	// Both sides can negotiate again: one more restart, from bob.
	if err := bobCall.RestartICE(ctx); err != nil {
		t.Fatalf("restart after the crossing: %v", err)
	}
	ae.wait(t, EventRestart, "")
	be.wait(t, EventRestart, "")
	mediaFlows(t, call, "the next restart")
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Call{call, bobCall} {
		if r := waitEnd(t, c, 10*time.Second); r.Condition != jingle.ReasonSuccess {
			t.Fatalf("call ended with %s", r)
		}
	}
}

// isAction reports whether iq carries the Jingle action a.
func isAction(iq *jingle.IQ, a jingle.Action) bool {
	j, err := jingle.Parse(iq.Payload)
	return err == nil && j.Action == a
}
