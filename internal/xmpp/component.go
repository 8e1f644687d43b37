package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"runtime/debug"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jingled/jingled/jingle"
)

// Component is an external component connection (XEP-0114,
// jabber:component:accept): the server routes to it every stanza for its
// domain and for any JID under it, so one connection serves many
// addresses (conference rooms as room@call.example.org/focus). It
// implements jingle.Sender; unlike a Client, each stanza it sends names
// its own From, a JID of the domain.
//
// It reads, correlates and dispatches stanzas as a Client does: one reader
// per stream, handlers one at a time on a dispatch goroutine in arrival
// order behind a bounded queue, reconnection with backoff. Register
// handlers, then Start. Close ends everything.
type Component struct {
	cfg ComponentConfig
	log *slog.Logger

	ctx    context.Context // lifetime, cancelled by Close
	cancel context.CancelFunc
	wg     sync.WaitGroup
	queue  chan func()
	done   chan struct{}

	started    atomic.Bool
	supervised atomic.Bool
	closeOnce  sync.Once
	idPrefix   string
	idSeq      atomic.Uint64

	mu          sync.Mutex
	closed      bool
	cur         *stream // nil while disconnected
	permErr     error   // why the supervisor stopped, if it did
	pending     map[string]*pendingIQ
	iqHandler   IQHandler
	msgHandlers []MessageHandler
	presHandler func(context.Context, Presence)
}

var _ jingle.Sender = (*Component)(nil)

// errFromOutsideDomain refuses a stanza whose From is not a JID of the
// component's domain: Prosody would close the stream with invalid-from.
var errFromOutsideDomain = errors.New("xmpp: a component sends only from JIDs of its own domain")

// errNoTo refuses a stanza without To: on a component stream nothing
// addresses it by default (Prosody answers bad-request).
var errNoTo = errors.New("xmpp: a component's stanzas need a to address")

// NewComponent returns a Component for cfg. It does not connect: call
// Start.
func NewComponent(cfg ComponentConfig) (*Component, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	return &Component{
		cfg:      cfg,
		log:      cfg.Logger.With("pkg", "xmpp", "component", cfg.Domain),
		ctx:      ctx,
		cancel:   cancel,
		queue:    make(chan func(), cfg.QueueSize),
		done:     make(chan struct{}),
		idPrefix: strconv.FormatUint(rand.Uint64(), 36),
		pending:  map[string]*pendingIQ{},
	}, nil
}

// Start connects and authenticates (retrying transient failures with
// backoff) and returns once the first stream is up, or with the error that
// stopped it: ErrAuth for a wrong secret, ErrUnknownComponent, ErrGaveUp
// after MaxAttempts, ctx's error. Afterwards the component keeps itself
// connected until Close.
func (c *Component) Start(ctx context.Context) error {
	if !c.started.CompareAndSwap(false, true) {
		return errors.New("xmpp: Start called twice")
	}
	c.wg.Add(1)
	go c.dispatchLoop()
	// The first connection obeys both the caller's ctx and Close.
	cctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(c.ctx, cancel)
	s, err := c.connect(cctx)
	stop()
	cancel()
	if err == nil {
		err = c.install(s)
	}
	if err != nil {
		c.mu.Lock()
		c.permErr = err
		c.mu.Unlock()
		c.Close()
		return err
	}
	c.supervised.Store(true)
	c.wg.Add(1)
	go c.supervise(s)
	return nil
}

// Domain returns the component's domain.
func (c *Component) Domain() string { return c.cfg.Domain }

// Connected reports whether a stream is up.
func (c *Component) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur != nil
}

// Done is closed when the component stops for good: Close, or a permanent
// failure while reconnecting (see Err).
func (c *Component) Done() <-chan struct{} { return c.done }

// Err returns why the component stopped reconnecting, or nil.
func (c *Component) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.permErr
}

// Close closes the stream, stops the goroutines and waits for them.
// Pending SendIQ calls fail with ErrClosed. Presence the component sent is
// not withdrawn: send unavailable presence first where it matters.
func (c *Component) Close() error {
	c.closeOnce.Do(func() {
		c.mu.Lock()
		c.closed = true
		s := c.cur
		c.failPendingLocked(nil, ErrClosed)
		c.mu.Unlock()
		c.cancel()
		if s != nil {
			s.close(s.readDone, closeGrace)
		}
		c.wg.Wait()
		if !c.supervised.Load() {
			// No supervisor ran to close it.
			close(c.done)
		}
	})
	return nil
}

// HandleIQ sets the handler of IQ get and set addressed to the domain or
// any JID under it, replacing any earlier one. Its reply (nil sends none)
// goes out from the JID the request was addressed to. Without a handler,
// requests are answered service-unavailable (RFC 6120 §8.4); a handler
// that panics answers internal-server-error.
func (c *Component) HandleIQ(h IQHandler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.iqHandler = h
}

// HandleMessage adds a message handler; handlers are tried in order until
// one consumes the message.
func (c *Component) HandleMessage(h MessageHandler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.msgHandlers = append(c.msgHandlers, h)
}

// HandlePresence sets the handler of every presence addressed to the
// domain or a JID under it (subscription requests included: a component
// has no roster, the handler answers them with SendPresence), replacing
// any earlier one.
func (c *Component) HandlePresence(h func(ctx context.Context, p Presence)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.presHandler = h
}

// connect dials until a stream is up or a permanent error.
func (c *Component) connect(ctx context.Context) (*stream, error) {
	for attempt := 1; ; attempt++ {
		s, err := dialComponent(ctx, &c.cfg)
		if err == nil {
			s.attempt = attempt
			return s, nil
		}
		if ctx.Err() != nil {
			if c.ctx.Err() != nil {
				return nil, ErrClosed
			}
			return nil, fmt.Errorf("xmpp: connecting component %s: %w (last error: %w)", c.cfg.Domain, ctx.Err(), err)
		}
		permanent := errors.Is(err, ErrAuth) || errors.Is(err, ErrUnknownComponent)
		c.emit(Event{Kind: EventConnectFailed, Err: err, Attempt: attempt, Permanent: permanent})
		if permanent {
			return nil, err
		}
		if c.cfg.MaxAttempts > 0 && attempt >= c.cfg.MaxAttempts {
			err = fmt.Errorf("%w after %d attempts: %w", ErrGaveUp, attempt, err)
			c.emit(Event{Kind: EventGaveUp, Err: err, Attempt: attempt, Permanent: true})
			return nil, err
		}
		base := backoff(c.cfg.MinBackoff, c.cfg.MaxBackoff, attempt)
		delay := base + time.Duration(rand.Int64N(int64(base)/5+1))
		c.emit(Event{Kind: EventRetry, Err: err, Attempt: attempt, Backoff: base, Delay: delay})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			if c.ctx.Err() != nil {
				return nil, ErrClosed
			}
			return nil, fmt.Errorf("xmpp: connecting component %s: %w (last error: %w)", c.cfg.Domain, ctx.Err(), err)
		}
	}
}

// supervise owns the stream: it reads it until it breaks, then reconnects.
func (c *Component) supervise(s *stream) {
	defer c.wg.Done()
	defer close(c.done)
	for {
		err := c.serve(s)
		if c.ctx.Err() != nil {
			return
		}
		var se *StreamError
		if errors.As(err, &se) && se.Condition == "conflict" {
			// Another connection took the domain over (Prosody's
			// component_conflict_resolve = kick_old): reconnecting
			// would throw it out in turn, forever.
			err = fmt.Errorf("%w: %s was taken over by another connection, not reconnecting (%w)", ErrDomainTaken, c.cfg.Domain, err)
			c.emit(Event{Kind: EventDisconnected, Err: err})
			c.mu.Lock()
			c.permErr = err
			c.mu.Unlock()
			c.log.Error("xmpp: component stopped", "err", err)
			return
		}
		c.emit(Event{Kind: EventDisconnected, Err: err})
		s, err = c.connect(c.ctx)
		if err == nil {
			err = c.install(s)
		}
		if err != nil {
			if !errors.Is(err, ErrClosed) {
				c.mu.Lock()
				c.permErr = err
				c.mu.Unlock()
				c.log.Error("xmpp: component stopped reconnecting", "err", err)
			}
			return
		}
	}
}

// install makes s the current stream.
func (c *Component) install(s *stream) error {
	s.readDone = make(chan struct{})
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = s.conn.Close()
		return ErrClosed
	}
	c.cur = s
	c.mu.Unlock()
	c.emit(Event{Kind: EventConnected, JID: c.cfg.Domain, Attempt: s.attempt})
	return nil
}

// serve reads s until it ends.
func (c *Component) serve(s *stream) error {
	defer close(s.readDone)
	err := c.readLoop(s)
	c.mu.Lock()
	if c.cur == s {
		c.cur = nil
	}
	c.failPendingLocked(s, ErrDisconnected)
	c.mu.Unlock()
	_ = s.conn.Close()
	return err
}

// readLoop is the only reader of the stream. Stanzas come in the
// component namespace; they are moved to jabber:client, which the shared
// decoders expect.
func (c *Component) readLoop(s *stream) error {
	for {
		st, err := s.next()
		if err != nil {
			return err
		}
		switch st.name.Local {
		case "iq", "message", "presence":
		default:
			continue
		}
		switch st.name.Space {
		case nsComponentAccept:
			raw, err := swapStanzaNS(st.raw, nsComponentAccept, nsClient)
			if err != nil {
				c.log.Warn("xmpp: undecodable stanza dropped", "from", st.attrs["from"], "err", err)
				continue
			}
			st.raw, st.name.Space = raw, nsClient
		case nsClient:
		default:
			continue
		}
		if to := st.attrs["to"]; !inDomain(to, c.cfg.Domain) {
			c.log.Warn("xmpp: stanza for another domain dropped", "from", st.attrs["from"], "to", to)
			continue
		}
		switch st.name.Local {
		case "iq":
			c.routeIQ(s, st)
		case "message":
			m, err := decodeMessage(st)
			if err != nil {
				c.log.Warn("xmpp: undecodable message dropped", "from", st.attrs["from"], "err", err)
				continue
			}
			c.enqueue(func() { c.dispatchMessage(m) }, func() {
				c.log.Warn("xmpp: dispatch queue full, message dropped", "from", m.From, "to", m.To)
			})
		case "presence":
			p, err := decodePresence(st)
			if err != nil {
				c.log.Warn("xmpp: undecodable presence dropped", "from", st.attrs["from"], "err", err)
				continue
			}
			c.enqueue(func() { c.dispatchPresence(p) }, func() {
				c.log.Warn("xmpp: dispatch queue full, presence dropped", "from", p.From, "to", p.To, "type", p.Type)
			})
		}
	}
}

func (c *Component) routeIQ(s *stream, st *rawStanza) {
	typ := jingle.IQType(st.attrs["type"])
	iq, err := decodeIQ(st)
	if err != nil {
		if typ == jingle.IQGet || typ == jingle.IQSet {
			bad := &jingle.IQ{ID: st.attrs["id"], From: st.attrs["to"], To: st.attrs["from"], Type: typ}
			c.reply(s, bad, bad.ErrorReply(jingle.ErrBadRequest))
		}
		return
	}
	switch iq.Type {
	case jingle.IQResult, jingle.IQError:
		c.deliverReply(s, iq)
	case jingle.IQGet, jingle.IQSet:
		c.enqueue(func() { c.dispatchIQ(s, iq) }, func() {
			c.reply(s, iq, iq.ErrorReply(jingle.ErrResourceConstraint))
		})
	}
}

// enqueue hands f to the dispatch goroutine, or runs full if the queue is
// full (the flood guard).
func (c *Component) enqueue(f, full func()) {
	select {
	case c.queue <- f:
	default:
		full()
	}
}

// dispatchLoop runs handlers one at a time, in arrival order, so that a
// peer's Jingle actions reach a room in the order it sent them.
func (c *Component) dispatchLoop() {
	defer c.wg.Done()
	for {
		select {
		case f := <-c.queue:
			f()
		case <-c.ctx.Done():
			return
		}
	}
}

func (c *Component) dispatchIQ(s *stream, iq *jingle.IQ) {
	c.mu.Lock()
	h := c.iqHandler
	c.mu.Unlock()
	if h == nil {
		c.reply(s, iq, iq.ErrorReply(jingle.ErrServiceUnavailable))
		return
	}
	if reply := c.runIQHandler(h, iq); reply != nil {
		c.reply(s, iq, reply)
	}
}

func (c *Component) runIQHandler(h IQHandler, iq *jingle.IQ) (reply *jingle.IQ) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("xmpp: panic in IQ handler", "from", iq.From, "to", iq.To, "payload", iq.PayloadName().Local, "panic", r, "stack", string(debug.Stack()))
			reply = iq.ErrorReply(&jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondInternalServerError})
		}
	}()
	return h(c.ctx, iq)
}

// reply sends reply as the answer to iq, from the JID iq was addressed
// to, on the stream iq came from.
func (c *Component) reply(s *stream, iq, reply *jingle.IQ) {
	r := *reply
	r.ID, r.To, r.From = iq.ID, iq.From, iq.To
	if r.From == "" {
		r.From = c.cfg.Domain
	}
	if err := c.writeStanza(s, r); err != nil {
		c.log.Debug("xmpp: reply not sent", "to", iq.From, "err", err)
	}
}

func (c *Component) dispatchMessage(m *jingle.Message) {
	c.mu.Lock()
	hs := append([]MessageHandler(nil), c.msgHandlers...)
	c.mu.Unlock()
	for _, h := range hs {
		if c.runMessageHandler(h, m) {
			return
		}
	}
}

func (c *Component) runMessageHandler(h MessageHandler, m *jingle.Message) (consumed bool) {
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("xmpp: panic in message handler", "from", m.From, "to", m.To, "panic", r, "stack", string(debug.Stack()))
			consumed = true
		}
	}()
	return h(c.ctx, m)
}

func (c *Component) dispatchPresence(p Presence) {
	c.mu.Lock()
	h := c.presHandler
	c.mu.Unlock()
	if h == nil {
		return
	}
	defer func() {
		if r := recover(); r != nil {
			c.log.Error("xmpp: panic in presence handler", "from", p.From, "to", p.To, "panic", r, "stack", string(debug.Stack()))
		}
	}()
	h(c.ctx, p)
}

func (c *Component) newID() string {
	return c.idPrefix + "-" + strconv.FormatUint(c.idSeq.Add(1), 36)
}

// checkAddrs vets a stanza's addresses before it goes out.
func (c *Component) checkAddrs(from, to string) error {
	if !inDomain(from, c.cfg.Domain) {
		return fmt.Errorf("%w: from %q is not under %s", errFromOutsideDomain, from, c.cfg.Domain)
	}
	if to == "" {
		return errNoTo
	}
	return nil
}

// SendIQ implements jingle.Sender: it sends a get or set from iq.From (a
// JID of the domain, required) and waits for the reply from iq.To. An
// error reply is returned together with its *jingle.Error. Without a
// deadline on ctx, ComponentConfig.IQTimeout applies.
func (c *Component) SendIQ(ctx context.Context, iq *jingle.IQ) (*jingle.IQ, error) {
	if iq.Type != jingle.IQGet && iq.Type != jingle.IQSet {
		return nil, fmt.Errorf("xmpp: SendIQ needs type get or set, not %q", iq.Type)
	}
	if err := c.checkAddrs(iq.From, iq.To); err != nil {
		return nil, err
	}
	out := *iq
	if out.ID == "" {
		out.ID = c.newID()
	}
	p := &pendingIQ{to: out.To, ch: make(chan iqResult, 1)}
	c.mu.Lock()
	switch {
	case c.closed:
		c.mu.Unlock()
		return nil, ErrClosed
	case c.cur == nil:
		c.mu.Unlock()
		return nil, ErrNotConnected
	}
	if _, dup := c.pending[out.ID]; dup {
		c.mu.Unlock()
		return nil, fmt.Errorf("xmpp: IQ id %q already in flight", out.ID)
	}
	p.str = c.cur
	c.pending[out.ID] = p
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		if c.pending[out.ID] == p {
			delete(c.pending, out.ID)
		}
		c.mu.Unlock()
	}()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, c.cfg.IQTimeout)
		defer cancel()
	}
	if err := c.writeStanza(p.str, out); err != nil {
		return nil, err
	}
	select {
	case r := <-p.ch:
		if r.err != nil {
			return nil, r.err
		}
		if r.iq.Type == jingle.IQError {
			if r.iq.Error == nil {
				r.iq.Error = &jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondUndefined}
			}
			return r.iq, r.iq.Error
		}
		return r.iq, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("xmpp: IQ %s to %q: %w", out.ID, out.To, ctx.Err())
	}
}

// deliverReply hands a result or error to the SendIQ waiting for it, if
// the reply comes from where the request went (so another entity cannot
// answer in its place by guessing ids).
func (c *Component) deliverReply(s *stream, iq *jingle.IQ) {
	c.mu.Lock()
	p := c.pending[iq.ID]
	ok := p != nil && p.str == s && jidEqual(p.to, iq.From)
	if ok {
		delete(c.pending, iq.ID)
	}
	c.mu.Unlock()
	if !ok {
		if p != nil {
			c.log.Warn("xmpp: IQ reply from unexpected sender ignored", "id", iq.ID, "from", iq.From, "want", p.to)
		}
		return
	}
	p.ch <- iqResult{iq: iq}
}

// failPendingLocked fails the IQs in flight on s (all of them if s is nil).
func (c *Component) failPendingLocked(s *stream, err error) {
	for id, p := range c.pending {
		if s == nil || p.str == s {
			delete(c.pending, id)
			p.ch <- iqResult{err: err}
		}
	}
}

// SendMessage implements jingle.Sender: it sends m from m.From, a JID of
// the domain (required).
func (c *Component) SendMessage(_ context.Context, m *jingle.Message) error {
	if err := c.checkAddrs(m.From, m.To); err != nil {
		return err
	}
	s, err := c.current()
	if err != nil {
		return err
	}
	out := *m
	if out.ID == "" {
		out.ID = c.newID()
	}
	return c.writeStanza(s, out)
}

// OutgoingPresence is a presence a Component sends (RFC 6121 §4): From a
// JID of its domain, e.g. a room's occupant JID, To the addressee.
type OutgoingPresence struct {
	From string
	To   string
	// Type is "" (available), unavailable, subscribe, subscribed,
	// unsubscribe, unsubscribed or probe.
	Type     string
	Show     string // away, chat, dnd, xa; "" for plain available
	Status   string
	Priority int
	// Caps is the XEP-0115 <c/> to attach (hash, node, ver), if any.
	Caps *Caps
}

// componentPresenceXML is an OutgoingPresence on the wire, already in the
// component namespace.
type componentPresenceXML struct {
	XMLName  xml.Name `xml:"jabber:component:accept presence"`
	From     string   `xml:"from,attr"`
	To       string   `xml:"to,attr"`
	Type     string   `xml:"type,attr,omitempty"`
	Show     string   `xml:"show,omitempty"`
	Status   string   `xml:"status,omitempty"`
	Priority int      `xml:"priority,omitempty"`
	Caps     *capsOut `xml:"c,omitempty"`
}

// SendPresence sends p. A component has no roster and no presence
// broadcast: each presence is directed, so To is required.
func (c *Component) SendPresence(_ context.Context, p OutgoingPresence) error {
	if err := c.checkAddrs(p.From, p.To); err != nil {
		return err
	}
	s, err := c.current()
	if err != nil {
		return err
	}
	out := componentPresenceXML{From: p.From, To: p.To, Type: p.Type, Show: p.Show, Status: p.Status, Priority: p.Priority}
	if p.Caps != nil {
		out.Caps = &capsOut{XMLNS: NSCaps, Hash: p.Caps.Hash, Node: p.Caps.Node, Ver: p.Caps.Ver}
	}
	b, err := xml.Marshal(out)
	if err != nil {
		return fmt.Errorf("xmpp: encode presence: %w", err)
	}
	if err := s.write(b); err != nil {
		return fmt.Errorf("xmpp: presence to %s: %w", p.To, err)
	}
	return nil
}

// writeStanza marshals v (in jabber:client, as jingle.IQ and
// jingle.Message marshal themselves) and writes it in the component
// namespace.
func (c *Component) writeStanza(s *stream, v any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("xmpp: encode stanza: %w", err)
	}
	if b, err = swapStanzaNS(b, nsClient, nsComponentAccept); err != nil {
		return err
	}
	return s.write(b)
}

// current returns the current stream or an error.
func (c *Component) current() (*stream, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case c.closed:
		return nil, ErrClosed
	case c.cur == nil:
		return nil, ErrNotConnected
	}
	return c.cur, nil
}

func (c *Component) emit(e Event) {
	switch e.Kind {
	case EventConnected:
		c.log.Info("xmpp: component connected", "attempt", e.Attempt)
	case EventRetry:
		c.log.Info("xmpp: component retrying", "attempt", e.Attempt, "delay", e.Delay, "err", e.Err)
	case EventDisconnected, EventConnectFailed, EventGaveUp:
		c.log.Warn("xmpp: component "+e.Kind.String(), "attempt", e.Attempt, "err", e.Err)
	}
	if c.cfg.OnEvent != nil {
		c.cfg.OnEvent(e)
	}
}

// inDomain reports whether jid is domain itself or a JID under it
// (local@domain, domain/resource, local@domain/resource), folding case as
// RFC 7622 does for domainparts.
func inDomain(jid, domain string) bool {
	bare := bareJID(jid)
	return jid != "" && strings.EqualFold(bare[strings.LastIndexByte(bare, '@')+1:], domain)
}
