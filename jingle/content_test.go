package jingle_test

import (
	"errors"
	"sort"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

func names(cs []jingle.Content) string {
	var out []string
	for _, c := range cs {
		out = append(out, c.Name)
	}
	sort.Strings(out)
	return strings.Join(out, ",")
}

func nextAction(t *testing.T, h *jingletest.Handler) jingle.Action {
	t.Helper()
	ctx := ctxT(t)
	select {
	case a := <-h.Seen():
		return a
	case <-ctx.Done():
		t.Fatal("no action")
	}
	return ""
}

// TestContentNegotiation: content-add, content-accept, content-reject,
// content-modify and content-remove applied as diffs on both sides.
func TestContentNegotiation(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	s, js, h, app := activePair(t, w)
	jh := app.Handler(js.SID())
	both := func(want string) {
		t.Helper()
		for _, x := range []*jingle.Session{s, js} {
			if got := names(x.Contents()); got != want {
				t.Fatalf("%s: contents %q, want %q", x.Local(), got, want)
			}
		}
	}
	both("a")

	// The initiator adds video; the responder accepts it.
	if err := s.Send(ctx, &jingle.Jingle{Action: jingle.ActionContentAdd, Contents: jingletest.Contents("video")}); err != nil {
		t.Fatal(err)
	}
	if a := nextAction(t, jh); a != jingle.ActionContentAdd {
		t.Fatalf("responder saw %s", a)
	}
	both("a") // proposed, not negotiated yet
	if err := js.Send(ctx, &jingle.Jingle{Action: jingle.ActionContentAccept, Contents: jingletest.Contents("video")}); err != nil {
		t.Fatal(err)
	}
	if a := nextAction(t, h); a != jingle.ActionContentAccept {
		t.Fatalf("initiator saw %s", a)
	}
	both("a,video")

	// The responder adds screen; the initiator rejects it.
	screen := jingletest.Contents("screen")
	screen[0].Creator = jingle.CreatorResponder
	if err := js.Send(ctx, &jingle.Jingle{Action: jingle.ActionContentAdd, Contents: screen}); err != nil {
		t.Fatal(err)
	}
	nextAction(t, h)
	if err := s.Send(ctx, &jingle.Jingle{Action: jingle.ActionContentReject, Contents: screen}); err != nil {
		t.Fatal(err)
	}
	nextAction(t, jh)
	both("a,video")
	// Rejecting again: nothing pending any more.
	if err := s.Send(ctx, &jingle.Jingle{Action: jingle.ActionContentReject, Contents: screen}); !errors.Is(err, jingle.ErrOutOfOrder) {
		t.Fatalf("second reject: %v", err)
	}
	// Adding a content that exists fails locally.
	if err := s.Send(ctx, &jingle.Jingle{Action: jingle.ActionContentAdd, Contents: jingletest.Contents("a")}); err == nil {
		t.Fatal("content-add of an existing content succeeded")
	}

	// content-modify changes senders.
	mod := []jingle.Content{{Creator: jingle.CreatorInitiator, Name: "video", Senders: jingle.SendersInitiator}}
	if err := s.Send(ctx, &jingle.Jingle{Action: jingle.ActionContentModify, Contents: mod}); err != nil {
		t.Fatal(err)
	}
	nextAction(t, jh)
	for _, x := range []*jingle.Session{s, js} {
		for _, c := range x.Contents() {
			if c.Name == "video" && (c.Senders != jingle.SendersInitiator || c.Description == nil) {
				t.Fatalf("%s: video after modify: %+v", x.Local(), c)
			}
		}
	}

	// transport-replace, then transport-reject keeps the old transport;
	// transport-replace, then transport-accept installs the new one.
	tr := func(token string) []jingle.Content {
		c := []jingle.Content{{Creator: jingle.CreatorInitiator, Name: "a"}}
		e := jingletest.Transport(token)
		c[0].Transport = &e
		return c
	}
	token := func(x *jingle.Session) string {
		for _, c := range x.Contents() {
			if c.Name == "a" {
				return c.Transport.Attribute("token")
			}
		}
		return ""
	}
	if err := s.Send(ctx, &jingle.Jingle{Action: jingle.ActionTransportReplace, Contents: tr("ibb")}); err != nil {
		t.Fatal(err)
	}
	nextAction(t, jh)
	if err := js.Send(ctx, &jingle.Jingle{Action: jingle.ActionTransportReject, Contents: []jingle.Content{{Creator: jingle.CreatorInitiator, Name: "a"}}}); err != nil {
		t.Fatal(err)
	}
	nextAction(t, h)
	if token(s) != "a" || token(js) != "a" {
		t.Fatalf("after transport-reject: %q %q", token(s), token(js))
	}
	if err := s.Send(ctx, &jingle.Jingle{Action: jingle.ActionTransportReplace, Contents: tr("s5b")}); err != nil {
		t.Fatal(err)
	}
	nextAction(t, jh)
	if err := js.Send(ctx, &jingle.Jingle{Action: jingle.ActionTransportAccept, Contents: tr("s5b")}); err != nil {
		t.Fatal(err)
	}
	nextAction(t, h)
	if token(s) != "s5b" || token(js) != "s5b" {
		t.Fatalf("after transport-accept: %q %q", token(s), token(js))
	}

	// content-remove of one content, then of the last one, which voids
	// the session (XEP-0166 §7.2.4): the receiver terminates it.
	if err := js.Send(ctx, &jingle.Jingle{Action: jingle.ActionContentRemove, Contents: []jingle.Content{{Creator: jingle.CreatorInitiator, Name: "video"}}}); err != nil {
		t.Fatal(err)
	}
	nextAction(t, h)
	both("a")
	if err := js.Send(ctx, &jingle.Jingle{Action: jingle.ActionContentRemove, Contents: []jingle.Content{{Creator: jingle.CreatorInitiator, Name: "a"}}}); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx, js.Done(), "session voided")
	waitDone(t, ctx, s.Done(), "session voided")
	if r := js.Reason(); r.Condition != jingle.ReasonSuccess {
		t.Fatalf("reason %v", r)
	}
}

// TestCandidatesBeforeAccept: transport-info may come while the session
// is pending (INTEROP: candidates arrive before session-accept).
func TestCandidatesBeforeAccept(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mr := w.manager(romeo, nil)
	app := jingletest.NewTestApp(false)
	w.manager(juliet, app)
	h := jingletest.NewHandler()
	s, err := mr.Initiate(ctx, juliet, "", jingletest.Contents("a"), nil, h)
	if err != nil {
		t.Fatal(err)
	}
	js := incoming(t, ctx, app)
	c := jingletest.Contents("a")
	if err := s.Send(ctx, &jingle.Jingle{Action: jingle.ActionTransportInfo, Contents: c}); err != nil {
		t.Fatal(err)
	}
	if err := js.Send(ctx, &jingle.Jingle{Action: jingle.ActionTransportInfo, Contents: c}); err != nil {
		t.Fatal(err)
	}
	if got := app.Handler(js.SID()).Actions(); len(got) != 1 || got[0] != jingle.ActionTransportInfo {
		t.Fatalf("responder saw %v", got)
	}
	if a := nextAction(t, h); a != jingle.ActionTransportInfo {
		t.Fatalf("initiator saw %s", a)
	}
}

// TestRefusedActionUndone: an action the application refuses leaves the
// negotiation as it was, on both sides.
func TestRefusedActionUndone(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mr := w.manager(romeo, nil)
	app := jingletest.NewTestApp(true)
	var refusals atomic.Int32
	app.OnAction = func(_ *jingle.Session, j *jingle.Jingle) error {
		if j.Action == jingle.ActionContentAdd && refusals.Add(1) == 1 {
			return jingle.BadRequest("not this one")
		}
		return nil
	}
	w.manager(juliet, app)
	h := jingletest.NewHandler()
	s, err := mr.Initiate(ctx, juliet, "", jingletest.Contents("a"), nil, h)
	if err != nil {
		t.Fatal(err)
	}
	js := incoming(t, ctx, app)
	nextAction(t, h)
	add := &jingle.Jingle{Action: jingle.ActionContentAdd, Contents: jingletest.Contents("v")}
	if err := s.Send(ctx, add); !errors.Is(err, jingle.ErrBadRequest) {
		t.Fatalf("refused content-add: %v", err)
	}
	// Nothing pending on either side: accepting it fails locally, and
	// the same content-add goes through the second time.
	if err := js.Send(ctx, &jingle.Jingle{Action: jingle.ActionContentAccept, Contents: jingletest.Contents("v")}); !errors.Is(err, jingle.ErrOutOfOrder) {
		t.Fatalf("accepting a refused add: %v", err)
	}
	if err := s.Send(ctx, add); err != nil {
		t.Fatalf("second content-add: %v", err)
	}
	if err := js.Send(ctx, &jingle.Jingle{Action: jingle.ActionContentAccept, Contents: jingletest.Contents("v")}); err != nil {
		t.Fatal(err)
	}
	nextAction(t, h)
	if got := names(s.Contents()); got != "a,v" {
		t.Fatalf("contents %q", got)
	}
}
