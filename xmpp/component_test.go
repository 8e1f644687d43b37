package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/jingle"
)

// The component tests run their own Prosody (the shared one has no
// component port): WithComponent("call", ...) serves call.localhost.
const (
	testComponentSecret = "s3cret"
	room1               = "room1@call.localhost"
	room1Focus          = room1 + "/focus"
)

func newComponentServer(t *testing.T) *prosodytest.Server {
	t.Helper()
	return prosodytest.New(t, prosodytest.WithComponent("call", testComponentSecret))
}

// newComponent connects a Component to srv and closes it at cleanup.
func newComponent(t *testing.T, srv *prosodytest.Server, edit func(*ComponentConfig)) *Component {
	t.Helper()
	cfg := ComponentConfig{Domain: srv.ComponentJID, Secret: srv.ComponentSecret, Addr: srv.ComponentAddr}
	if edit != nil {
		edit(&cfg)
	}
	c, err := NewComponent(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(testCtx(t)); err != nil {
		t.Fatalf("component Start: %v", err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func discoInfoIQ(from, to string) *jingle.IQ {
	return &jingle.IQ{From: from, To: to, Type: jingle.IQGet, Payload: []byte(`<query xmlns="` + NSDiscoInfo + `"/>`)}
}

// TestComponentIQBothWays: a client's IQ to a JID under the component
// reaches its handler and the answer comes back from that JID; an IQ the
// component sends is correlated with the client's answer; no handler means
// service-unavailable and a panicking one internal-server-error.
func TestComponentIQBothWays(t *testing.T) {
	srv := newComponentServer(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	comp := newComponent(t, srv, nil)
	ctx := testCtx(t)
	if !comp.Connected() || comp.Domain() != "call.localhost" {
		t.Fatalf("Connected %v Domain %q", comp.Connected(), comp.Domain())
	}

	if _, err := alice.SendIQ(ctx, discoInfoIQ("", room1Focus)); !errors.Is(err, jingle.ErrServiceUnavailable) {
		t.Fatalf("no handler: err = %v, want service-unavailable", err)
	}

	var got *jingle.IQ
	comp.HandleIQ(func(_ context.Context, iq *jingle.IQ) *jingle.IQ {
		got = iq
		if iq.PayloadName().Local == "boom" {
			panic("handler bug")
		}
		r := iq.Result()
		r.Payload = []byte(`<query xmlns="` + NSDiscoInfo + `"><identity category="conference" type="audio" name="room1"/><feature var="urn:xmpp:jingle:1"/></query>`)
		return r
	})
	reply, err := alice.SendIQ(ctx, discoInfoIQ("", room1Focus))
	if err != nil {
		t.Fatalf("disco#info to %s: %v", room1Focus, err)
	}
	if got == nil || got.From != alice.JID() || got.To != room1Focus || got.PayloadName() != (xml.Name{Space: NSDiscoInfo, Local: "query"}) {
		t.Fatalf("handler saw %+v", got)
	}
	if reply.From != room1Focus || !strings.Contains(string(reply.Payload), "urn:xmpp:jingle:1") {
		t.Fatalf("reply %+v payload %s", reply, reply.Payload)
	}
	// The shared decoders see jabber:client on the component stream too.
	info, err := alice.DiscoInfo(ctx, room1)
	if err != nil || len(info.Identities) != 1 || info.Identities[0].Category != "conference" {
		t.Fatalf("DiscoInfo(%s) = %+v, %v", room1, info, err)
	}

	boom := &jingle.IQ{To: room1Focus, Type: jingle.IQSet, Payload: []byte(`<boom xmlns="urn:example:boom"/>`)}
	if _, err := alice.SendIQ(ctx, boom); !errors.Is(err, &jingle.Error{Condition: jingle.CondInternalServerError}) {
		t.Fatalf("panicking handler: err = %v, want internal-server-error", err)
	}

	// Component → client: correlated by id, alice's built-in ping answers.
	ping := &jingle.IQ{From: room1Focus, To: alice.JID(), Type: jingle.IQGet, Payload: []byte(`<ping xmlns="urn:xmpp:ping"/>`)}
	if r, err := comp.SendIQ(ctx, ping); err != nil || r.Type != jingle.IQResult || r.From != alice.JID() {
		t.Fatalf("component ping: %+v, %v", r, err)
	}
	// An error reply comes back as the typed error: alice has no handler.
	echo := echoIQ(alice.JID(), 1, "x")
	echo.From = room1Focus
	if _, err := comp.SendIQ(ctx, echo); !errors.Is(err, jingle.ErrServiceUnavailable) {
		t.Fatalf("component IQ to a missing handler: err = %v, want service-unavailable", err)
	}
	// Disco of the client, through the component (bare domain as from).
	if r, err := comp.SendIQ(ctx, discoInfoIQ("call.localhost", alice.JID())); err != nil || !strings.Contains(string(r.Payload), NSCaps) {
		t.Fatalf("component disco#info of alice: %+v, %v", r, err)
	}

	for _, from := range []string{"", "room1@localhost/focus", "call.localhost.evil", "room1@evil.call.localhost"} {
		ping.From = from
		if _, err := comp.SendIQ(ctx, ping); !errors.Is(err, errFromOutsideDomain) {
			t.Errorf("SendIQ from %q: err = %v, want refusal", from, err)
		}
	}
	if !comp.Connected() {
		t.Fatal("refused sends cost the stream")
	}
}

// TestComponentMessages: messages both ways, addressed to and from room
// JIDs.
func TestComponentMessages(t *testing.T) {
	srv := newComponentServer(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	comp := newComponent(t, srv, nil)
	ctx := testCtx(t)
	toComp := make(chan *jingle.Message, 1)
	comp.HandleMessage(func(_ context.Context, m *jingle.Message) bool {
		toComp <- m
		return true
	})
	toAlice := make(chan *jingle.Message, 1)
	alice.HandleMessage(func(_ context.Context, m *jingle.Message) bool {
		toAlice <- m
		return true
	})
	if err := alice.SendMessage(ctx, &jingle.Message{To: room1, Type: "chat", Payload: []byte(`<body>hello room</body>`)}); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-toComp:
		els, err := m.Elements()
		if err != nil || m.From != alice.JID() || m.To != room1 || len(els) != 1 || els[0].XMLName != (xml.Name{Space: nsClient, Local: "body"}) {
			t.Fatalf("component got %+v (%s), %v", m, m.Payload, err)
		}
	case <-ctx.Done():
		t.Fatal("message never reached the component")
	}
	out := &jingle.Message{From: room1Focus, To: alice.JID(), Type: "chat", Payload: []byte(`<body>hello alice</body><propose xmlns="urn:xmpp:jingle-message:0" id="p1"/>`)}
	if err := comp.SendMessage(ctx, out); err != nil {
		t.Fatal(err)
	}
	select {
	case m := <-toAlice:
		els, err := m.Elements()
		if err != nil || m.From != room1Focus || len(els) != 2 ||
			els[0].XMLName != (xml.Name{Space: nsClient, Local: "body"}) ||
			els[1].XMLName != (xml.Name{Space: jingle.NSMessage, Local: "propose"}) {
			t.Fatalf("alice got %+v (%s), %v", m, m.Payload, err)
		}
	case <-ctx.Done():
		t.Fatal("message never reached alice")
	}
	if err := comp.SendMessage(ctx, &jingle.Message{From: "alice@localhost", To: alice.JID()}); !errors.Is(err, errFromOutsideDomain) {
		t.Fatalf("spoofed from: err = %v", err)
	}
	if err := comp.SendMessage(ctx, &jingle.Message{From: room1}); !errors.Is(err, errNoTo) {
		t.Fatalf("no to: err = %v", err)
	}
}

// TestComponentPresence: a subscription request to a room reaches the
// presence handler; the room's presence with caps reaches the client's
// presence table.
func TestComponentPresence(t *testing.T) {
	srv := newComponentServer(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	comp := newComponent(t, srv, nil)
	ctx := testCtx(t)
	presences := make(chan Presence, 8)
	comp.HandlePresence(func(_ context.Context, p Presence) { presences <- p })
	if err := alice.Subscribe(ctx, room1); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case p := <-presences:
			if p.Type != "subscribe" {
				continue // e.g. a probe
			}
			if p.From != alice.Bare() || p.To != room1 {
				t.Fatalf("subscribe %+v", p)
			}
		case <-ctx.Done():
			t.Fatal("subscription request never reached the component")
		}
		break
	}
	if err := comp.SendPresence(ctx, OutgoingPresence{From: room1, To: alice.Bare(), Type: "subscribed"}); err != nil {
		t.Fatal(err)
	}
	caps := &Caps{Hash: "sha-1", Node: "https://github.com/jingled/jingled", Ver: "q07IKJEyjvHSyhy//CH0CxmKi8w="}
	if err := comp.SendPresence(ctx, OutgoingPresence{From: room1Focus, To: alice.JID(), Status: "room1 focus", Caps: caps}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "alice seeing "+room1Focus, func() bool {
		_, ok := alice.PresenceOf(room1Focus)
		return ok
	})
	p, _ := alice.PresenceOf(room1Focus)
	if p.Caps == nil || *p.Caps != *caps || p.Status != "room1 focus" {
		t.Fatalf("presence of %s: %+v caps %+v", room1Focus, p, p.Caps)
	}
	if err := comp.SendPresence(ctx, OutgoingPresence{From: room1Focus, To: alice.JID(), Type: "unavailable"}); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "focus gone", func() bool {
		_, ok := alice.PresenceOf(room1Focus)
		return !ok
	})
	if err := comp.SendPresence(ctx, OutgoingPresence{From: "call.localhost.example", To: alice.JID()}); !errors.Is(err, errFromOutsideDomain) {
		t.Fatalf("foreign from: err = %v", err)
	}
}

// TestComponentWrongSecret: the server's refusal is a permanent error
// that says what to fix.
func TestComponentWrongSecret(t *testing.T) {
	srv := newComponentServer(t)
	var events []Event
	c, err := NewComponent(ComponentConfig{
		Domain: srv.ComponentJID, Secret: "wrong", Addr: srv.ComponentAddr,
		OnEvent: func(e Event) { events = append(events, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Start(testCtx(t))
	if !errors.Is(err, ErrAuth) || !strings.Contains(err.Error(), "the server refused the component secret for call.localhost: check component_secret") {
		t.Fatalf("err = %v, want ErrAuth with the component_secret hint", err)
	}
	var se *StreamError
	if !errors.As(err, &se) || se.Condition != "not-authorized" {
		t.Fatalf("err = %v does not carry the stream error", err)
	}
	if len(events) != 1 || events[0].Kind != EventConnectFailed || !events[0].Permanent {
		t.Fatalf("events %+v, want one permanent connect-failed", events)
	}
	select {
	case <-c.Done():
	default:
		t.Fatal("Done not closed")
	}
	if !errors.Is(c.Err(), ErrAuth) {
		t.Fatalf("Err() = %v", c.Err())
	}
}

// TestComponentUnknownDomain: connecting as a domain the server does not
// declare is a permanent error naming the fix.
func TestComponentUnknownDomain(t *testing.T) {
	srv := newComponentServer(t)
	c, err := NewComponent(ComponentConfig{Domain: "conf.localhost", Secret: "x", Addr: srv.ComponentAddr})
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(testCtx(t)); !errors.Is(err, ErrUnknownComponent) || !strings.Contains(err.Error(), "conf.localhost") {
		t.Fatalf("err = %v, want ErrUnknownComponent", err)
	}
}

// TestComponentDomainTaken: a second connection for the same domain is
// refused (Prosody's kick_new) and keeps retrying; the first one stays.
func TestComponentDomainTaken(t *testing.T) {
	srv := newComponentServer(t)
	first := newComponent(t, srv, nil)
	second, err := NewComponent(ComponentConfig{
		Domain: srv.ComponentJID, Secret: srv.ComponentSecret, Addr: srv.ComponentAddr,
		MaxAttempts: 2, MinBackoff: 5 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = second.Start(testCtx(t))
	if !errors.Is(err, ErrGaveUp) || !errors.Is(err, ErrDomainTaken) {
		t.Fatalf("err = %v, want ErrGaveUp and ErrDomainTaken", err)
	}
	if !first.Connected() {
		t.Fatal("first component lost its stream")
	}
}

// TestComponentReconnectsAfterRestart: Prosody restarts; the component
// reconnects by itself and serves again.
func TestComponentReconnectsAfterRestart(t *testing.T) {
	srv := newComponentServer(t)
	acc := srv.NewAccount(t, "alice")
	events := make(chan Event, 64)
	comp := newComponent(t, srv, func(c *ComponentConfig) {
		c.MinBackoff, c.MaxBackoff = 20*time.Millisecond, 200*time.Millisecond
		c.OnEvent = func(e Event) { events <- e }
	})
	comp.HandleIQ(func(_ context.Context, iq *jingle.IQ) *jingle.IQ { return iq.Result() })
	ctx := testCtx(t)
	if err := srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	connected := 0
	for sawDown := false; connected < 2 || !sawDown; {
		select {
		case e := <-events:
			switch e.Kind {
			case EventConnected:
				connected++
				if e.JID != "call.localhost" {
					t.Errorf("connected as %q", e.JID)
				}
			case EventDisconnected:
				sawDown = true
			}
		case <-ctx.Done():
			t.Fatalf("no reconnection (%d connected events)", connected)
		}
	}
	alice := newClient(t, srv, acc, "desk", nil)
	if _, err := alice.SendIQ(ctx, discoInfoIQ("", room1Focus)); err != nil {
		t.Fatalf("IQ after reconnection: %v", err)
	}
}

// TestComponentReconnectsAfterStreamLoss: the TCP connection breaks; an IQ
// in flight fails with ErrDisconnected and the component comes back.
func TestComponentReconnectsAfterStreamLoss(t *testing.T) {
	srv := newComponentServer(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	cut := newCutter(t, srv.ComponentAddr)
	events := make(chan Event, 64)
	comp := newComponent(t, srv, func(c *ComponentConfig) {
		c.Addr = cut.l.Addr().String()
		c.MinBackoff = 5 * time.Millisecond
		c.OnEvent = func(e Event) { events <- e }
	})
	ctx := testCtx(t)
	alice.HandleIQ(nsEcho, "echo", func(context.Context, *jingle.IQ) *jingle.IQ { return nil }) // never answers
	hang := echoIQ(alice.JID(), 1, "hang")
	hang.From = room1Focus
	errc := sendIQInFlight(ctx, t, comp, hang)
	cut.cut()
	if err := <-errc; !errors.Is(err, ErrDisconnected) {
		t.Fatalf("in-flight IQ: err = %v, want ErrDisconnected", err)
	}
	connected := 0
	for connected < 2 {
		select {
		case e := <-events:
			if e.Kind == EventConnected {
				connected++
			}
		case <-ctx.Done():
			t.Fatal("no reconnection")
		}
	}
	ping := &jingle.IQ{From: room1Focus, To: alice.JID(), Type: jingle.IQGet, Payload: []byte(`<ping xmlns="urn:xmpp:ping"/>`)}
	if _, err := comp.SendIQ(ctx, ping); err != nil {
		t.Fatalf("IQ after reconnection: %v", err)
	}
}

// TestComponentFloodIsBounded: IQ requests beyond the queue are refused
// with resource-constraint at once while the dispatcher is busy.
func TestComponentFloodIsBounded(t *testing.T) {
	srv := newComponentServer(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	const queue = 2
	comp := newComponent(t, srv, func(c *ComponentConfig) { c.QueueSize = queue })
	block, entered, release := blockingIQHandler()
	comp.HandleIQ(block)
	ctx := testCtx(t)
	first := sendIQAsync(ctx, alice, echoIQ(room1Focus, 0, "first"))
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("handler never ran")
	}
	const flood = 12
	results := make(chan error, flood)
	for i := 1; i <= flood; i++ {
		go func() {
			_, err := alice.SendIQ(ctx, echoIQ(room1Focus, i, "flood"))
			results <- err
		}()
	}
	for refused := 0; refused < flood-queue; refused++ {
		select {
		case err := <-results:
			var je *jingle.Error
			if !errors.As(err, &je) || je.Condition != jingle.CondResourceConstraint {
				t.Fatalf("flooding IQ: err = %v, want resource-constraint", err)
			}
		case <-ctx.Done():
			t.Fatal("excess requests not refused")
		}
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i := 0; i < queue; i++ {
		if err := <-results; err != nil {
			t.Fatalf("queued request: %v", err)
		}
	}
}

// TestComponentCloseStopsEverything: Close waits for every goroutine the
// component started, with a request in flight and a busy handler.
func TestComponentCloseStopsEverything(t *testing.T) {
	srv := newComponentServer(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	alice.HandleIQ(nsEcho, "echo", func(context.Context, *jingle.IQ) *jingle.IQ { return nil })
	ctx := testCtx(t)
	ignore := goleak.IgnoreCurrent()
	comp, err := NewComponent(ComponentConfig{Domain: srv.ComponentJID, Secret: srv.ComponentSecret, Addr: srv.ComponentAddr})
	if err != nil {
		t.Fatal(err)
	}
	if err := comp.Start(ctx); err != nil {
		t.Fatal(err)
	}
	entered := make(chan struct{})
	var once sync.Once
	comp.HandleIQ(func(ctx context.Context, iq *jingle.IQ) *jingle.IQ {
		once.Do(func() { close(entered) })
		<-ctx.Done() // busy until Close
		return nil
	})
	// alice's request stays unanswered: the component closes before it
	// replies and Prosody does not answer for it afterwards.
	actx, acancel := context.WithCancel(ctx)
	aliceDone := make(chan struct{})
	go func() {
		defer close(aliceDone)
		_, _ = alice.SendIQ(actx, discoInfoIQ("", room1Focus))
	}()
	defer func() { acancel(); <-aliceDone }()
	<-entered
	hang := echoIQ(alice.JID(), 1, "hang")
	hang.From = room1Focus
	errc := sendIQInFlight(ctx, t, comp, hang)
	if err := comp.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("pending IQ: err = %v, want ErrClosed", err)
	}
	select {
	case <-comp.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if err := comp.SendMessage(ctx, &jingle.Message{From: room1, To: alice.JID()}); !errors.Is(err, ErrClosed) {
		t.Fatalf("send after Close: err = %v", err)
	}
	acancel()
	<-aliceDone
	goleak.VerifyNone(t, ignore)
}
