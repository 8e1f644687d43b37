// Package jingletest is an in-memory XMPP router for testing Jingle
// (XEP-0166) and Jingle Message Initiation (XEP-0353) code without a
// server, plus a small test application usable over any Sender.
//
// Every stanza goes through encoding/xml on the way (marshal at the
// sender, unmarshal at each recipient), so tests exercise the wire
// encoding. The router stamps the sender's JID into from, as a server
// does, so an endpoint cannot spoof another. Tests can drop, delay, hold
// and reorder stanzas with a Filter.
package jingletest

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/jingled/jingled/jingle"
)

// ErrClosed is returned by sends on a closed router or endpoint (the
// router cancels every endpoint when it closes).
var ErrClosed = errors.New("jingletest: router closed")

// Verdict is a Filter's decision about one stanza.
type Verdict struct {
	// Drop loses the stanza (an IQ's sender then waits for its ctx).
	Drop bool
	// Delay delivers it later; stanzas sent after it may overtake it.
	Delay time.Duration
	// Hold keeps it until Release or ReleaseReversed.
	Hold bool
}

// Filter sees every stanza on its way, with stanza a decoded copy
// (*jingle.IQ or *jingle.Message, from already stamped), and decides its
// fate. The zero Verdict delivers it now. It runs under the router's lock:
// it must not call the router or its endpoints.
type Filter func(from, to string, stanza any) Verdict

// IQHandler answers an IQ get or set. Returning nil sends no reply (to
// simulate a peer that never answers).
type IQHandler func(ctx context.Context, iq *jingle.IQ) *jingle.IQ

// MessageHandler handles a message and reports whether it consumed it.
type MessageHandler func(ctx context.Context, m *jingle.Message) bool

// Router links Endpoints by JID in memory.
type Router struct {
	mu          sync.Mutex
	closed      bool
	done        chan struct{}
	endpoints   map[string]*Endpoint
	filter      Filter
	held        []wire
	heldChanged chan struct{}
	timers      map[*time.Timer]struct{}
	wg          sync.WaitGroup
	nextID      int
}

// wire is a stanza in transit: its encoding and its addresses.
type wire struct {
	from, to string
	isIQ     bool
	iqType   jingle.IQType
	raw      []byte
}

// NewRouter returns an empty router. Close it to stop its goroutines.
func NewRouter() *Router {
	return &Router{
		done:        make(chan struct{}),
		endpoints:   make(map[string]*Endpoint),
		heldChanged: make(chan struct{}),
		timers:      make(map[*time.Timer]struct{}),
	}
}

// Endpoint returns the endpoint for a full JID, creating it if needed.
func (r *Router) Endpoint(fullJID string) *Endpoint {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e := r.endpoints[fullJID]; e != nil {
		return e
	}
	e := &Endpoint{
		r:          r,
		jid:        fullJID,
		iqHandlers: make(map[xml.Name]IQHandler),
		pending:    make(map[string]pendingIQ),
	}
	e.ctx, e.cancel = context.WithCancel(context.Background())
	r.endpoints[fullJID] = e
	return e
}

// SetFilter installs f (nil removes it).
func (r *Router) SetFilter(f Filter) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.filter = f
}

// Held returns the number of stanzas held by the filter.
func (r *Router) Held() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.held)
}

// WaitHeld waits until at least n stanzas are held.
func (r *Router) WaitHeld(ctx context.Context, n int) error {
	for {
		r.mu.Lock()
		if len(r.held) >= n {
			r.mu.Unlock()
			return nil
		}
		ch := r.heldChanged
		r.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return fmt.Errorf("jingletest: waiting for %d held stanzas: %w", n, ctx.Err())
		case <-r.done:
			return ErrClosed
		}
	}
}

// Release delivers the held stanzas in the order they were sent.
func (r *Router) Release() { r.release(false) }

// ReleaseReversed delivers the held stanzas newest first.
func (r *Router) ReleaseReversed() { r.release(true) }

func (r *Router) release(reverse bool) {
	r.mu.Lock()
	held := r.held
	r.held = nil
	r.notifyHeldLocked()
	if reverse {
		for i, j := 0, len(held)-1; i < j; i, j = i+1, j-1 {
			held[i], held[j] = held[j], held[i]
		}
	}
	for _, w := range held {
		r.deliverLocked(w)
	}
	r.mu.Unlock()
}

func (r *Router) notifyHeldLocked() {
	close(r.heldChanged)
	r.heldChanged = make(chan struct{})
}

// Close stops delivery, fails waiting SendIQ calls with ErrClosed and
// waits for the router's goroutines (handlers running on them included).
func (r *Router) Close() {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		r.wg.Wait()
		return
	}
	r.closed = true
	close(r.done)
	for t := range r.timers {
		if t.Stop() {
			r.wg.Done()
		}
	}
	r.timers = nil
	r.held = nil
	for _, e := range r.endpoints {
		e.cancel()
	}
	r.mu.Unlock()
	r.wg.Wait()
}

// send routes a stanza from an endpoint: encode, stamp, filter, deliver.
func (r *Router) send(from string, stanza any) error {
	var w wire
	switch s := stanza.(type) {
	case *jingle.IQ:
		c := *s
		c.From = from
		raw, err := xml.Marshal(c)
		if err != nil {
			return fmt.Errorf("jingletest: encoding iq: %w", err)
		}
		w = wire{from: from, to: c.To, isIQ: true, iqType: c.Type, raw: raw}
	case *jingle.Message:
		c := *s
		c.From = from
		raw, err := xml.Marshal(c)
		if err != nil {
			return fmt.Errorf("jingletest: encoding message: %w", err)
		}
		w = wire{from: from, to: c.To, raw: raw}
	default:
		return fmt.Errorf("jingletest: cannot send %T", stanza)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return ErrClosed
	}
	if r.filter != nil {
		copyOf, err := w.decode()
		if err != nil {
			return err
		}
		v := r.filter(w.from, w.to, copyOf)
		switch {
		case v.Drop:
			return nil
		case v.Hold:
			r.held = append(r.held, w)
			r.notifyHeldLocked()
			return nil
		case v.Delay > 0:
			r.wg.Add(1)
			var t *time.Timer
			t = time.AfterFunc(v.Delay, func() {
				defer r.wg.Done()
				r.mu.Lock()
				defer r.mu.Unlock()
				if r.closed {
					return
				}
				delete(r.timers, t)
				r.deliverLocked(w)
			})
			r.timers[t] = struct{}{}
			return nil
		}
	}
	r.deliverLocked(w)
	return nil
}

func (w wire) decode() (any, error) {
	if w.isIQ {
		var iq jingle.IQ
		if err := xml.Unmarshal(w.raw, &iq); err != nil {
			return nil, fmt.Errorf("jingletest: decoding iq: %w", err)
		}
		return &iq, nil
	}
	var m jingle.Message
	if err := xml.Unmarshal(w.raw, &m); err != nil {
		return nil, fmt.Errorf("jingletest: decoding message: %w", err)
	}
	return &m, nil
}

// deliverLocked queues w at its recipients, as a server would route it:
// IQs to a full JID that is not online bounce with service-unavailable;
// messages to a bare JID (or to an offline full JID) go to every
// resource of the account, like a server with carbons off.
func (r *Router) deliverLocked(w wire) {
	if r.closed {
		return
	}
	isBare := !strings.Contains(w.to, "/")
	if e := r.endpoints[w.to]; e != nil && (w.isIQ || !isBare) {
		e.pushLocked(w)
		return
	}
	if w.isIQ {
		if w.iqType == jingle.IQGet || w.iqType == jingle.IQSet {
			r.bounceLocked(w)
		}
		return
	}
	// An endpoint with a bare JID plays the account's server (it can
	// send carbons); it gets bare-JID messages only when no resource is
	// online.
	bare := bareJID(w.to)
	var all []*Endpoint
	for jid, e := range r.endpoints {
		if bareJID(jid) == bare && jid != bare {
			all = append(all, e)
		}
	}
	if len(all) == 0 {
		if e := r.endpoints[bare]; e != nil {
			all = append(all, e)
		}
	}
	sort.Slice(all, func(i, j int) bool { return all[i].jid < all[j].jid })
	for _, e := range all {
		e.pushLocked(w)
	}
}

// bounceLocked answers an IQ to nobody with service-unavailable from the
// address it was sent to.
func (r *Router) bounceLocked(w wire) {
	v, err := w.decode()
	if err != nil {
		return
	}
	iq := v.(*jingle.IQ)
	reply := iq.ErrorReply(jingle.ErrServiceUnavailable)
	raw, err := xml.Marshal(reply)
	if err != nil {
		return
	}
	if e := r.endpoints[w.from]; e != nil {
		e.pushLocked(wire{from: w.to, to: w.from, isIQ: true, iqType: jingle.IQError, raw: raw})
	}
}

func (r *Router) newIDLocked() string {
	r.nextID++
	return "jt" + strconv.Itoa(r.nextID)
}

func bareJID(j string) string {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		return j[:i]
	}
	return j
}

// Endpoint is one full JID on the router. It implements jingle.Sender and
// dispatches what it receives, in order, on one goroutine at a time (as a
// client reading its stream does) to the registered handlers.
type Endpoint struct {
	r      *Router
	jid    string
	ctx    context.Context
	cancel context.CancelFunc

	// Guarded by r.mu.
	iqHandlers  map[xml.Name]IQHandler
	msgHandlers []MessageHandler
	pending     map[string]pendingIQ
	inbox       []wire
	working     bool
}

type pendingIQ struct {
	to    string
	reply chan *jingle.IQ
}

var _ jingle.Sender = (*Endpoint)(nil)

// JID returns the endpoint's full JID.
func (e *Endpoint) JID() string { return e.jid }

// HandleIQ registers h for IQ get/set whose payload is <local xmlns=space>.
func (e *Endpoint) HandleIQ(space, local string, h IQHandler) {
	e.r.mu.Lock()
	defer e.r.mu.Unlock()
	e.iqHandlers[xml.Name{Space: space, Local: local}] = h
}

// HandleMessage adds a message handler; handlers are tried in order until
// one consumes the message.
func (e *Endpoint) HandleMessage(h MessageHandler) {
	e.r.mu.Lock()
	defer e.r.mu.Unlock()
	e.msgHandlers = append(e.msgHandlers, h)
}

// Manager returns a new Jingle manager for fullJID, served by its
// endpoint (see Endpoint.Serve). The caller closes it before the router.
func (r *Router) Manager(fullJID string, opts ...jingle.Option) *jingle.Manager {
	e := r.Endpoint(fullJID)
	m := jingle.NewManager(fullJID, e, opts...)
	e.Serve(m)
	return m
}

// Serve wires a Jingle manager to the endpoint: Jingle IQs and messages.
func (e *Endpoint) Serve(m *jingle.Manager) {
	e.HandleIQ(jingle.NS, "jingle", m.HandleIQ)
	e.HandleMessage(m.HandleMessage)
}

// SendIQ implements jingle.Sender: it sends a get or set and waits for the
// reply. An error reply is returned together with its *jingle.Error.
func (e *Endpoint) SendIQ(ctx context.Context, iq *jingle.IQ) (*jingle.IQ, error) {
	if iq.Type != jingle.IQGet && iq.Type != jingle.IQSet {
		return nil, fmt.Errorf("jingletest: SendIQ needs get or set, not %q", iq.Type)
	}
	c := *iq
	ch := make(chan *jingle.IQ, 1)
	e.r.mu.Lock()
	if e.ctx.Err() != nil {
		e.r.mu.Unlock()
		return nil, ErrClosed
	}
	if c.ID == "" {
		c.ID = e.r.newIDLocked()
	}
	if _, dup := e.pending[c.ID]; dup {
		e.r.mu.Unlock()
		return nil, fmt.Errorf("jingletest: IQ id %q already in flight", c.ID)
	}
	e.pending[c.ID] = pendingIQ{to: c.To, reply: ch}
	e.r.mu.Unlock()
	defer func() {
		e.r.mu.Lock()
		delete(e.pending, c.ID)
		e.r.mu.Unlock()
	}()
	if err := e.r.send(e.jid, &c); err != nil {
		return nil, err
	}
	select {
	case reply := <-ch:
		if reply.Type == jingle.IQError {
			if reply.Error == nil {
				reply.Error = &jingle.Error{Condition: jingle.CondUndefined}
			}
			return reply, reply.Error
		}
		return reply, nil
	case <-ctx.Done():
		return nil, fmt.Errorf("jingletest: IQ %s to %s: %w", c.ID, c.To, ctx.Err())
	case <-e.ctx.Done():
		return nil, ErrClosed
	}
}

// SendMessage implements jingle.Sender.
func (e *Endpoint) SendMessage(_ context.Context, m *jingle.Message) error {
	if e.ctx.Err() != nil {
		return ErrClosed
	}
	return e.r.send(e.jid, m)
}

// Close takes the endpoint off the router, as a client going offline:
// IQs to it bounce from then on, its own sends and waiting SendIQ calls
// fail with ErrClosed.
func (e *Endpoint) Close() {
	e.r.mu.Lock()
	defer e.r.mu.Unlock()
	if e.r.endpoints[e.jid] == e {
		delete(e.r.endpoints, e.jid)
	}
	e.cancel()
}

// pushLocked queues w and starts the endpoint's worker if idle.
func (e *Endpoint) pushLocked(w wire) {
	e.inbox = append(e.inbox, w)
	if !e.working {
		e.working = true
		e.r.wg.Add(1)
		go e.work()
	}
}

// work delivers the inbox in order; it exits when the inbox is empty.
func (e *Endpoint) work() {
	defer e.r.wg.Done()
	for {
		e.r.mu.Lock()
		if len(e.inbox) == 0 || e.r.closed {
			e.inbox = nil
			e.working = false
			e.r.mu.Unlock()
			return
		}
		w := e.inbox[0]
		e.inbox = e.inbox[1:]
		e.r.mu.Unlock()
		e.dispatch(w)
	}
}

func (e *Endpoint) dispatch(w wire) {
	v, err := w.decode()
	if err != nil {
		return
	}
	switch s := v.(type) {
	case *jingle.IQ:
		e.dispatchIQ(s)
	case *jingle.Message:
		e.r.mu.Lock()
		hs := append([]MessageHandler(nil), e.msgHandlers...)
		e.r.mu.Unlock()
		for _, h := range hs {
			if h(e.ctx, s) {
				return
			}
		}
	}
}

func (e *Endpoint) dispatchIQ(iq *jingle.IQ) {
	switch iq.Type {
	case jingle.IQResult, jingle.IQError:
		e.r.mu.Lock()
		p, ok := e.pending[iq.ID]
		if ok && p.to == iq.From {
			delete(e.pending, iq.ID)
		}
		e.r.mu.Unlock()
		if ok && p.to == iq.From {
			p.reply <- iq
		}
		return
	case jingle.IQGet, jingle.IQSet:
	default:
		return
	}
	e.r.mu.Lock()
	h := e.iqHandlers[iq.PayloadName()]
	e.r.mu.Unlock()
	var reply *jingle.IQ
	if h == nil {
		reply = iq.ErrorReply(jingle.ErrServiceUnavailable)
	} else if reply = h(e.ctx, iq); reply == nil {
		return
	}
	reply.ID, reply.To = iq.ID, iq.From
	_ = e.r.send(e.jid, reply)
}
