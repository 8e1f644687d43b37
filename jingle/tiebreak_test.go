package jingle_test

import (
	"errors"
	"strings"
	"sync"
	"testing"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

// holdAction holds the Jingle IQ sets with the given action until the
// test releases them, so both sides' actions cross on the wire.
func holdAction(action jingle.Action) jingletest.Filter {
	return func(_, _ string, st any) jingletest.Verdict {
		iq, ok := st.(*jingle.IQ)
		if ok && iq.Type == jingle.IQSet && strings.Contains(string(iq.Payload), `action="`+string(action)+`"`) {
			return jingletest.Verdict{Hold: true}
		}
		return jingletest.Verdict{}
	}
}

// crossInitiates makes romeo and juliet initiate at the same time with
// the given sids and returns both results.
func crossInitiates(t *testing.T, w *world, sidR, sidJ string) (sr, sj *jingle.Session, hr, hj *jingletest.Handler, errR, errJ error) {
	t.Helper()
	ctx := ctxT(t)
	w.r.SetFilter(holdAction(jingle.ActionSessionInitiate))
	hr, hj = jingletest.NewHandler(), jingletest.NewHandler()
	var wg sync.WaitGroup
	wg.Add(2)
	go func() {
		defer wg.Done()
		sr, errR = w.ms[romeo].Initiate(ctx, juliet, sidR, jingletest.Contents("a"), nil, hr)
	}()
	go func() {
		defer wg.Done()
		sj, errJ = w.ms[juliet].Initiate(ctx, romeo, sidJ, jingletest.Contents("a"), nil, hj)
	}()
	if err := w.r.WaitHeld(ctx, 2); err != nil {
		t.Fatal(err)
	}
	w.r.SetFilter(nil)
	w.r.Release()
	wg.Wait()
	return
}

// TestTieBreakInitiate: XEP-0166 §7.2.16, no existing session: the
// session-initiate with the lower sid wins; the receiver of the higher
// one answers conflict + tie-break.
func TestTieBreakInitiate(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	appR, appJ := jingletest.NewTestApp(false), jingletest.NewTestApp(false)
	w.manager(romeo, appR)
	w.manager(juliet, appJ)
	sr, sj, _, hj, errR, errJ := crossInitiates(t, w, "aaa-lower", "bbb-higher")
	if errR != nil {
		t.Fatalf("lower sid lost: %v", errR)
	}
	if !errors.Is(errJ, jingle.ErrTieBreak) || sj != nil {
		t.Fatalf("higher sid: %v", errJ)
	}
	waitDone(t, ctx, hj.Done(), "loser terminated")
	if r := hj.Reason(); r.Condition != jingle.ReasonAlternativeSession || r.AlternativeSID != "aaa-lower" {
		t.Fatalf("loser reason %v", r)
	}
	in := incoming(t, ctx, appJ)
	if in.SID() != sr.SID() || in.Peer() != romeo {
		t.Fatalf("winner at juliet: %s from %s", in.SID(), in.Peer())
	}
	select {
	case s := <-appR.Incoming():
		t.Fatalf("romeo got the losing session %s", s.SID())
	default:
	}
	if n := len(w.ms[romeo].Sessions()); n != 1 {
		t.Fatalf("romeo has %d sessions", n)
	}
}

// TestTieBreakEqualSID: with equal sids the lower JID's action wins.
func TestTieBreakEqualSID(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	appR, appJ := jingletest.NewTestApp(false), jingletest.NewTestApp(false)
	w.manager(romeo, appR)
	w.manager(juliet, appJ)
	// "juliet@capulet.example/balcony" < "romeo@montague.example/orchard".
	_, sj, hr, _, errR, errJ := crossInitiates(t, w, "same", "same")
	if errJ != nil {
		t.Fatalf("lower JID lost: %v", errJ)
	}
	if !errors.Is(errR, jingle.ErrTieBreak) {
		t.Fatalf("higher JID: %v", errR)
	}
	waitDone(t, ctx, hr.Done(), "loser terminated")
	in := incoming(t, ctx, appR)
	if in.SID() != "same" || in.Peer() != juliet || in.IsInitiator() {
		t.Fatalf("romeo's incoming: %s %s", in.SID(), in.Peer())
	}
	if got := w.ms[romeo].Session(juliet, "same"); got != in {
		t.Fatal("routing table does not hold the winning session")
	}
	if sj.State() != jingle.StatePending {
		t.Fatalf("winner state %v", sj.State())
	}
}

// TestTieBreakExisting: XEP-0166 §7.2.16, existing session: when both
// send content-add or transport-replace at once, the initiator's wins.
func TestTieBreakExisting(t *testing.T) {
	for _, action := range []jingle.Action{jingle.ActionContentAdd, jingle.ActionTransportReplace} {
		t.Run(string(action), func(t *testing.T) {
			ctx := ctxT(t)
			w := newWorld(t)
			s, js, h, app := activePair(t, w)
			jh := app.Handler(js.SID())
			build := func(token string) *jingle.Jingle {
				if action == jingle.ActionContentAdd {
					return &jingle.Jingle{Action: action, Contents: jingletest.Contents(token)}
				}
				c := jingletest.Contents("a")
				tr := jingletest.Transport(token)
				c[0].Transport = &tr
				return &jingle.Jingle{Action: action, Contents: c}
			}
			w.r.SetFilter(holdAction(action))
			var errI, errR error
			var wg sync.WaitGroup
			wg.Add(2)
			go func() { defer wg.Done(); errI = s.Send(ctx, build("from-initiator")) }()
			go func() { defer wg.Done(); errR = js.Send(ctx, build("from-responder")) }()
			if err := w.r.WaitHeld(ctx, 2); err != nil {
				t.Fatal(err)
			}
			w.r.SetFilter(nil)
			w.r.Release()
			wg.Wait()
			if errI != nil {
				t.Fatalf("initiator's %s: %v", action, errI)
			}
			if !errors.Is(errR, jingle.ErrTieBreak) {
				t.Fatalf("responder's %s: %v", action, errR)
			}
			if got := jh.Actions(); len(got) != 1 || got[0] != action {
				t.Fatalf("responder handled %v", got)
			}
			if got := h.Actions(); len(got) != 1 {
				t.Fatalf("initiator handled %v", got)
			}
			// The responder can answer the winning action.
			answer := jingle.ActionContentAccept
			if action == jingle.ActionTransportReplace {
				answer = jingle.ActionTransportAccept
			}
			j := build("from-initiator")
			j.Action = answer
			if err := js.Send(ctx, j); err != nil {
				t.Fatalf("%s: %v", answer, err)
			}
			if a := <-h.Seen(); a != answer {
				t.Fatalf("initiator saw %s", a)
			}
			for _, x := range []*jingle.Session{s, js} {
				cs := x.Contents()
				found := false
				for _, c := range cs {
					if c.Name == "from-initiator" || (c.Transport != nil && c.Transport.Attribute("token") == "from-initiator") {
						found = true
					}
					if c.Name == "from-responder" || (c.Transport != nil && c.Transport.Attribute("token") == "from-responder") {
						t.Fatalf("%s: losing change applied: %+v", x.Local(), cs)
					}
				}
				if !found {
					t.Fatalf("%s: winning change missing: %+v", x.Local(), cs)
				}
			}
		})
	}
}
