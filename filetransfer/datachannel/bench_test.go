package datachannel

import (
	"context"
	"io"
	"testing"
	"time"

	"github.com/jingled/jingled/ice"
)

// BenchmarkStream measures one data channel's stream throughput on
// loopback, signalling in memory: the transport's ceiling without XMPP.
func BenchmarkStream(b *testing.B) {
	a, c := pairB(b, ice.NSDataChannel1)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	ca, err := a.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	cb, err := c.Conn(ctx)
	if err != nil {
		b.Fatal(err)
	}
	const n = 16 << 20
	buf := make([]byte, 256<<10)
	b.SetBytes(n)
	b.ResetTimer()
	for range b.N {
		done := make(chan error, 1)
		go func() {
			_, err := io.CopyN(io.Discard, cb, n)
			done <- err
		}()
		for sent := 0; sent < n; sent += len(buf) {
			if _, err := ca.Write(buf); err != nil {
				b.Fatal(err)
			}
		}
		if err := <-done; err != nil {
			b.Fatal(err)
		}
	}
}
