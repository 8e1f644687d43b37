package jingle

import (
	"fmt"
	"log/slog"
	"time"
)

// Defaults of the Manager's options.
const (
	// DefaultInitiateTimeout ends an outgoing session-initiate that got
	// no session-accept, like Conversations' ringing timeout.
	DefaultInitiateTimeout = 60 * time.Second
	// DefaultResponderTimeout ends an incoming session that the
	// application did not accept: without it a peer that never sends
	// session-terminate would hold a pending slot forever.
	DefaultResponderTimeout = 90 * time.Second
	// DefaultIQTimeout bounds the wait for the reply to one of our IQs.
	DefaultIQTimeout = 30 * time.Second
	// DefaultPendingPerPeer and DefaultPendingTotal bound the incoming
	// sessions that are not active yet (and incoming JMI proposals).
	DefaultPendingPerPeer = 8
	DefaultPendingTotal   = 256
	// DefaultSessionsPerPeer and DefaultSessionsTotal bound the incoming
	// sessions alive at once, active ones included: an application that
	// answers automatically (an echo service) must not let one peer
	// open calls without end.
	DefaultSessionsPerPeer = 32
	DefaultSessionsTotal   = 1024
	// maxQueuedStanzas bounds the peer's stanzas waiting in one
	// session's loop; beyond it the peer gets resource-constraint.
	maxQueuedStanzas = 64
)

// Option configures a Manager (pion/webrtc API options style).
type Option func(*Manager)

// WithApplication registers an application format by its description
// namespace. Registering a namespace twice is a wiring bug and panics.
func WithApplication(a Application) Option {
	return func(m *Manager) {
		ns := a.Namespace()
		if _, dup := m.apps[ns]; dup {
			panic(fmt.Sprintf("jingle: application %q registered twice", ns))
		}
		m.apps[ns] = a
	}
}

// WithTransport registers a transport method by namespace. Registering a
// namespace twice panics.
func WithTransport(t Transport) Option {
	return func(m *Manager) {
		ns := t.Namespace()
		if _, dup := m.transports[ns]; dup {
			panic(fmt.Sprintf("jingle: transport %q registered twice", ns))
		}
		m.transports[ns] = t
	}
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(m *Manager) {
		if l != nil {
			m.log = l
		}
	}
}

// WithInitiateTimeout sets how long an outgoing session-initiate (and an
// outgoing JMI propose) waits for the peer's session-accept (proceed)
// before the session ends with <timeout/> (DefaultInitiateTimeout).
func WithInitiateTimeout(d time.Duration) Option {
	return func(m *Manager) {
		if d > 0 {
			m.initiateTimeout = d
		}
	}
}

// WithResponderTimeout sets how long an incoming session (or incoming JMI
// proposal) may stay unanswered before we end it with <timeout/>
// (DefaultResponderTimeout).
func WithResponderTimeout(d time.Duration) Option {
	return func(m *Manager) {
		if d > 0 {
			m.responderTimeout = d
		}
	}
}

// WithIQTimeout bounds the wait for the reply to each IQ we send
// (DefaultIQTimeout).
func WithIQTimeout(d time.Duration) Option {
	return func(m *Manager) {
		if d > 0 {
			m.iqTimeout = d
		}
	}
}

// WithPendingLimits bounds incoming sessions that are not active yet, per
// peer (bare JID, so many resources of one account count together) and in
// total. A session-initiate beyond a limit gets resource-constraint
// (type wait) and allocates nothing. The same limits bound pending
// incoming JMI proposals. Values <= 0 keep the defaults.
func WithPendingLimits(perPeer, total int) Option {
	return func(m *Manager) {
		if perPeer > 0 {
			m.pendingPerPeer = perPeer
		}
		if total > 0 {
			m.pendingTotal = total
		}
	}
}

// WithSessionLimits bounds the incoming sessions alive at once (pending
// or active), per peer bare JID and in total; beyond, a session-initiate
// gets resource-constraint like beyond the pending limits. Values <= 0
// keep the defaults.
func WithSessionLimits(perPeer, total int) Option {
	return func(m *Manager) {
		if perPeer > 0 {
			m.sessionsPerPeer = perPeer
		}
		if total > 0 {
			m.sessionsTotal = total
		}
	}
}

// WithProposalHandler sets the callback for incoming JMI proposals
// (XEP-0353 <propose/>). It runs outside the manager's locks and must not
// block; the application answers with Proposal.Ring, Proceed or Reject.
// Only proposals with a description of a registered application reach
// it. Without a handler the manager neither advertises JMI nor answers
// proposals: it leaves them to the account's other devices (a <reject/>
// would decline the call on all of them, XEP-0353 §3.3).
func WithProposalHandler(f func(*Proposal)) Option {
	return func(m *Manager) { m.onProposal = f }
}
