// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package ciphersuite

import (
	"bytes"
	"testing"

	"github.com/pion/dtls/v3/pkg/protocol"
	"github.com/pion/dtls/v3/pkg/protocol/recordlayer"
)

// jingled patch: a record marshalled with room (MarshalWithRoom) is
// encrypted in place, to the same bytes as one marshalled without, and
// the peer decrypts it. Other suites give the same bytes as before.
func TestEncryptInPlace(t *testing.T) {
	key := bytes.Repeat([]byte{7}, 16)
	key32 := bytes.Repeat([]byte{7}, 32)
	peerKey := bytes.Repeat([]byte{9}, 16)
	peerKey32 := bytes.Repeat([]byte{9}, 32)
	iv := bytes.Repeat([]byte{1}, 12)
	peerIV := bytes.Repeat([]byte{2}, 12)

	type suite interface {
		Encrypt(*recordlayer.RecordLayer, []byte) ([]byte, error)
		Decrypt(recordlayer.Header, []byte) ([]byte, error)
	}
	pair := func(t *testing.T, mk func(lk, liv, rk, riv []byte) (suite, error), k, pk []byte) (suite, suite) {
		t.Helper()
		a, err := mk(k, iv, pk, peerIV)
		if err != nil {
			t.Fatal(err)
		}
		b, err := mk(pk, peerIV, k, iv)
		if err != nil {
			t.Fatal(err)
		}

		return a, b
	}
	for _, tc := range []struct {
		name    string
		mk      func(lk, liv, rk, riv []byte) (suite, error)
		k, pk   []byte
		inPlace bool // the AEAD suites; ChaCha20-Poly1305 has its own path
	}{
		{"gcm", func(lk, liv, rk, riv []byte) (suite, error) { return NewGCM(lk, liv, rk, riv) }, key, peerKey, true},
		{"ccm", func(lk, liv, rk, riv []byte) (suite, error) { return NewCCM(CCMTagLength, lk, liv, rk, riv) }, key, peerKey, true},
		{"ccm8", func(lk, liv, rk, riv []byte) (suite, error) { return NewCCM(CCMTagLength8, lk, liv, rk, riv) }, key, peerKey, true},
		{"chacha20poly1305", func(lk, liv, rk, riv []byte) (suite, error) {
			return NewChaCha20Poly1305(lk, liv, rk, riv)
		}, key32, peerKey32, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			local, peer := pair(t, tc.mk, tc.k, tc.pk)
			payload := bytes.Repeat([]byte("sctp packet "), 100)
			record := func() *recordlayer.RecordLayer {
				return &recordlayer.RecordLayer{
					Header: recordlayer.Header{
						Version: protocol.Version1_2, Epoch: 1, SequenceNumber: 42,
					},
					Content: &protocol.ApplicationData{Data: payload},
				}
			}
			r1, r2 := record(), record()
			plain, err := r1.Marshal()
			if err != nil {
				t.Fatal(err)
			}
			roomy, err := r2.MarshalWithRoom(recordlayer.SealOverhead)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(plain, roomy) {
				t.Fatalf("MarshalWithRoom differs from Marshal")
			}
			want, err := local.Encrypt(r1, plain)
			if err != nil {
				t.Fatal(err)
			}
			got, err := local.Encrypt(r2, roomy)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, want) {
				t.Fatalf("encrypted in place:\n%x\nwant\n%x", got, want)
			}
			if tc.inPlace && &got[0] != &roomy[0] {
				t.Errorf("the record with room was copied, not encrypted in place")
			}
			if !bytes.Equal(payload, bytes.Repeat([]byte("sctp packet "), 100)) {
				t.Fatalf("the caller's payload changed")
			}
			dec, err := peer.Decrypt(recordlayer.Header{}, got)
			if err != nil {
				t.Fatal(err)
			}
			var h recordlayer.Header
			if err := h.Unmarshal(dec); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(dec[h.Size():], payload) {
				t.Fatalf("the peer decrypted something else")
			}
		})
	}
}
