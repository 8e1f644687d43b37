package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"runtime/debug"
	"strings"
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
	dispatcher // its mu guards the fields below it
	lifecycle

	cfg ComponentConfig

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
	c := &Component{lifecycle: newLifecycle(cancel), cfg: cfg}
	c.prepare(ctx, cfg.Logger.With("pkg", "xmpp", "component", cfg.Domain), cfg.QueueSize)
	c.write = writeComponentStanza
	c.answerFrom = func(iq *jingle.IQ) string {
		if iq.To == "" {
			return c.cfg.Domain
		}
		return iq.To
	}
	c.acceptReplyLocked = jidEqual
	c.logTo = true
	return c, nil
}

// Start connects and authenticates (retrying transient failures with
// backoff) and returns once the first stream is up, or with the error that
// stopped it: ErrAuth for a wrong secret, ErrUnknownComponent, ErrGaveUp
// after MaxAttempts, ctx's error. Afterwards the component keeps itself
// connected until Close.
func (c *Component) Start(ctx context.Context) error {
	return c.start(ctx, owner{
		d: &c.dispatcher, connect: c.connect, install: c.install, serve: c.serve,
		broke: c.broke, gaveUp: c.gaveUp, close: c.Close,
	})
}

// Domain returns the component's domain.
func (c *Component) Domain() string { return c.cfg.Domain }

// Connected reports whether a stream is up.
func (c *Component) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur != nil
}

// Close closes the stream, stops the goroutines and waits for them.
// Pending SendIQ calls fail with ErrClosed. Presence the component sent is
// not withdrawn: send unavailable presence first where it matters.
func (c *Component) Close() error {
	c.close(func() {
		c.mu.Lock()
		s := c.closeLocked()
		c.mu.Unlock()
		c.cancel()
		if s != nil {
			s.close(s.readDone, closeGrace)
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
	c.iqFallback = h
}

// HandleMessage adds a message handler; handlers are tried in order until
// one consumes the message.
func (c *Component) HandleMessage(h MessageHandler) { c.handleMessage(h) }

// HandlePresence sets the handler of every presence addressed to the
// domain or a JID under it (subscription requests included: a component
// has no roster, the handler answers them with SendPresence), replacing
// any earlier one.
func (c *Component) HandlePresence(h func(ctx context.Context, p Presence)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.presHandler = h
}

// connect dials until a stream is up or a permanent error (see
// dialPlan), at most Config.MaxAttempts times if set.
func (c *Component) connect(ctx context.Context, _ time.Time) (*stream, error) {
	return c.redial(ctx, dialPlan{
		what:        "xmpp: connecting component " + c.cfg.Domain,
		dial:        func(ctx context.Context) (*stream, error) { return dialComponent(ctx, &c.cfg) },
		permanent:   permanentComponent,
		maxAttempts: c.cfg.MaxAttempts,
		minBackoff:  c.cfg.MinBackoff, maxBackoff: c.cfg.MaxBackoff,
		emit: c.emit,
	})
}

// broke reports a lost stream; it stops the component when another
// connection took the domain over.
func (c *Component) broke(err error) error {
	var se *StreamError
	if errors.As(err, &se) && se.Condition == "conflict" {
		// Another connection took the domain over (Prosody's
		// component_conflict_resolve = kick_old): reconnecting would
		// throw it out in turn, forever.
		err = fmt.Errorf("%w: %s was taken over by another connection, not reconnecting (%w)", ErrDomainTaken, c.cfg.Domain, err)
		c.emit(Event{Kind: EventDisconnected, Err: err})
		c.log.Error("xmpp: component stopped", "err", err)
		return err
	}
	c.emit(Event{Kind: EventDisconnected, Err: err})
	return nil
}

func (c *Component) gaveUp(err error) {
	c.log.Error("xmpp: component stopped reconnecting", "err", err)
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
	c.streamLostLocked(s)
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
			c.routeMessage(st)
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
	if err := checkRequestType(iq); err != nil {
		return nil, err
	}
	if err := c.checkAddrs(iq.From, iq.To); err != nil {
		return nil, err
	}
	return c.sendIQ(ctx, *iq, c.cfg.IQTimeout)
}

// SendMessage implements jingle.Sender: it sends m from m.From, a JID of
// the domain (required).
func (c *Component) SendMessage(_ context.Context, m *jingle.Message) error {
	if err := c.checkAddrs(m.From, m.To); err != nil {
		return err
	}
	return c.sendMessage(*m)
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

// writeComponentStanza marshals v (in jabber:client, as jingle.IQ and
// jingle.Message marshal themselves) and writes it on s in the component
// namespace.
func writeComponentStanza(s *stream, v any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("xmpp: encode stanza: %w", err)
	}
	if b, err = swapStanzaNS(b, nsClient, nsComponentAccept); err != nil {
		return err
	}
	return s.write(b)
}

func (c *Component) emit(e Event) {
	report(c.log, "xmpp: component ", e, []any{"attempt", e.Attempt}, c.cfg.OnEvent)
}

// inDomain reports whether jid is domain itself or a JID under it
// (local@domain, domain/resource, local@domain/resource), folding case as
// RFC 7622 does for domainparts.
func inDomain(jid, domain string) bool {
	bare := bareJID(jid)
	return jid != "" && strings.EqualFold(bare[strings.LastIndexByte(bare, '@')+1:], domain)
}
