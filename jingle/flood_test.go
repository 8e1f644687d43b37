package jingle_test

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

// flood hands n session-initiates with distinct sids from the senders
// to m, as the XMPP adapter would, with a few in flight at a time, and
// counts the outcomes. It skips the router: the manager is under test,
// and the router's XML round trips would only slow the race detector.
func flood(ctx context.Context, m *jingle.Manager, senders []string, n int) (ok, limited, other int64) {
	var wg sync.WaitGroup
	var next atomic.Int64
	var nOK, nLimited, nOther atomic.Int64
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := next.Add(1) - 1
				if i >= int64(n) {
					return
				}
				iq := &jingle.IQ{
					ID: fmt.Sprint(i), From: senders[int(i)%len(senders)], To: m.Local(), Type: jingle.IQSet,
					Payload: []byte(jingleXML("session-initiate", fmt.Sprintf("flood-%d-%d", w, i), testContent)),
				}
				reply := m.HandleIQ(ctx, iq)
				switch {
				case reply.Type == jingle.IQResult:
					nOK.Add(1)
				case errors.Is(reply.Error, jingle.ErrResourceConstraint):
					nLimited.Add(1)
				default:
					nOther.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	return nOK.Load(), nLimited.Load(), nOther.Load()
}

func heapInUse() uint64 {
	runtime.GC()
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	return ms.HeapInuse
}

// TestFloodOnePeer: 10,000 session-initiates from one JID leave at most
// the per-peer limit of sessions, bounded memory and goroutines, and
// (TestMain) no leaked goroutine once the manager is closed.
func TestFloodOnePeer(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	app := jingletest.NewTestApp(false)
	mj := w.manager(juliet, app)
	attacker := w.r.Endpoint(tybalt)
	attacker.HandleIQ(jingle.NS, "jingle", func(_ context.Context, iq *jingle.IQ) *jingle.IQ { return iq.Result() })
	heap0, g0 := heapInUse(), runtime.NumGoroutine()

	ok, limited, other := flood(ctx, mj, []string{tybalt}, 10000)
	if ok != jingle.DefaultPendingPerPeer || limited != 10000-ok || other != 0 {
		t.Fatalf("accepted %d, limited %d, other %d", ok, limited, other)
	}
	if n := len(mj.Sessions()); n != jingle.DefaultPendingPerPeer {
		t.Fatalf("%d sessions", n)
	}
	if st := mj.Stats(); st.Sessions != 8 || st.Pending != 8 || st.Refused != uint64(limited) {
		t.Fatalf("stats %+v", st)
	}
	// One loop per pending session, nothing per refused request.
	if g := runtime.NumGoroutine(); g > g0+jingle.DefaultPendingPerPeer+16 {
		t.Fatalf("goroutines grew from %d to %d", g0, g)
	}
	if grown := int64(heapInUse()) - int64(heap0); grown > 8<<20 {
		t.Fatalf("heap grew by %d bytes", grown)
	}
	t.Logf("heap growth after 10,000 session-initiates: %d bytes", int64(heapInUse())-int64(heap0))

	// Ending the pending sessions frees their slots.
	for _, s := range mj.Sessions() {
		if err := s.Terminate(ctx, jingle.NewReason(jingle.ReasonDecline, "")); err != nil {
			t.Fatal(err)
		}
	}
	if err := rawIQ(ctx, attacker, juliet, jingleXML("session-initiate", "after-flood", testContent)); err != nil {
		t.Fatalf("after the flood: %v", err)
	}
}

// TestFloodManyPeers: the total limit holds across JIDs.
func TestFloodManyPeers(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mj := w.manager(juliet, jingletest.NewTestApp(false), jingle.WithPendingLimits(2, 50))
	var senders []string
	for i := range 100 {
		e := w.r.Endpoint(fmt.Sprintf("bot%d@evil.example/r", i))
		e.HandleIQ(jingle.NS, "jingle", func(_ context.Context, iq *jingle.IQ) *jingle.IQ { return iq.Result() })
		senders = append(senders, e.JID())
	}
	ok, limited, other := flood(ctx, mj, senders, 2000)
	if ok != 50 || limited != 1950 || other != 0 {
		t.Fatalf("accepted %d, limited %d, other %d", ok, limited, other)
	}
	if n := len(mj.Sessions()); n != 50 {
		t.Fatalf("%d sessions", n)
	}
}

// TestFloodActiveSessionBounded: actions of the peer on an established
// session are answered one by one; a burst leaves nothing queued.
func TestFloodActiveSession(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	s, js, _, app := activePair(t, w)
	var wg sync.WaitGroup
	var failed atomic.Int64
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 200 {
				if err := s.Info(ctx, jingletest.Description("ping")); err != nil && !errors.Is(err, jingle.ErrResourceConstraint) {
					failed.Add(1)
				}
			}
		}()
	}
	wg.Wait()
	if failed.Load() != 0 {
		t.Fatalf("%d pings failed", failed.Load())
	}
	if got := len(app.Handler(js.SID()).Actions()); got != 1600 {
		t.Fatalf("responder handled %d pings", got)
	}
}

// TestFloodProposals: 10,000 JMI proposes from one JID keep at most the
// per-peer limit of open proposals and get at most that many receipts.
func TestFloodProposals(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	app := jingletest.NewTestApp(false)
	handler, waitHandler := app.ProposalHandler(ctx, false)
	defer waitHandler()
	mj := w.manager(juliet, app, jingle.WithProposalHandler(handler))
	var receipts atomic.Int64
	marker := make(chan struct{})
	attacker := w.r.Endpoint(tybalt)
	attacker.HandleMessage(func(_ context.Context, m *jingle.Message) bool {
		if m.ID == "marker" {
			close(marker)
		} else {
			receipts.Add(1)
		}
		return true
	})
	heap0 := heapInUse()
	for i := range 10000 {
		mj.HandleMessage(ctx, &jingle.Message{From: tybalt, To: julietBare, ID: fmt.Sprint("m", i), Type: "chat",
			Payload: []byte(fmt.Sprintf(`<propose xmlns="urn:xmpp:jingle-message:0" id="p%d"><description xmlns="urn:jingled:test:0"/></propose><request xmlns="urn:xmpp:receipts"/>`, i))})
	}
	if n := len(app.Proposals()); n != jingle.DefaultPendingPerPeer {
		t.Fatalf("%d proposals reached the application", n)
	}
	if grown := int64(heapInUse()) - int64(heap0); grown > 8<<20 {
		t.Fatalf("heap grew by %d bytes", grown)
	}
	// One receipt per kept proposal, none for the rest. Delivery is in
	// order, so once a marker sent after the flood arrived, every
	// receipt has.
	if err := w.r.Endpoint(juliet).SendMessage(ctx, &jingle.Message{To: tybalt, ID: "marker"}); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx, marker, "marker")
	if n := receipts.Load(); n != jingle.DefaultPendingPerPeer {
		t.Fatalf("%d receipts", n)
	}
}

// TestSessionLimit: an application that accepts everything still cannot
// be made to hold more live sessions than the session limits allow.
func TestSessionLimit(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	app := jingletest.NewTestApp(true)
	mj := w.manager(juliet, app, jingle.WithSessionLimits(3, 100))
	attacker := w.r.Endpoint(tybalt)
	attacker.HandleIQ(jingle.NS, "jingle", func(_ context.Context, iq *jingle.IQ) *jingle.IQ { return iq.Result() })
	for i := range 3 {
		if err := rawIQ(ctx, attacker, juliet, jingleXML("session-initiate", fmt.Sprint("s", i), testContent)); err != nil {
			t.Fatal(err)
		}
		if s := incoming(t, ctx, app); s.State() != jingle.StateActive {
			t.Fatalf("session %d: %v", i, s.State())
		}
	}
	err := rawIQ(ctx, attacker, juliet, jingleXML("session-initiate", "s3", testContent))
	if !errors.Is(err, jingle.ErrResourceConstraint) {
		t.Fatalf("fourth session: %v", err)
	}
	if err := rawIQ(ctx, attacker, juliet, jingleXML("session-terminate", "s0", "<reason><success/></reason>")); err != nil {
		t.Fatal(err)
	}
	if err := rawIQ(ctx, attacker, juliet, jingleXML("session-initiate", "s4", testContent)); err != nil {
		t.Fatalf("after one ended: %v", err)
	}
	if n := len(mj.Sessions()); n != 3 {
		t.Fatalf("%d sessions", n)
	}
}

// TestFloodQueueBound: while a session's loop is busy, at most
// maxQueuedStanzas (64) of the peer's requests wait for it; the rest are
// refused at once with resource-constraint instead of piling up.
func TestFloodQueueBound(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	app := jingletest.NewTestApp(false)
	mj := w.manager(juliet, app)
	start := &jingle.IQ{ID: "0", From: tybalt, To: juliet, Type: jingle.IQSet, Payload: []byte(jingleXML("session-initiate", "busy", testContent))}
	if reply := mj.HandleIQ(ctx, start); reply.Type != jingle.IQResult {
		t.Fatal(reply.Error)
	}
	s := incoming(t, ctx, app)
	block := make(chan struct{})
	s.Do(func() { <-block })
	const n = 100
	replies := make(chan *jingle.IQ, n)
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			replies <- mj.HandleIQ(ctx, &jingle.IQ{ID: fmt.Sprint(i), From: tybalt, To: juliet, Type: jingle.IQSet,
				Payload: []byte(jingleXML("transport-info", "busy", `<content creator="initiator" name="a"><transport xmlns="urn:jingled:test:transport:0"/></content>`))})
		}()
	}
	for range n - 64 {
		r := <-replies
		if !errors.Is(r.Error, jingle.ErrResourceConstraint) {
			t.Fatalf("while the loop is busy: %+v", r)
		}
	}
	close(block)
	wg.Wait()
	close(replies)
	for r := range replies {
		if r.Type != jingle.IQResult {
			t.Fatalf("queued request: %+v", r.Error)
		}
	}
	if got := len(app.Handler("busy").Actions()); got != 64 {
		t.Fatalf("handler saw %d transport-infos", got)
	}
}
