package jingle_test

import (
	"context"
	"errors"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

const (
	julietBare = "juliet@capulet.example"
	convPhone  = "conv@conversations.example/Conversations.x1"
	convBare   = "conv@conversations.example"
)

// wireLog records every message the router carries.
type wireLog struct {
	mu      sync.Mutex
	msgs    []*jingle.Message
	changed chan struct{}
}

func logMessages(w *world) *wireLog {
	l := &wireLog{changed: make(chan struct{})}
	w.r.SetFilter(func(_, _ string, st any) jingletest.Verdict {
		if m, ok := st.(*jingle.Message); ok {
			l.mu.Lock()
			l.msgs = append(l.msgs, m)
			close(l.changed)
			l.changed = make(chan struct{})
			l.mu.Unlock()
		}
		return jingletest.Verdict{}
	})
	return l
}

// wait returns the first message from -> to whose payload contains all of
// the snippets.
func (l *wireLog) wait(t *testing.T, ctx context.Context, from, to string, snippets ...string) *jingle.Message {
	t.Helper()
	for {
		l.mu.Lock()
		for _, m := range l.msgs {
			if m.From != from || m.To != to {
				continue
			}
			ok := true
			for _, s := range snippets {
				ok = ok && strings.Contains(string(m.Payload), s)
			}
			if ok {
				l.mu.Unlock()
				return m
			}
		}
		ch := l.changed
		l.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			t.Fatalf("no message %s -> %s with %q: %v", from, to, snippets, ctx.Err())
		}
	}
}

// raw is a client we script by hand (Conversations, Dino): it records the
// messages and Jingle IQs it gets and acknowledges the IQs.
type raw struct {
	e    *jingletest.Endpoint
	msgs chan *jingle.Message
	iqs  chan *jingle.IQ
}

func newRaw(w *world, jid string) *raw {
	c := &raw{e: w.r.Endpoint(jid), msgs: make(chan *jingle.Message, 64), iqs: make(chan *jingle.IQ, 64)}
	c.e.HandleMessage(func(_ context.Context, m *jingle.Message) bool { c.msgs <- m; return true })
	c.e.HandleIQ(jingle.NS, "jingle", func(_ context.Context, iq *jingle.IQ) *jingle.IQ { c.iqs <- iq; return iq.Result() })
	return c
}

func (c *raw) send(t *testing.T, ctx context.Context, to, id, payload string) {
	t.Helper()
	if err := c.e.SendMessage(ctx, &jingle.Message{To: to, ID: id, Type: "chat", Payload: []byte(payload)}); err != nil {
		t.Fatal(err)
	}
}

// next returns the next message containing snippet, skipping others.
func (c *raw) next(t *testing.T, ctx context.Context, snippet string) *jingle.Message {
	t.Helper()
	for {
		select {
		case m := <-c.msgs:
			if strings.Contains(string(m.Payload), snippet) {
				return m
			}
		case <-ctx.Done():
			t.Fatalf("%s: no message with %q: %v", c.e.JID(), snippet, ctx.Err())
		}
	}
}

func nextProposal(t *testing.T, ctx context.Context, app *jingletest.TestApp) *jingle.Proposal {
	t.Helper()
	select {
	case p := <-app.Proposals():
		return p
	case <-ctx.Done():
		t.Fatalf("no proposal: %v", ctx.Err())
	}
	return nil
}

func closed(ch <-chan struct{}) bool {
	select {
	case <-ch:
		return true
	default:
		return false
	}
}

// TestJMICall: propose -> ringing -> proceed -> session-initiate ->
// session-accept -> session-terminate -> finish, both sides ours (the
// current XEP-0353 dialect, as Monal and Movim speak it).
func TestJMICall(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	log := logMessages(w)
	appJ := jingletest.NewTestApp(true)
	handler, waitHandler := appJ.ProposalHandler(ctx, true)
	defer waitHandler()
	mr := w.manager(romeo, jingletest.NewTestApp(false))
	w.manager(juliet, appJ, jingle.WithProposalHandler(handler))

	p, err := mr.Propose(ctx, julietBare, []jingle.Element{jingletest.Description("a")})
	if err != nil {
		t.Fatal(err)
	}
	full, err := p.Wait(ctx)
	if err != nil || full != juliet {
		t.Fatalf("wait: %q %v", full, err)
	}
	if !closed(p.Ringing()) {
		t.Fatal("proceeded without ringing")
	}
	in := nextProposal(t, ctx, appJ)
	if in.ID() != p.ID() || in.Peer() != romeo || !in.Incoming() || len(in.Descriptions()) != 1 {
		t.Fatalf("incoming proposal %s from %s", in.ID(), in.Peer())
	}
	h := jingletest.NewHandler()
	s, err := mr.Initiate(ctx, full, p.ID(), jingletest.Contents("a"), nil, h)
	if err != nil {
		t.Fatal(err)
	}
	js := incoming(t, ctx, appJ)
	if !js.ViaProposal() || !s.ViaProposal() || js.SID() != p.ID() {
		t.Fatalf("via proposal: %v %v, sid %s", js.ViaProposal(), s.ViaProposal(), js.SID())
	}
	if a := <-h.Seen(); a != jingle.ActionSessionAccept {
		t.Fatalf("initiator saw %s", a)
	}
	if err := s.Terminate(ctx, nil); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx, js.Done(), "responder end")
	// The wire: ringing and proceed to our full JID, accept to
	// juliet's own bare JID, finish from both sides.
	log.wait(t, ctx, romeo, julietBare, `<propose xmlns="urn:xmpp:jingle-message:0" id="`+p.ID()+`"`, `<request xmlns="urn:xmpp:receipts"`, `<store xmlns="urn:xmpp:hints"`)
	log.wait(t, ctx, juliet, romeo, "<ringing", p.ID())
	log.wait(t, ctx, juliet, romeo, "<proceed", p.ID())
	log.wait(t, ctx, juliet, julietBare, "<accept", p.ID())
	log.wait(t, ctx, romeo, juliet, "<finish", p.ID(), "<success")
	log.wait(t, ctx, juliet, romeo, "<finish", p.ID(), "<success")
}

// TestJMICallHelper runs jingletest.Call, the flow integration tests use.
func TestJMICallHelper(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	appJ := jingletest.NewTestApp(true)
	handler, waitHandler := appJ.ProposalHandler(ctx, true)
	defer waitHandler()
	mr := w.manager(romeo, nil)
	w.manager(juliet, appJ, jingle.WithProposalHandler(handler))
	h := jingletest.NewHandler()
	s, err := jingletest.Call(ctx, mr, julietBare, jingletest.Contents("a"), h)
	if err != nil {
		t.Fatal(err)
	}
	if a := <-h.Seen(); a != jingle.ActionSessionAccept || s.State() != jingle.StateActive {
		t.Fatalf("%s, %v", a, s.State())
	}
}

// TestJMIConversationsCaller: the old dialect as a caller: it requests a
// receipt for its propose (which is how it shows ringing), ignores
// <ringing/>, and sends session-initiate with the proposal id after our
// proceed.
func TestJMIConversationsCaller(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	appJ := jingletest.NewTestApp(true)
	handler, waitHandler := appJ.ProposalHandler(ctx, true)
	defer waitHandler()
	w.manager(juliet, appJ, jingle.WithProposalHandler(handler))
	conv := newRaw(w, convPhone)
	conv.send(t, ctx, julietBare, "msg-1",
		`<propose xmlns="urn:xmpp:jingle-message:0" id="conv-sid"><description xmlns="urn:jingled:test:0" label="a"/></propose>`+
			`<request xmlns="urn:xmpp:receipts"/><store xmlns="urn:xmpp:hints"/>`)
	if m := conv.next(t, ctx, `<received xmlns="urn:xmpp:receipts" id="msg-1"`); m.From != juliet {
		t.Fatalf("receipt from %s", m.From)
	}
	if m := conv.next(t, ctx, `<proceed xmlns="urn:xmpp:jingle-message:0" id="conv-sid"`); m.From != juliet || m.Type != "chat" {
		t.Fatalf("proceed %+v", m)
	}
	if _, err := conv.e.SendIQ(ctx, &jingle.IQ{To: juliet, Type: jingle.IQSet, Payload: []byte(jingleXML("session-initiate", "conv-sid", testContent))}); err != nil {
		t.Fatal(err)
	}
	js := incoming(t, ctx, appJ)
	if !js.ViaProposal() || js.Peer() != convPhone {
		t.Fatalf("session via proposal %v from %s", js.ViaProposal(), js.Peer())
	}
	select {
	case iq := <-conv.iqs:
		if !strings.Contains(string(iq.Payload), `action="session-accept"`) {
			t.Fatalf("got %s", iq.Payload)
		}
	case <-ctx.Done():
		t.Fatal("no session-accept")
	}
}

// TestJMIOldDialectCallee: Conversations as callee sends no <ringing/>;
// the receipt of our propose means ringing. Dino sends neither.
func TestJMIOldDialectCallee(t *testing.T) {
	for _, receipt := range []bool{true, false} {
		ctx := ctxT(t)
		w := newWorld(t)
		mr := w.manager(romeo, nil)
		conv := newRaw(w, convPhone)
		p, err := mr.Propose(ctx, convBare, []jingle.Element{jingletest.Description("a")})
		if err != nil {
			t.Fatal(err)
		}
		m := conv.next(t, ctx, "<propose")
		if m.ID != p.ID() || !strings.Contains(string(m.Payload), `<request xmlns="urn:xmpp:receipts"`) {
			t.Fatalf("propose %+v", m)
		}
		if receipt {
			conv.send(t, ctx, romeo, "r1", `<received xmlns="urn:xmpp:receipts" id="`+m.ID+`"/>`)
			select {
			case <-p.Ringing():
			case <-ctx.Done():
				t.Fatal("receipt did not ring")
			}
		}
		conv.send(t, ctx, romeo, "p1", `<proceed xmlns="urn:xmpp:jingle-message:0" id="`+p.ID()+`"/>`)
		full, err := p.Wait(ctx)
		if err != nil || full != convPhone {
			t.Fatalf("wait: %q %v", full, err)
		}
		if !receipt && closed(p.Ringing()) {
			t.Fatal("ringing without receipt or <ringing/>")
		}
	}
}

func TestJMIReject(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	appJ := jingletest.NewTestApp(true)
	handler, waitHandler := appJ.ProposalHandler(ctx, false)
	defer waitHandler()
	mr := w.manager(romeo, nil)
	w.manager(juliet, appJ, jingle.WithProposalHandler(handler))
	p, err := mr.Propose(ctx, julietBare, []jingle.Element{jingletest.Description("a")})
	if err != nil {
		t.Fatal(err)
	}
	in := nextProposal(t, ctx, appJ)
	if err := in.Reject(ctx, jingle.NewReason(jingle.ReasonDecline, "not now")); err != nil {
		t.Fatal(err)
	}
	if err := in.Proceed(ctx); !errors.Is(err, jingle.ErrProposalAnswered) {
		t.Fatalf("proceed after reject: %v", err)
	}
	if _, err := p.Wait(ctx); !errors.Is(err, jingle.ErrProposalRejected) {
		t.Fatalf("wait: %v", err)
	}
	if r := p.Reason(); r == nil || r.Condition != jingle.ReasonDecline || r.Text != "not now" {
		t.Fatalf("reason %v", r)
	}
}

func TestJMIRetract(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	appJ := jingletest.NewTestApp(true)
	handler, waitHandler := appJ.ProposalHandler(ctx, false)
	defer waitHandler()
	mr := w.manager(romeo, nil)
	w.manager(juliet, appJ, jingle.WithProposalHandler(handler))
	p, err := mr.Propose(ctx, julietBare, []jingle.Element{jingletest.Description("a")})
	if err != nil {
		t.Fatal(err)
	}
	in := nextProposal(t, ctx, appJ)
	if err := p.Retract(ctx); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx, in.Done(), "retract")
	if !errors.Is(in.Err(), jingle.ErrProposalRetracted) || in.Reason().Condition != jingle.ReasonCancel {
		t.Fatalf("%v %v", in.Err(), in.Reason())
	}
	if _, err := p.Wait(ctx); !errors.Is(err, jingle.ErrProposalRetracted) {
		t.Fatalf("wait after retract: %v", err)
	}
}

// TestJMIAnsweredElsewhere: when one device of the callee answers, the
// others stop ringing: through the old dialect's <accept/> to the own
// bare JID, and through carbons of the answer.
func TestJMIAnsweredElsewhere(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mr := w.manager(romeo, nil)
	devices := map[string]*jingletest.TestApp{}
	for _, jid := range []string{juliet, julietBare + "/phone", julietBare + "/tablet"} {
		app := jingletest.NewTestApp(true)
		handler, waitHandler := app.ProposalHandler(ctx, false)
		defer waitHandler()
		w.manager(jid, app, jingle.WithProposalHandler(handler))
		devices[jid] = app
	}
	p, err := mr.Propose(ctx, julietBare, []jingle.Element{jingletest.Description("a")})
	if err != nil {
		t.Fatal(err)
	}
	props := map[string]*jingle.Proposal{}
	for jid, app := range devices {
		props[jid] = nextProposal(t, ctx, app)
	}
	// The tablet learns only from a carbon; keep the phone's own
	// messages from reaching it, and check a carbon from a stranger
	// changes nothing.
	w.r.SetFilter(func(from, to string, _ any) jingletest.Verdict {
		return jingletest.Verdict{Drop: from == julietBare+"/phone" && to == julietBare}
	})
	stranger := w.r.Endpoint(tybalt)
	carbon := `<sent xmlns="urn:xmpp:carbons:2"><forwarded xmlns="urn:xmpp:forward:0">` +
		`<message xmlns="jabber:client" from="` + julietBare + `/phone" to="` + romeo + `" type="chat">` +
		`<proceed xmlns="urn:xmpp:jingle-message:0" id="` + p.ID() + `"/></message></forwarded></sent>`
	if err := stranger.SendMessage(ctx, &jingle.Message{To: julietBare + "/tablet", Payload: []byte(carbon)}); err != nil {
		t.Fatal(err)
	}
	if err := props[julietBare+"/phone"].Proceed(ctx); err != nil {
		t.Fatal(err)
	}
	if full, err := p.Wait(ctx); err != nil || full != julietBare+"/phone" {
		t.Fatalf("wait: %q %v", full, err)
	}
	if closed(props[julietBare+"/tablet"].Done()) {
		t.Fatal("a stranger's carbon ended the proposal")
	}
	server := w.r.Endpoint(julietBare)
	if err := server.SendMessage(ctx, &jingle.Message{To: julietBare + "/tablet", Payload: []byte(carbon)}); err != nil {
		t.Fatal(err)
	}
	// The phone's own <accept/> to our bare JID was dropped above; let
	// one through now: the balcony ends through the old dialect.
	w.r.SetFilter(nil)
	if err := w.r.Endpoint(julietBare+"/phone").SendMessage(ctx, &jingle.Message{To: julietBare, Type: "chat",
		Payload: []byte(`<accept xmlns="urn:xmpp:jingle-message:0" id="` + p.ID() + `"/>`)}); err != nil {
		t.Fatal(err)
	}
	for _, jid := range []string{juliet, julietBare + "/tablet"} {
		waitDone(t, ctx, props[jid].Done(), jid)
		if !errors.Is(props[jid].Err(), jingle.ErrAnsweredElsewhere) {
			t.Fatalf("%s: %v", jid, props[jid].Err())
		}
	}
}

func TestJMITimeout(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mr := w.manager(romeo, nil, jingle.WithInitiateTimeout(20*time.Millisecond))
	silent := newRaw(w, convPhone)
	p, err := mr.Propose(ctx, convBare, []jingle.Element{jingletest.Description("a")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); !errors.Is(err, jingle.ErrProposalTimeout) {
		t.Fatalf("wait: %v", err)
	}
	silent.next(t, ctx, `<retract xmlns="urn:xmpp:jingle-message:0" id="`+p.ID()+`"`)
}

// TestJMINoHandler: a resource that does not take calls (no proposal
// handler, or no application for the proposed description) leaves the
// proposal to the account's other devices: no receipt (Conversations
// would show ringing), no <reject/> (XEP-0353: it declines the call on
// every device). Issue 13: `jingle receive` rejected calls with <busy/>.
func TestJMINoHandler(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	log := logMessages(w)
	mr := w.manager(romeo, nil)
	w.manager(juliet, nil)
	appOther := jingletest.NewTestApp(true)
	handler, waitHandler := appOther.ProposalHandler(ctx, true)
	defer waitHandler()
	// Another device takes proposals, but only for its own application.
	const other = julietBare + "/other"
	w.manager(other, appOther, jingle.WithProposalHandler(handler))
	p, err := mr.Propose(ctx, julietBare, []jingle.Element{jingle.MustElement(&struct {
		XMLName struct{} `xml:"urn:example:not-registered description"`
	}{})})
	if err != nil {
		t.Fatal(err)
	}
	log.wait(t, ctx, romeo, julietBare, "<propose")
	time.Sleep(300 * time.Millisecond)
	log.mu.Lock()
	for _, m := range log.msgs {
		if m.From == juliet || m.From == other {
			t.Errorf("%s answered a proposal it does not take: %s", m.From, m.Payload)
		}
	}
	log.mu.Unlock()
	if closed(p.Done()) || closed(p.Ringing()) {
		t.Fatalf("proposal answered or ringing: %v", p.Err())
	}
	select {
	case in := <-appOther.Proposals():
		t.Fatalf("the handler got a proposal for an application it lacks: %s", in.ID())
	default:
	}
}

// TestJMIReceiptFromDeviceWithoutJMI: with RingingReceipts, the receipt
// of a client that answers every receipt request (StanzaJS, no JMI) is
// not ringing; the receipt of a JMI device (Conversations) is.
func TestJMIReceiptFromDeviceWithoutJMI(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mr := w.manager(romeo, nil)
	const stanzajs = convBare + "/stanzajs"
	noJMI := newRaw(w, stanzajs)
	phone := newRaw(w, convPhone)
	asked := make(chan string, 4)
	p, err := mr.Propose(ctx, convBare, []jingle.Element{jingletest.Description("a")},
		jingle.RingingReceipts(func(_ context.Context, full string) bool { asked <- full; return full == convPhone }))
	if err != nil {
		t.Fatal(err)
	}
	receipt := `<received xmlns="urn:xmpp:receipts" id="` + p.ID() + `"></received>`
	noJMI.next(t, ctx, "<propose")
	noJMI.send(t, ctx, romeo, "r1", receipt)
	if got := <-asked; got != stanzajs {
		t.Fatalf("asked about %s", got)
	}
	time.Sleep(100 * time.Millisecond)
	if closed(p.Ringing()) {
		t.Fatal("a receipt from a device without JMI was taken for ringing")
	}
	phone.next(t, ctx, "<propose")
	phone.send(t, ctx, romeo, "r2", receipt)
	select {
	case <-p.Ringing():
	case <-ctx.Done():
		t.Fatal("the JMI device's receipt did not ring")
	}
}

// TestJMITieBreak: XEP-0353 §4.1: both propose at once; the lower id
// wins, the other is rejected and retracted with <tie-break/>.
func TestJMITieBreak(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	appR, appJ := jingletest.NewTestApp(true), jingletest.NewTestApp(true)
	hr, waitR := appR.ProposalHandler(ctx, true)
	defer waitR()
	hj, waitJ := appJ.ProposalHandler(ctx, true)
	defer waitJ()
	mr := w.manager(romeo, appR, jingle.WithProposalHandler(hr))
	mj := w.manager(juliet, appJ, jingle.WithProposalHandler(hj))
	w.r.SetFilter(func(_, _ string, st any) jingletest.Verdict {
		m, ok := st.(*jingle.Message)
		return jingletest.Verdict{Hold: ok && strings.Contains(string(m.Payload), "<propose")}
	})
	pr, err := mr.Propose(ctx, julietBare, []jingle.Element{jingletest.Description("a")})
	if err != nil {
		t.Fatal(err)
	}
	pj, err := mj.Propose(ctx, "romeo@montague.example", []jingle.Element{jingletest.Description("a")})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.r.WaitHeld(ctx, 2); err != nil {
		t.Fatal(err)
	}
	w.r.SetFilter(nil)
	w.r.Release()
	winner, loser, winnerPeer := pr, pj, juliet
	if pj.ID() < pr.ID() {
		winner, loser, winnerPeer = pj, pr, romeo
	}
	if full, err := winner.Wait(ctx); err != nil || full != winnerPeer {
		t.Fatalf("winner: %q %v", full, err)
	}
	if _, err := loser.Wait(ctx); !errors.Is(err, jingle.ErrProposalTieBreak) {
		t.Fatalf("loser: %v", err)
	}
}

// TestJMIMigration: XEP-0353 §4.2: a new proposal from the account of an
// active JMI session replaces it: the old one ends with <expired/> and a
// <finish/> naming the new id, the new one is proceeded at once.
func TestJMIMigration(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	log := logMessages(w)
	appJ := jingletest.NewTestApp(true)
	handler, waitHandler := appJ.ProposalHandler(ctx, false)
	defer waitHandler()
	mr := w.manager(romeo, nil)
	w.manager(juliet, appJ, jingle.WithProposalHandler(handler))
	tablet := "romeo@montague.example/tablet"
	mt := w.manager(tablet, nil)

	p1, err := mr.Propose(ctx, julietBare, []jingle.Element{jingletest.Description("a")})
	if err != nil {
		t.Fatal(err)
	}
	if err := nextProposal(t, ctx, appJ).Proceed(ctx); err != nil {
		t.Fatal(err)
	}
	full, err := p1.Wait(ctx)
	if err != nil {
		t.Fatal(err)
	}
	h1 := jingletest.NewHandler()
	old, err := mr.Initiate(ctx, full, p1.ID(), jingletest.Contents("a"), nil, h1)
	if err != nil {
		t.Fatal(err)
	}
	if a := nextAction(t, h1); a != jingle.ActionSessionAccept {
		t.Fatalf("saw %s", a)
	}
	incoming(t, ctx, appJ)

	// Romeo moves the call to his tablet.
	p2, err := mt.Propose(ctx, julietBare, []jingle.Element{jingletest.Description("a")})
	if err != nil {
		t.Fatal(err)
	}
	if full, err := p2.Wait(ctx); err != nil || full != juliet {
		t.Fatalf("migrated proposal: %q %v", full, err)
	}
	in := nextProposal(t, ctx, appJ)
	if in.MigratedFrom() != old.SID() {
		t.Fatalf("migrated from %q", in.MigratedFrom())
	}
	waitDone(t, ctx, old.Done(), "old session")
	if r := old.Reason(); r.Condition != jingle.ReasonExpired {
		t.Fatalf("old session reason %v", r)
	}
	log.wait(t, ctx, juliet, romeo, "<finish", p1.ID(), "<expired", `<migrated to="`+p2.ID()+`"`)
	h2 := jingletest.NewHandler()
	if _, err := mt.Initiate(ctx, juliet, p2.ID(), jingletest.Contents("a"), nil, h2); err != nil {
		t.Fatal(err)
	}
	if a := nextAction(t, h2); a != jingle.ActionSessionAccept {
		t.Fatalf("saw %s", a)
	}
}

// TestJMIBounce: a <propose/> the server bounces ends the proposal with
// the stanza error.
func TestJMIBounce(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	mr := w.manager(romeo, nil)
	server := newRaw(w, convBare) // no resource online: the server answers
	p, err := mr.Propose(ctx, convBare, []jingle.Element{jingletest.Description("a")})
	if err != nil {
		t.Fatal(err)
	}
	m := server.next(t, ctx, "<propose")
	if err := server.e.SendMessage(ctx, &jingle.Message{To: romeo, ID: m.ID, Type: "error",
		Payload: []byte(`<error type="cancel"><service-unavailable xmlns="urn:ietf:params:xml:ns:xmpp-stanzas"/></error>`)}); err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); !errors.Is(err, jingle.ErrServiceUnavailable) {
		t.Fatalf("wait: %v", err)
	}
}

// TestJMIRetractAfterProceed: the caller hangs up between the callee's
// proceed and its session-initiate; the callee forgets the proposal, so a
// session-initiate with that id no longer counts as proceeded.
func TestJMIRetractAfterProceed(t *testing.T) {
	ctx := ctxT(t)
	w := newWorld(t)
	appJ := jingletest.NewTestApp(false)
	handler, waitHandler := appJ.ProposalHandler(ctx, true)
	defer waitHandler()
	mr := w.manager(romeo, nil)
	w.manager(juliet, appJ, jingle.WithProposalHandler(handler))
	p, err := mr.Propose(ctx, julietBare, []jingle.Element{jingletest.Description("a")})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := p.Wait(ctx); err != nil {
		t.Fatal(err)
	}
	in := nextProposal(t, ctx, appJ)
	waitDone(t, ctx, in.Done(), "proceeded")
	if err := p.Retract(ctx); err != nil {
		t.Fatalf("retract after proceed: %v", err)
	}
	if err := p.Retract(ctx); !errors.Is(err, jingle.ErrProposalAnswered) {
		t.Fatalf("second retract: %v", err)
	}
	// Juliet handles her stanzas in order: once a marker sent after the
	// retract reached her, the retract was handled.
	marker := make(chan struct{})
	w.r.Endpoint(juliet).HandleMessage(func(_ context.Context, m *jingle.Message) bool {
		if m.ID == "marker" {
			close(marker)
			return true
		}
		return false
	})
	if err := w.r.Endpoint(romeo).SendMessage(ctx, &jingle.Message{To: juliet, ID: "marker"}); err != nil {
		t.Fatal(err)
	}
	waitDone(t, ctx, marker, "marker")
	if !errors.Is(in.Err(), jingle.ErrProposalRetracted) {
		t.Fatalf("callee: %v", in.Err())
	}
	// A session-initiate with the old id is an ordinary one now.
	s, err := mr.Initiate(ctx, juliet, p.ID(), jingletest.Contents("a"), nil, jingletest.NewHandler())
	if err != nil {
		t.Fatal(err)
	}
	if js := incoming(t, ctx, appJ); js.ViaProposal() || s.ViaProposal() {
		t.Fatalf("via proposal: %v %v", js.ViaProposal(), s.ViaProposal())
	}
}
