// Package nat proves, on the kernel's own NAT, that calls (XEP-0167) and
// file transfers (XEP-0234 over a XEP-0343 data channel) cross NATs the
// way ICE (RFC 8445) and TURN (RFC 8656) promise: issue 7.
//
// Each test builds a topology of network namespaces with
// internal/netnstest (a public segment with the XMPP server and the
// relay, two NAT routers, a LAN behind each) and runs real programs in
// it: Prosody and the jingled daemon as a TURN-only relay on the public
// host, and the jingle CLI (answer/call, receive/send, --json) as the
// peers in the LANs. The variants and what is asserted:
//
//   - symmetric: both routers MASQUERADE --random-fully; every selected
//     pair goes through the relay, and the relay's counters carry the
//     media and the whole file;
//   - cone: endpoint-independent mapping; the pairs are direct, the relay
//     carries (almost) nothing;
//   - udp-blocked: LAN B reaches the public segment over TCP to port
//     443 only (issue 15: "TURN where only 443 gets out"); B logs in to
//     XMPP on 443 and its pair is a relay candidate reached over TURN on
//     443: plain TCP when told the URL and forced to relay (--relay), TLS
//     when it learns the relay from Prosody, configured with what
//     `jingled --xmpp-config prosody` prints. The pair's relay protocol,
//     the relay's count of TLS/TCP connections and router B's counters of
//     its traffic with port 443 show the call and the file taking it.
//   - only-443: both LANs let only TCP 443 out; both discover the relay
//     and the media goes from one allocation to the other, each reached
//     over TURN over TLS on 443, shown the same way on both routers.
//
// A negative test stops the relay in the symmetric topology: the call
// must end with connectivity-error and its reason must name the
// candidates gathered, the pairs tried and the cause.
//
// The tests need root (CAP_NET_ADMIN), iproute2 and iptables; `make test`
// runs them as root inside a namespace of their own. Without root they
// fail with the reason, and -short (make test-unit) skips them. Traffic
// never leaves the namespaces the tests create.
//
// The test binary doubles as the helper programs of the topology (the
// public host, the socket probes): see roleEnv.
package nat
