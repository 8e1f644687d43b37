// Package interop tests jingled against a third-party Jingle client:
// StanzaJS 12.22.1 on libwebrtc M106 (@roamhq/wrtc), driven through
// peer.mjs, with a real Prosody in between (internal/prosodytest).
//
// Covered: XEP-0166 Jingle sessions carrying XEP-0167 RTP audio over
// XEP-0176 ICE-UDP with XEP-0320 DTLS-SRTP, in both directions, and
// XEP-0234 file transfer over StanzaJS's datachannel transport
// (urn:xmpp:jingle:transports:dtls-sctp:1, the legacy namespace it and
// Jitsi use instead of XEP-0343's webrtc-datachannel) in both directions.
//
// libwebrtc gathers ICE candidates on every interface and has no filter,
// so the tests run in a network namespace that has only lo: TestMain
// re-executes the test binary inside a new one when it finds another
// interface (as root), and fails otherwise. The npm packages are installed
// by `make interop-deps`; without them the tests fail and say so.
package interop
