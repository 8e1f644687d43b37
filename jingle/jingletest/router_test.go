package jingletest

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/jingle"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const ping = `<ping xmlns="urn:xmpp:ping"/>`

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func pong(_ context.Context, iq *jingle.IQ) *jingle.IQ { return iq.Result() }

func TestRouterIQ(t *testing.T) {
	ctx := ctxT(t)
	r := NewRouter()
	defer r.Close()
	a, b := r.Endpoint("a@x/1"), r.Endpoint("b@x/1")
	var got *jingle.IQ
	b.HandleIQ("urn:xmpp:ping", "ping", func(_ context.Context, iq *jingle.IQ) *jingle.IQ { got = iq; return iq.Result() })
	// from is stamped by the router: no spoofing.
	reply, err := a.SendIQ(ctx, &jingle.IQ{From: "c@x/evil", To: "b@x/1", Type: jingle.IQGet, Payload: []byte(ping)})
	if err != nil || reply.Type != jingle.IQResult || reply.From != "b@x/1" {
		t.Fatalf("reply %+v, %v", reply, err)
	}
	if got.From != "a@x/1" || got.PayloadName().Local != "ping" {
		t.Fatalf("handler saw %+v", got)
	}
	for name, to := range map[string]string{"offline": "nobody@x/1", "bare": "b@x", "no handler": "a@x/1"} {
		payload := ping
		if name == "no handler" {
			payload = `<query xmlns="urn:x:unknown"/>`
		}
		_, err := b.SendIQ(ctx, &jingle.IQ{To: to, Type: jingle.IQSet, Payload: []byte(payload)})
		if !errors.Is(err, jingle.ErrServiceUnavailable) {
			t.Errorf("%s: %v", name, err)
		}
	}
	if _, err := a.SendIQ(ctx, &jingle.IQ{To: "b@x/1", Type: jingle.IQResult}); err == nil {
		t.Error("SendIQ of a result accepted")
	}
}

func TestRouterMessages(t *testing.T) {
	ctx := ctxT(t)
	r := NewRouter()
	defer r.Close()
	var mu sync.Mutex
	seen := map[string]int{}
	done := make(chan struct{}, 16)
	for _, jid := range []string{"b@x/1", "b@x/2", "c@x/1"} {
		r.Endpoint(jid).HandleMessage(func(_ context.Context, m *jingle.Message) bool {
			mu.Lock()
			seen[jid]++
			mu.Unlock()
			done <- struct{}{}
			return true
		})
	}
	a := r.Endpoint("a@x/1")
	if err := a.SendMessage(ctx, &jingle.Message{To: "b@x", Payload: []byte(`<body>hi</body>`)}); err != nil {
		t.Fatal(err)
	}
	// To an offline resource: like a bare JID.
	if err := a.SendMessage(ctx, &jingle.Message{To: "c@x/gone", Payload: []byte(`<body>hi</body>`)}); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatal(ctx.Err())
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if seen["b@x/1"] != 1 || seen["b@x/2"] != 1 || seen["c@x/1"] != 1 {
		t.Fatalf("deliveries %v", seen)
	}
}

func TestRouterFilter(t *testing.T) {
	ctx := ctxT(t)
	r := NewRouter()
	defer r.Close()
	a, b := r.Endpoint("a@x/1"), r.Endpoint("b@x/1")
	order := make(chan string, 8)
	b.HandleMessage(func(_ context.Context, m *jingle.Message) bool { order <- m.ID; return true })
	b.HandleIQ("urn:xmpp:ping", "ping", pong)

	// Drop: the IQ's sender waits for its context.
	r.SetFilter(func(_, _ string, st any) Verdict { _, isIQ := st.(*jingle.IQ); return Verdict{Drop: isIQ} })
	short, cancel := context.WithTimeout(ctx, 10*time.Millisecond)
	defer cancel()
	if _, err := a.SendIQ(short, &jingle.IQ{To: "b@x/1", Type: jingle.IQGet, Payload: []byte(ping)}); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("dropped IQ: %v", err)
	}

	// Hold and release reversed: reordering.
	r.SetFilter(func(_, _ string, st any) Verdict { _, isMsg := st.(*jingle.Message); return Verdict{Hold: isMsg} })
	for _, id := range []string{"1", "2", "3"} {
		if err := a.SendMessage(ctx, &jingle.Message{To: "b@x/1", ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.WaitHeld(ctx, 3); err != nil || r.Held() != 3 {
		t.Fatal(err, r.Held())
	}
	r.SetFilter(nil)
	r.ReleaseReversed()
	for _, want := range []string{"3", "2", "1"} {
		if got := <-order; got != want {
			t.Fatalf("got %s, want %s", got, want)
		}
	}

	// Delay: a later stanza overtakes the delayed one (the delay only
	// has to outlast one SendMessage call, even on a loaded machine).
	r.SetFilter(func(_, _ string, st any) Verdict {
		if m, ok := st.(*jingle.Message); ok && m.ID == "slow" {
			return Verdict{Delay: 300 * time.Millisecond}
		}
		return Verdict{}
	})
	for _, id := range []string{"slow", "fast"} {
		if err := a.SendMessage(ctx, &jingle.Message{To: "b@x/1", ID: id}); err != nil {
			t.Fatal(err)
		}
	}
	if got := <-order; got != "fast" {
		t.Fatalf("got %s first", got)
	}
	if got := <-order; got != "slow" {
		t.Fatalf("got %s second", got)
	}
}

func TestRouterClose(t *testing.T) {
	ctx := ctxT(t)
	r := NewRouter()
	a, b := r.Endpoint("a@x/1"), r.Endpoint("b@x/1")
	b.HandleIQ("urn:xmpp:ping", "ping", func(context.Context, *jingle.IQ) *jingle.IQ { return nil })
	errc := make(chan error, 1)
	go func() {
		_, err := a.SendIQ(ctx, &jingle.IQ{To: "b@x/1", Type: jingle.IQGet, Payload: []byte(ping)})
		errc <- err
	}()
	// The handler answers nothing, so SendIQ waits until Close (or is
	// refused, if Close comes first).
	r.Close()
	if err := <-errc; !errors.Is(err, ErrClosed) && !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%v", err)
	}
	if err := a.SendMessage(ctx, &jingle.Message{To: "b@x/1"}); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after close: %v", err)
	}
	r.Close()
}

// TestTestApp covers the test application's validation.
func TestTestApp(t *testing.T) {
	app := NewTestApp(false)
	if app.Namespace() != NSTestApp || len(app.Features()) != 1 {
		t.Fatal("namespace")
	}
	tr := TestTransport{}
	if tr.Namespace() != NSTestTransport || tr.Kind() != jingle.Stream {
		t.Fatal("transport defaults")
	}
	c := Contents("x")
	if c[0].DescriptionNS() != NSTestApp || c[0].TransportNS() != NSTestTransport {
		t.Fatalf("%+v", c)
	}
}

// TestRouterManager: two managers linked by Router.Manager run a session.
func TestRouterManager(t *testing.T) {
	ctx := ctxT(t)
	r := NewRouter()
	defer r.Close()
	app := NewTestApp(true)
	a := r.Manager("a@x/1", jingle.WithTransport(TestTransport{}))
	b := r.Manager("b@x/1", jingle.WithApplication(app), jingle.WithTransport(TestTransport{}))
	defer b.Close(ctx)
	defer a.Close(ctx)
	h := NewHandler()
	s, err := a.Initiate(ctx, "b@x/1", "", Contents("c"), nil, h)
	if err != nil {
		t.Fatal(err)
	}
	if got := <-h.Seen(); got != jingle.ActionSessionAccept || s.State() != jingle.StateActive {
		t.Fatalf("%s %v", got, s.State())
	}
}
