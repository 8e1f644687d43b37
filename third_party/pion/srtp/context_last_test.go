// SPDX-FileCopyrightText: 2023 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package srtp

import (
	"testing"

	"github.com/pion/rtp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestLastSSRCState: the one-entry cache in front of the SSRC map gives
// each stream its own state, interleaved, across a sequence number wrap,
// after SetROC, and never holds a state for a packet that failed
// authentication.
func TestLastSSRCState(t *testing.T) {
	for _, profile := range []ProtectionProfile{ProtectionProfileAes128CmHmacSha1_80, ProtectionProfileAeadAes128Gcm} {
		enc, err := buildTestContext(profile)
		require.NoError(t, err)
		dec, err := buildTestContext(profile, SRTPReplayProtection(64))
		require.NoError(t, err)

		ssrcs := []uint32{1, 2, 3}
		start := map[uint32]uint16{1: 65530, 2: 100, 3: 65535}
		for i := range 20 {
			for _, ssrc := range ssrcs {
				seq := start[ssrc] + uint16(i) //nolint:gosec
				h := rtp.Header{Version: 2, SSRC: ssrc, SequenceNumber: seq, PayloadType: 111}
				payload := []byte{byte(ssrc), byte(i)}
				raw, err := (&rtp.Packet{Header: h, Payload: payload}).Marshal()
				require.NoError(t, err)
				sealed, err := enc.EncryptRTP(nil, raw, &h)
				require.NoError(t, err)
				var got rtp.Header
				plain, err := dec.DecryptRTP(nil, sealed, &got)
				require.NoError(t, err, "ssrc %d packet %d", ssrc, i)
				assert.Equal(t, raw, plain)

				// A replay of the same packet is refused: the state
				// the cache hands back is the stream's own.
				_, err = dec.DecryptRTP(nil, sealed, &got)
				assert.Error(t, err)
			}
		}
		for _, ssrc := range ssrcs {
			wantROC := uint32(0)
			if start[ssrc] > 65535-19 {
				wantROC = 1
			}
			roc, ok := enc.ROC(ssrc)
			assert.True(t, ok)
			assert.Equal(t, wantROC, roc, "ssrc %d", ssrc)
			roc, ok = dec.ROC(ssrc)
			assert.True(t, ok)
			assert.Equal(t, wantROC, roc, "ssrc %d", ssrc)
		}

		// SetROC reaches the state the cache holds.
		enc.SetROC(3, 7)
		roc, _ := enc.ROC(3)
		assert.Equal(t, uint32(7), roc)
		h := rtp.Header{Version: 2, SSRC: 3, SequenceNumber: 5, PayloadType: 111}
		raw, err := (&rtp.Packet{Header: h, Payload: []byte{1}}).Marshal()
		require.NoError(t, err)
		_, err = enc.EncryptRTP(nil, raw, &h)
		require.NoError(t, err)
		roc, _ = enc.ROC(3)
		assert.Equal(t, uint32(7), roc)

		// A forged packet of a new SSRC fails and leaves no state,
		// cached or mapped; the last good stream still decrypts.
		forged := []byte{0x80, 111, 0, 1, 0, 0, 0, 1, 0, 0, 0, 9, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18}
		var got rtp.Header
		_, err = dec.DecryptRTP(nil, forged, &got)
		require.Error(t, err)
		_, ok := dec.ROC(9)
		assert.False(t, ok)
		assert.NotEqual(t, uint32(9), dec.lastSRTP.ssrc)
		h = rtp.Header{Version: 2, SSRC: 2, SequenceNumber: 120, PayloadType: 111}
		raw, err = (&rtp.Packet{Header: h, Payload: []byte{2}}).Marshal()
		require.NoError(t, err)
		sealed, err := enc.EncryptRTP(nil, raw, &h)
		require.NoError(t, err)
		plain, err := dec.DecryptRTP(nil, sealed, &got)
		require.NoError(t, err)
		assert.Equal(t, raw, plain)
	}
}
