package xmpp

import (
	"errors"
	"fmt"
	"strconv"
)

// NSStreamManagement is XEP-0198's namespace (version 3).
const NSStreamManagement = "urn:xmpp:sm:3"

// Nonzas of XEP-0198 that the client writes as they are.
const (
	// smRequest asks the server for an ack (§4).
	smRequest = "<r xmlns='urn:xmpp:sm:3'/>"
	// smEnable turns stream management on, asking for resumption (§3,
	// §5).
	smEnable = "<enable xmlns='urn:xmpp:sm:3' resume='true'/>"
)

// smAnswer is the <a/> answering the server's <r/> with h, the stanzas
// we handled (XEP-0198 §4).
func smAnswer(h uint32) string {
	return "<a xmlns='urn:xmpp:sm:3' h='" + strconv.FormatUint(uint64(h), 10) + "'/>"
}

// smResume asks to resume the session previd, telling the server the
// stanzas we handled in it (XEP-0198 §5).
func smResume(previd string, h uint32) string {
	return "<resume xmlns='urn:xmpp:sm:3' previd='" + escapeText(previd) + "' h='" + strconv.FormatUint(uint64(h), 10) + "'/>"
}

// parseH reads an h attribute: an unsigned 32-bit integer (XEP-0198 §4).
func parseH(s string) (uint32, error) {
	n, err := strconv.ParseUint(s, 10, 32)
	if err != nil {
		return 0, fmt.Errorf("xmpp: stream management: bad h %q: %w", s, err)
	}
	return uint32(n), nil
}

// errHandledTooHigh is the server acknowledging more stanzas than we sent
// (XEP-0198 §4: the stream is then closed with undefined-condition,
// handled-count-too-high).
var errHandledTooHigh = errors.New("xmpp: stream management: server acknowledged more stanzas than were sent")

// smItem is one stanza we sent (or will send) and the server has not
// acknowledged yet. iqID is the id of an IQ request, so its caller can be
// told when the stanza cannot be sent again.
type smItem struct {
	raw  []byte
	iqID string
}

// smQueue is the client's outbound side of XEP-0198: the stanzas sent
// since <enable/> that the server has not acknowledged, in order, and the
// count the server last acknowledged. Item i of queue is stanza number
// acked+1+i. Counts are modulo 2^32 (§4: "h" wraps to zero after
// 2^32-1), which uint32 arithmetic gives for free.
//
// It is pure bookkeeping, guarded by its owner's lock.
type smQueue struct {
	acked uint32
	queue []smItem
}

// push records a stanza as sent (or waiting to be sent).
func (q *smQueue) push(it smItem) { q.queue = append(q.queue, it) }

// sent is the count of stanzas put in the queue since enable, modulo
// 2^32.
func (q *smQueue) sent() uint32 { return q.acked + uint32(len(q.queue)) }

// ack takes the server's h: the stanzas up to h are delivered and leave
// the queue. An h lower than the last one (an old <a/> after a newer one)
// changes nothing; an h beyond what was sent is errHandledTooHigh.
func (q *smQueue) ack(h uint32) ([]smItem, error) {
	n := h - q.acked // wraps correctly across 2^32
	if n == 0 {
		return nil, nil
	}
	if int64(n) > int64(len(q.queue)) {
		// Either more than we sent, or an h from before the last
		// one (the difference then wraps to a huge number); the
		// latter within half the range is a stale ack.
		if n > 1<<31 {
			return nil, nil
		}
		return nil, fmt.Errorf("%w: h=%d, %d sent", errHandledTooHigh, h, q.sent())
	}
	done := q.queue[:n:n]
	q.queue = append([]smItem(nil), q.queue[n:]...)
	q.acked = h
	return done, nil
}

// reset starts counting again from zero, as a new <enable/> does, and
// returns the stanzas that were waiting.
func (q *smQueue) reset() []smItem {
	out := q.queue
	q.acked, q.queue = 0, nil
	return out
}
