// Package filetransfer implements Jingle File Transfer, XEP-0234
// (urn:xmpp:jingle:apps:file-transfer:5, reading :4 and :3 offers), with
// XEP-0300 hashes (urn:xmpp:hashes:2), as a jingle.Application.
//
// The bytes ride on any jingle.StreamTransport; the sub-packages provide
// the three in use: datachannel (XEP-0343 and its two other dialects,
// WebRTC over ICE/DTLS/SCTP with pion), s5b (SOCKS5 Bytestreams, XEP-0260
// over XEP-0065) and ibb (In-Band Bytestreams, XEP-0261 over XEP-0047).
// When a transport fails the application replaces it with the next one
// the peer supports (transport-replace, XEP-0166 §7.2.15), in the order
// Dino's select_transport uses: highest priority not yet tried.
//
// Receiving is defensive: the offered name is sanitized (SanitizeName),
// writes are confined to the target directory (Dir), data goes to a
// temporary file that is renamed into place only after the declared size
// and hash check out, and a peer that sends more than it declared or data
// that does not match its hash ends the session with media-error and
// leaves nothing behind.
package filetransfer
