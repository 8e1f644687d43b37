package xmpp

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

// serveManager wires a Jingle manager to c; the manager is closed before c
// (cleanups run last-in first-out).
func serveManager(t *testing.T, c *Client, opts ...jingle.Option) *jingle.Manager {
	t.Helper()
	opts = append([]jingle.Option{jingle.WithTransport(jingletest.TestTransport{})}, opts...)
	m := jingle.NewManager(c.JID(), c, opts...)
	c.Serve(m)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		if err := m.Close(ctx); err != nil {
			t.Errorf("closing manager of %s: %v", c.JID(), err)
		}
	})
	return m
}

// TestJingleThroughProsody is issue 2's acceptance test: two endpoints on
// two accounts do JMI propose -> proceed -> session-initiate ->
// session-accept -> session-terminate through a real Prosody; a third
// account acting on the sid gets item-not-found + unknown-session and the
// session is unaffected; disco#info of each endpoint lists exactly its
// registered features and its caps hash verifies.
func TestJingleThroughProsody(t *testing.T) {
	srv := prosodytest.Shared(t)
	approve := func(string) bool { return true }
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", func(c *Config) { c.SubscriptionPolicy = approve })
	bob := newClient(t, srv, srv.NewAccount(t, "bob"), "phone", func(c *Config) {
		c.SubscriptionPolicy = approve
		c.Identity = Identity{Category: "client", Type: "phone", Name: "bob's phone"}
	})
	mallory := newClient(t, srv, srv.NewAccount(t, "mallory"), "x", nil)
	ctx := testCtx(t)

	ma := serveManager(t, alice)
	bobApp := jingletest.NewTestApp(true)
	proposals := make(chan *jingle.Proposal, 1)
	mb := serveManager(t, bob, jingle.WithApplication(bobApp), jingle.WithProposalHandler(func(p *jingle.Proposal) { proposals <- p }))

	// Presence both ways, so each sees the other's caps.
	subscribe(ctx, t, alice, bob)
	subscribe(ctx, t, bob, alice)

	// disco#info lists exactly what was registered, and caps verify.
	for _, pair := range []struct {
		asker, target *Client
		m             *jingle.Manager
	}{{alice, bob, mb}, {bob, alice, ma}} {
		want := normalizeFeatures(append(append([]string(nil), builtinFeatures...), ManagerFeatures(pair.m)...))
		waitFor(ctx, t, "caps of "+pair.target.JID(), func() bool {
			p, ok := pair.asker.PresenceOf(pair.target.JID())
			return ok && p.Caps != nil && p.Caps.Ver == CapsVer(DiscoInfo{Identities: []Identity{pair.target.Identity()}, Features: want})
		})
		info, err := pair.asker.VerifyPeerCaps(ctx, pair.target.JID())
		if err != nil {
			t.Fatalf("caps of %s: %v", pair.target.JID(), err)
		}
		if !slices.Equal(info.Features, want) {
			t.Fatalf("disco#info of %s: %v, want exactly %v", pair.target.JID(), info.Features, want)
		}
		plain, err := pair.asker.DiscoInfo(ctx, pair.target.JID())
		if err != nil || !slices.Equal(plain.Features, want) {
			t.Fatalf("disco#info (no node) of %s: %v %v", pair.target.JID(), plain.Features, err)
		}
	}
	if f := bob.Features(); !slices.Contains(f, jingletest.NSTestApp) || !slices.Contains(f, jingle.NS) ||
		!slices.Contains(f, jingle.NSMessage) || !slices.Contains(f, jingle.NSReceipts) {
		t.Fatalf("bob announces %v: no application, Jingle, JMI or receipts", f)
	}

	// JMI: propose to the bare JID, bob's device proceeds.
	prop, err := ma.Propose(ctx, bob.Bare(), []jingle.Element{jingletest.Description("call")})
	if err != nil {
		t.Fatal(err)
	}
	var incomingProp *jingle.Proposal
	select {
	case incomingProp = <-proposals:
	case <-ctx.Done():
		t.Fatal("bob got no proposal")
	}
	if incomingProp.ID() != prop.ID() || incomingProp.Peer() != alice.JID() {
		t.Fatalf("proposal %s from %s, want %s from %s", incomingProp.ID(), incomingProp.Peer(), prop.ID(), alice.JID())
	}
	if err := incomingProp.Proceed(ctx); err != nil {
		t.Fatal(err)
	}
	full, err := prop.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if full != bob.JID() {
		t.Fatalf("proceeded by %s, want %s", full, bob.JID())
	}

	// session-initiate with the proposal id; bob's application accepts.
	h := jingletest.NewHandler()
	s, err := ma.Initiate(ctx, full, prop.ID(), jingletest.Contents("a"), nil, h)
	if err != nil {
		t.Fatal(err)
	}
	var js *jingle.Session
	select {
	case js = <-bobApp.Incoming():
	case <-ctx.Done():
		t.Fatal("no incoming session at bob")
	}
	if js.SID() != prop.ID() || js.Peer() != alice.JID() || !js.ViaProposal() {
		t.Fatalf("bob's session: sid %s peer %s via proposal %v", js.SID(), js.Peer(), js.ViaProposal())
	}
	select {
	case a := <-h.Seen():
		if a != jingle.ActionSessionAccept {
			t.Fatalf("alice saw %s, want session-accept", a)
		}
	case <-ctx.Done():
		t.Fatal("no session-accept")
	}
	if s.State() != jingle.StateActive || js.State() != jingle.StateActive {
		t.Fatalf("states %v / %v, want active", s.State(), js.State())
	}

	// mallory acts on the sid: unknown-session, nothing changes.
	sid := s.SID()
	for _, target := range []string{bob.JID(), alice.JID()} {
		for _, payload := range []string{
			fmt.Sprintf(`<jingle xmlns="urn:xmpp:jingle:1" action="transport-info" sid="%s"><content creator="initiator" name="a"><transport xmlns="%s" token="evil"/></content></jingle>`, sid, jingletest.TestTransport{}.Namespace()),
			fmt.Sprintf(`<jingle xmlns="urn:xmpp:jingle:1" action="session-terminate" sid="%s"><reason><success/></reason></jingle>`, sid),
		} {
			_, err := mallory.SendIQ(ctx, &jingle.IQ{To: target, Type: jingle.IQSet, Payload: []byte(payload)})
			var je *jingle.Error
			if !errors.As(err, &je) || je.Condition != jingle.CondItemNotFound || je.Jingle != jingle.JingleUnknownSession {
				t.Fatalf("mallory -> %s: err = %v, want item-not-found + unknown-session", target, err)
			}
			if !errors.Is(err, jingle.ErrUnknownSession) {
				t.Fatalf("mallory -> %s: %v does not match ErrUnknownSession", target, err)
			}
		}
	}
	for _, x := range []*jingle.Session{s, js} {
		if x.State() != jingle.StateActive {
			t.Fatalf("session at %s is %v after mallory", x.Local(), x.State())
		}
		if c := x.Contents(); len(c) != 1 || c[0].Transport.Attribute("token") == "evil" {
			t.Fatalf("contents at %s changed: %+v", x.Local(), c)
		}
	}
	if got := bobApp.Handler(sid).Actions(); len(got) != 0 {
		t.Fatalf("bob's handler saw %v", got)
	}

	// The real peer still gets through, then terminates.
	if err := s.Info(ctx, jingletest.Description("still here")); err != nil {
		t.Fatal(err)
	}
	if err := s.Terminate(ctx, jingle.NewReason(jingle.ReasonSuccess, "bye")); err != nil {
		t.Fatal(err)
	}
	for _, x := range []*jingle.Session{s, js} {
		select {
		case <-x.Done():
		case <-ctx.Done():
			t.Fatalf("session at %s did not end", x.Local())
		}
	}
	if r := js.Reason(); r == nil || r.Condition != jingle.ReasonSuccess || r.Text != "bye" {
		t.Fatalf("bob's reason: %v", r)
	}
	// The handler sees session-info; the terminate reaches it through
	// Terminated, once.
	if got := bobApp.Handler(sid).Actions(); !slices.Equal(got, []jingle.Action{jingle.ActionSessionInfo}) {
		t.Fatalf("bob's handler saw %v", got)
	}
	if n := bobApp.Handler(sid).TerminatedCalls(); n != 1 {
		t.Fatalf("bob's handler terminated %d times", n)
	}
	if len(ma.Sessions()) != 0 || len(mb.Sessions()) != 0 {
		t.Fatalf("sessions left: %d / %d", len(ma.Sessions()), len(mb.Sessions()))
	}
}

// TestJMIAnsweredElsewhere: alice has two devices with carbons; bob rings
// her bare JID, both ring, the first proceeds and the second stops ringing
// (answered elsewhere), having seen the carbon of the proceed.
func TestJMIAnsweredElsewhere(t *testing.T) {
	srv := prosodytest.New(t, prosodytest.WithModules("carbons"))
	accAlice := srv.NewAccount(t, "alice")
	carbons := func(c *Config) { c.Carbons = true }
	desk := newClient(t, srv, accAlice, "desk", carbons)
	phone := newClient(t, srv, accAlice, "phone", carbons)
	bob := newClient(t, srv, srv.NewAccount(t, "bob"), "pc", nil)
	ctx := testCtx(t)

	sawCarbon := make(chan struct{}, 64)
	sawProceedCarbon := make(chan struct{}, 1)
	phone.HandleMessage(func(_ context.Context, m *jingle.Message) bool {
		els, err := m.Elements()
		if err == nil && m.From == accAlice.JID {
			for _, e := range els {
				if e.XMLName.Space == jingle.NSCarbons && e.XMLName.Local == "sent" {
					select {
					case sawCarbon <- struct{}{}:
					default:
					}
					if bytes.Contains(e.Inner, []byte("proceed")) {
						sawProceedCarbon <- struct{}{}
					}
				}
			}
		}
		return false // let the manager see it too
	})
	props := map[string]chan *jingle.Proposal{}
	for _, c := range []*Client{desk, phone} {
		ch := make(chan *jingle.Proposal, 1)
		props[c.JID()] = ch
		serveManager(t, c, jingle.WithApplication(jingletest.NewTestApp(true)), jingle.WithProposalHandler(func(p *jingle.Proposal) { ch <- p }))
	}
	mb := serveManager(t, bob)
	// Carbons are enabled asynchronously after connecting; wait until a
	// message between the devices is copied before ringing.
	deadline := time.Now().Add(testTimeout)
	for ready := false; !ready; {
		if time.Now().After(deadline) {
			t.Fatal("carbons never enabled")
		}
		if err := desk.SendMessage(ctx, &jingle.Message{To: bob.JID(), Type: "chat", Payload: []byte(`<body>probe</body>`)}); err != nil {
			t.Fatal(err)
		}
		select {
		case <-sawCarbon:
			ready = true
		case <-time.After(100 * time.Millisecond):
		}
	}

	prop, err := mb.Propose(ctx, accAlice.JID, []jingle.Element{jingletest.Description("call")})
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]*jingle.Proposal{}
	for jid, ch := range props {
		select {
		case p := <-ch:
			got[jid] = p
		case <-ctx.Done():
			t.Fatalf("%s did not ring", jid)
		}
	}
	if err := got[desk.JID()].Proceed(ctx); err != nil {
		t.Fatal(err)
	}
	if full, err := prop.Wait(ctx); err != nil || full != desk.JID() {
		t.Fatalf("proceeded by %q (%v), want %s", full, err, desk.JID())
	}
	other := got[phone.JID()]
	select {
	case <-other.Done():
	case <-ctx.Done():
		t.Fatal("the phone kept ringing")
	}
	if !errors.Is(other.Err(), jingle.ErrAnsweredElsewhere) {
		t.Fatalf("phone's proposal ended with %v, want answered elsewhere", other.Err())
	}
	select {
	case <-sawProceedCarbon:
	case <-ctx.Done():
		t.Fatal("no carbon of the proceed reached the phone")
	}
}

// TestFindResource: without JMI, a caller finds the full JID to send
// session-initiate to through presence and disco#info (with caps caching).
func TestFindResource(t *testing.T) {
	srv := prosodytest.Shared(t)
	approve := func(string) bool { return true }
	accBob := srv.NewAccount(t, "bob")
	alice := newClient(t, srv, srv.NewAccount(t, "alice"), "desk", func(c *Config) { c.SubscriptionPolicy = approve })
	plain := newClient(t, srv, accBob, "plain", func(c *Config) { c.SubscriptionPolicy = approve; c.Priority = 5 })
	callA := newClient(t, srv, accBob, "call-a", func(c *Config) {
		c.Features = []string{jingle.NS, jingletest.NSTestApp}
		c.SubscriptionPolicy = approve
	})
	callB := newClient(t, srv, accBob, "call-b", func(c *Config) {
		c.Features = []string{jingle.NS, jingletest.NSTestApp}
		c.Priority = 1
		c.SubscriptionPolicy = approve
	})
	var discoA, discoB atomic.Int32
	count := func(c *Client, n *atomic.Int32) {
		c.HandleIQ(NSDiscoInfo, "query", func(ctx context.Context, iq *jingle.IQ) *jingle.IQ {
			n.Add(1)
			return c.handleDiscoInfo(ctx, iq)
		})
	}
	count(callA, &discoA)
	count(callB, &discoB)
	ctx := testCtx(t)
	if err := alice.Subscribe(ctx, accBob.JID); err != nil {
		t.Fatal(err)
	}
	waitFor(ctx, t, "bob's three resources", func() bool { return len(alice.Resources(accBob.JID)) == 3 })

	// plain has the highest priority but no Jingle; call-b outranks call-a.
	full, err := alice.FindResource(ctx, accBob.JID, jingletest.NSTestApp)
	if err != nil {
		t.Fatal(err)
	}
	if full != callB.JID() {
		t.Fatalf("found %s, want %s", full, callB.JID())
	}
	if _, err := alice.FindResource(ctx, accBob.JID, "urn:example:nobody"); !errors.Is(err, ErrNoResource) {
		t.Fatalf("missing feature: err = %v", err)
	}
	// call-a has the same caps as call-b: its info comes from the cache.
	info, err := alice.PeerInfo(ctx, callA.JID())
	if err != nil || !slices.Contains(info.Features, jingletest.NSTestApp) {
		t.Fatalf("PeerInfo(call-a) = %v, %v", info.Features, err)
	}
	if a, b := discoA.Load(), discoB.Load(); a != 0 || b != 1 {
		t.Fatalf("disco#info queries: call-a %d, call-b %d; want 0 and 1 (caps cache)", a, b)
	}
	_ = plain
}
