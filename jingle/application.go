package jingle

import "context"

// Application plugs a description namespace (XEP-0166 "application
// format") into the Manager: RTP sessions (XEP-0167), file transfer
// (XEP-0234). The manager chooses the application of an incoming
// session-initiate by the description namespace of its contents, as
// Conversations' JingleConnectionManager does.
type Application interface {
	// Namespace is the description namespace this application handles.
	Namespace() string
	// Features are the XEP-0030 features it adds, Namespace included.
	Features() []string
	// HandleInitiate is called in the new session's loop for an incoming
	// session-initiate after the core validated it. It returns the handler
	// that owns the session from then on. Errors:
	//   - an *Error is sent back as the IQ error (bad-request for a
	//     malformed description) and the session is forgotten;
	//   - a *TerminateError acks the IQ, then ends the session with
	//     session-terminate carrying its Reason (unsupported-applications,
	//     busy, decline, ...).
	// It must not block: it sends with Session.Queue (session-accept
	// right away, say), and negotiation work runs on goroutines owned by
	// the handler, which wait with Session.Send or come back to the loop
	// with Session.Do.
	HandleInitiate(ctx context.Context, s *Session, j *Jingle) (SessionHandler, error)
}

// SessionHandler owns an application's state for one session.
type SessionHandler interface {
	// HandleAction is called in the session's serial loop for every
	// action from the peer that the state machine accepted, except
	// session-initiate (see Application) and session-terminate (see
	// Terminated). The session already reflects the action (State,
	// Contents); an error reply undoes it. It must not block: it sends
	// with Session.Queue, never with the waiting Send, Accept, Info or
	// Terminate. A returned *Error becomes the IQ error reply (e.g. ErrUnsupportedInfo for an unknown session-info
	// payload); any other error becomes internal-server-error. nil acks.
	HandleAction(ctx context.Context, s *Session, j *Jingle) error
	// Terminated is called exactly once, in the loop, when the session
	// ends for any reason (peer or local session-terminate, timeout,
	// manager shutdown). It must release every resource of the session,
	// without blocking: what may block (closing a connection that says
	// goodbye) goes to a goroutine.
	Terminated(s *Session, r *Reason)
}

// TerminateError asks the manager to accept the IQ and then end the
// session with Reason.
type TerminateError struct {
	Reason *Reason
}

// Error implements error.
func (e *TerminateError) Error() string { return "jingle: terminate: " + e.Reason.String() }
