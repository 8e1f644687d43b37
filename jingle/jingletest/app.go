package jingletest

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"sync"

	"github.com/jingled/jingled/jingle"
)

// Namespaces of the test application and transport. They are not XEPs:
// they exist so that manager tests (in memory or through a real server)
// run a full session without media.
const (
	NSTestApp       = "urn:jingled:test:0"
	NSTestTransport = "urn:jingled:test:transport:0"
)

// TestDescription is the test application's <description/>.
type TestDescription struct {
	XMLName xml.Name `xml:"urn:jingled:test:0 description"`
	Label   string   `xml:"label,attr,omitempty"`
}

// TestTransportElement is the test transport's <transport/>.
type TestTransportElement struct {
	XMLName xml.Name `xml:"urn:jingled:test:transport:0 transport"`
	Token   string   `xml:"token,attr,omitempty"`
}

// Description returns a test description with a label.
func Description(label string) jingle.Element {
	return jingle.MustElement(TestDescription{Label: label})
}

// Transport returns a test transport element.
func Transport(token string) jingle.Element {
	return jingle.MustElement(TestTransportElement{Token: token})
}

// Contents returns one test content per name, created by the initiator.
func Contents(names ...string) []jingle.Content {
	out := make([]jingle.Content, 0, len(names))
	for _, n := range names {
		d, t := Description(n), Transport(n)
		out = append(out, jingle.Content{Creator: jingle.CreatorInitiator, Name: n, Description: &d, Transport: &t})
	}
	return out
}

// TestTransport registers NSTestTransport with a manager. It moves no
// data; its Kind and Priority are configurable for ordering tests.
type TestTransport struct {
	NS   string // default NSTestTransport
	K    jingle.TransportKind
	Prio int
}

var _ jingle.Transport = TestTransport{}

// Namespace implements jingle.Transport.
func (t TestTransport) Namespace() string {
	if t.NS == "" {
		return NSTestTransport
	}
	return t.NS
}

// Features implements jingle.Transport.
func (t TestTransport) Features() []string { return []string{t.Namespace()} }

// Kind implements jingle.Transport.
func (t TestTransport) Kind() jingle.TransportKind {
	if t.K == 0 {
		return jingle.Stream
	}
	return t.K
}

// Priority implements jingle.Transport.
func (t TestTransport) Priority() int { return t.Prio }

// TestApp is an application for NSTestApp. Incoming sessions are handed
// to Incoming; with AutoAccept they are accepted at once (all contents),
// the way an application accepts a session it proceeded through JMI.
type TestApp struct {
	// AutoAccept accepts every incoming session in HandleInitiate.
	AutoAccept bool
	// Refuse, when set, is returned from HandleInitiate (an *jingle.Error
	// or a *jingle.TerminateError).
	Refuse error
	// OnAction, when set, runs in the handlers of incoming sessions
	// before they record an action; its error is their answer.
	OnAction func(s *jingle.Session, j *jingle.Jingle) error

	incoming  chan *jingle.Session
	proposals chan *jingle.Proposal
	mu        sync.Mutex
	handlers  map[string]*Handler
}

var _ jingle.Application = (*TestApp)(nil)

// NewTestApp returns a TestApp whose Incoming channel buffers up to 1024
// sessions (more are not reported there, but still handled).
func NewTestApp(autoAccept bool) *TestApp {
	return &TestApp{
		AutoAccept: autoAccept,
		incoming:   make(chan *jingle.Session, 1024),
		proposals:  make(chan *jingle.Proposal, 1024),
		handlers:   make(map[string]*Handler),
	}
}

// ProposalHandler returns a handler for jingle.WithProposalHandler that
// reports incoming proposals on Proposals and, with proceed, rings and
// proceeds each at once (on a goroutine it owns until the messages are
// sent, so the handler does not block the caller).
func (a *TestApp) ProposalHandler(ctx context.Context, proceed bool) (handler func(*jingle.Proposal), wait func()) {
	var wg sync.WaitGroup
	handler = func(p *jingle.Proposal) {
		select {
		case a.proposals <- p:
		default:
		}
		if !proceed {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := p.Ring(ctx); err != nil {
				return
			}
			_ = p.Proceed(ctx)
		}()
	}
	return handler, wg.Wait
}

// Proposals delivers the incoming proposals seen by ProposalHandler.
func (a *TestApp) Proposals() <-chan *jingle.Proposal { return a.proposals }

// Call is the caller's side of a XEP-0353 call: propose to peer (bare
// JID: every device rings) with the contents' descriptions, wait for a
// device to proceed, then session-initiate to that device with the
// proposal's id as sid.
func Call(ctx context.Context, m *jingle.Manager, peer string, contents []jingle.Content, h jingle.SessionHandler) (*jingle.Session, error) {
	descs := make([]jingle.Element, 0, len(contents))
	for _, c := range contents {
		if c.Description != nil {
			descs = append(descs, *c.Description)
		}
	}
	p, err := m.Propose(ctx, peer, descs)
	if err != nil {
		return nil, err
	}
	full, err := p.Wait(ctx)
	if err != nil {
		if !errors.Is(err, jingle.ErrProposalRejected) && !errors.Is(err, jingle.ErrProposalTimeout) {
			_ = p.Retract(context.WithoutCancel(ctx))
		}
		return nil, err
	}
	return m.Initiate(ctx, full, p.ID(), contents, nil, h)
}

// Namespace implements jingle.Application.
func (a *TestApp) Namespace() string { return NSTestApp }

// Features implements jingle.Application.
func (a *TestApp) Features() []string { return []string{NSTestApp} }

// Incoming delivers incoming sessions after HandleInitiate.
func (a *TestApp) Incoming() <-chan *jingle.Session { return a.incoming }

// Handler returns the handler of an incoming session by sid, or nil.
func (a *TestApp) Handler(sid string) *Handler {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.handlers[sid]
}

// HandleInitiate implements jingle.Application: it checks that every
// content of ours carries a test description, then accepts or waits.
func (a *TestApp) HandleInitiate(ctx context.Context, s *jingle.Session, j *jingle.Jingle) (jingle.SessionHandler, error) {
	if a.Refuse != nil {
		return nil, a.Refuse
	}
	var accepted []jingle.Content
	for _, c := range j.Contents {
		if c.DescriptionNS() != NSTestApp {
			continue
		}
		var d TestDescription
		if err := c.Description.Decode(&d); err != nil {
			return nil, jingle.BadRequest(fmt.Sprintf("content %q: %v", c.Name, err))
		}
		accepted = append(accepted, c)
	}
	h := NewHandler()
	h.onAction = a.OnAction
	a.mu.Lock()
	a.handlers[s.SID()] = h
	a.mu.Unlock()
	if a.AutoAccept {
		// We run in the session loop: queue the accept, do not wait.
		if _, err := s.Queue(&jingle.Jingle{Action: jingle.ActionSessionAccept, Contents: accepted}); err != nil {
			return nil, &jingle.TerminateError{Reason: jingle.NewReason(jingle.ReasonFailedApplication, err.Error())}
		}
	}
	select {
	case a.incoming <- s:
	default:
	}
	return h, nil
}

// Handler is a SessionHandler that records what the peer did. It
// answers session-info payloads of other namespaces with
// unsupported-info, as XEP-0166 §7.2.7 asks.
type Handler struct {
	onAction func(*jingle.Session, *jingle.Jingle) error

	mu      sync.Mutex
	actions []jingle.Action
	seen    chan jingle.Action
	reason  *jingle.Reason
	done    chan struct{}
	calls   int
}

var _ jingle.SessionHandler = (*Handler)(nil)

// NewHandler returns an empty Handler.
func NewHandler() *Handler {
	return &Handler{done: make(chan struct{}), seen: make(chan jingle.Action, 1024)}
}

// HandleAction implements jingle.SessionHandler.
func (h *Handler) HandleAction(_ context.Context, s *jingle.Session, j *jingle.Jingle) error {
	if h.onAction != nil {
		if err := h.onAction(s, j); err != nil {
			return err
		}
	}
	if j.Action == jingle.ActionSessionInfo {
		for _, p := range j.Payloads {
			if p.XMLName.Space != NSTestApp {
				return jingle.ErrUnsupportedInfo
			}
		}
	}
	h.mu.Lock()
	h.actions = append(h.actions, j.Action)
	h.mu.Unlock()
	select {
	case h.seen <- j.Action:
	default:
	}
	return nil
}

// Terminated implements jingle.SessionHandler.
func (h *Handler) Terminated(_ *jingle.Session, r *jingle.Reason) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.calls++
	if h.calls == 1 {
		h.reason = r
		close(h.done)
	}
}

// Actions returns the peer's actions handled so far, in order.
func (h *Handler) Actions() []jingle.Action {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]jingle.Action(nil), h.actions...)
}

// Seen delivers each action as it is handled.
func (h *Handler) Seen() <-chan jingle.Action { return h.seen }

// Done is closed when Terminated was called.
func (h *Handler) Done() <-chan struct{} { return h.done }

// Reason returns the reason given to Terminated.
func (h *Handler) Reason() *jingle.Reason {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.reason
}

// TerminatedCalls returns how often Terminated ran (the contract: once).
func (h *Handler) TerminatedCalls() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.calls
}

// TransportSession is a jingle.TransportSession for transport handles
// made outside a session (transport tests, or an initiator's handle
// before Initiate): the parties and role given, Send handed to SendFunc
// (nil sends nothing and returns nil).
type TransportSession struct {
	LocalJID, PeerJID string
	Initiator         bool
	SendFunc          func(context.Context, *jingle.Jingle) error
}

var _ jingle.TransportSession = TransportSession{}

// Local implements jingle.TransportSession.
func (s TransportSession) Local() string { return s.LocalJID }

// Peer implements jingle.TransportSession.
func (s TransportSession) Peer() string { return s.PeerJID }

// IsInitiator implements jingle.TransportSession.
func (s TransportSession) IsInitiator() bool { return s.Initiator }

// Send implements jingle.TransportSession.
func (s TransportSession) Send(ctx context.Context, j *jingle.Jingle) error {
	if s.SendFunc == nil {
		return nil
	}
	return s.SendFunc(ctx, j)
}
