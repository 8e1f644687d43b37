// Package xmpp connects jingled to an XMPP server through
// github.com/xmppo/go-xmpp and gives the Jingle manager what it needs: the
// jingle.Sender interface and a dispatcher.
//
// What it implements:
//
//   - RFC 6120 client streams: STARTTLS (§5) and SASL SCRAM (§6, RFC 5802,
//     RFC 7677) as go-xmpp offers them, resource binding (§7), plain TCP
//     only when explicitly allowed and only to loopback;
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
// go-xmpp's Recv loses information Jingle needs: an IQ of type error
// comes back without its <error/>, presence without its XEP-0115 <c/>
// element, disco#info results are pre-parsed, and only the first child of
// an IQ survives. This package therefore uses go-xmpp to connect,
// authenticate, bind and write, and reads the stream itself from go-xmpp's
// own XML decoder (see goxmpp.go), so every stanza arrives complete.
package xmpp
