// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

// jingled patch: tests for the callback path of watch.

package netctx

import (
	"context"
	"errors"
	"net"
	"runtime/metrics"
	"testing"
	"time"
)

// afCtx is a context with an AfterFunc method, as pion/dtls's are in the
// jingled fork.
type afCtx struct{ context.Context } //nolint:containedctx

func (c afCtx) AfterFunc(f func()) func() bool { return context.AfterFunc(c.Context, f) }

func udpPair(t *testing.T) (PacketConn, net.PacketConn) {
	t.Helper()
	a, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })

	return NewPacketConn(a), b
}

func created() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)

	return s[0].Value.Uint64()
}

func TestAfterFuncContextNoGoroutine(t *testing.T) {
	conn, peer := udpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const n = 1000
	before := created()
	for i := 0; i < n; i++ {
		if _, err := conn.WriteToContext(afCtx{ctx}, []byte("x"), peer.LocalAddr()); err != nil {
			t.Fatal(err)
		}
	}
	if got := created() - before; got > n/10 {
		t.Errorf("%d goroutines created for %d writes, want almost none", got, n)
	}
}

func TestAfterFuncContextInterruptsRead(t *testing.T) {
	conn, peer := udpPair(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		time.Sleep(50 * time.Millisecond)
		cancel()
	}()
	b := make([]byte, 16)
	_, _, err := conn.ReadFromContext(afCtx{ctx}, b)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("read ended with %v, want context.Canceled", err)
	}
	// The deadline set to interrupt it is cleared: the next read works.
	if _, err := peer.WriteTo([]byte("hello"), conn.LocalAddr()); err != nil {
		t.Fatal(err)
	}
	n, _, err := conn.ReadFromContext(afCtx{context.Background()}, b)
	if err != nil || string(b[:n]) != "hello" {
		t.Fatalf("read after the interrupted one: %q, %v", b[:n], err)
	}
}
