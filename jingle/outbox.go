package jingle

import (
	"context"
	"encoding/xml"
	"fmt"
	"sync"
)

// outbox is a session's outgoing queue. One sender goroutine at a time
// sends its stanzas in order, each after the previous one's reply, so
// that the peer sees them in the order we made them (a transport-info
// must not overtake its session-initiate). While the loop handles a
// stanza of the peer the sender is parked (corked), so our ack to that
// stanza leaves before what handling it made us send.
type outbox struct {
	mu      sync.Mutex
	items   []*outItem
	sending bool // a sender is counted in m.wg (running or parked)
	parked  bool // counted but not started: waiting for kickOut
}

// outItem is a stanza waiting in the outbox.
type outItem struct {
	j   *Jingle
	msg *Message
	// onReply runs in the loop with the reply's error before res is
	// filled, so the session reflects a refusal when Send returns.
	onReply func(err error)
	// res receives the outcome once (buffered): nil, the peer's *Error,
	// or why the stanza was not sent.
	res chan error
}

// enqueueOut queues a stanza for the sender goroutine, in the loop. The
// goroutine is counted in the manager's WaitGroup here, while the loop's
// own count keeps it above zero.
func (s *Session) enqueueOut(it *outItem) <-chan error {
	it.res = make(chan error, 1)
	o := &s.out
	o.mu.Lock()
	o.items = append(o.items, it)
	start := false
	if !o.sending {
		o.sending = true
		s.m.wg.Add(1)
		start = !s.corked
		o.parked = !start
	}
	o.mu.Unlock()
	if start {
		go s.sendLoop()
	}
	return it.res
}

// kickOut starts a sender parked while the loop handled a stanza.
func (s *Session) kickOut() {
	o := &s.out
	o.mu.Lock()
	start := o.parked
	o.parked = false
	o.mu.Unlock()
	if start {
		go s.sendLoop()
	}
}

// sendLoop sends queued stanzas one at a time, each after the previous
// one's reply, so the peer sees them in order.
func (s *Session) sendLoop() {
	defer s.m.wg.Done()
	o := &s.out
	for {
		o.mu.Lock()
		if len(o.items) == 0 {
			o.sending = false
			o.mu.Unlock()
			return
		}
		it := o.items[0]
		o.items[0] = nil
		o.items = o.items[1:]
		o.mu.Unlock()
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
			t := &task{fn: func(context.Context) { it.onReply(err) }, done: make(chan struct{})}
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
