package s5b

import (
	"crypto/rand"
	"encoding/binary"
	"sync/atomic"
)

// newCounter returns a generator of IQ id suffixes starting at a random
// value, so ids from several processes on one account do not collide.
func newCounter() func() uint64 {
	var seed [8]byte
	_, _ = rand.Read(seed[:])
	var n atomic.Uint64
	n.Store(binary.BigEndian.Uint64(seed[:]) >> 16)
	return func() uint64 { return n.Add(1) }
}
