// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package sctp

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"testing"
)

// marshalEach is upstream's packet.marshal: each chunk marshalled on its
// own and appended, with its padding.
func marshalEach(t *testing.T, p *packet, doChecksum bool) []byte {
	t.Helper()
	raw := make([]byte, packetHeaderSize)
	binary.BigEndian.PutUint16(raw[0:], p.sourcePort)
	binary.BigEndian.PutUint16(raw[2:], p.destinationPort)
	binary.BigEndian.PutUint32(raw[4:], p.verificationTag)
	for _, c := range p.chunks {
		chunkRaw, err := c.marshal()
		if err != nil {
			t.Fatal(err)
		}
		raw = append(raw, chunkRaw...)
		raw = append(raw, make([]byte, getPadding(len(raw)))...)
	}
	if doChecksum {
		binary.LittleEndian.PutUint32(raw[8:], generatePacketChecksum(raw))
	}

	return raw
}

// jingled patch: packet.marshal writes DATA and I-DATA chunks into the packet
// directly; the bytes, and the chunks' header fields it sets, are
// upstream's, for every padding, flag and mix of chunks.
func TestPacketMarshalInPlace(t *testing.T) {
	data := func(n int, flags uint8) *chunkPayloadData {
		return &chunkPayloadData{
			endingFragment:       flags&1 != 0,
			beginningFragment:    flags&2 != 0,
			unordered:            flags&4 != 0,
			immediateSack:        flags&8 != 0,
			tsn:                  0x01020304 + uint32(n),
			streamIdentifier:     7,
			streamSequenceNumber: 0x0a0b,
			payloadType:          PayloadTypeWebRTCBinary,
			userData:             bytes.Repeat([]byte{byte(n)}, n),
		}
	}
	idata := func(n int) *chunkPayloadData {
		c := data(n, 3)
		c.iData = true
		c.messageIdentifier = 99

		return c
	}
	sack := func() *chunkSelectiveAck {
		return &chunkSelectiveAck{
			cumulativeTSNAck:               5,
			advertisedReceiverWindowCredit: 4 << 20,
			gapAckBlocks:                   []gapAckBlock{{start: 2, end: 3}},
			duplicateTSN:                   []uint32{9},
		}
	}
	cases := map[string]func() []chunk{
		"empty":              func() []chunk { return nil },
		"one full DATA":      func() []chunk { return []chunk{data(1184, 3)} },
		"no user data":       func() []chunk { return []chunk{data(0, 1)} },
		"padding 3":          func() []chunk { return []chunk{data(1, 2)} },
		"padding 2":          func() []chunk { return []chunk{data(2, 4)} },
		"padding 1":          func() []chunk { return []chunk{data(3, 8)} },
		"bundled DATA":       func() []chunk { return []chunk{data(5, 2), data(6, 0), data(300, 1)} },
		"SACK then DATA":     func() []chunk { return []chunk{sack(), data(7, 3), data(1000, 15)} },
		"DATA, I-DATA, SACK": func() []chunk { return []chunk{data(9, 3), idata(10), sack(), data(11, 1)} },
		"I-DATA middle": func() []chunk {
			c := idata(1184)
			c.beginningFragment = false
			c.fragmentSequenceNumber = 4
			return []chunk{c}
		},
		"I-DATA bundled": func() []chunk { return []chunk{idata(1), idata(2), idata(3)} },
	}
	for name, chunks := range cases {
		for _, checksum := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/checksum=%v", name, checksum), func(t *testing.T) {
				want := &packet{sourcePort: 5000, destinationPort: 5001, verificationTag: 0xdeadbeef, chunks: chunks()}
				got := &packet{sourcePort: 5000, destinationPort: 5001, verificationTag: 0xdeadbeef, chunks: chunks()}
				wantRaw := marshalEach(t, want, checksum)
				gotRaw, err := got.marshal(checksum)
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(gotRaw, wantRaw) {
					t.Fatalf("marshal:\n%x\nwant\n%x", gotRaw, wantRaw)
				}
				if cap(gotRaw) != len(gotRaw) {
					t.Errorf("capacity %d for %d bytes: the size was not computed up front", cap(gotRaw), len(gotRaw))
				}
				for i, c := range got.chunks {
					gd, ok := c.(*chunkPayloadData)
					if !ok {
						continue
					}
					wd, _ := want.chunks[i].(*chunkPayloadData)
					if gd.chunkHeader.typ != wd.chunkHeader.typ || gd.chunkHeader.flags != wd.chunkHeader.flags ||
						!bytes.Equal(gd.chunkHeader.raw, wd.chunkHeader.raw) {
						t.Errorf("chunk %d's header: %v %x %x, want %v %x %x", i,
							gd.chunkHeader.typ, gd.chunkHeader.flags, gd.chunkHeader.raw,
							wd.chunkHeader.typ, wd.chunkHeader.flags, wd.chunkHeader.raw)
					}
				}
				var back packet
				if err := back.unmarshal(checksum, gotRaw); err != nil {
					t.Fatalf("unmarshal: %v", err)
				}
				if len(back.chunks) != len(got.chunks) {
					t.Fatalf("%d chunks back, want %d", len(back.chunks), len(got.chunks))
				}
			})
		}
	}
}
