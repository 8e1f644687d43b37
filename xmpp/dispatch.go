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
	"sync"
	"sync/atomic"
	"time"

	"github.com/jingled/jingled/jingle"
)

// IQHandler answers an IQ get or set. Returning nil sends no reply. The
// shape matches jingletest.IQHandler, so code can register on either.
type IQHandler func(ctx context.Context, iq *jingle.IQ) *jingle.IQ

// MessageHandler handles a message and reports whether it consumed it.
type MessageHandler func(ctx context.Context, m *jingle.Message) bool

// dispatcher is what a Client and a Component share once a stream is up;
// both embed it. It holds the current stream, the bounded queue of the
// dispatch goroutine, the IQ and message handlers run there (a panic is
// recovered and logged), and the IQs in flight, whose replies it matches
// by id and sender (RFC 6120 §8.2.3).
//
// Its mu also guards the owner's fields, so that a stream change, Close
// and the table of IQs in flight move together.
type dispatcher struct {
	log   *slog.Logger
	ctx   context.Context // the owner's lifetime, cancelled by its Close
	queue chan func()

	idPrefix string
	idSeq    atomic.Uint64

	// What differs between a Client and a Component, set once by the
	// owner's constructor.
	//
	// write puts a stanza marshalled in jabber:client on s.
	write func(s *stream, v any) error
	// answerFrom is the From of our answer to the request iq.
	answerFrom func(iq *jingle.IQ) string
	// acceptReplyLocked reports whether a reply from from may answer our
	// request to to; it runs with mu held.
	acceptReplyLocked func(to, from string) bool
	// logTo adds the stanza's To to the handler panic logs (a component
	// answers for many addresses).
	logTo bool
	// queueingLocked, if set, reports whether a send while no stream is
	// up is queued by write (which then gets a nil stream) rather than
	// refused with ErrNotConnected: a Client with a XEP-0198 session
	// resends it after the reconnection. It runs with mu held.
	queueingLocked func() bool

	mu          sync.Mutex
	closed      bool
	cur         *stream // nil while disconnected
	pending     map[string]*pendingIQ
	iqHandlers  map[xml.Name]IQHandler // by payload name
	iqFallback  IQHandler              // for payloads without an entry
	msgHandlers []MessageHandler
}

type pendingIQ struct {
	to  string
	ch  chan iqResult
	str *stream
}

type iqResult struct {
	iq  *jingle.IQ
	err error
}

// prepare readies d to run handlers with ctx and to queue queueSize
// stanzas. The owner then sets the hooks.
func (d *dispatcher) prepare(ctx context.Context, log *slog.Logger, queueSize int) {
	d.ctx, d.log = ctx, log
	d.queue = make(chan func(), queueSize)
	d.idPrefix = strconv.FormatUint(rand.Uint64(), 36)
	d.pending = map[string]*pendingIQ{}
	d.iqHandlers = map[xml.Name]IQHandler{}
}

func (d *dispatcher) newID() string {
	return d.idPrefix + "-" + strconv.FormatUint(d.idSeq.Add(1), 36)
}

// current returns the current stream or an error.
func (d *dispatcher) current() (*stream, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	switch {
	case d.closed:
		return nil, ErrClosed
	case d.cur == nil:
		return nil, ErrNotConnected
	}
	return d.cur, nil
}

// closeLocked marks d closed, fails every IQ in flight with ErrClosed and
// returns the current stream, if any.
func (d *dispatcher) closeLocked() *stream {
	d.closed = true
	d.failPendingLocked(nil, ErrClosed)
	return d.cur
}

// streamLostLocked forgets s and fails the IQs in flight on it.
func (d *dispatcher) streamLostLocked(s *stream) {
	if d.cur == s {
		d.cur = nil
	}
	d.failPendingLocked(s, ErrDisconnected)
}

func (d *dispatcher) routeIQ(s *stream, st *rawStanza) {
	typ := jingle.IQType(st.attrs["type"])
	iq, err := decodeIQ(st)
	if err != nil {
		if typ == jingle.IQGet || typ == jingle.IQSet {
			// The request as it came (reply swaps the addresses), so the
			// error goes back to its sender.
			bad := &jingle.IQ{ID: st.attrs["id"], From: st.attrs["from"], To: st.attrs["to"], Type: typ}
			d.reply(s, bad, bad.ErrorReply(jingle.ErrBadRequest))
		}
		return
	}
	switch iq.Type {
	case jingle.IQResult, jingle.IQError:
		d.deliverReply(s, iq)
	case jingle.IQGet, jingle.IQSet:
		d.enqueue(func() { d.dispatchIQ(s, iq) }, func() {
			d.reply(s, iq, iq.ErrorReply(jingle.ErrResourceConstraint))
		})
	}
}

// routeMessage queues a message stanza for the message handlers.
func (d *dispatcher) routeMessage(st *rawStanza) {
	m, err := decodeMessage(st)
	if err != nil {
		d.log.Warn("xmpp: undecodable message dropped", "from", st.attrs["from"], "err", err)
		return
	}
	d.enqueue(func() { d.dispatchMessage(m) }, func() {
		d.log.Warn("xmpp: dispatch queue full, message dropped", d.panicAttrs(m.From, m.To)...)
	})
}

// enqueue hands f to the dispatch goroutine, or runs full if the queue is
// full (the flood guard).
func (d *dispatcher) enqueue(f, full func()) {
	select {
	case d.queue <- f:
	default:
		full()
	}
}

// dispatchLoop runs handlers one at a time, in arrival order, so a peer's
// Jingle actions reach the manager (or the room) in the order it sent
// them. It returns when d's context ends.
func (d *dispatcher) dispatchLoop() {
	for {
		select {
		case f := <-d.queue:
			f()
		case <-d.ctx.Done():
			return
		}
	}
}

func (d *dispatcher) dispatchIQ(s *stream, iq *jingle.IQ) {
	d.mu.Lock()
	h := d.iqHandlers[iq.PayloadName()]
	if h == nil {
		h = d.iqFallback
	}
	d.mu.Unlock()
	if h == nil {
		d.reply(s, iq, iq.ErrorReply(jingle.ErrServiceUnavailable))
		return
	}
	if reply := d.runIQHandler(h, iq); reply != nil {
		d.reply(s, iq, reply)
	}
}

// panicAttrs are the log attributes of a panic in a handler of the stanza
// from→to (or of a stanza dropped), followed by more.
func (d *dispatcher) panicAttrs(from, to string, more ...any) []any {
	attrs := []any{"from", from}
	if d.logTo {
		attrs = append(attrs, "to", to)
	}
	return append(attrs, more...)
}

func (d *dispatcher) runIQHandler(h IQHandler, iq *jingle.IQ) (reply *jingle.IQ) {
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("xmpp: panic in IQ handler", d.panicAttrs(iq.From, iq.To, "payload", iq.PayloadName().Local, "panic", r, "stack", string(debug.Stack()))...)
			reply = iq.ErrorReply(&jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondInternalServerError})
		}
	}()
	return h(d.ctx, iq)
}

// reply sends reply as the answer to iq on the stream iq came from.
func (d *dispatcher) reply(s *stream, iq, reply *jingle.IQ) {
	r := *reply
	r.ID, r.To, r.From = iq.ID, iq.From, d.answerFrom(iq)
	if err := d.write(s, r); err != nil {
		d.log.Debug("xmpp: reply not sent", "to", iq.From, "err", err)
	}
}

// handleMessage adds a message handler; handlers are tried in order until
// one consumes the message.
func (d *dispatcher) handleMessage(h MessageHandler) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.msgHandlers = append(d.msgHandlers, h)
}

func (d *dispatcher) dispatchMessage(m *jingle.Message) {
	d.mu.Lock()
	hs := append([]MessageHandler(nil), d.msgHandlers...)
	d.mu.Unlock()
	for _, h := range hs {
		if d.runMessageHandler(h, m) {
			return
		}
	}
}

func (d *dispatcher) runMessageHandler(h MessageHandler, m *jingle.Message) (consumed bool) {
	defer func() {
		if r := recover(); r != nil {
			d.log.Error("xmpp: panic in message handler", d.panicAttrs(m.From, m.To, "panic", r, "stack", string(debug.Stack()))...)
			consumed = true
		}
	}()
	return h(d.ctx, m)
}

// checkRequestType refuses to send an IQ that is not a request.
func checkRequestType(iq *jingle.IQ) error {
	if iq.Type != jingle.IQGet && iq.Type != jingle.IQSet {
		return fmt.Errorf("xmpp: SendIQ needs type get or set, not %q", iq.Type)
	}
	return nil
}

// sendIQ sends the request out on the current stream, or queues it (see
// queueingLocked), with a fresh id if it has none, and waits for the reply from its addressee. An error reply
// is returned together with its *jingle.Error. Without a deadline on ctx,
// timeout applies.
func (d *dispatcher) sendIQ(ctx context.Context, out jingle.IQ, timeout time.Duration) (*jingle.IQ, error) {
	if out.ID == "" {
		out.ID = d.newID()
	}
	p := &pendingIQ{to: out.To, ch: make(chan iqResult, 1)}
	d.mu.Lock()
	switch {
	case d.closed:
		d.mu.Unlock()
		return nil, ErrClosed
	case d.cur == nil && (d.queueingLocked == nil || !d.queueingLocked()):
		d.mu.Unlock()
		return nil, ErrNotConnected
	}
	if _, dup := d.pending[out.ID]; dup {
		d.mu.Unlock()
		return nil, fmt.Errorf("xmpp: IQ id %q already in flight", out.ID)
	}
	p.str = d.cur
	d.pending[out.ID] = p
	d.mu.Unlock()
	defer func() {
		d.mu.Lock()
		if d.pending[out.ID] == p {
			delete(d.pending, out.ID)
		}
		d.mu.Unlock()
	}()
	if _, ok := ctx.Deadline(); !ok {
		var cancel context.CancelFunc
		ctx, cancel = context.WithTimeout(ctx, timeout)
		defer cancel()
	}
	if err := d.write(p.str, out); err != nil {
		d.mu.Lock()
		closed := d.closed
		d.mu.Unlock()
		if closed {
			// Close shut the stream while the request was on its way
			// out: the documented ErrClosed, not a lost stream.
			return nil, ErrClosed
		}
		var we *writeError
		if errors.As(err, &we) {
			// The stream broke under the request, before its reader
			// failed the requests in flight with ErrDisconnected: the
			// same loss, told the same way, so that callers that carry
			// on after a reconnection (jingle send's resume) see it.
			return nil, fmt.Errorf("%w (%w)", ErrDisconnected, err)
		}
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

// deliverReply hands a result or error to the sendIQ waiting for it, if
// the reply comes from where the request went (so another entity cannot
// answer in its place by guessing ids).
func (d *dispatcher) deliverReply(s *stream, iq *jingle.IQ) {
	d.mu.Lock()
	p := d.pending[iq.ID]
	ok := p != nil && p.str == s && d.acceptReplyLocked(p.to, iq.From)
	if ok {
		delete(d.pending, iq.ID)
	}
	d.mu.Unlock()
	if !ok {
		if p != nil {
			d.log.Warn("xmpp: IQ reply from unexpected sender ignored", "id", iq.ID, "from", iq.From, "want", p.to)
		}
		return
	}
	p.ch <- iqResult{iq: iq}
}

// failPendingLocked fails the IQs in flight on s (all of them if s is nil).
func (d *dispatcher) failPendingLocked(s *stream, err error) {
	for id, p := range d.pending {
		if s == nil || p.str == s {
			delete(d.pending, id)
			p.ch <- iqResult{err: err}
		}
	}
}

// sendMessage sends out on the current stream (or queues it, see
// queueingLocked), with a fresh id if it has none.
func (d *dispatcher) sendMessage(out jingle.Message) error {
	d.mu.Lock()
	s, closed := d.cur, d.closed
	queue := s == nil && d.queueingLocked != nil && d.queueingLocked()
	d.mu.Unlock()
	switch {
	case closed:
		return ErrClosed
	case s == nil && !queue:
		return ErrNotConnected
	}
	if out.ID == "" {
		out.ID = d.newID()
	}
	return d.write(s, out)
}
