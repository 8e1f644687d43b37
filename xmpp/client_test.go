package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/jingle"
)

func TestMain(m *testing.M) {
	code := prosodytest.Run(m)
	if code == 0 {
		if err := goleak.Find(); err != nil {
			fmt.Fprintln(os.Stderr, "goroutine leak:", err)
			code = 1
		}
	}
	os.Exit(code)
}

// testTimeout bounds every wait in these tests; hitting it is a failure.
const testTimeout = 20 * time.Second

func testCtx(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return ctx
}

// newClient connects acc to srv over STARTTLS with the harness CA.
func newClient(t *testing.T, srv *prosodytest.Server, acc prosodytest.Account, resource string, edit func(*Config)) *Client {
	t.Helper()
	cfg := Config{
		JID:      acc.JID,
		Password: acc.Password,
		Resource: resource,
		Addr:     srv.Addr,
		CAFile:   srv.CAFile,
	}
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	if err := c.Start(testCtx(t)); err != nil {
		t.Fatalf("Start %s: %v", acc.JID, err)
	}
	t.Cleanup(func() { _ = c.Close() })
	return c
}

const nsEcho = "urn:example:echo"

type echoPayload struct {
	XMLName xml.Name `xml:"urn:example:echo echo"`
	N       int      `xml:"n,attr"`
	Text    string   `xml:",chardata"`
}

func echoIQ(to string, n int, text string) *jingle.IQ {
	b, _ := xml.Marshal(echoPayload{N: n, Text: text})
	return &jingle.IQ{To: to, Type: jingle.IQGet, Payload: b}
}

func TestIQCorrelationAndTypedErrors(t *testing.T) {
	srv := prosodytest.Shared(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	bob := newClient(t, srv, srv.NewAccount(t, "bob"), "phone", nil)
	if alice.JID() != bareJID(alice.JID())+"/desk" || !alice.Encrypted() || !strings.HasPrefix(alice.Mechanism(), "SCRAM-SHA-") {
		t.Fatalf("alice: jid %q encrypted %v mechanism %q", alice.JID(), alice.Encrypted(), alice.Mechanism())
	}
	alice.HandleIQ(nsEcho, "echo", func(_ context.Context, iq *jingle.IQ) *jingle.IQ {
		var p echoPayload
		if err := xml.Unmarshal(iq.Payload, &p); err != nil {
			return iq.ErrorReply(jingle.ErrBadRequest)
		}
		if p.Text == "refuse" {
			return iq.ErrorReply(&jingle.Error{Type: jingle.ErrorTypeModify, Condition: jingle.CondNotAcceptable, Text: "refused on purpose"})
		}
		r := iq.Result()
		p.Text = "re:" + p.Text + " from " + iq.From
		r.Payload, _ = xml.Marshal(p)
		return r
	})
	ctx := testCtx(t)

	// Many requests in flight at once: each reply must reach its caller.
	const n = 25
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			reply, err := bob.SendIQ(ctx, echoIQ(alice.JID(), i, fmt.Sprint("m", i)))
			if err != nil {
				errs <- err
				return
			}
			var p echoPayload
			if err := xml.Unmarshal(reply.Payload, &p); err != nil {
				errs <- err
				return
			}
			if want := fmt.Sprintf("re:m%d from %s", i, bob.JID()); p.N != i || p.Text != want {
				errs <- fmt.Errorf("request %d got reply %d %q, want %q", i, p.N, p.Text, want)
			}
			if reply.From != alice.JID() {
				errs <- fmt.Errorf("reply from %q", reply.From)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}

	// An error reply comes back typed.
	_, err := bob.SendIQ(ctx, echoIQ(alice.JID(), 0, "refuse"))
	var je *jingle.Error
	if !errors.As(err, &je) || je.Condition != jingle.CondNotAcceptable || je.Type != jingle.ErrorTypeModify || je.Text != "refused on purpose" {
		t.Fatalf("error reply: %v (%#v)", err, je)
	}

	// No handler: service-unavailable.
	b, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"urn:example:nobody q"`
	}{})
	_, err = bob.SendIQ(ctx, &jingle.IQ{To: alice.JID(), Type: jingle.IQSet, Payload: b})
	if !errors.Is(err, jingle.ErrServiceUnavailable) {
		t.Fatalf("unhandled IQ: err = %v, want service-unavailable", err)
	}

	// An IQ to an offline resource is bounced by the server.
	_, err = bob.SendIQ(ctx, echoIQ(bareJID(alice.JID())+"/gone", 1, "x"))
	if !errors.As(err, &je) {
		t.Fatalf("IQ to offline resource: err = %v, want a stanza error", err)
	}

	// Ping is answered by the package (XEP-0199).
	ping, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"urn:xmpp:ping ping"`
	}{})
	if _, err := bob.SendIQ(ctx, &jingle.IQ{To: alice.JID(), Type: jingle.IQGet, Payload: ping}); err != nil {
		t.Fatalf("ping: %v", err)
	}
	// And our own server answers a ping with empty to.
	if _, err := bob.SendIQ(ctx, &jingle.IQ{Type: jingle.IQGet, Payload: ping}); err != nil {
		t.Fatalf("server ping: %v", err)
	}
}

func TestMessages(t *testing.T) {
	srv := prosodytest.Shared(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	bob := newClient(t, srv, srv.NewAccount(t, "bob"), "phone", nil)
	got := make(chan *jingle.Message, 1)
	alice.HandleMessage(func(_ context.Context, m *jingle.Message) bool {
		got <- m
		return true
	})
	// A JMI propose with a hint and a receipt request: a chat-message
	// abstraction would split these; we must get them verbatim.
	payload := `<propose xmlns="urn:xmpp:jingle-message:0" id="sid-1"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio"/></propose>` +
		`<request xmlns="urn:xmpp:receipts"/><store xmlns="urn:xmpp:hints"/>`
	ctx := testCtx(t)
	if err := bob.SendMessage(ctx, &jingle.Message{To: bareJID(alice.JID()), Type: "chat", Payload: []byte(payload)}); err != nil {
		t.Fatal(err)
	}
	var m *jingle.Message
	select {
	case m = <-got:
	case <-ctx.Done():
		t.Fatal("message not delivered")
	}
	if m.From != bob.JID() || m.Type != "chat" || m.ID == "" {
		t.Fatalf("message header: %+v", m)
	}
	els, err := m.Elements()
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range els {
		names = append(names, e.XMLName.Space+" "+e.XMLName.Local)
	}
	want := []string{"urn:xmpp:jingle-message:0 propose", "urn:xmpp:receipts request", "urn:xmpp:hints store"}
	if !slices.Equal(names, want) {
		t.Fatalf("children %v, want %v", names, want)
	}
	var prop struct {
		ID   string `xml:"id,attr"`
		Desc struct {
			XMLName xml.Name
			Media   string `xml:"media,attr"`
		} `xml:"description"`
	}
	if err := els[0].Decode(&prop); err != nil {
		t.Fatal(err)
	}
	if prop.ID != "sid-1" || prop.Desc.Media != "audio" || prop.Desc.XMLName.Space != "urn:xmpp:jingle:apps:rtp:1" {
		t.Fatalf("propose lost detail: %+v", prop)
	}
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("timed out waiting for %s", what)
		case <-tick.C:
		}
	}
}

// subscribe makes a see b's presence (b approves through its policy).
func subscribe(ctx context.Context, t *testing.T, a, b *Client) {
	t.Helper()
	if err := a.Subscribe(ctx, b.Bare()); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, a.Bare()+" seeing "+b.JID(), func() bool { return slices.Contains(a.Resources(b.Bare()), b.JID()) })
}

func TestDiscoInfoAndCaps(t *testing.T) {
	srv := prosodytest.Shared(t)
	approve := func(string) bool { return true }
	aliceFeatures := []string{"urn:xmpp:jingle:1", "urn:xmpp:jingle:apps:rtp:1", "urn:xmpp:jingle-message:0"}
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", func(c *Config) {
		c.Features = aliceFeatures
		c.Identity = Identity{Category: "client", Type: "pc", Name: "alice's desk"}
		c.SubscriptionPolicy = approve
	})
	bob := newClient(t, srv, srv.NewAccount(t, "bob"), "phone", func(c *Config) {
		c.SubscriptionPolicy = approve
	})
	ctx := testCtx(t)
	subscribe(ctx, t, bob, alice)
	subscribe(ctx, t, alice, bob)

	check := func(asker, target *Client, registered []string) {
		t.Helper()
		info, err := asker.DiscoInfo(ctx, target.JID())
		if err != nil {
			t.Fatal(err)
		}
		want := normalizeFeatures(append(append([]string(nil), builtinFeatures...), registered...))
		if got := normalizeFeatures(info.Features); !slices.Equal(got, want) || len(info.Features) != len(want) {
			t.Errorf("disco#info of %s lists %v, want exactly %v", target.JID(), info.Features, want)
		}
		if len(info.Identities) != 1 || info.Identities[0] != target.Identity() {
			t.Errorf("identities %v, want %v", info.Identities, target.Identity())
		}
		p, ok := asker.PresenceOf(target.JID())
		if !ok || p.Caps == nil {
			t.Fatalf("no caps in presence of %s: %+v", target.JID(), p)
		}
		if p.Caps.Ver != target.CapsVer() || p.Caps.Node != DefaultCapsNode || p.Caps.Hash != "sha-1" {
			t.Errorf("caps %+v, want ver %s", *p.Caps, target.CapsVer())
		}
		if _, err := asker.VerifyPeerCaps(ctx, target.JID()); err != nil {
			t.Errorf("caps of %s do not verify: %v", target.JID(), err)
		}
	}
	check(bob, alice, aliceFeatures)
	check(alice, bob, nil)

	// Registering a feature changes the caps; the new presence verifies.
	old := alice.CapsVer()
	alice.AddFeatures("urn:xmpp:jingle:apps:file-transfer:5")
	waitFor(ctx, t, "new caps", func() bool {
		p, _ := bob.PresenceOf(alice.JID())
		return p.Caps != nil && p.Caps.Ver != old
	})
	check(bob, alice, append(aliceFeatures, "urn:xmpp:jingle:apps:file-transfer:5"))

	// A node we never announced is item-not-found.
	_, err := bob.DiscoInfoNode(ctx, alice.JID(), "urn:example:other")
	var je *jingle.Error
	if !errors.As(err, &je) || je.Condition != jingle.CondItemNotFound {
		t.Fatalf("unknown node: err = %v, want item-not-found", err)
	}

	// Going offline removes the resource.
	_ = alice.Close()
	waitFor(ctx, t, "alice offline", func() bool { return len(bob.Resources(alice.Bare())) == 0 })
}

func TestSubscriptionDenied(t *testing.T) {
	srv := prosodytest.Shared(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil) // nil policy denies
	answers := make(chan string, 4)
	bob := newClient(t, srv, srv.NewAccount(t, "bob"), "phone", func(c *Config) {
		c.OnPresence = func(p Presence) {
			if bareJID(p.From) != "" && p.Type != "" {
				select {
				case answers <- p.Type:
				default: // never block the dispatcher
				}
			}
		}
	})
	ctx := testCtx(t)
	if err := bob.Subscribe(ctx, alice.Bare()); err != nil {
		t.Fatal(err)
	}
	for {
		select {
		case typ := <-answers:
			if typ == "subscribed" {
				t.Fatal("subscription approved by a nil policy")
			}
			if typ == "unsubscribed" {
				if r := bob.Resources(alice.Bare()); len(r) != 0 {
					t.Fatalf("bob sees %v after a denial", r)
				}
				return
			}
		case <-ctx.Done():
			t.Fatal("no answer to the subscription request")
		}
	}
}

func TestWrongPasswordIsAnAuthError(t *testing.T) {
	srv := prosodytest.Shared(t)
	acc := srv.NewAccount(t, "carol")
	var events []Event
	c, err := New(Config{
		JID: acc.JID, Password: "not-" + acc.Password, Addr: srv.Addr, CAFile: srv.CAFile,
		MinBackoff: time.Millisecond,
		OnEvent:    func(e Event) { events = append(events, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Start(testCtx(t))
	if !errors.Is(err, ErrAuth) {
		t.Fatalf("err = %v, want ErrAuth", err)
	}
	<-c.Done()
	if !errors.Is(c.Err(), ErrAuth) {
		t.Fatalf("Err() = %v", c.Err())
	}
	if len(events) != 1 || events[0].Kind != EventConnectFailed || !events[0].Permanent || !errors.Is(events[0].Err, ErrAuth) {
		t.Fatalf("events %+v, want one permanent connect failure", events)
	}
}

func TestUnreachableRetriesWithBackoff(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close() // nothing listens there now
	var events []Event
	c, err := New(Config{
		JID: "dave@localhost", Password: "x", Addr: addr,
		MinBackoff: 5 * time.Millisecond, MaxBackoff: 15 * time.Millisecond, MaxAttempts: 4,
		OnEvent: func(e Event) { events = append(events, e) },
	})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Start(testCtx(t))
	if !errors.Is(err, ErrGaveUp) {
		t.Fatalf("err = %v, want ErrGaveUp", err)
	}
	var opErr *net.OpError
	if !errors.As(err, &opErr) {
		t.Fatalf("err = %v does not carry the dial error", err)
	}
	var failures int
	var backoffs []time.Duration
	for _, e := range events {
		switch e.Kind {
		case EventConnectFailed:
			failures++
			if e.Permanent || !errors.As(e.Err, &opErr) {
				t.Errorf("failure event %+v", e)
			}
		case EventRetry:
			backoffs = append(backoffs, e.Backoff)
			if e.Delay < e.Backoff || e.Delay > e.Backoff+e.Backoff/5 {
				t.Errorf("delay %v outside [%v, +20%%]", e.Delay, e.Backoff)
			}
		}
	}
	if failures != 4 {
		t.Errorf("%d failures reported, want 4", failures)
	}
	if want := []time.Duration{5 * time.Millisecond, 10 * time.Millisecond, 15 * time.Millisecond}; !slices.Equal(backoffs, want) {
		t.Errorf("backoffs %v, want %v", backoffs, want)
	}
	if last := events[len(events)-1]; last.Kind != EventGaveUp {
		t.Errorf("last event %v, want gave-up", last.Kind)
	}
}

// cutter is a loopback TCP forwarder whose connections the test can cut,
// to break a client's stream without touching the server.
type cutter struct {
	l      net.Listener
	target string
	mu     sync.Mutex
	conns  []net.Conn
	held   bool // new connections are closed at once
	drops  []*atomic.Bool
	wg     sync.WaitGroup
}

// blackhole makes the connections made so far drop every byte silently,
// both ways, as a path whose NAT forgot them does: no error, no reset.
func (c *cutter) blackhole() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, d := range c.drops {
		d.Store(true)
	}
}

// forward copies src to dst until either fails, dropping what it reads
// while drop holds.
func forward(dst, src net.Conn, drop *atomic.Bool) {
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 && !drop.Load() {
			if _, werr := dst.Write(buf[:n]); werr != nil {
				break
			}
		}
		if err != nil {
			break
		}
	}
	dst.Close()
}

// hold makes the server unreachable through c (held) or reachable again.
func (c *cutter) hold(held bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.held = held
}

func newCutter(t *testing.T, target string) *cutter {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	c := &cutter{l: l, target: target}
	c.wg.Add(1)
	go c.accept()
	t.Cleanup(func() {
		l.Close()
		c.cut()
		c.wg.Wait()
	})
	return c
}

func (c *cutter) accept() {
	defer c.wg.Done()
	for {
		in, err := c.l.Accept()
		if err != nil {
			return
		}
		c.mu.Lock()
		held := c.held
		c.mu.Unlock()
		if held {
			in.Close()
			continue
		}
		out, err := net.Dial("tcp", c.target)
		if err != nil {
			in.Close()
			continue
		}
		drop := new(atomic.Bool)
		c.mu.Lock()
		c.conns = append(c.conns, in, out)
		c.drops = append(c.drops, drop)
		c.mu.Unlock()
		c.wg.Add(2)
		go func() { defer c.wg.Done(); forward(out, in, drop) }()
		go func() { defer c.wg.Done(); forward(in, out, drop) }()
	}
}

func (c *cutter) cut() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, conn := range c.conns {
		conn.Close()
	}
	c.conns = nil
}

func TestReconnectAfterStreamLoss(t *testing.T) {
	srv := prosodytest.Shared(t)
	cut := newCutter(t, srv.Addr)
	events := make(chan Event, 32)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	accBob := srv.NewAccount(t, "bob")
	bob := newClient(t, srv, accBob, "phone", func(c *Config) {
		c.Addr = cut.l.Addr().String()
		c.MinBackoff = 5 * time.Millisecond
		c.OnEvent = func(e Event) { events <- e }
	})
	ctx := testCtx(t)
	// A request in flight when the stream breaks fails with ErrDisconnected.
	alice.HandleIQ(nsEcho, "echo", func(_ context.Context, iq *jingle.IQ) *jingle.IQ {
		if iq.From != bob.JID() {
			return iq.ErrorReply(jingle.ErrForbidden)
		}
		var p echoPayload
		_ = xml.Unmarshal(iq.Payload, &p)
		if p.Text == "hang" {
			return nil // never answered
		}
		return iq.Result()
	})
	errc := sendIQInFlight(ctx, t, bob, echoIQ(alice.JID(), 1, "hang"))
	cut.cut()
	if err := <-errc; !errors.Is(err, ErrDisconnected) {
		t.Fatalf("in-flight IQ: err = %v, want ErrDisconnected", err)
	}
	for seen := map[EventKind]bool{}; !seen[EventConnected] || !seen[EventDisconnected]; {
		select {
		case e := <-events:
			if e.Kind == EventConnected && !seen[EventDisconnected] {
				continue // the first connection
			}
			seen[e.Kind] = true
		case <-ctx.Done():
			t.Fatal("no reconnection")
		}
	}
	waitFor(ctx, t, "stream back", bob.Connected)
	if _, err := bob.SendIQ(ctx, echoIQ(alice.JID(), 2, "after")); err != nil {
		t.Fatalf("IQ after reconnect: %v", err)
	}
}

func TestCloseFailsPendingIQ(t *testing.T) {
	srv := prosodytest.Shared(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	bob := newClient(t, srv, srv.NewAccount(t, "bob"), "phone", nil)
	alice.HandleIQ(nsEcho, "echo", func(context.Context, *jingle.IQ) *jingle.IQ { return nil }) // never answers
	ctx := testCtx(t)
	errc := sendIQInFlight(ctx, t, bob, echoIQ(alice.JID(), 1, "x"))
	if err := bob.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, ErrClosed) {
		t.Fatalf("pending IQ after Close: err = %v, want ErrClosed", err)
	}
	select {
	case <-bob.Done():
	default:
		t.Fatal("Done not closed after Close")
	}
	if _, err := bob.SendIQ(ctx, echoIQ(alice.JID(), 2, "y")); !errors.Is(err, ErrClosed) {
		t.Fatalf("SendIQ after Close: err = %v", err)
	}
}

func TestPlainLoopbackConnection(t *testing.T) {
	srv := prosodytest.New(t, prosodytest.WithPlainC2S())
	acc := srv.NewAccount(t, "erin")
	c := newClient(t, srv, acc, "plain", func(c *Config) { c.AllowPlainLoopback = true })
	if c.Encrypted() {
		t.Fatal("stream encrypted although plain was allowed and the server does not require TLS")
	}
	// The default still insists on TLS with the same server.
	c2 := newClient(t, srv, acc, "tls", nil)
	if !c2.Encrypted() {
		t.Fatal("default connection not encrypted")
	}
}

// TestFloodIsBounded: while the dispatcher is busy, IQ requests beyond the
// queue are refused with resource-constraint (type wait) at once, the
// queued ones are answered once it is free, and nothing leaks (TestMain
// checks goroutines).
func TestFloodIsBounded(t *testing.T) {
	srv := prosodytest.Shared(t)
	const queue = 4
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", func(c *Config) { c.QueueSize = queue })
	bob := newClient(t, srv, srv.NewAccount(t, "bob"), "phone", nil)
	block, entered, release := blockingIQHandler()
	alice.HandleIQ(nsEcho, "echo", block)
	ctx := testCtx(t)
	// The first request occupies the dispatcher.
	first := sendIQAsync(ctx, bob, echoIQ(alice.JID(), 0, "first"))
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("handler never ran")
	}
	const flood = 40
	results := make(chan error, flood)
	for i := 1; i <= flood; i++ {
		go func() {
			_, err := bob.SendIQ(ctx, echoIQ(alice.JID(), i, "flood"))
			results <- err
		}()
	}
	var refused int
	for refused < flood-queue {
		select {
		case err := <-results:
			var je *jingle.Error
			if !errors.As(err, &je) || je.Condition != jingle.CondResourceConstraint || je.Type != jingle.ErrorTypeWait {
				t.Fatalf("flooding IQ: err = %v, want resource-constraint", err)
			}
			refused++
		case <-ctx.Done():
			t.Fatalf("only %d of %d excess requests refused", refused, flood-queue)
		}
	}
	close(release)
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	// The rest were queued (presence notifications share the queue, so
	// they may have taken a slot and pushed one more request out).
	for done := refused; done < flood; done++ {
		err := <-results
		var je *jingle.Error
		if err != nil && (!errors.As(err, &je) || je.Condition != jingle.CondResourceConstraint) {
			t.Fatalf("queued request: %v", err)
		}
	}
}

// TestResourceConflictStops: a second session binding our resource makes
// the server close our stream with <conflict/>; the client reports it and
// does not reconnect (which would throw the other session out in turn).
func TestResourceConflictStops(t *testing.T) {
	srv := prosodytest.Shared(t)
	acc := srv.NewAccount(t, "frank")
	first := newClient(t, srv, acc, "same", nil)
	second := newClient(t, srv, acc, "same", nil)
	ctx := testCtx(t)
	select {
	case <-first.Done():
	case <-ctx.Done():
		t.Fatal("first session still running after the conflict")
	}
	var se *StreamError
	if !errors.As(first.Err(), &se) || se.Condition != "conflict" {
		t.Fatalf("Err() = %v, want stream error conflict", first.Err())
	}
	if !second.Connected() {
		t.Fatal("second session lost its stream")
	}
	ping, _ := xml.Marshal(struct {
		XMLName xml.Name `xml:"urn:xmpp:ping ping"`
	}{})
	if _, err := second.SendIQ(ctx, &jingle.IQ{Type: jingle.IQGet, Payload: ping}); err != nil {
		t.Fatalf("second session: %v", err)
	}
}

// TestSpoofedReplyIgnored: a third party answering our IQ id is ignored;
// the addressee's answer is the one returned.
func TestSpoofedReplyIgnored(t *testing.T) {
	srv := prosodytest.Shared(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	bob := newClient(t, srv, srv.NewAccount(t, "bob"), "phone", nil)
	mallory := newClient(t, srv, srv.NewAccount(t, "mallory"), "x", nil)
	release := make(chan struct{})
	entered := make(chan struct{})
	alice.HandleIQ(nsEcho, "echo", func(ctx context.Context, iq *jingle.IQ) *jingle.IQ {
		close(entered)
		select {
		case <-release:
		case <-ctx.Done():
		}
		r := iq.Result()
		r.Payload, _ = xml.Marshal(echoPayload{Text: "genuine"})
		return r
	})
	marker := make(chan struct{})
	bob.HandleMessage(func(_ context.Context, m *jingle.Message) bool {
		if m.From == mallory.JID() {
			close(marker)
		}
		return true
	})
	ctx := testCtx(t)
	type result struct {
		iq  *jingle.IQ
		err error
	}
	res := make(chan result, 1)
	go func() {
		iq, err := bob.SendIQ(ctx, echoIQ(alice.JID(), 1, "x"))
		res <- result{iq, err}
	}()
	select {
	case <-entered:
	case <-ctx.Done():
		t.Fatal("alice never got the request")
	}
	bob.mu.Lock()
	var id string
	for k := range bob.pending {
		id = k
	}
	bob.mu.Unlock()
	s, err := mallory.current()
	if err != nil {
		t.Fatal(err)
	}
	fake, _ := xml.Marshal(echoPayload{Text: "forged"})
	if err := s.writeStanza(jingle.IQ{ID: id, To: bob.JID(), Type: jingle.IQResult, Payload: fake}); err != nil {
		t.Fatal(err)
	}
	// The server keeps mallory's stanzas to bob in order: once this
	// message arrived, the forged reply was read (and must be ignored).
	if err := mallory.SendMessage(ctx, &jingle.Message{To: bob.JID(), Type: "chat"}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-marker:
	case <-ctx.Done():
		t.Fatal("marker message lost")
	}
	select {
	case r := <-res:
		t.Fatalf("SendIQ returned on the forged reply: %+v %v", r.iq, r.err)
	default:
	}
	close(release)
	r := <-res
	if r.err != nil {
		t.Fatal(r.err)
	}
	var p echoPayload
	if err := xml.Unmarshal(r.iq.Payload, &p); err != nil || p.Text != "genuine" || r.iq.From != alice.JID() {
		t.Fatalf("reply %+v payload %q", r.iq, p.Text)
	}
}

// TestReconnectKeepsServerResource: a resource chosen by the server is
// asked for again after a reconnection, so our full JID does not change.
func TestReconnectKeepsServerResource(t *testing.T) {
	srv := prosodytest.Shared(t)
	cut := newCutter(t, srv.Addr)
	reconnected := make(chan struct{}, 1)
	var connects int
	c := newClient(t, srv, srv.NewAccount(t, "gina"), "", func(c *Config) {
		c.Addr = cut.l.Addr().String()
		c.MinBackoff = 5 * time.Millisecond
		c.OnEvent = func(e Event) {
			if e.Kind == EventConnected {
				connects++
				if connects == 2 {
					reconnected <- struct{}{}
				}
			}
		}
	})
	first := c.JID()
	if _, r, _ := strings.Cut(first, "/"); r == "" {
		t.Fatalf("no resource bound: %q", first)
	}
	cut.cut()
	ctx := testCtx(t)
	select {
	case <-reconnected:
	case <-ctx.Done():
		t.Fatal("no reconnection")
	}
	if got := c.JID(); got != first {
		t.Fatalf("full JID changed from %s to %s", first, got)
	}
}

// TestLargeAndPrefixedPayloadsSurvive: a stanza far larger than one read,
// with namespace prefixes, xml:lang and escaped text, arrives intact
// (compared as XML trees).
func TestLargeAndPrefixedPayloadsSurvive(t *testing.T) {
	srv := prosodytest.Shared(t)
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", nil)
	bob := newClient(t, srv, srv.NewAccount(t, "bob"), "phone", nil)
	got := make(chan []byte, 1)
	alice.HandleIQ("urn:example:big", "big", func(_ context.Context, iq *jingle.IQ) *jingle.IQ {
		got <- iq.Payload
		r := iq.Result()
		r.Payload = iq.Payload // echo it back
		return r
	})
	text := strings.Repeat("0123456789abcdef<&>'\" ", 4000) // ~88 KB once escaped
	var b strings.Builder
	b.WriteString(`<big xmlns="urn:example:big" xmlns:p="urn:example:prefixed" xml:lang="de" n="1">`)
	b.WriteString(`<p:inner p:attr="v" plain="w"><p:leaf/><other xmlns="urn:example:other" k="&lt;&amp;&gt;"/></p:inner><text>`)
	_ = xml.EscapeText(&b, []byte(text))
	b.WriteString(`</text></big>`)
	payload := []byte(b.String())
	ctx := testCtx(t)
	reply, err := bob.SendIQ(ctx, &jingle.IQ{To: alice.JID(), Type: jingle.IQSet, Payload: payload})
	if err != nil {
		t.Fatal(err)
	}
	if !sameTree(t, <-got, payload) {
		t.Fatal("request payload changed on the way in")
	}
	if !sameTree(t, reply.Payload, payload) {
		t.Fatal("reply payload changed on the way back")
	}
}

// sameTree compares two XML documents as trees of resolved names,
// attributes and text.
func sameTree(t *testing.T, a, b []byte) bool {
	t.Helper()
	ta, tb := tokens(t, a), tokens(t, b)
	if len(ta) != len(tb) {
		t.Logf("token counts %d vs %d", len(ta), len(tb))
		return false
	}
	for i := range ta {
		if ta[i] != tb[i] {
			t.Logf("token %d: %q vs %q", i, ta[i], tb[i])
			return false
		}
	}
	return true
}

func tokens(t *testing.T, doc []byte) []string {
	t.Helper()
	d := xml.NewDecoder(strings.NewReader(string(doc)))
	var out []string
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		switch v := tok.(type) {
		case xml.StartElement:
			var attrs []string
			for _, a := range stripNSDecls(v.Attr) {
				attrs = append(attrs, a.Name.Space+"|"+a.Name.Local+"="+a.Value)
			}
			slices.Sort(attrs)
			out = append(out, "<"+v.Name.Space+"|"+v.Name.Local+" "+strings.Join(attrs, " "))
		case xml.EndElement:
			out = append(out, "</"+v.Name.Space+"|"+v.Name.Local)
		case xml.CharData:
			if s := strings.TrimSpace(string(v)); s != "" {
				out = append(out, "#"+string(v))
			}
		}
	}
}

// TestStalledServerTimesOut: a server that accepts TCP and never speaks
// fails the attempt after DialTimeout (and is retried), instead of holding
// the client forever.
func TestStalledServerTimesOut(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	var conns []net.Conn
	accepted := make(chan struct{})
	go func() {
		defer close(accepted)
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c) // held open, silent
			mu.Unlock()
		}
	}()
	defer func() {
		l.Close()
		<-accepted
		mu.Lock()
		for _, c := range conns {
			c.Close() // lets the abandoned handshakes end
		}
		mu.Unlock()
	}()
	c, err := New(Config{
		JID: "hank@localhost", Password: "x", Addr: l.Addr().String(),
		DialTimeout: 50 * time.Millisecond, MinBackoff: time.Millisecond, MaxAttempts: 2,
	})
	if err != nil {
		t.Fatal(err)
	}
	err = c.Start(testCtx(t))
	if !errors.Is(err, ErrGaveUp) || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %v, want giving up after deadline-exceeded attempts", err)
	}
}

// TestProxy65Component: the harness's SOCKS5 proxy (XEP-0065) answers its
// streamhost query with the loopback address it listens on.
func TestProxy65Component(t *testing.T) {
	srv := prosodytest.New(t, prosodytest.WithProxy65())
	c := newClient(t, srv, srv.NewAccount(t, "ida"), "ft", nil)
	ctx := testCtx(t)
	info, err := c.DiscoInfo(ctx, srv.ProxyJID)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Identities) == 0 || info.Identities[0].Category != "proxy" || !slices.Contains(info.Features, "http://jabber.org/protocol/bytestreams") {
		t.Fatalf("proxy disco#info %+v", info)
	}
	reply, err := c.SendIQ(ctx, &jingle.IQ{To: srv.ProxyJID, Type: jingle.IQGet, Payload: []byte(`<query xmlns="http://jabber.org/protocol/bytestreams"/>`)})
	if err != nil {
		t.Fatal(err)
	}
	var q struct {
		Hosts []struct {
			JID  string `xml:"jid,attr"`
			Host string `xml:"host,attr"`
			Port string `xml:"port,attr"`
		} `xml:"streamhost"`
	}
	if err := xml.Unmarshal(reply.Payload, &q); err != nil {
		t.Fatal(err)
	}
	if len(q.Hosts) != 1 || q.Hosts[0].JID != srv.ProxyJID || net.JoinHostPort(q.Hosts[0].Host, q.Hosts[0].Port) != srv.ProxyAddr {
		t.Fatalf("streamhosts %+v, want %s at %s", q.Hosts, srv.ProxyJID, srv.ProxyAddr)
	}
}

// TestHoldDisco: with HoldDisco, a disco#info query that comes before
// FeaturesReady is answered after it, with the features registered in
// between (our presence goes out as the stream comes up, and Dino asks
// at once and keeps what it got).
func TestHoldDisco(t *testing.T) {
	srv := prosodytest.Shared(t)
	a, b := srv.NewAccount(t, "hold-a"), srv.NewAccount(t, "hold-b")
	held := newClient(t, srv, a, "held", func(c *Config) { c.HoldDisco = true })
	asker := newClient(t, srv, b, "asker", nil)
	got := make(chan DiscoInfo, 1)
	errc := make(chan error, 1)
	go func() {
		info, err := asker.DiscoInfo(testCtx(t), held.JID())
		if err != nil {
			errc <- err
			return
		}
		got <- info
	}()
	select {
	case info := <-got:
		t.Fatalf("disco#info answered before FeaturesReady: %v", info.Features)
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(500 * time.Millisecond):
	}
	held.AddFeatures("urn:example:late-feature")
	held.FeaturesReady()
	select {
	case info := <-got:
		if !slices.Contains(info.Features, "urn:example:late-feature") {
			t.Errorf("the held answer lacks the feature registered before FeaturesReady: %v", info.Features)
		}
	case err := <-errc:
		t.Fatal(err)
	case <-time.After(5 * time.Second):
		t.Fatal("no answer after FeaturesReady")
	}
	// Later queries are answered at once.
	if _, err := asker.DiscoInfo(testCtx(t), held.JID()); err != nil {
		t.Fatal(err)
	}
}
