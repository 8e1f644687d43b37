// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

import (
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestSackFreq: packets in order are acked every second one for the
// association's first sackFreqStartPackets, then every sackFreq-th; a
// gap is acked at once; the delayed-ack timer brings back acks every
// second packet.
func TestSackFreq(t *testing.T) {
	assoc := createTestAssociation(t, Config{})
	// The timer is fired by hand below, not by the clock.
	assoc.ackTimer.close()
	assoc.ackMode = ackModeNormal

	// packet receives one DATA packet, the next in order, or one that
	// leaves a gap, and reports whether a SACK goes out for it.
	packet := func(gap bool) bool {
		assoc.handleChunksStart()
		assoc.lock.Lock()
		next := assoc.peerLastTSN() + 1
		if gap {
			next++
		}
		assoc.payloadQueue.push(next)
		assoc.handlePeerLastTSNAndAcknowledgement(false)
		assoc.lock.Unlock()
		assoc.handleChunksEnd()
		assoc.lock.Lock()
		defer assoc.lock.Unlock()

		return len(assoc.gatherOutboundSackPackets(nil)) > 0
	}
	sacks := func(n int) (got int, at []int) {
		for i := range n {
			if packet(false) {
				got++
				if len(at) < 4 {
					at = append(at, i+1)
				}
			}
		}

		return got, at
	}

	got, at := sacks(sackFreqStartPackets)
	assert.Equal(t, sackFreqStartPackets/2, got, "SACKs for the first packets")
	assert.Equal(t, []int{2, 4, 6, 8}, at)

	got, at = sacks(400)
	assert.Equal(t, 400/sackFreq, got, "SACKs once past the start")
	assert.Equal(t, []int{4, 8, 12, 16}, at)

	// A gap is acked at once; the count starts again with the packet
	// that fills it.
	assert.True(t, packet(true), "a packet after a gap is acked at once")
	assert.False(t, packet(false), "the packet that fills the gap waits")
	got, at = sacks(7)
	assert.Equal(t, 2, got, "SACKs after the gap")
	assert.Equal(t, []int{3, 7}, at)

	// The timer fires: its SACK goes, and the next packets are acked
	// every second one again.
	assert.False(t, packet(false))
	assoc.onAckTimeout()
	assoc.lock.Lock()
	timed := len(assoc.gatherOutboundSackPackets(nil))
	assoc.lock.Unlock()
	assert.Equal(t, 1, timed, "the timer's SACK")
	got, at = sacks(8)
	assert.Equal(t, 4, got, "SACKs after the timer fired")
	assert.Equal(t, []int{2, 4, 6, 8}, at)
}
