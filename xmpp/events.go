// Connection events: what happened to the client's stream (connected,
// resumed, lost, gave up), reported to Config.OnEvent.

package xmpp

import (
	"log/slog"
	"strconv"
	"time"
)

// EventKind says what happened to the connection.
type EventKind int

// Connection events.
const (
	// EventConnected: a stream is up (JID is the bound full JID).
	// Resumed says it resumed the XEP-0198 session of the lost stream;
	// otherwise a non-nil Err says why the server refused to (the
	// client then bound a new session and resent what it could).
	EventConnected EventKind = iota + 1
	// EventDisconnected: the stream broke (Err says why); a reconnection
	// follows unless the client is closing.
	EventDisconnected
	// EventConnectFailed: one attempt failed (Err is the cause; Permanent
	// if it will not be retried, e.g. ErrAuth).
	EventConnectFailed
	// EventRetry: the next attempt is scheduled after Delay (Backoff is
	// the exponential base before jitter).
	EventRetry
	// EventGaveUp: MaxAttempts reached.
	EventGaveUp
)

// String is the kind's name as logs show it, e.g. "connect-failed".
func (k EventKind) String() string {
	switch k {
	case EventConnected:
		return "connected"
	case EventDisconnected:
		return "disconnected"
	case EventConnectFailed:
		return "connect-failed"
	case EventRetry:
		return "retry"
	case EventGaveUp:
		return "gave-up"
	}
	return "EventKind(" + strconv.Itoa(int(k)) + ")"
}

// Event is a connection event reported to Config.OnEvent.
// Which fields are set depends on Kind (see the EventKind constants).
type Event struct {
	Kind EventKind
	// JID is the bound full JID (EventConnected).
	JID string
	// Resumed: the XEP-0198 session was resumed (EventConnected).
	Resumed bool
	// Err is the cause of a failure, a disconnection, or of a refused
	// resumption.
	Err error
	// Attempt numbers the attempt, from 1, of the current connection or
	// reconnection.
	Attempt int
	// Permanent: the failure is not retried (e.g. ErrAuth).
	Permanent bool
	// Backoff is the exponential base of the next attempt's Delay,
	// which adds the jitter (EventRetry).
	Backoff time.Duration
	Delay   time.Duration
}

func (c *Client) emit(e Event) {
	report(c.log, "xmpp: ", e, []any{"jid", e.JID, "attempt", e.Attempt, "resumed", e.Resumed, "resume_refused", e.Err}, c.cfg.OnEvent)
}

// report logs a connection event of a Client or Component (prefix names
// which; connected are the attributes of EventConnected) and hands it to
// onEvent, if set.
func report(log *slog.Logger, prefix string, e Event, connected []any, onEvent func(Event)) {
	switch e.Kind {
	case EventConnected:
		log.Info(prefix+"connected", connected...)
	case EventRetry:
		log.Info(prefix+"retrying", "attempt", e.Attempt, "delay", e.Delay, "err", e.Err)
	case EventDisconnected, EventConnectFailed, EventGaveUp:
		log.Warn(prefix+e.Kind.String(), "attempt", e.Attempt, "err", e.Err)
	}
	if onEvent != nil {
		onEvent(e)
	}
}
