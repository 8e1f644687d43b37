package jingle_test

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

// randomJingle builds a random, mostly well-formed Jingle payload for sid.
func randomJingle(rng *rand.Rand, sid string) string {
	action := jingle.Actions[rng.IntN(len(jingle.Actions))]
	var b strings.Builder
	for _, name := range []string{"a", "b", "c"} {
		if rng.IntN(2) == 0 {
			continue
		}
		fmt.Fprintf(&b, `<content creator="initiator" name="%s"`, name)
		if rng.IntN(4) == 0 {
			b.WriteString(` senders="none"`)
		}
		b.WriteString(">")
		if rng.IntN(2) == 0 {
			b.WriteString(`<description xmlns="urn:jingled:test:0"/>`)
		}
		if rng.IntN(3) > 0 {
			fmt.Fprintf(&b, `<transport xmlns="urn:jingled:test:transport:0" token="t%d"/>`, rng.IntN(9))
		}
		b.WriteString("</content>")
	}
	if action == jingle.ActionSessionTerminate && rng.IntN(2) == 0 {
		b.WriteString(`<reason><gone/></reason>`)
	}
	return jingleXML(string(action), sid, b.String())
}

// TestRandomActions: a peer sending random actions in random order, on
// its session and on made-up sids, gets exactly one well-formed answer to
// each, never internal-server-error, and the manager stays consistent.
func TestRandomActions(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	app := jingletest.NewTestApp(false)
	mj := w.manager(juliet, app)
	peer := w.r.Endpoint(tybalt)
	peer.HandleIQ(jingle.NS, "jingle", func(_ context.Context, iq *jingle.IQ) *jingle.IQ { return iq.Result() })
	rng := rand.New(rand.NewPCG(1, 2))
	accepted := 0
	for i := range 400 {
		sid := fmt.Sprint("s", rng.IntN(4))
		err := rawIQ(ctx, peer, juliet, randomJingle(rng, sid))
		var je *jingle.Error
		switch {
		case err == nil:
			accepted++
		case errors.As(err, &je):
			if je.Condition == jingle.CondInternalServerError || je.Condition == jingle.CondUndefined {
				t.Fatalf("step %d: %v", i, err)
			}
		default:
			t.Fatalf("step %d: no answer: %v", i, err)
		}
		// Now and then our side acts too.
		if rng.IntN(5) == 0 {
			select {
			case s := <-app.Incoming():
				if rng.IntN(2) == 0 {
					_ = s.Accept(ctx, s.Contents(), nil)
				} else {
					_ = s.Terminate(ctx, nil)
				}
			default:
			}
		}
		for _, s := range mj.Sessions() {
			if s.State() == jingle.StateEnded {
				t.Fatalf("step %d: ended session %s still routed", i, s.SID())
			}
		}
	}
	if accepted == 0 {
		t.Fatal("nothing was accepted: the generator is useless")
	}
}

// FuzzHandleIQ feeds arbitrary payloads to a manager that has a live
// session with the sender: every input gets a reply, never a panic or
// internal-server-error. Run: go test -fuzz FuzzHandleIQ ./jingle/
func FuzzHandleIQ(f *testing.F) {
	for _, a := range jingle.Actions {
		f.Add(jingleXML(string(a), "live", testContent))
	}
	f.Add(`<jingle xmlns="urn:xmpp:jingle:1" action="content-add" sid="live"><content creator="responder" name="x"><description xmlns="urn:jingled:test:0"/></content></jingle>`)
	f.Add(`<jingle xmlns="urn:xmpp:jingle:1" action="session-terminate" sid="live"><reason><alternative-session><sid>x</sid></alternative-session></reason></jingle>`)
	f.Fuzz(func(t *testing.T, payload string) {
		ctx := context.Background()
		r := jingletest.NewRouter()
		defer r.Close()
		m := newPeer(r, juliet, jingletest.NewTestApp(false))
		defer m.Close(ctx)
		start := &jingle.IQ{ID: "0", From: tybalt, To: juliet, Type: jingle.IQSet, Payload: []byte(jingleXML("session-initiate", "live", testContent))}
		if reply := m.HandleIQ(ctx, start); reply.Type != jingle.IQResult {
			t.Fatalf("setup: %v", reply.Error)
		}
		reply := m.HandleIQ(ctx, &jingle.IQ{ID: "1", From: tybalt, To: juliet, Type: jingle.IQSet, Payload: []byte(payload)})
		if reply == nil || reply.ID != "1" || reply.To != tybalt {
			t.Fatalf("reply %+v", reply)
		}
		if reply.Type == jingle.IQError && (reply.Error == nil || reply.Error.Condition == jingle.CondInternalServerError) {
			t.Fatalf("error %+v", reply.Error)
		}
	})
}
