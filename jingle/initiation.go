package jingle

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
	"time"
)

// Namespaces JMI (XEP-0353) rides with.
const (
	// NSReceipts is XEP-0184 message delivery receipts: Conversations
	// shows "ringing" when the receipt of a <propose/> comes back.
	NSReceipts = "urn:xmpp:receipts"
	// NSChatMarkers is XEP-0333; its <received/> counts like a receipt.
	NSChatMarkers = "urn:xmpp:chat-markers:0"
	// NSHints is XEP-0334; JMI messages carry <store/>.
	NSHints = "urn:xmpp:hints"
	// NSCarbons is XEP-0280 message carbons.
	NSCarbons = "urn:xmpp:carbons:2"
	// NSForward is XEP-0297 stanza forwarding, which carbons wrap.
	NSForward = "urn:xmpp:forward:0"
)

// proposalState is the XEP-0353 state of a proposal, kept apart from the
// Jingle session state.
type proposalState int

const (
	proposalProposed proposalState = iota
	proposalProceeded
	proposalEnded
)

// Proposal is a XEP-0353 Jingle Message Initiation, in either direction.
// Its ID becomes the sid of the Jingle session that follows.
//
// Outgoing (Manager.Propose): Ringing is closed when a device of the peer
// rings (<ringing/>, or the XEP-0184 receipt of our <propose/> for
// Conversations, which sends no <ringing/>), Wait returns the full JID
// that proceeded, and the caller then calls Manager.Initiate with it and
// ID. Incoming (WithProposalHandler): Ring, Proceed or Reject; after
// Proceed the session-initiate from the proposer is routed to the
// application as usual, with Session.ViaProposal true.
type Proposal struct {
	m        *Manager
	id       string
	peer     string
	descs    []Element
	incoming bool
	ringing  chan struct{}
	done     chan struct{}

	mu         sync.Mutex
	ringOnce   sync.Once
	state      proposalState
	timer      *time.Timer
	answeredBy string
	err        error
	reason     *Reason
	// migratedFrom is the sid of the session this proposal replaced.
	migratedFrom string
	// ringingFrom, when set, decides whether a receipt from a device
	// means it rings (RingingReceipts).
	ringingFrom func(ctx context.Context, full string) bool
}

// ProposeOption configures one outgoing proposal (Manager.Propose).
type ProposeOption func(*Proposal)

// RingingReceipts decides which XEP-0184 receipts and XEP-0333 markers of
// the <propose/> mean that a device rings: those from a full JID for which
// f returns true, typically the devices that advertise
// urn:xmpp:jingle-message:0 (Conversations shows ringing on that
// receipt). A client without JMI answers every receipt request too
// (StanzaJS): its receipt says the message arrived, not that anything
// rings. f may block (a disco#info query); it runs on a goroutine the
// manager owns, with a context that ends with the manager. Without this
// option every receipt from a device of the peer counts.
func RingingReceipts(f func(ctx context.Context, full string) bool) ProposeOption {
	return func(p *Proposal) { p.ringingFrom = f }
}

// MigratedFrom returns the sid of our session with the same account that
// the proposal replaced (XEP-0353 §4.2: a device switch or a reconnect
// after a connection loss), or "". Such a proposal was proceeded
// automatically; the application accepts its session like any proceeded
// one.
func (p *Proposal) MigratedFrom() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.migratedFrom
}

// ID returns the proposal id, the sid of the session that follows.
func (p *Proposal) ID() string { return p.id }

// Peer returns the other party: for an incoming proposal the proposer's
// full JID, for an outgoing one the address we proposed to (bare or full).
func (p *Proposal) Peer() string { return p.peer }

// Incoming reports whether the peer proposed.
func (p *Proposal) Incoming() bool { return p.incoming }

// Descriptions returns the <description/> elements of the proposal, one
// per intended content (media='audio', media='video', ...).
func (p *Proposal) Descriptions() []Element { return append([]Element(nil), p.descs...) }

// Ringing is closed when a device of the peer reported ringing, by
// <ringing/> or by the delivery receipt of our <propose/> (from a device
// RingingReceipts accepts, when given).
func (p *Proposal) Ringing() <-chan struct{} { return p.ringing }

// Done is closed when the proposal is answered (proceeded, rejected,
// retracted, answered elsewhere, expired).
func (p *Proposal) Done() <-chan struct{} { return p.done }

// Err returns why the proposal did not proceed (ErrProposalRejected,
// ErrProposalRetracted, ErrProposalTimeout, ErrProposalTieBreak,
// ErrAnsweredElsewhere, or the *Error of a bounced <propose/>), nil if it
// proceeded or is still open. A proceeded proposal retracted before its
// session started reports ErrProposalRetracted too (Done was closed at
// the proceed).
func (p *Proposal) Err() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.err
}

// Reason returns the <reason/> of a reject, retract or finish, if any.
func (p *Proposal) Reason() *Reason {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.reason
}

// Wait waits for the outcome of an outgoing proposal: the full JID of the
// device that proceeded, or why there will be no session.
func (p *Proposal) Wait(ctx context.Context) (string, error) {
	if p.incoming {
		return "", fmt.Errorf("jingle: wait on proposal %s: %w", p.id, errWrongDirection)
	}
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		if p.err != nil {
			return "", fmt.Errorf("jingle: proposal %s: %w", p.id, p.err)
		}
		return p.answeredBy, nil
	case <-ctx.Done():
		return "", fmt.Errorf("jingle: waiting for proposal %s: %w", p.id, ctx.Err())
	}
}

// Retract withdraws an outgoing proposal (<retract/> with <cancel/>),
// also after a device proceeded if we will not send session-initiate.
func (p *Proposal) Retract(ctx context.Context) error {
	if p.incoming {
		return fmt.Errorf("jingle: retract proposal %s: %w", p.id, errWrongDirection)
	}
	to := p.peer
	p.mu.Lock()
	if p.answeredBy != "" {
		to = p.answeredBy
	}
	p.mu.Unlock()
	r := &Reason{Condition: ReasonCancel, Text: "Retracted"}
	if !p.finish(ErrProposalRetracted, r) && !p.withdraw(ErrProposalRetracted, r) {
		return fmt.Errorf("jingle: retract proposal %s: %w", p.id, ErrProposalAnswered)
	}
	return p.m.sendMessage(ctx, jmiMessage(to, "retract", p.id, r, nil))
}

// withdraw ends a proceeded proposal whose session will not come (we
// retract after the peer's proceed, or the proposer retracts after ours),
// so a later session-initiate with its id is not taken for it. Its done
// channel was closed when it proceeded.
func (p *Proposal) withdraw(err error, r *Reason) bool {
	return p.endFrom(proposalProceeded, err, r)
}

// Ring tells the proposer that this device rings (<ringing/>, XEP-0353
// v0.6+; old clients ignore it). A proposal that requested a receipt got
// one on arrival already.
func (p *Proposal) Ring(ctx context.Context) error {
	if !p.incoming {
		return fmt.Errorf("jingle: ring proposal %s: %w", p.id, errWrongDirection)
	}
	p.mu.Lock()
	st := p.state
	p.mu.Unlock()
	if st != proposalProposed {
		return fmt.Errorf("jingle: ring proposal %s: %w", p.id, ErrProposalAnswered)
	}
	return p.m.sendMessage(ctx, jmiMessage(p.peer, "ringing", p.id, nil, nil))
}

// Proceed accepts an incoming proposal: <proceed/> to the proposer's full
// JID, and the old dialect's <accept/> to our own bare JID so that our
// other devices stop ringing even without carbons. The proposer's
// session-initiate with the proposal's id then reaches the application.
func (p *Proposal) Proceed(ctx context.Context) error {
	if !p.incoming {
		return fmt.Errorf("jingle: proceed proposal %s: %w", p.id, errWrongDirection)
	}
	p.mu.Lock()
	if p.state != proposalProposed {
		p.mu.Unlock()
		return fmt.Errorf("jingle: proceed proposal %s: %w", p.id, ErrProposalAnswered)
	}
	p.state = proposalProceeded
	p.mu.Unlock()
	p.m.mu.Lock()
	p.m.props.dropIncomingLocked(p)
	p.m.props.proceeded[sessionKey{p.peer, p.id}] = p
	p.m.mu.Unlock()
	p.resetTimer(p.m.responderTimeout)
	close(p.done)
	if err := p.m.sendMessage(ctx, jmiMessage(p.peer, "proceed", p.id, nil, nil)); err != nil {
		return err
	}
	return p.m.sendMessage(ctx, jmiMessage(bareJID(p.m.local), "accept", p.id, nil, nil))
}

// Reject declines an incoming proposal (<reject/>, r nil means <busy/>,
// the default XEP-0353 asks for privacy's sake).
func (p *Proposal) Reject(ctx context.Context, r *Reason) error {
	if !p.incoming {
		return fmt.Errorf("jingle: reject proposal %s: %w", p.id, errWrongDirection)
	}
	if r == nil {
		r = &Reason{Condition: ReasonBusy}
	}
	if !p.finish(ErrProposalRejected, r) {
		return fmt.Errorf("jingle: reject proposal %s: %w", p.id, ErrProposalAnswered)
	}
	return p.m.sendMessage(ctx, jmiMessage(p.peer, "reject", p.id, r, nil))
}

// finish ends an open proposal with err and reports whether it was open.
func (p *Proposal) finish(err error, r *Reason) bool {
	if !p.endFrom(proposalProposed, err, r) {
		return false
	}
	close(p.done)
	return true
}

// endFrom ends the proposal if it is in state from: records why, stops
// its timer and forgets it.
func (p *Proposal) endFrom(from proposalState, err error, r *Reason) bool {
	p.mu.Lock()
	if p.state != from {
		p.mu.Unlock()
		return false
	}
	p.state = proposalEnded
	p.err = err
	p.reason = r
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	p.m.mu.Lock()
	p.m.props.dropLocked(p)
	p.m.mu.Unlock()
	return true
}

// proceeded marks an outgoing proposal accepted by the device from.
func (p *Proposal) proceeded(from string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.state != proposalProposed {
		return false
	}
	p.state = proposalProceeded
	p.answeredBy = from
	close(p.done)
	return true
}

func (p *Proposal) markRinging() {
	p.ringOnce.Do(func() { close(p.ringing) })
}

// resetTimer (re)arms the expiry: an open proposal ends with
// ErrProposalTimeout (outgoing ones are retracted), a proceeded one is
// forgotten if its session never comes.
func (p *Proposal) resetTimer(d time.Duration) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.timer = time.AfterFunc(d, p.expire)
}

func (p *Proposal) expire() {
	p.mu.Lock()
	st := p.state
	p.mu.Unlock()
	switch st {
	case proposalProposed:
		r := &Reason{Condition: ReasonCancel, Text: "timeout"}
		if p.finish(ErrProposalTimeout, r) && !p.incoming {
			ctx, cancel := context.WithTimeout(p.m.ctx, p.m.iqTimeout)
			defer cancel()
			if err := p.m.sendMessage(ctx, jmiMessage(p.peer, "retract", p.id, r, nil)); err != nil {
				p.m.log.Debug("jingle: retracting expired proposal", "id", p.id, "err", err)
			}
		}
	case proposalProceeded:
		p.m.mu.Lock()
		p.m.props.dropLocked(p)
		p.m.mu.Unlock()
	case proposalEnded:
	}
}

// shutdown ends the proposal on Manager.Close: open outgoing ones are
// retracted, everything else is forgotten locally.
func (p *Proposal) shutdown(ctx context.Context) {
	if !p.incoming {
		if err := p.Retract(ctx); err != nil && !errors.Is(err, ErrProposalAnswered) {
			p.m.log.Debug("jingle: retract on close", "id", p.id, "err", err)
		}
	}
	p.finish(ErrManagerClosed, nil)
	p.mu.Lock()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	p.m.mu.Lock()
	p.m.props.dropLocked(p)
	p.m.mu.Unlock()
}

// proposals is the manager's JMI bookkeeping, guarded by Manager.mu.
type proposals struct {
	// out holds our proposals until they end or their session starts.
	out map[string]*Proposal
	// in holds open incoming proposals by (bare proposer, id).
	in        map[sessionKey]*Proposal
	inPerPeer map[string]int
	// proceeded holds incoming proposals we proceeded, by (proposer full
	// JID, id), until the session-initiate arrives.
	proceeded map[sessionKey]*Proposal
}

func (ps *proposals) init() {
	ps.out = make(map[string]*Proposal)
	ps.in = make(map[sessionKey]*Proposal)
	ps.inPerPeer = make(map[string]int)
	ps.proceeded = make(map[sessionKey]*Proposal)
}

func (ps *proposals) dropIncomingLocked(p *Proposal) {
	k := sessionKey{bareJID(p.peer), p.id}
	if ps.in[k] != p {
		return
	}
	delete(ps.in, k)
	if ps.inPerPeer[k.peer]--; ps.inPerPeer[k.peer] <= 0 {
		delete(ps.inPerPeer, k.peer)
	}
}

func (ps *proposals) dropLocked(p *Proposal) {
	if p.incoming {
		ps.dropIncomingLocked(p)
		if ps.proceeded[sessionKey{p.peer, p.id}] == p {
			delete(ps.proceeded, sessionKey{p.peer, p.id})
		}
		return
	}
	if ps.out[p.id] == p {
		delete(ps.out, p.id)
	}
}

// takeProceededLocked reports whether an incoming session-initiate from
// peer with sid continues a proposal we proceeded, and forgets it.
func (ps *proposals) takeProceededLocked(peer, sid string) bool {
	p := ps.proceeded[sessionKey{peer, sid}]
	if p == nil {
		return false
	}
	delete(ps.proceeded, sessionKey{peer, sid})
	p.mu.Lock()
	if p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	return true
}

// isOursLocked reports whether an outgoing session to peer with sid
// continues our proposal that peer proceeded, and forgets the proposal.
func (ps *proposals) isOursLocked(peer, sid string) bool {
	p := ps.out[sid]
	if p == nil {
		return false
	}
	p.mu.Lock()
	ok := p.state == proposalProceeded && p.answeredBy == peer
	if ok && p.timer != nil {
		p.timer.Stop()
	}
	p.mu.Unlock()
	if ok {
		delete(ps.out, sid)
	}
	return ok
}

func (ps *proposals) allLocked() []*Proposal {
	out := make([]*Proposal, 0, len(ps.out)+len(ps.in)+len(ps.proceeded))
	for _, p := range ps.out {
		out = append(out, p)
	}
	for _, p := range ps.in {
		out = append(out, p)
	}
	for _, p := range ps.proceeded {
		out = append(out, p)
	}
	return out
}

// Propose sends a XEP-0353 <propose/> to peer (a bare JID rings every
// device of the account, a full JID one) with one description per
// intended content. The message requests a XEP-0184 receipt, which is how
// Conversations learns that a device rings. Without an answer within the
// initiate timeout the proposal is retracted and Wait fails with
// ErrProposalTimeout.
func (m *Manager) Propose(ctx context.Context, peer string, descriptions []Element, opts ...ProposeOption) (*Proposal, error) {
	if peer == "" {
		return nil, fmt.Errorf("jingle: propose: %w", errNoPeer)
	}
	p := &Proposal{
		m:       m,
		id:      newID(),
		peer:    peer,
		descs:   append([]Element(nil), descriptions...),
		ringing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, o := range opts {
		o(p)
	}
	var inner bytes.Buffer
	for _, d := range descriptions {
		b, err := xml.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("jingle: propose to %s: %w", peer, err)
		}
		inner.Write(b)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, fmt.Errorf("jingle: propose to %s: %w", peer, ErrManagerClosed)
	}
	m.props.out[p.id] = p
	m.mu.Unlock()
	msg := jmiMessage(peer, "propose", p.id, nil, inner.Bytes())
	// The message id is the proposal id, so receipts name the proposal.
	msg.ID = p.id
	msg.Payload = append(msg.Payload, []byte(`<request xmlns="`+NSReceipts+`"></request>`)...)
	if err := m.sendMessage(ctx, msg); err != nil {
		p.finish(err, nil)
		return nil, err
	}
	// Armed after the send, so a retract can never overtake its propose.
	p.resetTimer(m.initiateTimeout)
	return p, nil
}

// HandleMessage handles JMI messages (XEP-0353), delivery receipts and
// chat markers for our proposals, and carbon copies (XEP-0280) of JMI
// answers our other devices sent. It reports whether the message was
// consumed.
func (m *Manager) HandleMessage(ctx context.Context, msg *Message) (consumed bool) {
	if msg == nil {
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			m.log.Error("jingle: panic while handling message", "from", msg.From, "panic", r, "stack", string(debug.Stack()))
			consumed = true
		}
	}()
	els, err := msg.Elements()
	if err != nil {
		return false
	}
	if msg.Type == "error" {
		return m.handleBounce(msg, els)
	}
	var receipt bool
	for i := range els {
		if els[i].XMLName.Space == NSReceipts && els[i].XMLName.Local == "request" {
			receipt = true
		}
	}
	for i := range els {
		e := &els[i]
		switch {
		case e.XMLName.Space == NSMessage:
			m.handleJMI(ctx, msg, e, receipt)
			consumed = true
		case (e.XMLName.Space == NSReceipts || e.XMLName.Space == NSChatMarkers) && e.XMLName.Local == "received":
			if m.handleReceipt(msg.From, e.Attribute("id")) {
				consumed = true
			}
		case e.XMLName.Space == NSCarbons && (e.XMLName.Local == "sent" || e.XMLName.Local == "received"):
			// Only our own server may send carbons (XEP-0280 §11).
			if msg.From != "" && msg.From != bareJID(m.local) {
				continue
			}
			if m.handleCarbon(ctx, e) {
				consumed = true
			}
		}
	}
	return consumed
}

// handleBounce ends our proposal when its <propose/> message bounced
// (the account does not exist, or the server refused it): the message id
// is the proposal id.
func (m *Manager) handleBounce(msg *Message, els []Element) bool {
	p := m.outgoing(msg.ID, msg.From)
	if p == nil {
		return false
	}
	e := &Error{Type: ErrorTypeCancel, Condition: CondUndefined}
	for i := range els {
		if els[i].XMLName.Local == "error" {
			if err := els[i].Decode(e); err != nil {
				m.log.Debug("jingle: malformed error in bounce", "err", err)
			}
		}
	}
	p.finish(e, nil)
	return true
}

// handleJMI handles one urn:xmpp:jingle-message:0 element.
func (m *Manager) handleJMI(ctx context.Context, msg *Message, e *Element, receiptRequested bool) {
	id := e.Attribute("id")
	from := msg.From
	if id == "" || from == "" || from == m.local {
		return
	}
	ours := bareJID(from) == bareJID(m.local)
	switch e.XMLName.Local {
	case "propose":
		if ours {
			// Another device of ours calls someone.
			return
		}
		m.handlePropose(ctx, msg, e, receiptRequested)
	case "accept", "proceed", "reject":
		if ours {
			// Another device of ours answered (the old dialect's
			// <accept/> to our bare JID, or a copy).
			m.answeredElsewhere(id)
			return
		}
		if e.XMLName.Local == "accept" {
			return
		}
		p := m.outgoing(id, from)
		if p == nil {
			m.nIgnoredJMI.Add(1)
			return
		}
		if e.XMLName.Local == "proceed" {
			if !p.proceeded(from) {
				m.log.Debug("jingle: ignoring late proceed", "id", id, "from", from)
			}
			return
		}
		r, tieBreak := jmiReason(e)
		err := ErrProposalRejected
		if tieBreak {
			err = ErrProposalTieBreak
		}
		p.finish(err, r)
	case "ringing":
		if p := m.outgoing(id, from); p != nil {
			p.markRinging()
		} else {
			m.nIgnoredJMI.Add(1)
		}
	case "retract":
		m.mu.Lock()
		p := m.props.in[sessionKey{bareJID(from), id}]
		if p == nil {
			// The caller hung up after our proceed.
			p = m.props.proceeded[sessionKey{from, id}]
		}
		m.mu.Unlock()
		if p == nil || p.peer != from {
			m.nIgnoredJMI.Add(1)
			return
		}
		r, _ := jmiReason(e)
		if !p.finish(ErrProposalRetracted, r) {
			p.withdraw(ErrProposalRetracted, r)
		}
	case "finish":
		// The Jingle session-terminate is what ends a session; a
		// <finish/> for a proposal still open ends that (the call
		// migrated or ended before we answered).
		r, _ := jmiReason(e)
		m.mu.Lock()
		p := m.props.in[sessionKey{bareJID(from), id}]
		if p == nil {
			p = m.props.out[id]
		}
		m.mu.Unlock()
		if p == nil || bareJID(p.peer) != bareJID(from) {
			// Not counted in IgnoredJMI: XEP-0353 §3.4 sends <finish/>
			// when a session ends, long after its proposal.
			return
		}
		p.finish(ErrProposalRetracted, r)
	}
}

// outgoing returns our proposal id if from may answer it: a device of
// the bare JID we proposed to, or exactly the full JID.
func (m *Manager) outgoing(id, from string) *Proposal {
	m.mu.Lock()
	p := m.props.out[id]
	m.mu.Unlock()
	if p == nil {
		return nil
	}
	if p.peer == from || p.peer == bareJID(from) {
		return p
	}
	return nil
}

// handlePropose handles an incoming <propose/>: receipt, tie-break with
// our own proposal (XEP-0353 §4.1), limits, then the application.
func (m *Manager) handlePropose(ctx context.Context, msg *Message, e *Element, receiptRequested bool) {
	from, id := msg.From, e.Attribute("id")
	descs, err := childElements(e.Inner)
	if err != nil {
		m.log.Debug("jingle: malformed propose", "from", from, "err", err)
		return
	}
	if !m.takesProposal(descs) {
		// Not ours to answer: no receipt (it would read as ringing), no
		// tie-break, no reject (it would end the call on the devices
		// that can take it).
		m.log.Debug("jingle: leaving a proposal to other devices", "from", from, "id", id)
		return
	}
	p := &Proposal{m: m, id: id, peer: from, descs: descs, incoming: true, ringing: make(chan struct{}), done: make(chan struct{})}
	k := sessionKey{bareJID(from), id}
	m.mu.Lock()
	if m.closed || m.props.in[k] != nil || m.props.proceeded[sessionKey{from, id}] != nil {
		// Closed, or a copy of a proposal we have (MAM, carbons).
		m.mu.Unlock()
		return
	}
	var rival *Proposal
	for _, o := range m.props.out {
		o.mu.Lock()
		open := o.state == proposalProposed
		o.mu.Unlock()
		if !open || bareJID(o.peer) != k.peer {
			continue
		}
		if id < o.id || (id == o.id && from < m.local) {
			rival = o
			break
		}
		m.mu.Unlock()
		// Ours has the lower id: reject theirs with <tie-break/>.
		r := &Reason{Condition: ReasonExpired, Text: "Tie-Break"}
		if err := m.sendMessage(ctx, jmiMessage(from, "reject", id, r, []byte(`<tie-break></tie-break>`))); err != nil {
			m.log.Debug("jingle: rejecting on tie-break", "err", err)
		}
		return
	}
	if m.props.inPerPeer[k.peer] >= m.pendingPerPeer || len(m.props.in) >= m.pendingTotal {
		m.mu.Unlock()
		m.log.Debug("jingle: dropping proposal beyond limits", "from", from, "id", id)
		return
	}
	m.props.in[k] = p
	m.props.inPerPeer[k.peer]++
	handler := m.onProposal
	m.mu.Unlock()
	p.resetTimer(m.responderTimeout)

	// The receipt is what makes Conversations show ringing. It goes
	// only for proposals we keep, so a flood gets no echo.
	if receiptRequested && msg.ID != "" {
		r := &Message{To: from, ID: newID(), Payload: []byte(`<received xmlns="` + NSReceipts + `" id="` + xmlEscape(msg.ID) + `"></received>`)}
		if err := m.sendMessage(ctx, r); err != nil {
			m.log.Debug("jingle: sending receipt", "to", from, "err", err)
		}
	}
	if rival != nil {
		// Theirs has the lower id: retract ours with <tie-break/>.
		r := &Reason{Condition: ReasonExpired, Text: "Tie-Break"}
		if rival.finish(ErrProposalTieBreak, r) {
			if err := m.sendMessage(ctx, jmiMessage(rival.peer, "retract", rival.id, r, []byte(`<tie-break></tie-break>`))); err != nil {
				m.log.Debug("jingle: retracting on tie-break", "err", err)
			}
		}
	}
	if old := m.migrationSource(from); old != nil {
		m.migrate(ctx, old, p)
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				m.log.Error("jingle: panic in proposal handler", "panic", r, "stack", string(debug.Stack()))
			}
		}()
		handler(p)
	}()
}

// takesProposal reports whether this manager answers a proposal with
// descs: it has a proposal handler and an application registered for
// one of the descriptions (a proposal without any description is left to
// the handler).
func (m *Manager) takesProposal(descs []Element) bool {
	if m.onProposal == nil {
		return false
	}
	if len(descs) == 0 {
		return true
	}
	for i := range descs {
		if m.apps[descs[i].XMLName.Space] != nil {
			return true
		}
	}
	return false
}

// migrationSource finds an active session with the proposer's account
// that began with JMI: XEP-0353 §4.2 deems it an orphan the new proposal
// continues (the peer switched devices or lost its connection).
func (m *Manager) migrationSource(from string) *Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.sessions {
		if s.viaProposal && bareJID(k.peer) == bareJID(from) && s.State() == StateActive {
			return s
		}
	}
	return nil
}

// migrate ends old with <expired/> and a <finish/> carrying
// <migrated to=new-id/>, then proceeds the new proposal without asking,
// as XEP-0353 §4.2 says the responder SHOULD.
func (m *Manager) migrate(ctx context.Context, old *Session, p *Proposal) {
	m.log.Debug("jingle: session migrated", "old", old.sid, "new", p.id, "peer", p.peer)
	r := &Reason{Condition: ReasonExpired, Text: "Session migrated"}
	extra := []byte(`<migrated to="` + xmlEscape(p.id) + `"></migrated>`)
	if err := old.call(ctx, func(context.Context) {
		old.finishExtra = extra
		old.terminate(r)
	}); err != nil {
		m.log.Debug("jingle: ending the migrated session", "err", err)
	}
	p.mu.Lock()
	p.migratedFrom = old.sid
	p.mu.Unlock()
	if err := p.Proceed(ctx); err != nil {
		m.log.Debug("jingle: proceeding the migrated session", "err", err)
	}
}

// answeredElsewhere ends our incoming proposal id because another device
// of our account answered it.
func (m *Manager) answeredElsewhere(id string) {
	m.mu.Lock()
	var found []*Proposal
	for k, p := range m.props.in {
		if k.sid == id {
			found = append(found, p)
		}
	}
	m.mu.Unlock()
	for _, p := range found {
		p.finish(ErrAnsweredElsewhere, nil)
	}
}

// handleReceipt marks our proposal ringing when its propose message's
// receipt (or chat marker) comes back from a device of the peer.
func (m *Manager) handleReceipt(from, id string) bool {
	if id == "" {
		return false
	}
	p := m.outgoing(id, from)
	if p == nil {
		return false
	}
	if p.ringingFrom == nil {
		p.markRinging()
		return true
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return true
	}
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(m.ctx, m.iqTimeout)
		defer cancel()
		if p.ringingFrom(ctx, from) {
			p.markRinging()
		} else {
			m.log.Debug("jingle: receipt of a proposal from a device without JMI, not ringing", "id", id, "from", from)
		}
	}()
	return true
}

// handleCarbon looks into a carbon copy for JMI answers of our other
// devices: a <sent/> copy of their proceed, accept or reject ends our
// incoming proposal ("answered elsewhere").
func (m *Manager) handleCarbon(_ context.Context, e *Element) bool {
	var c struct {
		Forwarded struct {
			Message Message `xml:"message"`
		} `xml:"forwarded"`
	}
	if err := e.Decode(&c); err != nil {
		return false
	}
	inner := &c.Forwarded.Message
	if e.XMLName.Local != "sent" || bareJID(inner.From) != bareJID(m.local) || inner.From == m.local {
		return false
	}
	els, err := inner.Elements()
	if err != nil {
		return false
	}
	consumed := false
	for i := range els {
		x := &els[i]
		if x.XMLName.Space != NSMessage {
			continue
		}
		switch x.XMLName.Local {
		case "proceed", "accept", "reject":
			m.answeredElsewhere(x.Attribute("id"))
			consumed = true
		}
	}
	return consumed
}

func (m *Manager) sendMessage(ctx context.Context, msg *Message) error {
	if msg.From == "" {
		msg.From = m.local
	}
	if err := m.out.SendMessage(ctx, msg); err != nil {
		return fmt.Errorf("jingle: sending message to %s: %w", msg.To, err)
	}
	return nil
}

// jmiMessage builds a JMI message of type chat with a <store/> hint
// (XEP-0353 §3): <kind xmlns=jingle-message:0 id=id>[reason][extra]</kind>.
func jmiMessage(to, kind, id string, r *Reason, extra []byte) *Message {
	var b bytes.Buffer
	b.WriteString(`<` + kind + ` xmlns="` + NSMessage + `" id="` + xmlEscape(id) + `">`)
	if r != nil {
		b.Write(reasonXML(r))
	}
	b.Write(extra)
	b.WriteString(`</` + kind + `><store xmlns="` + NSHints + `"></store>`)
	return &Message{To: to, ID: newID(), Type: "chat", Payload: b.Bytes()}
}

// reasonXML encodes r as <reason xmlns='urn:xmpp:jingle:1'>, the form it
// takes inside JMI elements.
func reasonXML(r *Reason) []byte {
	b, err := xml.Marshal(r)
	if err != nil {
		return nil
	}
	return append([]byte(`<reason xmlns="`+NS+`">`), bytes.TrimPrefix(b, []byte("<reason>"))...)
}

// jmiReason reads the reason and the <tie-break/> flag of a reject,
// retract or finish.
func jmiReason(e *Element) (*Reason, bool) {
	var v struct {
		Reason   *Reason   `xml:"urn:xmpp:jingle:1 reason"`
		TieBreak *struct{} `xml:"tie-break"`
	}
	if err := e.Decode(&v); err != nil {
		return nil, false
	}
	return v.Reason, v.TieBreak != nil
}

// childElements parses concatenated raw elements.
func childElements(inner []byte) ([]Element, error) {
	m := Message{Payload: inner}
	return m.Elements()
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
