package jingle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime/debug"
	"sync"
	"sync/atomic"
	"time"
)

// Session is one Jingle session (XEP-0166) with one peer full JID.
//
// Its state lives in a serial loop (loop.go): stanzas from the peer,
// calls of its methods, timers and whatever the application hands to Do
// run there one at a time. Code running in the loop (the callbacks of
// Application and SessionHandler, Do and DoContext tasks) sends with
// Queue, which never waits. Every other goroutine sends with Send,
// Accept, Info and Terminate, which wait for the peer's acknowledgement
// or for their context; called from the loop they would wait for the
// loop itself.
type Session struct {
	m           *Manager
	sid         string
	peer        string
	local       string
	initiator   string
	isInitiator bool
	log         *slog.Logger
	ctx         context.Context
	cancel      context.CancelFunc
	done        chan struct{}
	// initNS is the sorted set of description namespaces of the
	// session-initiate, to spot tie-breaks between equivalent sessions.
	initNS string

	// Set before the loop starts, read-only afterwards.
	viaProposal bool

	// countedPending is guarded by m.mu.
	countedPending bool

	// inTask is true while the loop runs a task: Queue refuses to run
	// otherwise, as it then certainly runs outside the loop.
	inTask atomic.Bool

	// Published copies for other goroutines.
	pubState    atomic.Int32
	pubReason   atomic.Pointer[Reason]
	pubContents atomic.Pointer[[]Content]

	// Owned by the loop.
	state       State
	handler     SessionHandler
	neg         negotiation
	timer       *time.Timer
	finishExtra []byte // children of our XEP-0353 <finish/> (<migrated/>)
	corked      bool
	after       []func(context.Context)

	qmu     sync.Mutex
	queue   []*task
	qclosed bool
	nstanza int
	wake    chan struct{}

	out outbox
}

func newSession(m *Manager, peer, sid, initiator string, isInitiator bool) *Session {
	s := &Session{
		m:           m,
		sid:         sid,
		peer:        peer,
		local:       m.local,
		initiator:   initiator,
		isInitiator: isInitiator,
		done:        make(chan struct{}),
		wake:        make(chan struct{}, 1),
	}
	s.log = m.log.With("sid", sid, "peer", peer)
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.publish()
	return s
}

// SID returns the session id.
func (s *Session) SID() string { return s.sid }

// Manager returns the manager that owns the session, for applications
// that look up registered transports (fallback by priority).
func (s *Session) Manager() *Manager { return s.m }

// Peer returns the other party's full JID.
func (s *Session) Peer() string { return s.peer }

// Local returns our full JID.
func (s *Session) Local() string { return s.local }

// Initiator returns the initiator's full JID. For incoming sessions it is
// the sender of the session-initiate, not its initiator attribute, which
// XEP-0166 tells us not to trust (and StanzaJS omits).
func (s *Session) Initiator() string { return s.initiator }

// IsInitiator reports whether we initiated the session.
func (s *Session) IsInitiator() bool { return s.isInitiator }

// ViaProposal reports whether the session continues a XEP-0353 proposal
// (its sid is the proposal's id): one we proceeded, so the application
// may accept it without asking the user again, or one we sent.
func (s *Session) ViaProposal() bool { return s.viaProposal }

// State returns the current state.
func (s *Session) State() State { return State(s.pubState.Load()) }

// Contents returns a snapshot of the negotiated contents: those of
// session-initiate, replaced by those of session-accept, then with
// content-accept, content-remove, content-modify and transport-accept
// applied as diffs. Contents proposed by content-add or transport-replace
// enter only once accepted. The latest description or transport element
// seen for a content, from either side, is the one kept.
func (s *Session) Contents() []Content {
	p := s.pubContents.Load()
	if p == nil {
		return nil
	}
	return append([]Content(nil), (*p)...)
}

// Context returns a context cancelled when the session ends.
func (s *Session) Context() context.Context { return s.ctx }

// Done is closed when the session has ended and its loop has finished.
func (s *Session) Done() <-chan struct{} { return s.done }

// Reason returns why the session ended, or nil while it runs.
func (s *Session) Reason() *Reason { return s.pubReason.Load() }

// Logger returns the manager's logger with the session's sid and peer.
func (s *Session) Logger() *slog.Logger { return s.log }

// Send sends a Jingle action of ours from outside the session's loop:
// it fills sid (and initiator or responder for session-initiate and
// session-accept), applies our side's state transition and content diff
// in the loop, sends the IQ after those queued before it and waits for
// the acknowledgement, or for ctx. An error reply comes back as *Error.
// session-terminate ends the session (see Terminate). From the loop use
// Queue: Send there would wait for the loop it holds.
func (s *Session) Send(ctx context.Context, j *Jingle) error {
	if j == nil {
		return fmt.Errorf("jingle: send on session %s: %w", s.sid, errNoJingle)
	}
	var res <-chan error
	var serr error
	if err := s.call(ctx, func(context.Context) { res, serr = s.sendLocal(j) }); err != nil {
		return fmt.Errorf("jingle: %s on session %s: %w", j.Action, s.sid, err)
	}
	if serr != nil {
		return fmt.Errorf("jingle: %s on session %s: %w", j.Action, s.sid, serr)
	}
	return s.wait(ctx, j.Action, res)
}

// Queue is Send for code running in the session's loop (Application and
// SessionHandler callbacks, Do and DoContext tasks). It checks and
// applies our action at once, as Send does, so the session reflects it
// when Queue returns, and queues the IQ without waiting for the peer. An
// error means the action was refused and nothing was queued (on an ended
// session it is ErrSessionEnded, also for session-terminate). Otherwise
// the returned channel receives the outcome once, when the peer answered
// (nil, or its *Error) or the IQ could not be sent; it is buffered, so
// nobody has to read it. A refusal of our content-add or
// transport-replace is reflected in the session before the outcome is
// delivered. Queue must not be called from other goroutines, which use
// Send: it returns an error when it sees it runs outside a task.
func (s *Session) Queue(j *Jingle) (<-chan error, error) {
	if j == nil {
		return nil, fmt.Errorf("jingle: queue on session %s: %w", s.sid, errNoJingle)
	}
	if !s.inTask.Load() {
		return nil, fmt.Errorf("jingle: %s on session %s: %w", j.Action, s.sid, errNotInLoop)
	}
	if s.state == StateEnded {
		return nil, fmt.Errorf("jingle: %s on session %s: %w", j.Action, s.sid, ErrSessionEnded)
	}
	res, err := s.sendLocal(j)
	if err != nil {
		return nil, fmt.Errorf("jingle: %s on session %s: %w", j.Action, s.sid, err)
	}
	if res == nil {
		// A session-terminate that needed no stanza (the peer never
		// heard of the session).
		done := make(chan error, 1)
		done <- nil
		res = done
	}
	return res, nil
}

// wait waits for the acknowledgement of one of our IQs, or for ctx.
func (s *Session) wait(ctx context.Context, a Action, res <-chan error) error {
	if res == nil {
		return nil
	}
	select {
	case err := <-res:
		if err != nil {
			return fmt.Errorf("jingle: %s on session %s: %w", a, s.sid, err)
		}
		return nil
	case <-ctx.Done():
		return fmt.Errorf("jingle: waiting for the ack of %s on session %s: %w", a, s.sid, ctx.Err())
	}
}

// Accept sends session-accept with the contents we accept (contents of
// the session-initiate left out are rejected) and session-level payloads,
// and waits as Send does. From the loop, Queue an ActionSessionAccept.
func (s *Session) Accept(ctx context.Context, contents []Content, payloads []Element) error {
	return s.Send(ctx, &Jingle{Action: ActionSessionAccept, Contents: contents, Payloads: payloads})
}

// Info sends session-info with payloads (none is a ping, XEP-0166 §7.2.7)
// and waits as Send does. From the loop, Queue an ActionSessionInfo.
func (s *Session) Info(ctx context.Context, payloads ...Element) error {
	return s.Send(ctx, &Jingle{Action: ActionSessionInfo, Payloads: payloads})
}

// Terminate sends session-terminate with r (nil means <success/>) and
// ends the session at once: the handler's Terminated runs, the session
// leaves the manager. It then waits for the peer's acknowledgement, or
// for ctx. On an ended session it does nothing and returns nil. From the
// loop, Queue an ActionSessionTerminate.
func (s *Session) Terminate(ctx context.Context, r *Reason) error {
	if r == nil {
		r = &Reason{Condition: ReasonSuccess}
	}
	var res <-chan error
	err := s.call(ctx, func(context.Context) { res = s.terminate(r) })
	if errors.Is(err, ErrSessionEnded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("jingle: session-terminate on session %s: %w", s.sid, err)
	}
	return s.wait(ctx, ActionSessionTerminate, res)
}

// onStanza handles an action of the peer, in the loop.
func (s *Session) onStanza(ctx context.Context, iq *IQ, j *Jingle) *IQ {
	ns, err := next(s.state, j.Action, !s.isInitiator)
	if err != nil {
		return iq.ErrorReply(err)
	}
	switch j.Action {
	case ActionSessionInitiate:
		return s.onInitiate(ctx, iq, j, ns)
	case ActionSessionTerminate:
		r := j.Reason
		if r == nil {
			r = &Reason{Condition: ReasonSuccess}
		}
		s.end(r)
		return iq.Result()
	}
	if err := s.neg.checkRemote(j, s.isInitiator); err != nil {
		return iq.ErrorReply(err)
	}
	if s.handler == nil {
		return iq.ErrorReply(&Error{Type: ErrorTypeCancel, Condition: CondInternalServerError})
	}
	// The handler sees the session as the action leaves it (State,
	// Contents); if it refuses the action, the action is undone.
	saved, savedState := s.neg, s.state
	s.apply(j, ns, false)
	err = s.handler.HandleAction(ctx, s, j)
	var te *TerminateError
	if err != nil && !errors.As(err, &te) {
		if s.state != StateEnded {
			s.undo(saved, savedState)
		}
		return iq.ErrorReply(err)
	}
	if s.state == StateEnded {
		// The handler terminated the session itself.
		return iq.Result()
	}
	switch {
	case te != nil:
		r := te.Reason
		s.afterReply(func(context.Context) { s.terminate(r) })
	case j.Action == ActionContentRemove && s.neg.void():
		// XEP-0166 §7.2.4: a session without contents is void.
		s.afterReply(func(context.Context) {
			s.terminate(&Reason{Condition: ReasonSuccess, Text: "no content left"})
		})
	}
	return iq.Result()
}

// apply applies an accepted action, ours (local) or the peer's, to the
// negotiation and the state.
func (s *Session) apply(j *Jingle, ns State, local bool) {
	s.neg = s.neg.apply(j, local)
	if local && j.Action == ActionSessionInitiate {
		s.armTimer(s.m.initiateTimeout)
	}
	s.setState(ns)
}

// undo puts back the negotiation and state an action of the peer started
// from, when the handler refused the action. A session-accept undone puts
// the session back to pending, with a fresh initiate timeout.
func (s *Session) undo(n negotiation, st State) {
	s.neg = n
	if st == StatePending && s.state == StateActive {
		s.armTimer(s.m.initiateTimeout)
	}
	s.state = st
	s.publish()
}

// onInitiate hands an incoming session-initiate to its application.
func (s *Session) onInitiate(ctx context.Context, iq *IQ, j *Jingle, ns State) *IQ {
	s.neg = s.neg.apply(j, false)
	s.setState(ns)
	s.armTimer(s.m.responderTimeout)
	app, r := s.m.selectApplication(j)
	if r != nil {
		s.log.Debug("jingle: refusing session-initiate", "reason", r)
		s.afterReply(func(context.Context) { s.terminate(r) })
		return iq.Result()
	}
	h, err := app.HandleInitiate(ctx, s, j)
	if err != nil {
		var te *TerminateError
		if errors.As(err, &te) {
			reason := te.Reason
			s.afterReply(func(context.Context) { s.terminate(reason) })
			return iq.Result()
		}
		// Refused by IQ error: the peer keeps no session, neither do we.
		s.end(&Reason{Condition: ReasonGeneralError, Text: "session-initiate refused: " + ToError(err).Error()})
		return iq.ErrorReply(err)
	}
	if h == nil {
		s.end(&Reason{Condition: ReasonGeneralError, Text: "no handler"})
		return iq.ErrorReply(&Error{Type: ErrorTypeCancel, Condition: CondInternalServerError})
	}
	s.handler = h
	if s.state == StateEnded {
		// The application ended the session before returning its
		// handler; the handler still learns about it, once.
		s.safeTerminated(h, s.Reason())
	}
	return iq.Result()
}

// sendLocal runs in the loop for Send: checks, applies and queues our
// action. res delivers the acknowledgement.
func (s *Session) sendLocal(in *Jingle) (<-chan error, error) {
	j := *in
	j.XMLName = jingleName
	j.SID = s.sid
	j.Contents = cloneContents(in.Contents)
	switch j.Action {
	case ActionSessionInitiate:
		j.Initiator = s.local
	case ActionSessionAccept:
		j.Responder = s.local
	case ActionSessionTerminate:
		if j.Reason == nil {
			j.Reason = &Reason{Condition: ReasonSuccess}
		}
		return s.terminateWith(&j), nil
	}
	ns, err := next(s.state, j.Action, s.isInitiator)
	if err != nil {
		return nil, err
	}
	if err := j.Validate(); err != nil {
		return nil, err
	}
	if err := s.neg.checkLocal(&j); err != nil {
		return nil, err
	}
	s.apply(&j, ns, true)
	return s.enqueueOut(&outItem{j: &j, onReply: s.onOurReply(&j)}), nil
}

// onOurReply returns what to do in the loop when the peer refuses one of
// our actions.
func (s *Session) onOurReply(j *Jingle) func(error) {
	return func(err error) {
		if err == nil || s.state == StateEnded {
			return
		}
		s.log.Debug("jingle: peer refused our action", "action", j.Action, "err", err)
		if j.Action == ActionSessionInitiate {
			s.end(s.initiateFailure(err))
			return
		}
		s.neg = s.neg.refused(j)
	}
}

// initiateFailure turns the error answering our session-initiate into the
// session's end reason.
func (s *Session) initiateFailure(err error) *Reason {
	switch {
	case errors.Is(err, ErrTieBreak):
		return &Reason{Condition: ReasonAlternativeSession, AlternativeSID: s.m.tieBreakWinner(s.peer, s.initNS), Text: "tie-break"}
	case errors.Is(err, ErrResourceConstraint):
		return &Reason{Condition: ReasonBusy, Text: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		return &Reason{Condition: ReasonTimeout, Text: "no reply to session-initiate"}
	case errors.As(err, new(*Error)):
		return &Reason{Condition: ReasonGeneralError, Text: err.Error()}
	}
	return &Reason{Condition: ReasonConnectivityError, Text: err.Error()}
}

// terminate sends session-terminate with r and ends the session, in the
// loop. It returns the acknowledgement's channel, nil if nothing was sent.
func (s *Session) terminate(r *Reason) <-chan error {
	return s.terminateWith(&Jingle{Action: ActionSessionTerminate, Reason: r})
}

func (s *Session) terminateWith(j *Jingle) <-chan error {
	switch s.state {
	case StateEnded:
		return nil
	case stateNew:
		// The peer never heard of the session.
		s.end(j.Reason)
		return nil
	}
	j.XMLName = jingleName
	j.SID = s.sid
	// The terminate must not leave before the manager forgot the session:
	// a peer that gets it and at once starts a new session would otherwise
	// still count against our pending limits (resource-constraint).
	corked := s.corked
	s.corked = true
	res := s.enqueueOut(&outItem{j: j})
	s.end(j.Reason)
	s.corked = corked
	if !corked {
		s.kickOut()
	}
	return res
}

// end ends the session in the loop: the handler learns it once, the
// manager forgets the session, and the loop stops after the tasks already
// queued. Nothing is sent here except XEP-0353 <finish/>.
func (s *Session) end(r *Reason) {
	if s.state == StateEnded {
		return
	}
	if r == nil {
		r = &Reason{Condition: ReasonSuccess}
	}
	wasStarted := s.state != stateNew
	// Forget before publishing the end: whoever lists the manager's
	// sessions never sees an ended one (metrics, tests).
	s.m.forget(s)
	s.pubReason.Store(r)
	s.setState(StateEnded)
	if s.timer != nil {
		s.timer.Stop()
	}
	if s.handler != nil {
		s.safeTerminated(s.handler, r)
	}
	if s.viaProposal && wasStarted {
		s.enqueueOut(&outItem{msg: jmiMessage(s.peer, "finish", s.sid, r, s.finishExtra)})
	}
	s.cancel()
	s.qmu.Lock()
	s.qclosed = true
	s.qmu.Unlock()
	s.signal()
	s.log.Debug("jingle: session ended", "reason", r)
}

func (s *Session) safeTerminated(h SessionHandler, r *Reason) {
	defer func() {
		if p := recover(); p != nil {
			s.log.Error("jingle: panic in Terminated", "panic", p, "stack", string(debug.Stack()))
		}
	}()
	h.Terminated(s, r)
}

// setState moves to ns and does what leaving pending implies.
func (s *Session) setState(ns State) {
	if s.state == StatePending && ns == StateActive {
		if s.timer != nil {
			s.timer.Stop()
		}
		s.m.leavePending(s)
	}
	s.state = ns
	s.publish()
}

// armTimer ends the session with <timeout/> if it is still pending after d.
func (s *Session) armTimer(d time.Duration) {
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(d, func() {
		s.enqueue(&task{fn: func(context.Context) {
			if s.state == StatePending {
				s.log.Debug("jingle: pending session timed out")
				s.terminate(&Reason{Condition: ReasonTimeout})
			}
		}})
	})
}

func (s *Session) publish() {
	s.pubState.Store(int32(s.state))
	c := cloneContents(s.neg.contents)
	s.pubContents.Store(&c)
}
