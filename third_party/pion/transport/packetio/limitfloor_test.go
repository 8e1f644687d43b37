// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

package packetio

import (
	"errors"
	"testing"
)

// fill writes 1000-byte packets until the buffer refuses one and returns
// how many bytes it took.
func fill(t *testing.T, b *Buffer) int {
	t.Helper()
	packet := make([]byte, 1000)
	for n := 0; ; n += len(packet) {
		if _, err := b.Write(packet); err != nil {
			if !errors.Is(err, ErrFull) {
				t.Fatalf("write after %d bytes: %v", n, err)
			}

			return n
		}
	}
}

func TestSetLimitSizeFloor(t *testing.T) {
	defer SetLimitSizeFloor(0)
	for _, c := range []struct {
		name         string
		floor, limit int
		min, max     int // bytes the buffer takes
	}{
		{"no floor", 0, 100_000, 97_000, 100_000},
		{"floor above the limit", 300_000, 100_000, 297_000, 300_000},
		{"floor below the limit", 50_000, 100_000, 97_000, 100_000},
		{"negative floor is none", -1, 100_000, 97_000, 100_000},
	} {
		t.Run(c.name, func(t *testing.T) {
			SetLimitSizeFloor(c.floor)
			b := NewBuffer()
			b.SetLimitSize(c.limit)
			if got := fill(t, b); got < c.min || got > c.max {
				t.Errorf("took %d bytes, want %d to %d", got, c.min, c.max)
			}
		})
	}
}

// A zero limit keeps meaning upstream's default (4 MB), floor or not.
func TestSetLimitSizeFloorKeepsZero(t *testing.T) {
	defer SetLimitSizeFloor(0)
	SetLimitSizeFloor(8_000_000)
	b := NewBuffer()
	b.SetLimitSize(0)
	if got := fill(t, b); got > maxSize {
		t.Errorf("took %d bytes with limit 0, want at most %d", got, maxSize)
	}
}
