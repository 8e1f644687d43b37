package jingle

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"runtime"
	"runtime/debug"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Session is one Jingle session (XEP-0166) with one peer full JID.
//
// Its state lives in a serial loop (pion/ice taskloop style): stanzas from
// the peer, calls of its methods, timers and whatever the application
// hands to Do run there one at a time. Handler callbacks run in the loop;
// called from there, the sending methods (Send, Accept, Info, Terminate)
// queue their stanza and return nil at once, since waiting for the
// acknowledgement would stall the loop (an error reply is then only
// logged). Called from any other goroutine they wait for it.
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

	// loopGID is the id of the loop's goroutine (see inLoop).
	loopGID atomic.Uint64

	// Published copies for other goroutines.
	pubState    atomic.Int32
	pubReason   atomic.Pointer[Reason]
	pubContents atomic.Pointer[[]Content]

	// Owned by the loop.
	state         State
	handler       SessionHandler
	contents      []Content
	ourAdds       map[string]Content
	theirAdds     map[string]Content
	ourReplaces   map[string]Element
	theirReplaces map[string]Element
	timer         *time.Timer
	finishExtra   []byte // children of our XEP-0353 <finish/> (<migrated/>)
	corked        bool
	after         []func(context.Context)

	qmu     sync.Mutex
	queue   []*task
	qclosed bool
	nstanza int
	wake    chan struct{}

	omu     sync.Mutex
	outq    []*outItem
	sending bool // a sender is counted in m.wg (running or parked)
	parked  bool // counted but not started: waiting for kickOut
}

// task is one unit of work of the loop. A waiter whose context ends
// before the task started cancels it; once started it runs to the end.
type task struct {
	fn     func(ctx context.Context)
	stanza bool
	st     atomic.Int32 // taskQueued, taskClaimed or taskCancelled
	done   chan struct{}
	// reply is the answer to a stanza task, read after done.
	reply *IQ
	// after holds what a stanza task asked to run once its reply is
	// out (Session.afterReply).
	after []func(context.Context)
}

const (
	taskQueued int32 = iota
	taskClaimed
	taskCancelled
)

// outItem is a stanza waiting for the session's sender goroutine, which
// sends them one at a time so that the peer sees them in order (a
// transport-info must not overtake its session-initiate).
type outItem struct {
	j   *Jingle
	msg *Message
	// onReply runs in the loop with the reply's error before res is
	// filled, so the session reflects a refusal when Send returns.
	onReply func(ctx context.Context, err error)
	res     chan error
}

func newSession(m *Manager, peer, sid, initiator string, isInitiator bool) *Session {
	s := &Session{
		m:             m,
		sid:           sid,
		peer:          peer,
		local:         m.local,
		initiator:     initiator,
		isInitiator:   isInitiator,
		done:          make(chan struct{}),
		wake:          make(chan struct{}, 1),
		ourAdds:       make(map[string]Content),
		theirAdds:     make(map[string]Content),
		ourReplaces:   make(map[string]Element),
		theirReplaces: make(map[string]Element),
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

// Do queues f to run in the session's loop and reports whether it was
// queued; f runs unless Do returns false (the session had ended). It does
// not wait for f.
func (s *Session) Do(f func()) bool {
	return s.enqueue(&task{fn: func(context.Context) { f() }})
}

// DoContext is Do with the loop's context, which is cancelled when the
// session ends. Like every callback, f may call the sending methods: they
// queue and return without waiting for the acknowledgement.
func (s *Session) DoContext(f func(ctx context.Context)) bool {
	return s.enqueue(&task{fn: f})
}

// Send sends a Jingle action of ours: it fills sid (and initiator or
// responder for session-initiate and session-accept), applies our side's
// state transition and content diff, sends the IQ and waits for the
// acknowledgement. An error reply comes back as *Error. session-terminate
// ends the session (see Terminate).
func (s *Session) Send(ctx context.Context, j *Jingle) error {
	if j == nil {
		return fmt.Errorf("jingle: send on session %s: %w", s.sid, errNoJingle)
	}
	var res <-chan error
	var serr error
	if err := s.call(ctx, func(lctx context.Context) { res, serr = s.sendLocal(lctx, j) }); err != nil {
		return fmt.Errorf("jingle: %s on session %s: %w", j.Action, s.sid, err)
	}
	if serr != nil {
		return fmt.Errorf("jingle: %s on session %s: %w", j.Action, s.sid, serr)
	}
	return s.wait(ctx, j.Action, res)
}

// wait waits for the acknowledgement of one of our IQs, unless ctx is a
// loop context.
func (s *Session) wait(ctx context.Context, a Action, res <-chan error) error {
	if res == nil || s.inLoop(ctx) {
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
// the session-initiate left out are rejected) and session-level payloads.
func (s *Session) Accept(ctx context.Context, contents []Content, payloads []Element) error {
	return s.Send(ctx, &Jingle{Action: ActionSessionAccept, Contents: contents, Payloads: payloads})
}

// Info sends session-info with payloads (none is a ping, XEP-0166 §7.2.7).
func (s *Session) Info(ctx context.Context, payloads ...Element) error {
	return s.Send(ctx, &Jingle{Action: ActionSessionInfo, Payloads: payloads})
}

// Terminate sends session-terminate with r (nil means <success/>) and
// ends the session at once: the handler's Terminated runs, the session
// leaves the manager. It then waits for the peer's acknowledgement. On an
// ended session it does nothing and returns nil.
func (s *Session) Terminate(ctx context.Context, r *Reason) error {
	if r == nil {
		r = &Reason{Condition: ReasonSuccess}
	}
	var res <-chan error
	err := s.call(ctx, func(lctx context.Context) { res = s.terminate(lctx, r) })
	if errors.Is(err, ErrSessionEnded) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("jingle: session-terminate on session %s: %w", s.sid, err)
	}
	return s.wait(ctx, ActionSessionTerminate, res)
}

// inLoop reports whether the caller runs in this session's loop (a
// callback), where waiting for the loop or for an acknowledgement would
// deadlock it. It compares goroutine ids rather than trusting a context:
// applications keep the context of HandleInitiate for their own
// goroutines, which must go through the queue.
func (s *Session) inLoop(context.Context) bool {
	id := s.loopGID.Load()
	return id != 0 && id == goid()
}

// goid returns the current goroutine's id, parsed from the first line of
// its stack trace ("goroutine 42 [running]:").
func goid() uint64 {
	var buf [64]byte
	b := buf[:runtime.Stack(buf[:], false)]
	b = bytes.TrimPrefix(b, []byte("goroutine "))
	if i := bytes.IndexByte(b, ' '); i > 0 {
		b = b[:i]
	}
	id, err := strconv.ParseUint(string(b), 10, 64)
	if err != nil {
		return 0
	}
	return id
}

// call runs fn in the loop and waits for it; in the loop it runs fn
// directly.
func (s *Session) call(ctx context.Context, fn func(context.Context)) error {
	if s.inLoop(ctx) {
		fn(ctx)
		return nil
	}
	t := &task{fn: fn, done: make(chan struct{})}
	if !s.enqueue(t) {
		return ErrSessionEnded
	}
	select {
	case <-t.done:
		return nil
	case <-ctx.Done():
		if t.st.CompareAndSwap(taskQueued, taskCancelled) {
			return ctx.Err()
		}
		<-t.done
		return nil
	}
}

// enqueue queues t; false once the session has ended.
func (s *Session) enqueue(t *task) bool {
	s.qmu.Lock()
	if s.qclosed {
		s.qmu.Unlock()
		return false
	}
	s.queue = append(s.queue, t)
	s.qmu.Unlock()
	s.signal()
	return true
}

func (s *Session) signal() {
	select {
	case s.wake <- struct{}{}:
	default:
	}
}

// submit queues a stanza of the peer for the loop, or returns the reply
// refusing it: the session ended, or the peer has too many stanzas
// waiting (a flood on one session stays bounded).
func (s *Session) submit(iq *IQ, j *Jingle) (*task, *IQ) {
	t := &task{stanza: true, done: make(chan struct{})}
	t.fn = func(ctx context.Context) { t.reply = s.onStanza(ctx, iq, j) }
	s.qmu.Lock()
	switch {
	case s.qclosed:
		s.qmu.Unlock()
		return nil, iq.ErrorReply(withText(ErrUnknownSession, "session %s has ended", j.SID))
	case s.nstanza >= maxQueuedStanzas:
		s.qmu.Unlock()
		return nil, iq.ErrorReply(withText(ErrResourceConstraint, "too many requests queued for session %s", j.SID))
	}
	s.nstanza++
	s.queue = append(s.queue, t)
	s.qmu.Unlock()
	s.signal()
	return t, nil
}

// await waits for a submitted stanza's reply, then releases what the
// stanza queued to send after it (an ack goes before the session-terminate
// or session-accept it causes).
func (s *Session) await(ctx context.Context, iq *IQ, t *task) *IQ {
	select {
	case <-t.done:
	case <-ctx.Done():
		if t.st.CompareAndSwap(taskQueued, taskCancelled) {
			return iq.ErrorReply(withText(&Error{Type: ErrorTypeWait, Condition: CondResourceConstraint}, "request abandoned: %v", ctx.Err()))
		}
		<-t.done
	}
	s.kickOut()
	if len(t.after) > 0 {
		after := t.after
		s.enqueue(&task{fn: func(ctx context.Context) {
			for _, f := range after {
				f(ctx)
			}
		}})
	}
	if t.reply == nil {
		return iq.ErrorReply(&Error{Type: ErrorTypeCancel, Condition: CondInternalServerError})
	}
	return t.reply
}

// handleIQ runs a stanza of the peer through the loop.
func (s *Session) handleIQ(ctx context.Context, iq *IQ, j *Jingle) *IQ {
	t, refused := s.submit(iq, j)
	if refused != nil {
		return refused
	}
	return s.await(ctx, iq, t)
}

// run is the session's loop. It ends once the session has ended and the
// tasks queued before that have run.
func (s *Session) run() {
	defer s.m.wg.Done()
	defer close(s.done)
	s.loopGID.Store(goid())
	// Callbacks get the session's context: it ends with the session.
	lctx := s.ctx
	for {
		s.qmu.Lock()
		for len(s.queue) == 0 {
			if s.qclosed {
				s.qmu.Unlock()
				// Nothing can uncork the sender any more.
				s.kickOut()
				return
			}
			s.qmu.Unlock()
			<-s.wake
			s.qmu.Lock()
		}
		t := s.queue[0]
		s.queue[0] = nil
		s.queue = s.queue[1:]
		if t.stanza {
			s.nstanza--
		}
		s.qmu.Unlock()
		s.runTask(lctx, t)
	}
}

// runTask runs one task unless its waiter cancelled it. A panic in
// application code ends the session instead of the process.
func (s *Session) runTask(ctx context.Context, t *task) {
	if !t.st.CompareAndSwap(taskQueued, taskClaimed) {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			s.corked = false
			s.log.Error("jingle: panic in session loop", "panic", r, "stack", string(debug.Stack()))
			s.terminate(ctx, &Reason{Condition: ReasonGeneralError, Text: "internal error"})
		}
		after := s.after
		s.after = nil
		if t.stanza {
			t.after = after
		} else {
			for _, f := range after {
				f(ctx)
			}
		}
		if t.done != nil {
			close(t.done)
		}
	}()
	// Stanzas we send while handling the peer's stanza wait until the
	// reply to it has been handed back (see await).
	s.corked = t.stanza
	t.fn(ctx)
	s.corked = false
}

// afterReply runs f in the loop after the reply to the stanza being
// handled has been handed back.
func (s *Session) afterReply(f func(context.Context)) {
	s.after = append(s.after, f)
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
	if err := s.checkRemote(j); err != nil {
		return iq.ErrorReply(err)
	}
	if s.handler == nil {
		return iq.ErrorReply(&Error{Type: ErrorTypeCancel, Condition: CondInternalServerError})
	}
	// The handler sees the session as the action leaves it (State,
	// Contents); if it refuses the action, the action is undone.
	saved := s.saveNegotiation()
	s.apply(j, ns, false)
	err = s.handler.HandleAction(ctx, s, j)
	var te *TerminateError
	if err != nil && !errors.As(err, &te) {
		if s.state != StateEnded {
			s.restoreNegotiation(saved)
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
		s.afterReply(func(ctx context.Context) { s.terminate(ctx, r) })
	case j.Action == ActionContentRemove && len(s.contents) == 0 && len(s.ourAdds) == 0 && len(s.theirAdds) == 0:
		// XEP-0166 §7.2.4: a session without contents is void.
		s.afterReply(func(ctx context.Context) {
			s.terminate(ctx, &Reason{Condition: ReasonSuccess, Text: "no content left"})
		})
	}
	return iq.Result()
}

// onInitiate hands an incoming session-initiate to its application.
func (s *Session) onInitiate(ctx context.Context, iq *IQ, j *Jingle, ns State) *IQ {
	s.contents = cloneContents(j.Contents)
	s.setState(ns)
	s.armTimer(s.m.responderTimeout)
	app, r := s.m.selectApplication(j)
	if r != nil {
		s.log.Debug("jingle: refusing session-initiate", "reason", r)
		s.afterReply(func(ctx context.Context) { s.terminate(ctx, r) })
		return iq.Result()
	}
	h, err := app.HandleInitiate(ctx, s, j)
	if err != nil {
		var te *TerminateError
		if errors.As(err, &te) {
			reason := te.Reason
			s.afterReply(func(ctx context.Context) { s.terminate(ctx, reason) })
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

// checkRemote checks the peer's content and transport negotiation
// against ours, including the tie-break of XEP-0166 §7.2.16 "existing
// session": the initiator's action wins, so when both sides sent
// content-add or transport-replace (for the same content) the initiator
// answers the responder's with conflict + tie-break.
func (s *Session) checkRemote(j *Jingle) error {
	switch j.Action {
	case ActionContentAdd:
		for i := range j.Contents {
			name := j.Contents[i].Name
			if s.hasContent(name) || hasKey(s.theirAdds, name) {
				return withText(ErrBadRequest, "content %q exists", name)
			}
		}
		if len(s.ourAdds) > 0 && s.isInitiator {
			return withText(ErrTieBreak, "content-add crossed ours")
		}
	case ActionContentAccept, ActionContentReject:
		for i := range j.Contents {
			if !hasKey(s.ourAdds, j.Contents[i].Name) {
				return withText(ErrOutOfOrder, "no content-add pending for %q", j.Contents[i].Name)
			}
		}
	case ActionContentModify:
		for i := range j.Contents {
			if !s.hasContent(j.Contents[i].Name) {
				return withText(ErrBadRequest, "unknown content %q", j.Contents[i].Name)
			}
		}
	case ActionTransportReplace:
		for i := range j.Contents {
			name := j.Contents[i].Name
			if !s.hasContent(name) {
				return withText(ErrBadRequest, "unknown content %q", name)
			}
			if hasKey(s.ourReplaces, name) && s.isInitiator {
				return withText(ErrTieBreak, "transport-replace for %q crossed ours", name)
			}
		}
	case ActionTransportAccept, ActionTransportReject:
		for i := range j.Contents {
			if !hasKey(s.ourReplaces, j.Contents[i].Name) {
				return withText(ErrOutOfOrder, "no transport-replace pending for %q", j.Contents[i].Name)
			}
		}
	}
	return nil
}

// checkLocal checks our own negotiation actions before they go out.
func (s *Session) checkLocal(j *Jingle) error {
	switch j.Action {
	case ActionContentAdd:
		for i := range j.Contents {
			name := j.Contents[i].Name
			if s.hasContent(name) || hasKey(s.ourAdds, name) || hasKey(s.theirAdds, name) {
				return fmt.Errorf("content %q: %w", name, errContentExists)
			}
		}
	case ActionContentAccept, ActionContentReject:
		for i := range j.Contents {
			if !hasKey(s.theirAdds, j.Contents[i].Name) {
				return withText(ErrOutOfOrder, "no content-add of the peer pending for %q", j.Contents[i].Name)
			}
		}
	case ActionContentModify, ActionTransportReplace:
		for i := range j.Contents {
			if !s.hasContent(j.Contents[i].Name) {
				return fmt.Errorf("content %q: %w", j.Contents[i].Name, errUnknownContent)
			}
		}
	case ActionTransportAccept, ActionTransportReject:
		for i := range j.Contents {
			if !hasKey(s.theirReplaces, j.Contents[i].Name) {
				return withText(ErrOutOfOrder, "no transport-replace of the peer pending for %q", j.Contents[i].Name)
			}
		}
	}
	return nil
}

// negotiation is a copy of what apply changes.
type negotiation struct {
	state                      State
	contents                   []Content
	ourAdds, theirAdds         map[string]Content
	ourReplaces, theirReplaces map[string]Element
}

func (s *Session) saveNegotiation() negotiation {
	return negotiation{
		state:         s.state,
		contents:      cloneContents(s.contents),
		ourAdds:       maps.Clone(s.ourAdds),
		theirAdds:     maps.Clone(s.theirAdds),
		ourReplaces:   maps.Clone(s.ourReplaces),
		theirReplaces: maps.Clone(s.theirReplaces),
	}
}

// restoreNegotiation undoes an action the handler refused. A
// session-accept undone puts the session back to pending, with a fresh
// initiate timeout.
func (s *Session) restoreNegotiation(n negotiation) {
	s.contents = n.contents
	s.ourAdds, s.theirAdds = n.ourAdds, n.theirAdds
	s.ourReplaces, s.theirReplaces = n.ourReplaces, n.theirReplaces
	if n.state == StatePending && s.state == StateActive {
		s.armTimer(s.m.initiateTimeout)
	}
	s.state = n.state
	s.publish()
}

// apply applies an accepted action, ours (local) or the peer's, to the
// contents and the state. A content-add or transport-replace waits in its
// author's map until the other side accepts or rejects it.
func (s *Session) apply(j *Jingle, ns State, local bool) {
	authorAdds, otherAdds := s.theirAdds, s.ourAdds
	authorReplaces, otherReplaces := s.theirReplaces, s.ourReplaces
	if local {
		authorAdds, otherAdds = s.ourAdds, s.theirAdds
		authorReplaces, otherReplaces = s.ourReplaces, s.theirReplaces
	}
	switch j.Action {
	case ActionSessionInitiate:
		// The peer's session-initiate creates the session instead.
		if local {
			s.contents = cloneContents(j.Contents)
			s.armTimer(s.m.initiateTimeout)
		}
	case ActionSessionAccept:
		s.contents = acceptContents(s.contents, j.Contents)
	case ActionContentAdd:
		for _, c := range j.Contents {
			authorAdds[c.Name] = cloneContent(c)
		}
	case ActionContentAccept:
		for _, c := range j.Contents {
			base := otherAdds[c.Name]
			delete(otherAdds, c.Name)
			s.putContent(mergeContent(base, c))
		}
	case ActionContentReject:
		for _, c := range j.Contents {
			delete(otherAdds, c.Name)
		}
	case ActionContentRemove:
		s.removeContents(j.Contents)
	case ActionContentModify:
		s.modifyContents(j.Contents)
	case ActionTransportReplace:
		for _, c := range j.Contents {
			authorReplaces[c.Name] = cloneElement(*c.Transport)
		}
	case ActionTransportAccept:
		for _, c := range j.Contents {
			t := otherReplaces[c.Name]
			delete(otherReplaces, c.Name)
			if c.Transport != nil {
				t = *c.Transport
			}
			s.setTransport(c.Name, t)
		}
	case ActionTransportReject:
		for _, c := range j.Contents {
			delete(otherReplaces, c.Name)
		}
	}
	s.setState(ns)
}

// sendLocal runs in the loop for Send: checks, applies and queues our
// action. res delivers the acknowledgement.
func (s *Session) sendLocal(ctx context.Context, in *Jingle) (<-chan error, error) {
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
		return s.terminateWith(ctx, &j), nil
	}
	ns, err := next(s.state, j.Action, s.isInitiator)
	if err != nil {
		return nil, err
	}
	if err := j.Validate(); err != nil {
		return nil, err
	}
	if err := s.checkLocal(&j); err != nil {
		return nil, err
	}
	s.apply(&j, ns, true)
	return s.enqueueOut(&outItem{j: &j, onReply: s.onOurReply(&j)}), nil
}

// onOurReply returns what to do in the loop when the peer refuses one of
// our actions.
func (s *Session) onOurReply(j *Jingle) func(context.Context, error) {
	return func(_ context.Context, err error) {
		if err == nil || s.state == StateEnded {
			return
		}
		s.log.Debug("jingle: peer refused our action", "action", j.Action, "err", err)
		switch j.Action {
		case ActionSessionInitiate:
			s.end(s.initiateFailure(err))
		case ActionContentAdd:
			for _, c := range j.Contents {
				delete(s.ourAdds, c.Name)
			}
		case ActionTransportReplace:
			for _, c := range j.Contents {
				delete(s.ourReplaces, c.Name)
			}
		}
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
func (s *Session) terminate(ctx context.Context, r *Reason) <-chan error {
	return s.terminateWith(ctx, &Jingle{Action: ActionSessionTerminate, Reason: r})
}

func (s *Session) terminateWith(_ context.Context, j *Jingle) <-chan error {
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
		s.enqueue(&task{fn: func(ctx context.Context) {
			if s.state == StatePending {
				s.log.Debug("jingle: pending session timed out")
				s.terminate(ctx, &Reason{Condition: ReasonTimeout})
			}
		}})
	})
}

func (s *Session) publish() {
	s.pubState.Store(int32(s.state))
	c := cloneContents(s.contents)
	s.pubContents.Store(&c)
}

// enqueueOut queues a stanza for the sender goroutine, in the loop. The
// goroutine is counted in the manager's WaitGroup here, while the loop's
// own count keeps it above zero.
func (s *Session) enqueueOut(it *outItem) <-chan error {
	it.res = make(chan error, 1)
	s.omu.Lock()
	s.outq = append(s.outq, it)
	start := false
	if !s.sending {
		s.sending = true
		s.m.wg.Add(1)
		start = !s.corked
		s.parked = !start
	}
	s.omu.Unlock()
	if start {
		go s.sendLoop()
	}
	return it.res
}

// kickOut starts a sender parked while the loop handled a stanza.
func (s *Session) kickOut() {
	s.omu.Lock()
	start := s.parked
	s.parked = false
	s.omu.Unlock()
	if start {
		go s.sendLoop()
	}
}

// sendLoop sends queued stanzas one at a time, each after the previous
// one's reply, so the peer sees them in order.
func (s *Session) sendLoop() {
	defer s.m.wg.Done()
	for {
		s.omu.Lock()
		if len(s.outq) == 0 {
			s.sending = false
			s.omu.Unlock()
			return
		}
		it := s.outq[0]
		s.outq[0] = nil
		s.outq = s.outq[1:]
		s.omu.Unlock()
		var err error
		if it.j != nil && it.j.Action != ActionSessionTerminate && s.State() == StateEnded {
			// Nobody cares about candidates or info for a session
			// that is over, and a peer that ended it may never answer
			// (StanzaJS leaves such IQs unanswered).
			err = ErrSessionEnded
		} else {
			err = s.sendOne(it)
		}
		if err != nil {
			s.log.Debug("jingle: sending failed", "err", err)
		}
		if it.onReply != nil {
			t := &task{fn: func(ctx context.Context) { it.onReply(ctx, err) }, done: make(chan struct{})}
			if s.enqueue(t) {
				<-t.done
			}
		}
		it.res <- err
	}
}

func (s *Session) sendOne(it *outItem) error {
	ctx, cancel := context.WithTimeout(s.m.ctx, s.m.iqTimeout)
	defer cancel()
	if it.msg != nil {
		return s.m.out.SendMessage(ctx, it.msg)
	}
	payload, err := xml.Marshal(it.j)
	if err != nil {
		return fmt.Errorf("jingle: encoding %s: %w", it.j.Action, err)
	}
	iq := &IQ{ID: newID(), From: s.local, To: s.peer, Type: IQSet, Payload: payload}
	reply, err := s.m.out.SendIQ(ctx, iq)
	if err != nil {
		return err
	}
	if reply != nil && reply.Type == IQError {
		if reply.Error != nil {
			return reply.Error
		}
		return &Error{Type: ErrorTypeCancel, Condition: CondUndefined}
	}
	return nil
}

// Content helpers. Elements are treated as immutable once sent or
// received, so copies share their Inner bytes.

func (s *Session) hasContent(name string) bool {
	for i := range s.contents {
		if s.contents[i].Name == name {
			return true
		}
	}
	return false
}

func (s *Session) putContent(c Content) {
	for i := range s.contents {
		if s.contents[i].Name == c.Name {
			s.contents[i] = c
			return
		}
	}
	s.contents = append(s.contents, c)
}

func (s *Session) removeContents(cs []Content) {
	for _, c := range cs {
		delete(s.ourAdds, c.Name)
		delete(s.theirAdds, c.Name)
		delete(s.ourReplaces, c.Name)
		delete(s.theirReplaces, c.Name)
	}
	kept := s.contents[:0]
	for _, c := range s.contents {
		removed := false
		for i := range cs {
			if cs[i].Name == c.Name {
				removed = true
				break
			}
		}
		if !removed {
			kept = append(kept, c)
		}
	}
	s.contents = kept
}

func (s *Session) modifyContents(cs []Content) {
	for _, c := range cs {
		for i := range s.contents {
			if s.contents[i].Name == c.Name {
				s.contents[i] = mergeContent(s.contents[i], c)
			}
		}
	}
}

func (s *Session) setTransport(name string, t Element) {
	for i := range s.contents {
		if s.contents[i].Name == name {
			e := cloneElement(t)
			s.contents[i].Transport = &e
		}
	}
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

func cloneElement(e Element) Element {
	e.Attr = append([]xml.Attr(nil), e.Attr...)
	return e
}

func cloneContent(c Content) Content {
	for _, p := range []**Element{&c.Description, &c.Transport, &c.Security} {
		if *p != nil {
			e := cloneElement(**p)
			*p = &e
		}
	}
	c.Extra = append([]Element(nil), c.Extra...)
	return c
}

func cloneContents(cs []Content) []Content {
	if cs == nil {
		return nil
	}
	out := make([]Content, len(cs))
	for i := range cs {
		out[i] = cloneContent(cs[i])
	}
	return out
}

// mergeContent applies upd over base: what upd carries replaces base's.
func mergeContent(base, upd Content) Content {
	upd = cloneContent(upd)
	r := base
	r.Name = upd.Name
	if r.Creator == "" {
		r.Creator = upd.Creator
	}
	if upd.Senders != "" {
		r.Senders = upd.Senders
	}
	if upd.Disposition != "" {
		r.Disposition = upd.Disposition
	}
	if upd.Description != nil {
		r.Description = upd.Description
	}
	if upd.Transport != nil {
		r.Transport = upd.Transport
	}
	if upd.Security != nil {
		r.Security = upd.Security
	}
	if len(upd.Extra) > 0 {
		r.Extra = upd.Extra
	}
	return r
}

// acceptContents is the content set after session-accept: the accepted
// contents, merged over the offered ones; offered contents left out of
// the accept are dropped.
func acceptContents(offered, accepted []Content) []Content {
	out := make([]Content, 0, len(accepted))
	for _, a := range accepted {
		var base Content
		for _, o := range offered {
			if o.Name == a.Name {
				base = o
				break
			}
		}
		out = append(out, mergeContent(base, a))
	}
	return out
}
