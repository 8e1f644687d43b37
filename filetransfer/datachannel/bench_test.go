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
	ca, cb := openConns(b, a, c)
	benchCopy(b, ca, cb, 16<<20)
}

// openConns waits for both handles' streams.
func openConns(b testing.TB, a, c *handle) (io.ReadWriteCloser, io.ReadWriteCloser) {
	b.Helper()
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
	return ca, cb
}
