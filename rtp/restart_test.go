package rtp

import (
	"bytes"
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// restartPair is a bundled call from alice (sending a tone) to bob
// (echoing) over a link with a filter, up and carrying audio, for the
// restart tests; its end checks that no goroutine leaked.
type restartPair struct {
	ctx           context.Context
	call, bobCall *Call
	ae, be        *events
	video         string // a VP8 file to add
}

func newRestartPair(t *testing.T, filter func(from, to string, iq *jingle.IQ) *jingle.IQ) *restartPair {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	tone := sine(t, 440, 20*time.Second)
	r := &restartPair{video: vp8(t, 150)}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	r.ctx = ctx
	l := newLink()
	l.filter = filter
	r.call, r.bobCall = echoCall(ctx, t, l, CallOptions{MediaOptions: MediaOptions{Audio: tone}, Peer: loopback(t)})
	r.ae, r.be = &events{ch: r.call.Events()}, &events{ch: r.bobCall.Events()}
	r.ae.wait(t, EventMedia, "audio")
	return r
}

// bobVideo opens the pair's video as bob's source for content name.
func (r *restartPair) bobVideo(t *testing.T, name string) Source {
	t.Helper()
	src, err := OpenFile(r.video, name, 0)
	if err != nil {
		t.Fatal(err)
	}
	return src
}

// hangup ends the call from alice and checks both ends ended with success.
func (r *restartPair) hangup(t *testing.T) {
	t.Helper()
	hangupBoth(t, r.ctx, r.call, r.bobCall)
}

// TestRestartCrossesContentAdd: the peer's ICE restart offer crosses our
// content-add (the conference focus adding a participant's video while
// that participant, overloaded, restarts ICE). The link holds each until
// the other is sent, so each side receives the other's offer while its
// own is pending: the responder (bob) gets alice's restart while its
// content-add awaits content-accept, alice gets the content-add while her
// restart awaits its answer. The call goes on, both complete the restart,
// the content-add completes and its video reaches alice.
func TestRestartCrossesContentAdd(t *testing.T) {
	x := newCrossing()
	r := newRestartPair(t, func(from, _ string, iq *jingle.IQ) *jingle.IQ {
		switch {
		case from == alice && restartOffer(iq):
			x.hold(0)
		case from == bob && isAction(iq, jingle.ActionContentAdd):
			x.hold(1)
		}
		return iq
	})
	src := r.bobVideo(t, "bob-video")
	errs := make(chan error, 2)
	go func() { errs <- r.call.RestartICE(r.ctx) }()
	go func() { errs <- r.bobCall.AddContent(r.ctx, "bob-video", webrtc.RTPCodecTypeVideo, src) }()
	for range 2 {
		if err := <-errs; err != nil {
			t.Fatalf("crossing restart and content-add: %v", err)
		}
	}
	r.ae.wait(t, EventRestart, "")
	r.be.wait(t, EventRestart, "")
	r.be.wait(t, EventContentAdd, "bob-video")
	r.ae.wait(t, EventContentAdd, "bob-video")
	r.ae.wait(t, EventMedia, "bob-video")
	mediaFlows(t, r.call, "the restart crossing the content-add")
	// Both sides can negotiate again: one more restart, from bob.
	if err := r.bobCall.RestartICE(r.ctx); err != nil {
		t.Fatalf("restart after the crossing: %v", err)
	}
	r.ae.wait(t, EventRestart, "")
	r.be.wait(t, EventRestart, "")
	mediaFlows(t, r.call, "the next restart")
	r.hangup(t)
}

// TestRestartAfterContentReject: the peer rejects our content-add (the
// link renames its codec on the way, so the peer finds none in common),
// and then restarts ICE. pion cannot roll a rejected offer back, so the
// call must settle it otherwise: the restart completes, media flows, and
// a later content-add goes through.
func TestRestartAfterContentReject(t *testing.T) {
	r := newRestartPair(t, func(from, _ string, iq *jingle.IQ) *jingle.IQ {
		if from == bob && isAction(iq, jingle.ActionContentAdd) && bytes.Contains(iq.Payload, []byte(`"rejected-video"`)) {
			iq.Payload = bytes.ReplaceAll(iq.Payload, []byte(`name="VP8"`), []byte(`name="X-NONE"`))
		}
		return iq
	})
	if err := r.bobCall.AddContent(r.ctx, "rejected-video", webrtc.RTPCodecTypeVideo, r.bobVideo(t, "rejected-video")); err != nil {
		t.Fatal(err)
	}
	if ev := r.be.wait(t, EventContentRemove, "rejected-video"); ev.Text != "rejected" {
		t.Fatalf("content-remove %q, want rejected", ev.Text)
	}
	if err := r.call.RestartICE(r.ctx); err != nil {
		t.Fatal(err)
	}
	r.ae.wait(t, EventRestart, "")
	r.be.wait(t, EventRestart, "")
	mediaFlows(t, r.call, "the restart after the content-reject")
	if err := r.bobCall.AddContent(r.ctx, "bob-video", webrtc.RTPCodecTypeVideo, r.bobVideo(t, "bob-video")); err != nil {
		t.Fatal(err)
	}
	r.ae.wait(t, EventMedia, "bob-video")
	r.hangup(t)
}

// isAction reports whether iq carries the Jingle action a.
func isAction(iq *jingle.IQ, a jingle.Action) bool {
	j, err := jingle.Parse(iq.Payload)
	return err == nil && j.Action == a
}

// lostOffer is bob's side of the link while bob's stream is down: from
// bob's first ICE restart offer until up, every transport-info bob sends
// fails undelivered, as with a stream that dropped or a server that timed
// out. It records the lost offer's ufrag.
type lostOffer struct {
	*endpoint
	mu    sync.Mutex
	ufrag string // of the lost offer; "" until then
	down  bool
}

func (b *lostOffer) SendIQ(ctx context.Context, iq *jingle.IQ) (*jingle.IQ, error) {
	b.mu.Lock()
	if restartOffer(iq) && b.ufrag == "" {
		b.ufrag, b.down = ufragOf(iq), true
	}
	down := b.down && isAction(iq, jingle.ActionTransportInfo)
	b.mu.Unlock()
	if down {
		return nil, errLinkDown
	}
	return b.endpoint.SendIQ(ctx, iq)
}

func (b *lostOffer) up() {
	b.mu.Lock()
	b.down = false
	b.mu.Unlock()
}

var errLinkDown = errors.New("test link: stream down")

// ufragOf is the ICE ufrag of a transport-info's first transport.
func ufragOf(iq *jingle.IQ) string {
	j, err := jingle.Parse(iq.Payload)
	if err != nil {
		return ""
	}
	for i := range j.Contents {
		if t, _, err := ice.Decode(j.Contents[i].Transport); err == nil && t.Ufrag != "" {
			return t.Ufrag
		}
	}
	return ""
}

// lostOfferPair is a call from alice (a tone) to bob (echoing) whose
// link loses bob's first ICE restart offer and bob's transport-infos for
// a second after it (lostOffer); restart sets the automatic restarts
// of both. It returns once audio flows and bob's RestartICE has failed
// with the link's error and the link is back; filter, when set, sees
// every stanza (the lost offer's ufrag is in lo once lost).
func lostOfferPair(t *testing.T, ctx context.Context, restart RestartPolicy, filter func(lo *lostOffer, from string, iq *jingle.IQ)) (call, bobCall *Call, ae *events) {
	t.Helper()
	tone := sine(t, 440, 40*time.Second)
	peerOpts := func() PeerOptions {
		o := loopback(t)
		o.Restart = restart
		return o
	}
	l := newLink()
	lo := &lostOffer{endpoint: &endpoint{l: l, jid: bob}}
	if filter != nil {
		l.filter = func(from, _ string, iq *jingle.IQ) *jingle.IQ {
			filter(lo, from, iq)
			return iq
		}
	}
	bobOpts := ApplicationOptions{Peer: peerOpts(), AutoAnswer: &MediaOptions{Echo: true}}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.managerVia(t, bob, lo, bobApp.Options()...)
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{MediaOptions: MediaOptions{Audio: tone}, Peer: peerOpts()})
	if err != nil {
		t.Fatal(err)
	}
	bobCall = <-in
	ae = &events{ch: call.Events()}
	ae.wait(t, EventMedia, "audio")
	if err := bobCall.RestartICE(ctx); !errors.Is(err, errLinkDown) {
		t.Fatalf("RestartICE over the failing link returned %v, want the link's error", err)
	}
	// The lost offer's candidates, gathered meanwhile, would fail too.
	time.Sleep(time.Second)
	lo.up()
	return call, bobCall, ae
}

// hangupBoth ends call from its side and checks both ends ended with
// success.
func hangupBoth(t *testing.T, ctx context.Context, call, bobCall *Call) {
	t.Helper()
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	for _, c := range []*Call{call, bobCall} {
		if reason := waitEnd(t, c, 10*time.Second); reason.Condition != jingle.ReasonSuccess {
			t.Fatalf("call ended with %s", reason)
		}
	}
}

// TestRestartOfferLost: bob's ICE restart offer never reaches alice (its
// send fails, and so would its candidates', bob's stream being down for
// a second). The call must not stay stuck on it once the stream is back:
// alice's content-add sent next is answered, nothing with the lost
// offer's credentials reaches alice (she would take a transport-info
// with them for an offer; bob's content-accept carries the credentials
// she knows), bob's next restart goes through, and media (the added
// video too) flows again. Automatic restarts are off, so the only
// restarts are the test's.
func TestRestartOfferLost(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	var (
		mu     sync.Mutex
		leaked []string
	)
	call, bobCall, ae := lostOfferPair(t, ctx, RestartPolicy{Disabled: true}, func(lo *lostOffer, from string, iq *jingle.IQ) {
		lo.mu.Lock()
		lost := lo.ufrag
		lo.mu.Unlock()
		if from == bob && lost != "" && ufragOf(iq) == lost {
			mu.Lock()
			leaked = append(leaked, string(iq.Payload))
			mu.Unlock()
		}
	})
	be := &events{ch: bobCall.Events()}
	src, err := OpenFile(vp8(t, 300), "alice-video", 0)
	if err != nil {
		t.Fatal(err)
	}
	if err := call.AddContent(ctx, "alice-video", webrtc.RTPCodecTypeVideo, src); err != nil {
		t.Fatalf("content-add after the lost restart offer: %v", err)
	}
	be.wait(t, EventContentAdd, "alice-video")
	ae.wait(t, EventContentAdd, "alice-video")

	if err := bobCall.RestartICE(ctx); err != nil {
		t.Fatalf("the restart after the lost one: %v", err)
	}
	ae.wait(t, EventRestart, "")
	be.wait(t, EventRestart, "")
	mediaFlows(t, call, "the restart after the lost one")
	be.wait(t, EventMedia, "alice-video")
	mu.Lock()
	if len(leaked) > 0 {
		t.Errorf("%d stanzas with the lost offer's credentials reached alice; first: %s", len(leaked), leaked[0])
	}
	mu.Unlock()
	hangupBoth(t, ctx, call, bobCall)
}

// TestRestartOfferLostRecovers is TestRestartOfferLost with automatic
// restarts on, as calls run by default: bob's lost offer left his ICE
// agent on credentials alice never got, so the path breaks, and the
// automatic restarts must bring it back (alice, the initiator, restarts
// first) without help: media flows again and the call ends with success.
func TestRestartOfferLostRecovers(t *testing.T) {
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	call, bobCall, ae := lostOfferPair(t, ctx, RestartPolicy{}, nil)
	ae.wait(t, EventRestart, "")
	mediaFlows(t, call, "the automatic restart after the lost offer")
	hangupBoth(t, ctx, call, bobCall)
}
