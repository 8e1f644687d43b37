// Package pionbuf raises the byte limit of pion's datagram buffers in
// jingled's binaries, through the patched pion/transport in
// third_party/pion (packetio.SetLimitSizeFloor).
//
// Why: every datagram a PeerConnection receives waits in two buffers
// before DTLS and SCTP see it, pion/ice's agent buffer and pion/webrtc's
// mux endpoint buffer, each limited to 1 MB by a constant that v4.2.20
// does not let a caller change. A datachannel whose SCTP receive window is
// larger than that (filetransfer/datachannel's, so that one transfer can
// fill a long path) loses datagrams there whenever DTLS and SCTP fall
// behind for a moment; each loss halves SCTP's congestion window, which
// pion's SCTP then grows back by one MTU per round trip. At 50 ms RTT one
// such loss took a 64 MiB transfer from 225 to about 155 Mbit/s
// (docs/BENCHMARKS.md). With the floor at twice the window, nothing a peer
// may have in flight can overflow them.
//
// A limit is a cap, not an allocation: a buffer grows only as far as its
// backlog, so calls (a few kB/s each) keep their memory. The floor is
// process wide (pion makes these buffers inside itself), and it applies to
// buffers made after Apply, so the binaries call it first thing. A
// program that embeds jingled's packages builds with upstream pion, where
// this package does not compile: it is internal for that reason, and the
// packages work without it, with upstream's 1 MB.
package pionbuf

import "github.com/pion/transport/v4/packetio"

// Floor is the smallest byte limit of pion's datagram buffers: twice
// filetransfer/datachannel's SCTP receive window (4 MiB), which a test
// there keeps true, for DTLS's and packetio's overhead per datagram and
// for the retransmissions beside a full window.
const Floor = 8 << 20

// Apply sets the floor for every pion buffer made from now on.
func Apply() {
	packetio.SetLimitSizeFloor(Floor)
}
