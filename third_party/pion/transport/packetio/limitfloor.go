// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package packetio

import "sync/atomic"

// limitSizeFloor is the smallest byte limit SetLimitSize applies (jingled
// patch: see SetLimitSizeFloor).
var limitSizeFloor atomic.Int64

// SetLimitSizeFloor makes every later SetLimitSize with a positive limit
// below n apply n instead; zero (the default) turns it off. It is process
// wide on purpose: the buffers it is for are made inside pion, with
// constant limits no caller can reach (pion/webrtc's internal/mux endpoint
// buffer and pion/ice's agent buffer, 1 MB each), and they drop every
// datagram that does not fit. A datachannel whose SCTP window is larger
// than that loses packets whenever DTLS and SCTP fall behind for a
// moment, and each loss halves SCTP's congestion window. A limit is a cap,
// not an allocation: a Buffer grows only as far as its backlog.
func SetLimitSizeFloor(n int) {
	limitSizeFloor.Store(int64(max(n, 0)))
}

// LimitSizeFloor returns what SetLimitSizeFloor set.
func LimitSizeFloor() int {
	return int(limitSizeFloor.Load())
}
