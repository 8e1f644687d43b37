package jingle_test

import (
	"errors"
	"testing"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

// inLoop runs f in s's loop and waits for it.
func inLoop(t *testing.T, s *jingle.Session, f func()) {
	t.Helper()
	done := make(chan struct{})
	if !s.Do(func() { defer close(done); f() }) {
		t.Fatal("session ended")
	}
	<-done
}

// TestQueue: Queue, for code in the session's loop, applies our action at
// once and reports the peer's answer on its channel; it refuses to run
// outside the loop, and on an ended session.
func TestQueue(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	s, js, _, _ := activePair(t, w)

	info := func(el jingle.Element) *jingle.Jingle {
		return &jingle.Jingle{Action: jingle.ActionSessionInfo, Payloads: []jingle.Element{el}}
	}
	if _, err := s.Queue(info(jingletest.Description("off the loop"))); err == nil {
		t.Fatal("Queue outside the loop succeeded")
	}

	var acked, refused <-chan error
	inLoop(t, s, func() {
		var err error
		if acked, err = s.Queue(info(jingletest.Description("ping"))); err != nil {
			t.Error(err)
		}
		// The test handler answers unsupported-info to a payload it
		// does not know.
		if refused, err = s.Queue(info(jingletest.Transport("x"))); err != nil {
			t.Error(err)
		}
	})
	if acked == nil || refused == nil {
		t.FailNow()
	}
	if err := <-acked; err != nil {
		t.Fatalf("acknowledged session-info: %v", err)
	}
	if err := <-refused; !errors.Is(err, jingle.ErrUnsupportedInfo) {
		t.Fatalf("refused session-info: %v", err)
	}

	// A content-add applies at once: the same one queued again is a
	// local error, before anything reaches the peer.
	add := &jingle.Jingle{Action: jingle.ActionContentAdd, Contents: jingletest.Contents("v")}
	inLoop(t, s, func() {
		if _, err := s.Queue(add); err != nil {
			t.Error(err)
		}
		if _, err := s.Queue(add); err == nil {
			t.Error("second content-add of v queued")
		}
	})

	// session-terminate from the loop ends the session before Queue
	// returns; after that Queue reports ErrSessionEnded.
	var bye <-chan error
	inLoop(t, s, func() {
		var err error
		if bye, err = s.Queue(&jingle.Jingle{Action: jingle.ActionSessionTerminate}); err != nil {
			t.Error(err)
		}
		if s.State() != jingle.StateEnded {
			t.Error("session-terminate queued from the loop did not end the session")
		}
		if _, err := s.Queue(info(jingletest.Description("late"))); !errors.Is(err, jingle.ErrSessionEnded) {
			t.Errorf("Queue on an ended session: %v", err)
		}
	})
	if bye == nil {
		t.FailNow()
	}
	if err := <-bye; err != nil {
		t.Fatalf("session-terminate: %v", err)
	}
	waitDone(t, ctx, js.Done(), "peer's end")
}
