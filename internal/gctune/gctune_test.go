package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"testing"
	"time"
)

func TestPercent(t *testing.T) {
	const mib = 1 << 20
	for _, tc := range []struct {
		name        string
		live, floor uint64
		want        int
	}{
		{"nothing live yet", 0, 32 * mib, maxPercent},
		{"tiny heap capped", 1 * mib, 32 * mib, maxPercent},
		{"transfer's live heap", 8 * mib, 32 * mib, 300},
		{"goal lands on the floor", 10 * mib, 32 * mib, 220},
		{"half the floor: default", 16 * mib, 32 * mib, 100},
		{"large heap: default", 200 * mib, 32 * mib, 100},
		{"just under half", 16*mib - 1, 32 * mib, 100},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := Percent(tc.live, tc.floor); got != tc.want {
				t.Errorf("Percent(%d, %d) = %d, want %d", tc.live, tc.floor, got, tc.want)
			}
		})
	}
}

// churn allocates n bytes of short-lived garbage in 4 KiB pieces and
// reports how many collections it caused.
func churn(n int) uint32 {
	var ms runtime.MemStats
	runtime.ReadMemStats(&ms)
	before := ms.NumGC
	var keep []byte
	for i := 0; i < n/4096; i++ {
		keep = make([]byte, 4096)
		keep[0] = byte(i)
	}
	runtime.KeepAlive(keep)
	runtime.ReadMemStats(&ms)
	return ms.NumGC - before
}

// TestStartCutsCollections checks the effect the tuner is for: the same
// garbage with a small live heap goes to the collector several times less
// often, and Stop puts the old GOGC back.
func TestStartCutsCollections(t *testing.T) {
	t.Setenv("GOGC", "")
	// t.Setenv cannot unset; Start looks the variable up, so clear it for
	// the duration by hand.
	unsetGOGC(t)
	prev := debug.SetGCPercent(100)
	defer debug.SetGCPercent(prev)

	runtime.GC()
	without := churn(256 << 20)

	tu := Start(Floor)
	if tu == nil {
		t.Fatal("Start returned nil with GOGC unset")
	}
	// Let a few collections pass so the tuner has seen the live heap.
	deadline := time.Now().Add(10 * time.Second)
	for tu.Cycles() < 2 && time.Now().Before(deadline) {
		runtime.GC()
		time.Sleep(10 * time.Millisecond)
	}
	if tu.Cycles() < 2 {
		t.Fatalf("the tuner saw %d collections after forced ones, want 2 or more", tu.Cycles())
	}
	if tu.GOGC() <= 100 {
		t.Errorf("GOGC = %d with this test's small live heap, want above 100", tu.GOGC())
	}
	with := churn(256 << 20)
	t.Logf("256 MiB of garbage: %d collections at GOGC=100, %d with the floor (GOGC %d)", without, with, tu.GOGC())
	if with*3 > without {
		t.Errorf("collections with the floor = %d, without = %d: want at most a third", with, without)
	}

	tu.Stop()
	if got := debug.SetGCPercent(100); got != 100 {
		t.Errorf("after Stop GOGC = %d, want the 100 there was before Start", got)
	}
}

func TestStartRespectsGOGC(t *testing.T) {
	t.Setenv("GOGC", "150")
	if tu := Start(Floor); tu != nil {
		tu.Stop()
		t.Fatal("Start tuned although GOGC is set in the environment")
	}
	var nilTuner *Tuner
	nilTuner.Stop() // must not panic
}

// unsetGOGC removes GOGC from the environment for the test (t.Setenv
// restores the old value at the end).
func unsetGOGC(t *testing.T) {
	t.Helper()
	if err := os.Unsetenv("GOGC"); err != nil {
		t.Fatal(err)
	}
}
