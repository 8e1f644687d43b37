package jingle_test

import (
	"context"
	"errors"
	"log/slog"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

const (
	romeo  = "romeo@montague.example/orchard"
	juliet = "juliet@capulet.example/balcony"
	tybalt = "tybalt@capulet.example/street"
)

// world is a router with managers on it, closed by t.Cleanup.
type world struct {
	t  *testing.T
	r  *jingletest.Router
	ms map[string]*jingle.Manager
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{t: t, r: jingletest.NewRouter(), ms: map[string]*jingle.Manager{}}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		for jid, m := range w.ms {
			if err := m.Close(ctx); err != nil {
				t.Errorf("closing %s: %v", jid, err)
			}
		}
		w.r.Close()
	})
	return w
}

// manager adds a manager for jid with the test application and transport.
func (w *world) manager(jid string, app *jingletest.TestApp, opts ...jingle.Option) *jingle.Manager {
	w.t.Helper()
	e := w.r.Endpoint(jid)
	opts = append([]jingle.Option{jingle.WithTransport(jingletest.TestTransport{})}, opts...)
	if app != nil {
		opts = append(opts, jingle.WithApplication(app))
	}
	m := jingle.NewManager(jid, e, opts...)
	e.Serve(m)
	w.ms[jid] = m
	return m
}

func ctxT(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func waitDone(t *testing.T, ctx context.Context, done <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-done:
	case <-ctx.Done():
		t.Fatalf("%s: %v", what, ctx.Err())
	}
}

func incoming(t *testing.T, ctx context.Context, app *jingletest.TestApp) *jingle.Session {
	t.Helper()
	select {
	case s := <-app.Incoming():
		return s
	case <-ctx.Done():
		t.Fatalf("no incoming session: %v", ctx.Err())
	}
	return nil
}

func TestSessionLifecycle(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mr := w.manager(romeo, nil)
	app := jingletest.NewTestApp(false)
	mj := w.manager(juliet, app)

	h := jingletest.NewHandler()
	s, err := mr.Initiate(ctx, juliet, "", jingletest.Contents("a", "b"), nil, h)
	if err != nil {
		t.Fatal(err)
	}
	if s.State() != jingle.StatePending || !s.IsInitiator() || s.Initiator() != romeo {
		t.Fatalf("outgoing session: state %v initiator %v %s", s.State(), s.IsInitiator(), s.Initiator())
	}
	js := incoming(t, ctx, app)
	if js.SID() != s.SID() || js.Peer() != romeo || js.IsInitiator() || js.Initiator() != romeo {
		t.Fatalf("incoming session: sid %s peer %s", js.SID(), js.Peer())
	}
	if got := len(js.Contents()); got != 2 {
		t.Fatalf("incoming contents: %d", got)
	}
	// Accept only content a: b is rejected by omission.
	if err := js.Accept(ctx, jingletest.Contents("a"), nil); err != nil {
		t.Fatal(err)
	}
	if js.State() != jingle.StateActive {
		t.Fatalf("responder state after accept: %v", js.State())
	}
	if a := <-h.Seen(); a != jingle.ActionSessionAccept {
		t.Fatalf("initiator saw %s", a)
	}
	if s.State() != jingle.StateActive {
		t.Fatalf("initiator state after accept: %v", s.State())
	}
	if c := s.Contents(); len(c) != 1 || c[0].Name != "a" {
		t.Fatalf("negotiated contents: %+v", c)
	}
	if err := s.Info(ctx, jingletest.Description("ping")); err != nil {
		t.Fatal(err)
	}
	// A session-info payload the application does not know.
	err = s.Info(ctx, jingletest.Transport("x"))
	if !errors.Is(err, jingle.ErrUnsupportedInfo) {
		t.Fatalf("unknown session-info: %v", err)
	}
	if err := js.Terminate(ctx, jingle.NewReason(jingle.ReasonSuccess, "bye")); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx, s.Done(), "initiator session end")
	waitDone(t, ctx, js.Done(), "responder session end")
	if r := s.Reason(); r == nil || r.Condition != jingle.ReasonSuccess || r.Text != "bye" {
		t.Fatalf("reason at initiator: %v", r)
	}
	if h.TerminatedCalls() != 1 || app.Handler(js.SID()).TerminatedCalls() != 1 {
		t.Fatalf("Terminated calls: %d, %d", h.TerminatedCalls(), app.Handler(js.SID()).TerminatedCalls())
	}
	if len(mr.Sessions()) != 0 || len(mj.Sessions()) != 0 {
		t.Fatalf("sessions left: %d, %d", len(mr.Sessions()), len(mj.Sessions()))
	}
	if err := js.Terminate(ctx, nil); err != nil {
		t.Fatalf("second terminate: %v", err)
	}
	if _, err := mr.Initiate(ctx, "juliet@capulet.example", "", jingletest.Contents("a"), nil, h); err == nil {
		t.Fatal("initiate to a bare JID accepted")
	}
	if _, err := mr.Initiate(ctx, juliet, "", jingletest.Contents("a"), nil, nil); err == nil {
		t.Fatal("initiate without handler accepted")
	}
}

// TestClose: Close ends active sessions with <success/>, pending ones
// with <cancel/>, retracts open proposals, and is idempotent.
func TestClose(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mr := w.manager(romeo, nil)
	appJ := jingletest.NewTestApp(true)
	w.manager(juliet, appJ)
	appT := jingletest.NewTestApp(false)
	w.manager(tybalt, appT)
	conv := newRaw(w, convPhone)

	ha := jingletest.NewHandler()
	active, err := mr.Initiate(ctx, juliet, "", jingletest.Contents("a"), nil, ha)
	if err != nil {
		t.Fatal(err)
	}
	js := incoming(t, ctx, appJ)
	pending, err := mr.Initiate(ctx, tybalt, "", jingletest.Contents("a"), nil, jingletest.NewHandler())
	if err != nil {
		t.Fatal(err)
	}
	ts := incoming(t, ctx, appT)
	p, err := mr.Propose(ctx, convBare, nil)
	if err != nil {
		t.Fatal(err)
	}
	if a := nextAction(t, ha); a != jingle.ActionSessionAccept || active.State() != jingle.StateActive {
		t.Fatalf("%s, %v", a, active.State())
	}
	if err := mr.Close(ctx); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx, js.Done(), "active ended")
	waitDone(t, ctx, ts.Done(), "pending ended")
	if js.Reason().Condition != jingle.ReasonSuccess || ts.Reason().Condition != jingle.ReasonCancel {
		t.Fatalf("reasons %v, %v", js.Reason(), ts.Reason())
	}
	if pending.State() != jingle.StateEnded || len(mr.Sessions()) != 0 {
		t.Fatal("sessions left after close")
	}
	conv.next(t, ctx, `<retract xmlns="urn:xmpp:jingle-message:0" id="`+p.ID()+`"`)
	if err := mr.Close(ctx); err != nil {
		t.Fatalf("second close: %v", err)
	}
	if _, err := mr.Initiate(ctx, juliet, "", jingletest.Contents("a"), nil, jingletest.NewHandler()); !errors.Is(err, jingle.ErrManagerClosed) {
		t.Fatalf("initiate after close: %v", err)
	}
	if _, err := mr.Propose(ctx, juliet, nil); !errors.Is(err, jingle.ErrManagerClosed) {
		t.Fatalf("propose after close: %v", err)
	}
	if err := rawIQ(ctx, w.r.Endpoint("x@y.example/z"), romeo, jingleXML("session-initiate", "late", testContent)); !errors.Is(err, jingle.ErrServiceUnavailable) {
		t.Fatalf("initiate to a closed manager: %v", err)
	}
}

func TestFeaturesAndRegistry(t *testing.T) {
	m := jingle.NewManager(romeo, jingletest.NewRouter().Endpoint(romeo),
		jingle.WithApplication(jingletest.NewTestApp(false)),
		jingle.WithTransport(jingletest.TestTransport{NS: "urn:t:low", Prio: 1}),
		jingle.WithTransport(jingletest.TestTransport{NS: "urn:t:high", Prio: 9}),
		jingle.WithTransport(jingletest.TestTransport{NS: "urn:t:dgram", K: jingle.Datagram, Prio: 5}),
	)
	// No proposal handler: no JMI feature (a resource advertises only
	// what it will do).
	want := []string{jingletest.NSTestApp, "urn:t:dgram", "urn:t:high", "urn:t:low", jingle.NS}
	sort.Strings(want)
	if got := m.Features(); !slices.Equal(got, want) {
		t.Fatalf("features %v, want %v", got, want)
	}
	withJMI := jingle.NewManager(romeo, jingletest.NewRouter().Endpoint(romeo),
		jingle.WithApplication(jingletest.NewTestApp(false)), jingle.WithProposalHandler(func(*jingle.Proposal) {}))
	if got := withJMI.Features(); !slices.Contains(got, jingle.NSMessage) {
		t.Fatalf("features with a proposal handler %v lack %s", got, jingle.NSMessage)
	}
	var order []string
	for _, tr := range m.Transports(jingle.Stream) {
		order = append(order, tr.Namespace())
	}
	if !slices.Equal(order, []string{"urn:t:high", "urn:t:low"}) {
		t.Fatalf("stream transports %v", order)
	}
	if n := len(m.Transports(0)); n != 3 {
		t.Fatalf("%d transports", n)
	}
	if m.Application(jingletest.NSTestApp) == nil || len(m.Applications()) != 1 || m.Transport("urn:t:dgram") == nil {
		t.Fatal("registry lookups")
	}
	defer func() {
		if recover() == nil {
			t.Fatal("duplicate registration did not panic")
		}
	}()
	jingle.NewManager(romeo, nil, jingle.WithTransport(jingletest.TestTransport{}), jingle.WithTransport(jingletest.TestTransport{}))
}

// echoApp accepts from inside the loop (Queue), and its handler answers a
// session-info from inside the loop (Queue) and from a goroutine that
// kept the loop's context (Info, waiting): neither may deadlock.
type echoApp struct {
	*jingletest.TestApp
	wg       sync.WaitGroup
	lateErrs chan error
}

type echoHandler struct{ app *echoApp }

func (a *echoApp) HandleInitiate(ctx context.Context, s *jingle.Session, j *jingle.Jingle) (jingle.SessionHandler, error) {
	if _, err := s.Queue(&jingle.Jingle{Action: jingle.ActionSessionAccept, Contents: j.Contents}); err != nil {
		return nil, err
	}
	return echoHandler{a}, nil
}

func (h echoHandler) HandleAction(ctx context.Context, s *jingle.Session, j *jingle.Jingle) error {
	if j.Action != jingle.ActionSessionInfo {
		return nil
	}
	if _, err := s.Queue(&jingle.Jingle{Action: jingle.ActionSessionInfo, Payloads: []jingle.Element{jingletest.Description("pong")}}); err != nil {
		return err
	}
	h.app.wg.Add(1)
	go func() {
		defer h.app.wg.Done()
		h.app.lateErrs <- s.Info(ctx, jingletest.Description("late"))
	}()
	return nil
}

func (h echoHandler) Terminated(s *jingle.Session, _ *jingle.Reason) {
	// Ending an ended session from the callback changes nothing.
	_, _ = s.Queue(&jingle.Jingle{Action: jingle.ActionSessionTerminate})
}

func TestSendFromCallback(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mr := w.manager(romeo, nil)
	app := &echoApp{TestApp: jingletest.NewTestApp(false), lateErrs: make(chan error, 1)}
	w.manager(juliet, nil, jingle.WithApplication(app))
	defer app.wg.Wait()
	h := jingletest.NewHandler()
	s, err := mr.Initiate(ctx, juliet, "", jingletest.Contents("a"), nil, h)
	if err != nil {
		t.Fatal(err)
	}
	if a := nextAction(t, h); a != jingle.ActionSessionAccept {
		t.Fatalf("saw %s", a)
	}
	if err := s.Info(ctx, jingletest.Description("ping")); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if a := nextAction(t, h); a != jingle.ActionSessionInfo {
			t.Fatalf("saw %s", a)
		}
	}
	if err := <-app.lateErrs; err != nil {
		t.Fatalf("info from a goroutine with the loop's context: %v", err)
	}
	if err := s.Terminate(ctx, nil); err != nil {
		t.Fatal(err)
	}
}

// TestDoAndLogger: Do and DoContext run in the loop, in order, and stop
// with the session; the session logger carries sid and peer.
func TestDoAndLogger(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	var buf syncBuffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mr := w.manager(romeo, nil, jingle.WithLogger(logger))
	app := jingletest.NewTestApp(false)
	w.manager(juliet, app)
	s, err := mr.Initiate(ctx, juliet, "", jingletest.Contents("a"), nil, jingletest.NewHandler())
	if err != nil {
		t.Fatal(err)
	}
	if s.Local() != romeo || s.Peer() != juliet || s.Manager() != mr {
		t.Fatal("addresses")
	}
	order := make(chan int, 3)
	s.Do(func() { order <- 1 })
	s.DoContext(func(ctx context.Context) {
		order <- 2
		// Sending from the loop queues and returns.
		if _, err := s.Queue(&jingle.Jingle{Action: jingle.ActionSessionInfo, Payloads: []jingle.Element{jingletest.Description("from the loop")}}); err != nil {
			t.Error(err)
		}
	})
	s.Do(func() { order <- 3 })
	for want := 1; want <= 3; want++ {
		if got := <-order; got != want {
			t.Fatalf("task %d ran as %d", want, got)
		}
	}
	js := incoming(t, ctx, app)
	if err := s.Terminate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx, js.Done(), "end")
	if s.Do(func() { t.Error("ran after the end") }) {
		t.Fatal("Do accepted after the end")
	}
	if s.Context().Err() == nil {
		t.Fatal("session context alive after the end")
	}
	s.Logger().Info("probe")
	if out := buf.String(); !strings.Contains(out, "sid="+s.SID()) || !strings.Contains(out, "peer="+juliet) {
		t.Fatalf("log lacks sid/peer: %s", out)
	}
}

type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// TestPeerGone: an endpoint that went offline makes our IQs bounce; the
// session survives a bounced session-info.
func TestPeerGone(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	s, _, _, _ := activePair(t, w)
	w.r.Endpoint(juliet).Close()
	if err := s.Info(ctx); !errors.Is(err, jingle.ErrServiceUnavailable) {
		t.Fatalf("%v", err)
	}
	if s.State() != jingle.StateActive {
		t.Fatalf("state %v", s.State())
	}
}
