// Package rtp implements the wire format of Jingle RTP sessions (XEP-0167)
// with its companions: RTP feedback (XEP-0293), RTP header extensions
// (XEP-0294), source-specific media attributes (XEP-0339), content grouping
// (XEP-0338, BUNDLE) and StanzaJS's msid element
// (urn:xmpp:jingle:apps:rtp:msid:0, no XEP), and translates whole Jingle
// sessions to and from SDP (RFC 8866, JSEP RFC 8829) for pion/webrtc.
//
// DTLS-SRTP (XEP-0320) is the only media security: an SDES <crypto> offer
// (Dino sends one) is ignored on reading and never written.
package rtp
