// Package turnserver is jingled's bundled TURN/STUN relay, built on
// github.com/pion/turn/v5: a drop-in for coturn or eturnal next to Prosody
// or ejabberd, safe by default.
//
// It speaks TURN (RFC 8656) and STUN binding (RFC 8489) over UDP, TCP and
// TLS, TURN-TCP relaying (RFC 6062) and IPv6 (RFC 6156). Clients authenticate
// with long-term credentials (RFC 8489 section 9.2) from static users or
// from the time-limited shared-secret scheme (draft-uberti-behave-turn-rest)
// that XMPP servers hand out through XEP-0215 External Service Discovery:
// coturn's static-auth-secret, Prosody's mod_turn_external, ejabberd's
// mod_stun_disco. GenerateCredentials mints such credentials.
//
// What it adds over pion/turn, and why:
//
//   - Peers are denied by default when they are unspecified, loopback,
//     link-local (the cloud metadata service), private (RFC 1918, CGNAT,
//     ULA), multicast, broadcast or reserved, including IPv4 addresses
//     hidden in IPv6 (mapped, compatible, NAT64, 6to4, Teredo). pion relays
//     anywhere. See PeerPolicy.
//   - Auth failures are answered 401 and rate-limited per source; several
//     secrets are accepted so they can be rotated; credential expiry is
//     checked at Allocate only, so calls outlive their credentials.
//   - Quotas per user and in total (486), a cap on permissions per
//     allocation (508), bandwidth caps, Prometheus metrics without user data
//     in labels, slog logs, draining shutdown, SO_REUSEPORT UDP sockets.
//
// Per packet: once a client has bound a channel (RFC 8656 section 12) on a
// UDP allocation, its ChannelData no longer goes through pion. The
// listener's reader unwraps it and sends it from the relay socket, the
// relay socket's reader wraps the peer's answers and sends them to the
// client, with the same peer check, bandwidth caps and metrics as pion's
// path and no allocation per datagram. Everything else (requests, Send and
// Data indications, TCP and TLS clients) takes pion's path.
//
// GOMAXPROCS: at call-like rates each datagram wakes a goroutine, and on a
// small host much of the relay's CPU is the Go scheduler looking for work
// between datagrams. A relay on 1-2 cores spent 5-25% less CPU per
// datagram with GOMAXPROCS=1 in bench/turn (see its README);
// that caps it at one core, so the package leaves the choice to the
// operator.
//
// The server is configured by Config, the [turn] section of jingled's file.
package turnserver
