// Package gctune gives the Go collector a heap floor in jingled's binaries.
//
// Why: a datachannel transfer allocates fast in pion's per-packet path
// (SCTP chunks, DTLS records) while keeping only 6-10 MB live. At the
// default GOGC=100 the heap goal is twice that, so the collector ran every
// 8 ms (330 cycles in a 2.8 s benchmark), and with its write barriers,
// assists and sweeping it cost a third of the transfer's rate. A fixed
// higher GOGC would fix that and hurt the processes whose live heap is
// large (1000 echo calls, a 300-participant room), whose memory it would
// multiply. A floor does neither: the heap goal becomes
// max(Floor, twice the live heap), which is GOGC=100's goal as soon as the
// live heap passes half the floor.
//
// The Go runtime has a ceiling (GOMEMLIMIT) but no floor, so the tuner
// recomputes GOGC after every collection (a finalizer that re-arms itself
// runs once per cycle) from the live heap the runtime reports. An operator
// who sets GOGC keeps it: Start does nothing then.
package gctune

import (
	"os"
	"runtime"
	"runtime/debug"
	"runtime/metrics"
	"sync"
	"sync/atomic"
)

// Floor is the heap goal the binaries start the tuner with: enough for a
// transfer's per-packet garbage to go 8x less often to the collector, and
// a third of the 100 MiB a 1 GiB transfer's receiver may use.
const Floor = 32 << 20

// maxPercent caps GOGC when the live heap is tiny (a process just
// started), so the goal stays near the floor rather than unbounded.
const maxPercent = 1000

// Percent is the GOGC value that makes the heap goal max(floor, 2 x live):
// live x (1 + GOGC/100) = floor, never below the default 100 and never
// above maxPercent.
func Percent(live, floor uint64) int {
	if live == 0 {
		return maxPercent
	}
	if 2*live >= floor {
		return 100
	}
	p := (floor - live) * 100 / live
	if p > maxPercent {
		return maxPercent
	}
	return int(p)
}

// Tuner keeps GOGC at Percent(live heap, floor) after every collection.
type Tuner struct {
	floor  uint64
	cycles atomic.Int64 // collections it has seen
	last   atomic.Int64 // the GOGC it set last

	// mu orders the finalizer's updates against Stop, so that no update
	// lands after Stop has put the old GOGC back.
	mu      sync.Mutex
	stopped bool
	sample  []metrics.Sample
	restore int
}

// sentinel is the object whose finalizer runs once per collection. It
// holds a pointer so that it is not placed in the tiny allocator, whose
// blocks may never be finalized.
type sentinel struct{ t *Tuner }

// Start starts a tuner with the given floor unless the environment sets
// GOGC; it returns nil then. Stop it with Stop.
func Start(floor uint64) *Tuner {
	if _, ok := os.LookupEnv("GOGC"); ok {
		return nil
	}
	t := &Tuner{
		floor:  floor,
		sample: []metrics.Sample{{Name: "/gc/heap/live:bytes"}},
	}
	t.mu.Lock()
	p := t.percentLocked()
	t.restore = debug.SetGCPercent(p)
	t.last.Store(int64(p))
	t.mu.Unlock()
	runtime.SetFinalizer(&sentinel{t: t}, onCycle)
	return t
}

// onCycle runs on the finalizer goroutine after each collection that
// found the sentinel unreachable; it re-arms itself until stopped.
func onCycle(s *sentinel) {
	t := s.t
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.cycles.Add(1)
	if p := t.percentLocked(); int64(p) != t.last.Load() {
		debug.SetGCPercent(p)
		t.last.Store(int64(p))
	}
	runtime.SetFinalizer(s, onCycle)
}

// percentLocked reads the live heap and computes the GOGC for it; t.mu
// is held.
func (t *Tuner) percentLocked() int {
	metrics.Read(t.sample)
	var live uint64
	if t.sample[0].Value.Kind() == metrics.KindUint64 {
		live = t.sample[0].Value.Uint64()
	}
	return Percent(live, t.floor)
}

// GOGC is the value the tuner set last.
func (t *Tuner) GOGC() int { return int(t.last.Load()) }

// Cycles is the number of collections the tuner has seen.
func (t *Tuner) Cycles() int64 { return t.cycles.Load() }

// Stop ends the tuning and puts back the GOGC there was before Start.
// It is safe on a nil Tuner.
func (t *Tuner) Stop() {
	if t == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.stopped {
		return
	}
	t.stopped = true
	debug.SetGCPercent(t.restore)
}
