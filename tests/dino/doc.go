// Package dino tests jingled against Dino 0.4.2 (Debian's dino-im), an
// unmodified desktop XMPP client on GStreamer and libnice, driven headless:
// Xvfb for its window, xdotool for clicks and keys, its D-Bus actions
// (org.gtk.Actions on im.dino.Dino) for accepting calls, and a tiny
// GStreamer device provider (gstdev/testdevices.c, built at test time) as
// its camera, microphone and speaker. The speaker is a file of raw S16LE
// 48 kHz mono, so the test hears what Dino heard.
//
// Covered, each checked by content: audio and audio+video calls both ways
// with `jingle call` and `jingle answer` (a different tone each way, since
// Dino cancels its own echo; video frames decoded, colour bars checked),
// XEP-0234 files both ways over SOCKS5 (XEP-0260, Dino's first choice) and
// in-band (XEP-0261) when SOCKS5 is refused, each checked by sha-256, and
// Dino as a participant of a jingled conference room.
//
// Dino dials only localhost:5222 and verifies TLS, and libnice gathers no
// candidates on loopback, so TestMain re-runs the test binary, as root, in
// its own network and mount namespaces: Prosody is reached on
// 127.0.0.1:5222 there, a veth pair whose both ends stay inside gives both
// ICE stacks addresses (10.250.0.2, 10.250.0.3; nothing leaves the
// namespace), and the CA bundle is bind-mounted to one that also trusts the
// test Prosody. See ../../../shared/interop/dino-headless.md. A missing
// package (scripts/deps.txt, `make deps`) fails the tests and names it;
// only -short skips them.
package dino
