package rtp

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// restartOffer reports whether iq is an ICE restart offer: a
// transport-info with credentials and fingerprints but no candidates
// (sendCredentials). Trickled candidates carry no fingerprint, and a
// restart answer carries its candidates.
func restartOffer(iq *jingle.IQ) bool {
	j, err := jingle.Parse(iq.Payload)
	if err != nil || j.Action != jingle.ActionTransportInfo {
		return false
	}
	for i := range j.Contents {
		t, _, err := ice.Decode(j.Contents[i].Transport)
		if err == nil && t.Pwd != "" && len(t.Fingerprints) > 0 && len(t.Candidates) == 0 {
			return true
		}
	}
	return false
}

// TestRestartICEGlare: both sides restart ICE at once, their offers
// crossing (the link holds each side's first offer until the other's is
// sent, so the glare is certain). Each side takes the other's offer as
// the answer to its own (autorestart.go): each completes its restart, no
// further offer follows (no ping-pong), and media flows on. With BUNDLE
// and without (one transport per content, each restarting).
func TestRestartICEGlare(t *testing.T) {
	for _, noBundle := range []bool{false, true} {
		name := "bundle"
		if noBundle {
			name = "no-bundle"
		}
		t.Run(name, func(t *testing.T) {
			tone := sine(t, 440, 20*time.Second)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			l := newLink()
			var (
				mu     sync.Mutex
				offers = map[string]int{}
				x      = newCrossing()
			)
			l.filter = func(from, to string, iq *jingle.IQ) *jingle.IQ {
				if !restartOffer(iq) {
					return iq
				}
				mu.Lock()
				offers[from]++
				mu.Unlock()
				side := 0
				if from == bob {
					side = 1
				}
				x.hold(side)
				return iq
			}
			opts := CallOptions{MediaOptions: MediaOptions{Audio: tone}, Peer: loopback(t), NoBundle: noBundle}
			if noBundle {
				opts.ReceiveVideo = true // two contents, two transports
			}
			call, bobCall := echoCall(ctx, t, l, opts)
			ae, be := &events{ch: call.Events()}, &events{ch: bobCall.Events()}
			ae.wait(t, EventMedia, "audio")

			errs := make(chan error, 2)
			for _, c := range []*Call{call, bobCall} {
				go func() { errs <- c.RestartICE(ctx) }()
			}
			for range 2 {
				if err := <-errs; err != nil {
					t.Fatalf("RestartICE: %v", err)
				}
			}
			transports := 1
			if noBundle {
				transports = 2
			}
			for range transports {
				ae.wait(t, EventRestart, "")
				be.wait(t, EventRestart, "")
			}
			mediaFlows(t, call, "the crossed restarts")
			mu.Lock()
			got := map[string]int{alice: offers[alice], bob: offers[bob]}
			mu.Unlock()
			if got[alice] != transports || got[bob] != transports {
				t.Errorf("restart offers %v, want %d from each side and no more", got, transports)
			}
			if err := call.Hangup(ctx); err != nil {
				t.Fatal(err)
			}
		})
	}
}

// tieBreaker is bob's side of the link that answers bob's first restart
// offer the way a peer that breaks glare with <tie-break/> would: before
// answering, it lets the initiator's own restart offer reach bob (onOffer),
// then fails bob's with ErrTieBreak without delivering it.
type tieBreaker struct {
	*endpoint
	once    sync.Once
	onOffer func()
}

func (b *tieBreaker) SendIQ(ctx context.Context, iq *jingle.IQ) (*jingle.IQ, error) {
	refuse := false
	if restartOffer(iq) {
		b.once.Do(func() { refuse = true })
	}
	if !refuse {
		return b.endpoint.SendIQ(ctx, iq)
	}
	b.onOffer()
	return nil, jingle.ErrTieBreak
}

// TestRestartICETieBreak: the responder's restart offer is refused with
// <tie-break/> while the initiator's crosses it: the responder
// (RestartICE reports the tie-break) answers the initiator's offer, both
// complete the restart and media flows on.
func TestRestartICETieBreak(t *testing.T) {
	tone := sine(t, 440, 20*time.Second)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	l := newLink()
	bobOpts := ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Echo: true}}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	tb := &tieBreaker{endpoint: &endpoint{l: l, jid: bob}}
	l.managerVia(t, bob, tb, bobApp.Options()...)
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{MediaOptions: MediaOptions{Audio: tone}, Peer: loopback(t)})
	if err != nil {
		t.Fatal(err)
	}
	bobCall := <-in
	ae, be := &events{ch: call.Events()}, &events{ch: bobCall.Events()}
	ae.wait(t, EventMedia, "audio")
	aliceErr := make(chan error, 1)
	tb.onOffer = func() { aliceErr <- call.RestartICE(ctx) } // its offer reaches bob before bob's is refused
	err = bobCall.RestartICE(ctx)
	if !errors.Is(err, jingle.ErrTieBreak) {
		t.Fatalf("the responder's RestartICE returned %v, want the tie-break", err)
	}
	if err := <-aliceErr; err != nil {
		t.Fatalf("the initiator's RestartICE: %v", err)
	}
	ae.wait(t, EventRestart, "")
	be.wait(t, EventRestart, "")
	mediaFlows(t, call, "the tie-break")
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
}

// mediaFlows waits up to 10 s for a second of packets (50) to arrive on
// call after what happened.
func mediaFlows(t *testing.T, call *Call, after string) {
	t.Helper()
	before := call.Stats().PacketsReceived
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(100 * time.Millisecond) {
		if call.Stats().PacketsReceived > before+50 {
			return
		}
	}
	t.Fatalf("media did not flow after %s: %d packets then, %d now", after, before, call.Stats().PacketsReceived)
}
