package jingle_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

// TestInitiateTimeout: an unanswered session-initiate ends with
// <timeout/>, on both sides.
func TestInitiateTimeout(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	// The test application never accepts, so the timeout is what ends the
	// session; a second is long enough for the session-initiate to leave
	// even on a loaded machine, so the timeout always has a sent stanza to
	// expire (an error here is a failure, not a reason to skip).
	mr := w.manager(romeo, nil, jingle.WithInitiateTimeout(time.Second))
	app := jingletest.NewTestApp(false)
	mj := w.manager(juliet, app)
	h := jingletest.NewHandler()
	s, err := mr.Initiate(ctx, juliet, "", jingletest.Contents("a"), nil, h)
	if err != nil {
		t.Fatalf("initiate: %v, reason %v", err, h.Reason())
	}
	js := incoming(t, ctx, app)
	waitDone(t, ctx, s.Done(), "initiator timeout")
	if r := s.Reason(); r.Condition != jingle.ReasonTimeout || h.Reason().Condition != jingle.ReasonTimeout {
		t.Fatalf("reason %v / %v", r, h.Reason())
	}
	waitDone(t, ctx, js.Done(), "responder end")
	if r := js.Reason(); r.Condition != jingle.ReasonTimeout {
		t.Fatalf("responder reason %v", r)
	}
	if len(mr.Sessions())+len(mj.Sessions()) != 0 {
		t.Fatal("sessions left")
	}
	// Accepting after the end is refused locally.
	if err := js.Accept(ctx, jingletest.Contents("a"), nil); !errors.Is(err, jingle.ErrSessionEnded) {
		t.Fatalf("accept after end: %v", err)
	}
}

// TestResponderTimeout: an incoming session the application never
// answers ends with <timeout/> and frees its pending slot.
func TestResponderTimeout(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mr := w.manager(romeo, nil)
	app := jingletest.NewTestApp(false)
	w.manager(juliet, app, jingle.WithResponderTimeout(20*time.Millisecond), jingle.WithPendingLimits(1, 1))
	for range 2 {
		h := jingletest.NewHandler()
		s, err := mr.Initiate(ctx, juliet, "", jingletest.Contents("a"), nil, h)
		if err != nil {
			t.Fatal(err)
		}
		waitDone(t, ctx, s.Done(), "responder timeout")
		if r := s.Reason(); r.Condition != jingle.ReasonTimeout {
			t.Fatalf("reason %v", r)
		}
	}
}

// TestInitiateNoReply: a session-initiate that gets no reply at all
// fails after the IQ timeout and leaves nothing behind.
func TestInitiateNoReply(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mr := w.manager(romeo, nil, jingle.WithIQTimeout(20*time.Millisecond))
	w.manager(juliet, jingletest.NewTestApp(false))
	w.r.SetFilter(func(_, _ string, st any) jingletest.Verdict {
		iq, ok := st.(*jingle.IQ)
		return jingletest.Verdict{Drop: ok && strings.Contains(string(iq.Payload), "session-initiate")}
	})
	h := jingletest.NewHandler()
	_, err := mr.Initiate(ctx, juliet, "", jingletest.Contents("a"), nil, h)
	if err == nil {
		t.Fatal("initiate without reply succeeded")
	}
	waitDone(t, ctx, h.Done(), "terminated")
	if r := h.Reason(); r.Condition != jingle.ReasonTimeout {
		t.Fatalf("reason %v", r)
	}
	if len(mr.Sessions()) != 0 {
		t.Fatal("session left")
	}
}

// TestInitiateOffline: a session-initiate to a JID that is not online
// bounces (service-unavailable) and ends the session.
func TestInitiateOffline(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mr := w.manager(romeo, nil)
	h := jingletest.NewHandler()
	_, err := mr.Initiate(ctx, "nobody@capulet.example/x", "", jingletest.Contents("a"), nil, h)
	if !errors.Is(err, jingle.ErrServiceUnavailable) {
		t.Fatalf("%v", err)
	}
	waitDone(t, ctx, h.Done(), "terminated")
}
