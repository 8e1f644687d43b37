package rtp

import (
	"context"
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
				both   = make(chan struct{})
			)
			l.filter = func(from, to string, iq *jingle.IQ) *jingle.IQ {
				if !restartOffer(iq) {
					return iq
				}
				mu.Lock()
				offers[from]++
				if len(offers) == 2 && offers[alice]+offers[bob] == 2 {
					close(both)
				}
				mu.Unlock()
				select {
				case <-both:
				case <-time.After(5 * time.Second):
					// Not glare after all; the test fails on the
					// RestartICE that could not start below.
				}
				return iq
			}
			bobOpts := ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Echo: true}}
			in := incomingCalls(&bobOpts)
			bobApp := NewApplication(bobOpts)
			aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
			l.manager(t, bob, bobApp.Options()...)
			opts := CallOptions{MediaOptions: MediaOptions{Audio: tone}, Peer: loopback(t), NoBundle: noBundle}
			if noBundle {
				opts.ReceiveVideo = true // two contents, two transports
			}
			call, err := Dial(ctx, aliceMgr, bob, opts)
			if err != nil {
				t.Fatal(err)
			}
			bobCall := <-in
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
			before := call.Stats().PacketsReceived
			grew := false
			for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !grew; time.Sleep(100 * time.Millisecond) {
				grew = call.Stats().PacketsReceived > before+50
			}
			if !grew {
				t.Fatalf("media did not flow after the crossed restarts: %d packets then, %d now", before, call.Stats().PacketsReceived)
			}
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
