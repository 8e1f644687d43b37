package mixer

import (
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// TestConcurrent runs the real mixer goroutine while receive goroutines
// write, participants come and go, and Stats is read; then Close with
// inputs still present. Run with -race; goleak checks nothing is left.
func TestConcurrent(t *testing.T) {
	m := New(Options{})
	var packets [][]*rtp.Packet
	for _, f := range []float64{440, 660, 880, 1100} {
		src := newSource(t, Opus, f, 20)
		var ps []*rtp.Packet
		for range 40 {
			ps = append(ps, src.packet(t))
		}
		packets = append(packets, ps)
	}

	type member struct {
		in      *Input
		removed atomic.Bool
		late    atomic.Int64 // outs after Remove returned
		got     atomic.Int64
	}
	join := func() *member {
		mb := &member{}
		mb.in = m.Add(Opus, func([]byte, time.Duration) {
			mb.got.Add(1)
			if mb.removed.Load() {
				mb.late.Add(1)
			}
		})
		return mb
	}
	var members []*member
	var wg sync.WaitGroup
	for i := range packets {
		mb := join()
		members = append(members, mb)
		wg.Go(func() {
			for _, p := range packets[i] {
				if err := mb.in.WriteRTP(p); err != nil && !mb.removed.Load() {
					t.Errorf("WriteRTP: %v", err)
				}
				time.Sleep(5 * time.Millisecond)
			}
		})
	}
	wg.Go(func() {
		for range 50 {
			_ = m.Stats()
			for _, mb := range members {
				_ = mb.in.Stats()
			}
			time.Sleep(3 * time.Millisecond)
		}
	})
	time.Sleep(60 * time.Millisecond)
	// Remove one while its writer is still writing.
	members[1].in.Remove()
	members[1].removed.Store(true)
	extra := join()
	extra.in.SetAudioLevelExtension(1)
	time.Sleep(40 * time.Millisecond)
	extra.in.Remove()
	extra.removed.Store(true)
	wg.Wait()
	m.Close()
	m.Close() // idempotent

	for i, mb := range append(members, extra) {
		if n := mb.late.Load(); n != 0 {
			t.Errorf("member %d: out called %d times after Remove returned", i, n)
		}
	}
	if err := members[0].in.WriteRTP(packets[0][0]); err != nil {
		t.Errorf("WriteRTP after Close: %v", err)
	}
}
