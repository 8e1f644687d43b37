package jingle

import "fmt"

// State is the overall state of a Jingle session (XEP-0166 §6.1,
// "Overall Session Management"). It is kept apart from the XEP-0353
// proposal state and from the termination reason, which are separate
// values (Proposal, Session.Reason).
type State int

// Session states. The zero value is the state before session-initiate,
// which a Session never reports: a Session exists from its
// session-initiate on.
const (
	stateNew State = iota
	// StatePending: session-initiate sent or received, no session-accept yet.
	StatePending
	// StateActive: session-accept sent or received.
	StateActive
	// StateEnded: session-terminate sent or received (or a local end:
	// timeout, manager shutdown, failed session-initiate).
	StateEnded
)

// String returns the state's name as the spec writes it.
func (s State) String() string {
	switch s {
	case stateNew:
		return "new"
	case StatePending:
		return "pending"
	case StateActive:
		return "active"
	case StateEnded:
		return "ended"
	}
	return fmt.Sprintf("State(%d)", int(s))
}

// next is the one transition function of the session state machine, the
// way pion/webrtc's checkNextSignalingState is for SDP. byInitiator says
// whether the session's initiator sends the action (for our own actions:
// whether we are the initiator). It returns the state after the action or
// ErrOutOfOrder.
//
// The arrows of XEP-0166 §6.1:
//
//	new     --session-initiate (initiator)--> pending
//	pending --session-accept (responder)----> active
//	pending --content-*, description-info, security-info, session-info,
//	          transport-*----------------------> pending
//	active  --the same--------------------------> active
//	pending --session-terminate---------------> ended
//	active  --session-terminate---------------> ended
//
// Everything else is out of order: a second session-initiate, a
// session-accept in active, a session-accept from the initiator, any
// action before session-initiate or after session-terminate.
func next(cur State, a Action, byInitiator bool) (State, error) {
	if !a.Valid() {
		return cur, BadRequest(fmt.Sprintf("unknown jingle action %q", a))
	}
	switch cur {
	case stateNew:
		if a == ActionSessionInitiate && byInitiator {
			return StatePending, nil
		}
	case StatePending, StateActive:
		switch a {
		case ActionSessionInitiate:
			// A session exists already for this sid.
		case ActionSessionAccept:
			if cur == StatePending && !byInitiator {
				return StateActive, nil
			}
		case ActionSessionTerminate:
			return StateEnded, nil
		default:
			// content-*, description-info, security-info,
			// session-info, transport-*: allowed in both states and
			// by both parties (XEP-0166 §6.1 note).
			return cur, nil
		}
	case StateEnded:
	}
	return cur, withText(ErrOutOfOrder, "%s in state %s", a, cur)
}
