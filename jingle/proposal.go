package jingle

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// A XEP-0353 proposal on its own: its states, what the application does
// with it (Wait, Ring, Proceed, Reject, Retract) and the manager's
// bookkeeping of open proposals. initiation.go routes the messages.

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
