package xmpp

import (
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"github.com/jingled/jingled/jingle"
)

// XEP-0198 stream management on a Client.
//
// Once a stream has it enabled, every stanza we send is counted and kept
// until the server acknowledges it (we ask with <r/> after each one), and
// the stanzas we receive are counted so we can answer the server's <r/>.
// When the connection breaks the session outlives the stream: IQs in
// flight keep waiting, and what is sent meanwhile is queued (up to
// Config.SMQueueSize). The supervisor then reconnects and asks to resume:
//
//   - <resumed h/>: the server kept the session (mod_smacks hibernates it,
//     10 minutes by default); the stanzas up to h are dropped, the rest
//     sent again on the new stream, and nothing is lost on either side;
//   - <failed/>: the session is gone (it expired, the server restarted).
//     A new one is bound with the same resource, the unacknowledged
//     stanzas are sent again (minus those the server says it handled,
//     when its <failed/> carries h), and the IQs whose request was
//     delivered to the old session fail with ErrSessionLost: their
//     reply, if any, went to that session.
//
// A stream error from the server (policy-violation, conflict...) ends the
// session too, without resending: the stanza that caused it would only
// cause it again.

// smSession is the XEP-0198 session that stanzas are counted in.
type smSession struct {
	// id is the resumption id; "" if the server does not offer
	// resumption (the queue is then still resent on a new session).
	id  string
	out smQueue
	// live is the stream the session runs on; nil during an outage.
	live *stream
	// ackTimer watches live while stanzas wait for an ack (see
	// watchAcks); ackedAtArm is the count acknowledged when it started.
	ackTimer   *time.Timer
	ackedAtArm uint32
}

// errAckTimeout is a connection taken for dead: the server acknowledged
// none of our stanzas for Config.AckTimeout.
var errAckTimeout = errors.New("xmpp: no stream management ack from the server in time; connection taken for dead")

// requestID is the id of v if it is an IQ request, so that a request
// that cannot be sent again can fail its caller.
func requestID(v any) string {
	if iq, ok := v.(jingle.IQ); ok && (iq.Type == jingle.IQGet || iq.Type == jingle.IQSet) {
		return iq.ID
	}
	return ""
}

// writeStanza is the Client's dispatcher.write: it marshals v and sends
// it through the session (see send).
func (c *Client) writeStanza(s *stream, v any) error {
	b, err := xml.Marshal(v)
	if err != nil {
		return fmt.Errorf("xmpp: encode stanza: %w", err)
	}
	c.smMu.Lock()
	defer c.smMu.Unlock()
	return c.sendLocked(s, b, requestID(v))
}

// sendLocked writes one stanza. Without stream management it goes on s
// as it is. With it, it joins the queue of unacknowledged stanzas and,
// if the session has a stream, is written there followed by <r/>; a
// write that fails leaves it queued, to be sent again after the
// reconnection. smMu is held, so that stanzas keep their order across a
// resumption.
func (c *Client) sendLocked(s *stream, b []byte, iqID string) error {
	sm := c.sm
	if sm == nil {
		if s == nil {
			return ErrNotConnected
		}
		return s.write(b)
	}
	if n := len(sm.out.queue); n >= c.cfg.SMQueueSize {
		return fmt.Errorf("%w (%d stanzas unacknowledged or waiting for the connection)", ErrQueueFull, n)
	}
	sm.out.push(smItem{raw: b, iqID: iqID})
	if sm.live != nil {
		if err := sm.live.write(append(b[:len(b):len(b)], smRequest...)); err != nil {
			c.log.Debug("xmpp: stanza kept for resending", "err", err)
		}
		c.watchAcksLocked(sm)
	}
	return nil
}

// watchAcksLocked starts the ack watch of sm's stream unless it runs:
// when Config.AckTimeout passes without the server acknowledging
// anything while stanzas wait, the stream is aborted (and then resumed
// on a new connection); while acks progress, the watch goes on. smMu is
// held.
func (c *Client) watchAcksLocked(sm *smSession) {
	if sm.ackTimer != nil || sm.live == nil {
		return
	}
	s := sm.live
	sm.ackedAtArm = sm.out.acked
	sm.ackTimer = time.AfterFunc(c.cfg.AckTimeout, func() {
		c.smMu.Lock()
		defer c.smMu.Unlock()
		if c.sm != sm || sm.live != s {
			return // the session moved on; adopt or smStreamLost stopped it
		}
		sm.ackTimer = nil
		switch {
		case len(sm.out.queue) == 0:
		case sm.out.acked == sm.ackedAtArm:
			c.log.Warn("xmpp: no ack from the server, reconnecting", "unacked", len(sm.out.queue), "after", c.cfg.AckTimeout)
			s.abort(errAckTimeout)
		default:
			c.watchAcksLocked(sm)
		}
	})
}

// stopAckWatchLocked stops sm's ack watch. smMu is held.
func (sm *smSession) stopAckWatchLocked() {
	if sm.ackTimer != nil {
		sm.ackTimer.Stop()
		sm.ackTimer = nil
	}
}

// queueing reports whether sends while disconnected are queued (a
// stream management session exists). It runs with mu held.
func (c *Client) queueing() bool { return c.smOn.Load() }

// resumeFrom is the session a connection attempt should resume, or nil.
func (c *Client) resumeFrom() *resumeFrom {
	c.smMu.Lock()
	defer c.smMu.Unlock()
	if c.sm == nil || c.sm.id == "" {
		return nil
	}
	return &resumeFrom{id: c.sm.id, h: c.smIn.Load()}
}

// smStreamLost detaches the session from s, which broke.
func (c *Client) smStreamLost(s *stream) {
	c.smMu.Lock()
	defer c.smMu.Unlock()
	if c.sm != nil && c.sm.live == s {
		c.sm.live = nil
		c.sm.stopAckWatchLocked()
	}
}

// dropSM ends the session without resending anything: its queued
// stanzas are discarded and the IQs in flight fail with err.
func (c *Client) dropSM(err error) {
	c.smMu.Lock()
	if c.sm != nil {
		c.sm.stopAckWatchLocked()
	}
	c.sm = nil
	c.smOn.Store(false)
	c.smMu.Unlock()
	c.mu.Lock()
	if c.cur == nil {
		c.failPendingLocked(nil, err)
	}
	c.mu.Unlock()
}

// smAcked takes the server's <a h/>.
func (c *Client) smAcked(h uint32) error {
	c.smMu.Lock()
	defer c.smMu.Unlock()
	if c.sm == nil {
		return nil
	}
	_, err := c.sm.out.ack(h)
	return err
}

// adoptLocked makes s the session's stream after a connection: on a
// resumption it drops what the server handled and returns the rest to
// write again as it is; on a new session (or a stream without stream
// management) it returns the stanzas to send again through the new
// session. keep lists the IQ requests that will be sent again (or, on a
// resumption, all IQs in flight stay: keepAll). smMu is held.
func (c *Client) adoptLocked(s *stream) (rewrite, resend []smItem, keep map[string]bool, keepAll bool) {
	old := c.sm
	if s.sm.resumed && old != nil {
		if _, err := old.out.ack(s.sm.h); err != nil {
			c.log.Warn("xmpp: resumed with an h beyond what was sent", "err", err)
		}
		old.stopAckWatchLocked()
		old.live = s
		if len(old.out.queue) > 0 {
			c.watchAcksLocked(old)
		}
		return old.out.queue, nil, nil, true
	}
	if old != nil {
		old.stopAckWatchLocked()
		if s.sm.failedH != nil {
			_, _ = old.out.ack(*s.sm.failedH)
		}
		resend = old.out.reset()
	}
	keep = map[string]bool{}
	for _, it := range resend {
		if it.iqID != "" {
			keep[it.iqID] = true
		}
	}
	c.sm = nil
	c.smIn.Store(0)
	if s.sm.enabled {
		c.sm = &smSession{id: s.sm.id, live: s}
	}
	c.smOn.Store(c.sm != nil)
	return nil, resend, keep, false
}

// repointLocked moves the IQs in flight to s after a connection: those
// in keep (all of them with keepAll) wait for their reply there, the
// others fail with ErrSessionLost. mu is held.
func (c *Client) repointLocked(s *stream, keep map[string]bool, keepAll bool) {
	for id, p := range c.pending {
		switch {
		case keepAll || keep[id]:
			p.str = s
		case p.str != s:
			delete(c.pending, id)
			p.ch <- iqResult{err: fmt.Errorf("%w (IQ %s to %q)", ErrSessionLost, id, p.to)}
		}
	}
}
