// Package xmpp connects a program to an XMPP server and gives the Jingle
// manager (package jingle) what it needs: the jingle.Sender interface and
// a dispatcher. The jingle CLI and the jingled daemon use it; so can any
// Go program that places or answers calls or sends files (see examples/
// in the repository).
//
// # Connecting and serving Jingle
//
// New checks a Config; Start connects (STARTTLS, SCRAM, resource binding)
// and keeps the stream up, reconnecting with backoff until Close. A
// Client is a jingle.Sender, so a jingle.Manager is built on it and handed
// to Serve:
//
//	client, err := xmpp.New(xmpp.Config{JID: "romeo@example.org", Password: pw, HoldDisco: true})
//	if err != nil { ... }
//	if err := client.Start(ctx); err != nil { ... }
//	defer client.Close()
//	calls := rtp.NewApplication(rtp.ApplicationOptions{...})
//	mgr := jingle.NewManager(client.JID(), client, calls.Options()...)
//	client.Serve(mgr)      // Jingle IQs and JMI messages to mgr, its features into disco
//	client.FeaturesReady() // answer the disco#info queries HoldDisco kept back
//
// Routing: Serve registers the Manager for <jingle xmlns='urn:xmpp:jingle:1'/>
// IQs and for messages (XEP-0353 Jingle Message Initiation). Other IQ
// payloads go to the handler registered for their namespace and local
// name with HandleIQ (filetransfer/stack registers the XEP-0047 IBB IQs
// that way, extdisco's Refresher its XEP-0215 pushes); an IQ nobody
// handles is answered with service-unavailable. Messages go to each
// MessageHandler in turn until one consumes it.
//
// Discovery: the features of the served Manager, Config.Features and
// SetFeatures/AddFeatures make our disco#info answer and our XEP-0115
// caps; a change re-sends presence with the new ver. DiscoInfo asks a
// peer; presence (Resources, PresenceOf) and caps tell which devices of a
// bare JID take which application: FindResource picks one full JID, Route
// says whether to ring the account through JMI (jingle.Manager.Propose)
// or to send the session-initiate to one device.
//
// STUN/TURN: sub-package extdisco asks the account's server for its
// STUN/TURN servers and short-term credentials (XEP-0215), once
// (Discover) or kept fresh (StartRefresher), for rtp.PeerOptions.
//
// A server-side program (a conference host) connects as an XEP-0114
// component instead: NewComponent; its HandleIQ and HandleMessage take
// the same handler types, and it too is a jingle.Sender.
//
// # What it implements
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
// A connection that dies without an error (a NAT that forgot it: packets
// vanish, no reset) is noticed by XEP-0198 too: we ask for an ack with
// each stanza, and when none comes for Config.AckTimeout the client
// closes the connection and resumes on a new one.
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
