package xmpp

import "errors"

var (
	// ErrAuth is an authentication failure (wrong password, unknown
	// account). It is permanent: the client does not retry it.
	ErrAuth = errors.New("xmpp: authentication failed")
	// ErrClosed is returned once Close was called; pending SendIQ calls
	// fail with it.
	ErrClosed = errors.New("xmpp: client closed")
	// ErrNotConnected is returned by sends while no stream is up (between
	// reconnection attempts).
	ErrNotConnected = errors.New("xmpp: not connected")
	// ErrDisconnected fails IQs in flight when the stream breaks and
	// there is no XEP-0198 session to carry them over (the server does
	// not offer stream management, or ended the stream with an error).
	ErrDisconnected = errors.New("xmpp: stream lost before the reply")
	// ErrSessionLost fails an IQ whose request reached a XEP-0198
	// session that could not be resumed: the server had it (so it is not
	// sent again), and its reply, if any, went to the lost session.
	ErrSessionLost = errors.New("xmpp: session lost after the server took the request; its reply cannot arrive")
	// ErrQueueFull refuses a send while Config.SMQueueSize stanzas are
	// already waiting: unacknowledged by the server, or queued while the
	// connection is down.
	ErrQueueFull = errors.New("xmpp: stream management queue full")
	// ErrPlainNotLoopback refuses an unencrypted connection to an address
	// that is not loopback.
	ErrPlainNotLoopback = errors.New("xmpp: plain (unencrypted) connections are only allowed to loopback addresses")
	// ErrGaveUp is returned when MaxAttempts connection attempts failed.
	ErrGaveUp = errors.New("xmpp: giving up connecting")
	// ErrCapsMismatch means a peer's advertised XEP-0115 ver does not match
	// its disco#info.
	ErrCapsMismatch = errors.New("xmpp: caps verification string does not match disco#info")
	// ErrNoCaps means no XEP-0115 caps were seen in the peer's presence.
	ErrNoCaps = errors.New("xmpp: no entity capabilities known for this JID")
	// ErrMalformedDisco is a disco#info result that XEP-0115 §5.4 says
	// must not be used for verification (duplicate identity, feature or
	// form type).
	ErrMalformedDisco = errors.New("xmpp: malformed disco#info for caps")
	// ErrNoExternalServices means the server answered XEP-0215 with no
	// usable service.
	ErrNoExternalServices = errors.New("xmpp: no usable external services")
)
