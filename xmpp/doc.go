// Package xmpp connects jingled to an XMPP server and gives the Jingle
// manager what it needs: the jingle.Sender interface and a dispatcher.
//
// What it implements:
//
//   - RFC 6120 client streams: STARTTLS (§5) with crypto/tls, SASL SCRAM
//     (§6, RFC 5802, RFC 7677) with mellium.im/sasl, resource binding
//     (§7), plain TCP only when explicitly allowed and only to loopback;
//   - XEP-0198 stream management: acks, resumption of the session after a
//     lost connection, and a new session with the same resource when the
//     server refuses to resume (see "Connection loss" below);
//   - IQ request/response correlation by id with a context per request,
//     checking the reply's from against the request's to (RFC 6120 §8.2.3
//     and §10.1.1); error replies become *jingle.Error;
//   - one goroutine reading the stream and dispatching IQs by payload name
//     and messages to handlers, in order, on a second goroutine;
//   - RFC 6121 presence: available resources per bare JID, subscription
//     requests answered by a policy function;
//   - XEP-0030 disco#info (responder and client) and XEP-0115 entity
//     capabilities, the ver string computed from the identities and features
//     actually registered (§5), with verification (§5.4);
//   - reconnection with exponential backoff, distinguishing an
//     authentication failure (reported, not retried) from an unreachable
//     server (retried);
//   - XEP-0215 external service discovery (sub-package extdisco): STUN/TURN servers
//     and credentials from the account's server, refreshed before expiry.
//
// # Connection loss
//
// When the connection to the server breaks, the client reconnects with
// exponential backoff (Config.MinBackoff, MaxBackoff, ReconnectFor).
// What happens to the stanzas depends on the server:
//
//   - with XEP-0198 (Prosody 0.12+ has mod_smacks built in; it must be in
//     modules_enabled), IQs in flight keep waiting and what is sent during
//     the outage is queued (Config.SMQueueSize, then ErrQueueFull). If the
//     server still holds the session (mod_smacks keeps it
//     smacks_hibernation_time, 10 minutes by default) the client resumes
//     it: the stanzas the server missed are sent again, the replies and
//     messages it kept for us arrive, nothing is lost either way. If it
//     does not (it expired, the server restarted), the client binds a new
//     session with the same resource, sends again what the old one had
//     not delivered, and fails the IQs the old one had delivered with
//     ErrSessionLost. EventConnected says which (Event.Resumed, Err);
//   - without it, IQs in flight fail with ErrDisconnected and sends fail
//     with ErrNotConnected until the new stream is up.
//
// A Jingle session does not end because the stream did: its media never
// went through XMPP, and its signalling is carried over as above.
//
// The handshake is ours (handshake.go) rather than go-xmpp's, which binds
// a resource inside its NewClient and keeps the stream features to
// itself, so it can neither see nor resume a XEP-0198 session. The stream
// is read element by element (stream.go), so every stanza arrives
// complete, <error/>, XEP-0115 <c/> and all children of an IQ included.
package xmpp
