// Call events: what happened to a call (EventType, Event) and how the call's loop
// emits them without blocking.

package rtp

import "time"

// EventType names what happened to a call.
type EventType string

// Call events, in the order they usually come.
const (
	// EventRinging: the peer's client alerts its user (XEP-0167 <ringing/>).
	EventRinging EventType = "ringing"
	// EventAccepted: session-accept was sent or received.
	EventAccepted EventType = "accepted"
	// EventConnected: ICE and DTLS are up on every transport.
	EventConnected EventType = "ice-connected"
	// EventMedia: the first RTP packet arrived (Content says where).
	EventMedia EventType = "media"
	// EventHold, EventUnhold, EventMute, EventUnmute, EventActive: the
	// peer's session-info (XEP-0167 §7).
	EventHold   EventType = "hold"
	EventUnhold EventType = "unhold"
	EventMute   EventType = "mute"
	EventUnmute EventType = "unmute"
	EventActive EventType = "active"
	// EventRestart: an ICE restart completed (our offer was answered,
	// or we answered the peer's).
	EventRestart EventType = "ice-restart"
	// EventEnded: the session is over; Reason says why.
	EventEnded EventType = "ended"
)

// Event is one thing that happened to a call, JSON-ready for the CLI.
type Event struct {
	Type    EventType `json:"type"`
	Time    time.Time `json:"time"`
	Content string    `json:"content,omitempty"`
	// Reason is the session-terminate condition (EventEnded only).
	Reason string `json:"reason,omitempty"`
	Text   string `json:"text,omitempty"`
}

// emit sends an event without ever blocking the loop.
func (c *Call) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	select {
	case c.events <- e:
	default:
		c.log.Warn("rtp: call event dropped, nobody reads Events", "event", e.Type)
	}
}

// Call events for contents added and removed during the call (either
// side's content-add and content-remove, XEP-0166 §6.3, §6.6).
const (
	// EventContentAdd: a content was added and accepted (ours by the
	// peer's content-accept, the peer's by ours); Content names it.
	EventContentAdd EventType = "content-add"
	// EventContentRemove: a content was removed (by either side, or our
	// content-add was rejected: Text says "rejected"); Content names it.
	EventContentRemove EventType = "content-remove"
)

// Call events of automatic ICE restarts (EventRestart says that one
// offer/answer exchange completed; these follow the path).
const (
	// EventPathBroken: ICE went disconnected or failed after it had
	// connected; automatic restarts begin.
	EventPathBroken EventType = "ice-broken"
	// EventRestarting: we start an automatic ICE restart; Text says
	// which attempt of how many.
	EventRestarting EventType = "ice-restarting"
	// EventPathRestored: ICE is connected again on every transport; Text
	// says after how long and how many restarts.
	EventPathRestored EventType = "ice-restored"
)
