// Package jingle implements Jingle (XEP-0166) sessions and Jingle Message
// Initiation (XEP-0353) over any XMPP connection.
//
// A Manager routes incoming Jingle IQs by (peer full JID, sid) to
// sessions, acknowledges every IQ (a result or the right error: XEP-0166
// §10 conditions, bad-request for malformed Jingle), runs the state
// machine of XEP-0166 §6.1 and dispatches to pluggable applications
// (description namespaces, e.g. XEP-0167 RTP, XEP-0234 file transfer) and
// transports (e.g. XEP-0176 ICE-UDP, XEP-0065/0260 SOCKS5, XEP-0047/0261
// IBB, XEP-0343 datachannel), registered by namespace so new ones plug in
// without touching the core. It implements the tie-break rules of
// XEP-0166 §7.2.16, timeouts for unanswered session-initiates, and bounds
// on pending sessions so that a flood cannot exhaust memory.
//
// Each Session owns its state through one serial loop: incoming stanzas,
// API calls, timers and transport events are tasks run one at a time, so
// session fields need no locks and callbacks never run under a lock.
// Callbacks run in the loop and send with Session.Queue, which does not
// wait; every other goroutine sends with Session.Send (Accept, Info,
// Terminate), which waits for the peer's acknowledgement or its context.
//
// The manager depends on no XMPP library: it talks through Sender and is
// fed by HandleIQ and HandleMessage. Package jingletest links managers
// in memory for tests; xmpp wires them to a real server.
//
// Calling: Propose rings every device of an account (XEP-0353); Wait
// returns the device that proceeded; Initiate with the proposal's ID
// starts the Jingle session there. Peers without JMI (StanzaJS) get
// Initiate directly, to a full JID found through presence and disco.
// Answering: the WithProposalHandler callback rings, proceeds or rejects;
// the proposer's session-initiate then reaches the Application of its
// description namespace with Session.ViaProposal set, and the
// application accepts or terminates it.
//
// Both JMI dialects in use interoperate: the old one (Conversations,
// Dino: no <ringing/> or <finish/>, ringing shown on the XEP-0184 receipt
// of the <propose/>, <accept/> to the own bare JID) and the current one
// (Monal, Movim, XEP-0353 v0.8: <ringing/>, <finish/>, answers to full
// JIDs, tie-breaks, session migration).
//
// Limits (WithPendingLimits, WithSessionLimits) and timeouts
// (WithInitiateTimeout, WithResponderTimeout, WithIQTimeout) keep what a
// peer can make us hold bounded; refusals are resource-constraint errors
// that allocate nothing.
package jingle

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sort"
	"sync"
	"sync/atomic"
	"time"
)

// jingleName is the name of the <jingle/> element.
var jingleName = xml.Name{Space: NS, Local: "jingle"}

// sessionKey identifies a session: the peer's full JID and the sid. Two
// peers may use the same sid; a sid never identifies a session alone.
type sessionKey struct{ peer, sid string }

// Manager owns the Jingle sessions and JMI proposals of one local full JID.
type Manager struct {
	local string
	out   Sender
	log   *slog.Logger

	apps       map[string]Application
	transports map[string]Transport
	onProposal func(*Proposal)

	initiateTimeout  time.Duration
	responderTimeout time.Duration
	iqTimeout        time.Duration
	pendingPerPeer   int
	pendingTotal     int
	sessionsPerPeer  int
	sessionsTotal    int

	// ctx lives until Close; outgoing stanzas are sent under it.
	ctx    context.Context
	cancel context.CancelFunc
	// wg counts session loops and their sender goroutines.
	wg sync.WaitGroup

	// Counters for Stats.
	nRefused, nUnknown, nBadRequest, nIgnoredJMI atomic.Uint64

	mu        sync.Mutex
	closed    bool
	closeDone chan struct{}
	sessions  map[sessionKey]*Session
	// pending counts incoming sessions not active yet, per bare JID.
	pending  map[string]int
	npending int
	// live counts incoming sessions not ended, per bare JID.
	live  map[string]int
	nlive int
	props proposals
}

// NewManager returns a manager for our full JID local, sending through
// out. It starts no goroutine until there is a session.
func NewManager(local string, out Sender, opts ...Option) *Manager {
	m := &Manager{
		local:            local,
		out:              out,
		log:              slog.New(slog.DiscardHandler),
		apps:             make(map[string]Application),
		transports:       make(map[string]Transport),
		initiateTimeout:  DefaultInitiateTimeout,
		responderTimeout: DefaultResponderTimeout,
		iqTimeout:        DefaultIQTimeout,
		pendingPerPeer:   DefaultPendingPerPeer,
		pendingTotal:     DefaultPendingTotal,
		sessionsPerPeer:  DefaultSessionsPerPeer,
		sessionsTotal:    DefaultSessionsTotal,
		live:             make(map[string]int),
		closeDone:        make(chan struct{}),
		sessions:         make(map[sessionKey]*Session),
		pending:          make(map[string]int),
	}
	m.props.init()
	for _, o := range opts {
		o(m)
	}
	m.ctx, m.cancel = context.WithCancel(context.Background())
	return m
}

// Local returns our full JID.
func (m *Manager) Local() string { return m.local }

// Features returns the XEP-0030 features of the registered applications
// and transports plus Jingle itself, and JMI when a proposal handler
// answers proposals (WithProposalHandler), sorted and deduplicated, ready
// for disco#info and the XEP-0115 caps hash. A resource advertises only
// what it will do: a caller learns from these features whether to ring
// it through JMI or send it a session-initiate.
func (m *Manager) Features() []string {
	set := map[string]bool{NS: true}
	if m.onProposal != nil {
		set[NSMessage] = true
	}
	for _, a := range m.apps {
		for _, f := range a.Features() {
			set[f] = true
		}
	}
	for _, t := range m.transports {
		for _, f := range t.Features() {
			set[f] = true
		}
	}
	out := make([]string, 0, len(set))
	for f := range set {
		out = append(out, f)
	}
	sort.Strings(out)
	return out
}

// Applications returns the registered applications sorted by namespace.
func (m *Manager) Applications() []Application {
	out := make([]Application, 0, len(m.apps))
	for _, a := range m.apps {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Namespace() < out[j].Namespace() })
	return out
}

// Application returns the application registered for namespace ns, or nil.
func (m *Manager) Application(ns string) Application { return m.apps[ns] }

// Transports returns the registered transports of kind (0 = all kinds),
// highest Priority first (ties by namespace), the order in which a
// fallback tries them.
func (m *Manager) Transports(kind TransportKind) []Transport {
	out := make([]Transport, 0, len(m.transports))
	for _, t := range m.transports {
		if kind == 0 || t.Kind() == kind {
			out = append(out, t)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Priority() != out[j].Priority() {
			return out[i].Priority() > out[j].Priority()
		}
		return out[i].Namespace() < out[j].Namespace()
	})
	return out
}

// Transport returns the transport registered for namespace ns, or nil.
func (m *Manager) Transport(ns string) Transport { return m.transports[ns] }

// Session returns the live session with peer (full JID) and sid, or nil.
func (m *Manager) Session(peer, sid string) *Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.sessions[sessionKey{peer, sid}]
}

// Sessions returns the live sessions, ordered by peer then sid.
func (m *Manager) Sessions() []*Session {
	m.mu.Lock()
	out := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		out = append(out, s)
	}
	m.mu.Unlock()
	sort.Slice(out, func(i, j int) bool {
		if out[i].peer != out[j].peer {
			return out[i].peer < out[j].peer
		}
		return out[i].sid < out[j].sid
	})
	return out
}

// Stats is a snapshot of the manager's load and of what it refused, for
// metrics.
type Stats struct {
	// Sessions are the live sessions; Pending the incoming ones not
	// active yet; Proposals the open JMI proposals in both directions.
	Sessions, Pending, Proposals int
	// Refused counts session-initiates refused by the pending or session
	// limits (resource-constraint), UnknownSession the IQs for sids that
	// are not the sender's, BadRequest the malformed Jingle IQs.
	Refused, UnknownSession, BadRequest uint64
	// IgnoredJMI counts the JMI messages (proceed, reject, ringing,
	// retract) that match no proposal of their sender: XEP-0353
	// has no error for them, so they are dropped, and only this count
	// shows a peer that sends them.
	IgnoredJMI uint64
}

// Stats returns the current counts.
func (m *Manager) Stats() Stats {
	m.mu.Lock()
	defer m.mu.Unlock()
	return Stats{
		Sessions:       len(m.sessions),
		Pending:        m.npending,
		Proposals:      len(m.props.out) + len(m.props.in),
		Refused:        m.nRefused.Load(),
		UnknownSession: m.nUnknown.Load(),
		BadRequest:     m.nBadRequest.Load(),
		IgnoredJMI:     m.nIgnoredJMI.Load(),
	}
}

// HandleIQ handles an IQ set carrying <jingle xmlns='urn:xmpp:jingle:1'/>
// and returns the reply to send: a result, or an error reply with the
// condition XEP-0166 §10 asks for. It never returns nil and never panics
// (a panic becomes internal-server-error and is logged).
func (m *Manager) HandleIQ(ctx context.Context, iq *IQ) (reply *IQ) {
	if iq == nil {
		return &IQ{Type: IQError, Error: BadRequest("no iq")}
	}
	defer func() {
		if r := recover(); r != nil {
			m.log.Error("jingle: panic while handling IQ", "from", iq.From, "panic", r, "stack", string(debug.Stack()))
			reply = iq.ErrorReply(&Error{Type: ErrorTypeCancel, Condition: CondInternalServerError})
		}
	}()
	if iq.Type != IQSet {
		return iq.ErrorReply(BadRequest("jingle requests are IQs of type set"))
	}
	if iq.From == "" {
		return iq.ErrorReply(BadRequest("jingle request without sender"))
	}
	j, err := Parse(iq.Payload)
	if err != nil {
		m.nBadRequest.Add(1)
		return iq.ErrorReply(err)
	}
	if j.Action == ActionSessionInitiate {
		return m.handleInitiate(ctx, iq, j)
	}
	s := m.Session(iq.From, j.SID)
	if s == nil {
		// Unknown sid, or a sid of another peer: same answer either way,
		// so a third party learns nothing about other sessions.
		m.nUnknown.Add(1)
		return iq.ErrorReply(withText(ErrUnknownSession, "no session %s with %s", j.SID, iq.From))
	}
	return s.handleIQ(ctx, iq, j)
}

// handleInitiate creates the session of an incoming session-initiate,
// after the tie-break rules and the pending limits.
func (m *Manager) handleInitiate(ctx context.Context, iq *IQ, j *Jingle) *IQ {
	peer := iq.From
	key := sessionKey{peer, j.SID}
	for {
		m.mu.Lock()
		if m.closed {
			m.mu.Unlock()
			return iq.ErrorReply(withText(ErrServiceUnavailable, "shutting down"))
		}
		old := m.sessions[key]
		if old == nil {
			break
		}
		m.mu.Unlock()
		if !old.isInitiator || old.State() != StatePending {
			// A repeated session-initiate: the session's state
			// machine answers out-of-order.
			return old.handleIQ(ctx, iq, j)
		}
		// Both sides initiated with the same sid (XEP-0166 §7.2.16):
		// the action of the lower JID wins.
		if !(peer < m.local) {
			return iq.ErrorReply(withText(ErrTieBreak, "simultaneous session-initiate with sid %s", j.SID))
		}
		lost := &Reason{Condition: ReasonAlternativeSession, AlternativeSID: j.SID, Text: "tie-break"}
		if err := old.call(ctx, func(context.Context) { old.end(lost) }); err != nil && !errors.Is(err, ErrSessionEnded) {
			return iq.ErrorReply(withText(&Error{Type: ErrorTypeWait, Condition: CondResourceConstraint}, "%v", err))
		}
	}
	if rival := m.rivalLocked(peer, j); rival != nil && j.SID > rival.sid {
		m.mu.Unlock()
		// Simultaneous session-initiates (XEP-0166 §7.2.16): the one
		// with the lower sid wins; we received the higher one.
		m.log.Debug("jingle: tie-break, rejecting the peer's session-initiate", "peer", peer, "sid", j.SID, "ours", rival.sid)
		return iq.ErrorReply(withText(ErrTieBreak, "simultaneous session-initiate, ours (%s) wins", rival.sid))
	}
	bare := bareJID(peer)
	if m.pending[bare] >= m.pendingPerPeer || m.npending >= m.pendingTotal {
		m.mu.Unlock()
		m.nRefused.Add(1)
		return iq.ErrorReply(withText(ErrResourceConstraint, "too many pending sessions"))
	}
	if m.live[bare] >= m.sessionsPerPeer || m.nlive >= m.sessionsTotal {
		m.mu.Unlock()
		m.nRefused.Add(1)
		return iq.ErrorReply(withText(ErrResourceConstraint, "too many sessions"))
	}
	s := newSession(m, peer, j.SID, peer, false)
	s.initNS = descriptionSet(j.Contents)
	s.viaProposal = m.props.takeProceededLocked(peer, j.SID)
	s.countedPending = true
	m.pending[bare]++
	m.npending++
	m.live[bare]++
	m.nlive++
	m.sessions[key] = s
	m.wg.Add(1)
	go s.run()
	// Queue the session-initiate before anything else can reach the
	// session, then wait outside the lock (the loop takes m.mu).
	t, refused := s.submit(iq, j)
	m.mu.Unlock()
	if refused != nil {
		return refused
	}
	return s.await(ctx, iq, t)
}

// rivalLocked finds our own pending session-initiate to the same peer
// with a functionally equivalent content (the same description
// namespaces), the case of XEP-0166 §7.2.16 "no existing session".
func (m *Manager) rivalLocked(peer string, j *Jingle) *Session {
	ns := descriptionSet(j.Contents)
	for k, s := range m.sessions {
		if k.peer == peer && s.isInitiator && s.State() == StatePending && s.initNS == ns {
			return s
		}
	}
	return nil
}

// tieBreakWinner returns the sid of a pending incoming session from peer,
// which is what beat our session-initiate in a tie-break.
func (m *Manager) tieBreakWinner(peer, ns string) string {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.sessions {
		if k.peer == peer && !s.isInitiator && s.initNS == ns {
			return s.sid
		}
	}
	return ""
}

// selectApplication chooses the application of an incoming
// session-initiate by description namespace, as Conversations'
// JingleConnectionManager does: the first content whose application and
// transport are both registered decides. It returns a reason when no
// content is usable.
func (m *Manager) selectApplication(j *Jingle) (Application, *Reason) {
	var withApp bool
	for i := range j.Contents {
		c := &j.Contents[i]
		a := m.apps[c.DescriptionNS()]
		if a == nil {
			continue
		}
		withApp = true
		if c.Transport == nil || m.transports[c.TransportNS()] != nil {
			return a, nil
		}
	}
	if !withApp {
		return nil, &Reason{Condition: ReasonUnsupportedApplications}
	}
	return nil, &Reason{Condition: ReasonUnsupportedTransports}
}

// Initiate starts an outgoing session with peer (a full JID) and waits
// for the peer's acknowledgement of the session-initiate. sid "" picks a
// random UUIDv4; pass a JMI proposal's ID to continue it. h owns the
// session from then on. If the peer does not send session-accept within
// the initiate timeout the session ends with <timeout/>.
func (m *Manager) Initiate(ctx context.Context, peer, sid string, contents []Content, payloads []Element, h SessionHandler) (*Session, error) {
	if h == nil {
		return nil, fmt.Errorf("jingle: initiate with %s: %w", peer, errNoHandler)
	}
	if peer == "" {
		return nil, fmt.Errorf("jingle: initiate: %w", errNoPeer)
	}
	if bareJID(peer) == peer {
		// IQs go to one device; a bare JID would reach the server.
		return nil, fmt.Errorf("jingle: initiate with %s: %w", peer, errNeedFullJID)
	}
	if sid == "" {
		sid = newID()
	}
	j := &Jingle{XMLName: jingleName, Action: ActionSessionInitiate, SID: sid, Initiator: m.local, Contents: contents, Payloads: payloads}
	if err := j.Validate(); err != nil {
		return nil, fmt.Errorf("jingle: initiate with %s: %w", peer, err)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, fmt.Errorf("jingle: initiate with %s: %w", peer, ErrManagerClosed)
	}
	key := sessionKey{peer, sid}
	if m.sessions[key] != nil {
		m.mu.Unlock()
		return nil, fmt.Errorf("jingle: initiate with %s: sid %s: %w", peer, sid, errSessionExists)
	}
	s := newSession(m, peer, sid, m.local, true)
	s.handler = h
	s.initNS = descriptionSet(contents)
	s.viaProposal = m.props.isOursLocked(peer, sid)
	m.sessions[key] = s
	m.wg.Add(1)
	go s.run()
	m.mu.Unlock()

	if err := s.Send(ctx, j); err != nil {
		// The peer refused (the loop ended the session) or ctx ran out
		// before the ack: then nobody waits for the session, end it.
		if !errors.As(err, new(*Error)) {
			_ = s.Terminate(context.WithoutCancel(ctx), &Reason{Condition: ReasonCancel})
		}
		return nil, fmt.Errorf("jingle: session-initiate to %s: %w", peer, err)
	}
	return s, nil
}

// forget removes s from the routing table and the pending counts; called
// by the session's loop when it ends.
func (m *Manager) forget(s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.sessions[sessionKey{s.peer, s.sid}] == s {
		delete(m.sessions, sessionKey{s.peer, s.sid})
	}
	m.leavePendingLocked(s)
	if !s.isInitiator {
		bare := bareJID(s.peer)
		if m.live[bare]--; m.live[bare] <= 0 {
			delete(m.live, bare)
		}
		m.nlive--
	}
}

// leavePending uncounts an incoming session once it is active.
func (m *Manager) leavePending(s *Session) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.leavePendingLocked(s)
}

func (m *Manager) leavePendingLocked(s *Session) {
	if !s.countedPending {
		return
	}
	s.countedPending = false
	bare := bareJID(s.peer)
	if m.pending[bare]--; m.pending[bare] <= 0 {
		delete(m.pending, bare)
	}
	m.npending--
}

// Close ends every session and proposal and waits for their goroutines.
// Active sessions end with <success/> (the call or transfer is over as far
// as we are concerned, which is what clients show for a normal hang-up);
// pending ones with <cancel/> (they never started, like a caller hanging
// up while it rings). It waits for the peers' acknowledgements until ctx
// is done, then abandons them. Close is idempotent; later calls wait for
// the first to finish.
func (m *Manager) Close(ctx context.Context) error {
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		select {
		case <-m.closeDone:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	m.closed = true
	sessions := make([]*Session, 0, len(m.sessions))
	for _, s := range m.sessions {
		sessions = append(sessions, s)
	}
	props := m.props.allLocked()
	m.mu.Unlock()
	defer close(m.closeDone)

	for _, p := range props {
		p.shutdown(ctx)
	}
	var wg sync.WaitGroup
	for _, s := range sessions {
		r := &Reason{Condition: ReasonSuccess}
		if s.State() == StatePending {
			r = &Reason{Condition: ReasonCancel}
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := s.Terminate(ctx, r); err != nil {
				s.log.Debug("jingle: session-terminate on close", "err", err)
			}
		}()
	}
	wg.Wait()
	// Abort whatever the peers did not acknowledge in time.
	m.cancel()
	m.wg.Wait()
	return ctx.Err()
}
