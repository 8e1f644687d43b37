package datachannel

import (
	"io"
	"runtime/metrics"
	"testing"

	"github.com/jingled/jingled/ice"
)

// goroutinesCreated is the process's count of goroutines ever started.
func goroutinesCreated() uint64 {
	s := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(s)
	return s[0].Value.Uint64()
}

// TestStreamGoroutinesPerDatagram guards the patched pion/dtls and
// pion/transport in third_party/pion (see its README): upstream starts two
// goroutines for every DTLS record written and one for every datagram
// read, about 3 per 1200-byte SCTP packet, which cost a sixth of a
// transfer's CPU. With the patch a transfer starts goroutines only for
// SCTP's timers. The test fails if go.mod stops replacing them.
func TestStreamGoroutinesPerDatagram(t *testing.T) {
	a, c := pair(t, ice.NSDataChannel1)
	ca, cb := openConns(t, a, c)

	const n = 4 << 20
	const datagrams = n / 1200 // at least, one way
	before := goroutinesCreated()
	done := make(chan error, 1)
	go func() {
		_, err := io.CopyN(io.Discard, cb, n)
		done <- err
	}()
	buf := make([]byte, 64<<10)
	for sent := 0; sent < n; sent += len(buf) {
		if _, err := ca.Write(buf); err != nil {
			t.Fatal(err)
		}
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	created := goroutinesCreated() - before
	t.Logf("%d goroutines started for %d bytes (at least %d datagrams)", created, n, datagrams)
	if created > datagrams/4 {
		t.Errorf("%d goroutines started for %d datagrams: want well under one per datagram (is pion/dtls still replaced by third_party/pion/dtls?)", created, datagrams)
	}
}
