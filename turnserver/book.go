package turnserver

import (
	"net"
	"sync"
	"time"
)

// book keeps what pion's events tell us about live allocations: counts per
// user for quotas, permission counts per allocation for the cap, and start
// times for the session-duration metric. pion v5.1.0 exposes none of this.
type book struct {
	mu      sync.Mutex
	total   int
	perUser map[string]int
	perms   map[string]int
	started map[string]time.Time
	// keys holds the key each allocation was opened with, by 5-tuple;
	// offered holds keys of verified Allocate requests whose allocation
	// pion has not reported yet.
	keys     map[string][]byte
	offered  map[string][]byte
	maxTotal int
	maxUser  int
	metrics  *metrics
	now      func() time.Time
}

func newBook(maxTotal, maxUser int, m *metrics, now func() time.Time) *book {
	return &book{
		perUser:  make(map[string]int),
		perms:    make(map[string]int),
		started:  make(map[string]time.Time),
		keys:     make(map[string][]byte),
		offered:  make(map[string][]byte),
		maxTotal: maxTotal,
		maxUser:  maxUser,
		metrics:  m,
		now:      now,
	}
}

// admit is pion's QuotaHandler: RFC 8656 section 7.2 step 7 (486). The
// count is taken when pion reports the allocation, so allocations racing on
// different sockets may overshoot a quota by at most one per socket.
func (b *book) admit(userID string) bool {
	b.mu.Lock()
	defer b.mu.Unlock()
	switch {
	case b.maxTotal > 0 && b.total >= b.maxTotal:
		b.metrics.quota.WithLabelValues("total").Inc()

		return false
	case b.maxUser > 0 && b.perUser[userID] >= b.maxUser:
		b.metrics.quota.WithLabelValues("user").Inc()

		return false
	}

	return true
}

func (b *book) allocationCreated(src, dst net.Addr, userID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.total++
	b.perUser[userID]++
	k := tupleKey(src, dst)
	b.started[k] = b.now()
	if key, ok := b.offered[k]; ok {
		b.keys[k] = key
		delete(b.offered, k)
	}
	b.metrics.allocOpen.Inc()
	b.metrics.allocTotal.Inc()
}

func (b *book) allocationDeleted(src, dst net.Addr, userID string) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := tupleKey(src, dst)
	t, ok := b.started[k]
	if !ok {
		return
	}
	delete(b.started, k)
	delete(b.perms, k)
	delete(b.keys, k)
	b.total--
	if b.perUser[userID]--; b.perUser[userID] <= 0 {
		delete(b.perUser, userID)
	}
	b.metrics.allocOpen.Dec()
	b.metrics.duration.Observe(b.now().Sub(t).Seconds())
}

func (b *book) permissionDelta(src, dst net.Addr, d int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	k := tupleKey(src, dst)
	if _, live := b.started[k]; !live {
		return // Removal events after the allocation's own deletion.
	}
	if b.perms[k] += d; b.perms[k] <= 0 {
		delete(b.perms, k)
	}
}

func (b *book) permissions(key string) int {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.perms[key]
}

func (b *book) count() int {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.total
}

// offeredMax bounds keys of Allocate requests that never became allocations
// (refused by a quota, retransmitted, failed to bind).
const offeredMax = 4096

// offerKey notes the key of a verified Allocate on a 5-tuple; it is kept if
// pion reports the allocation.
func (b *book) offerKey(tuple string, key []byte) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if _, live := b.started[tuple]; live {
		return // A retransmitted Allocate of a live allocation.
	}
	if len(b.offered) >= offeredMax {
		clear(b.offered)
	}
	b.offered[tuple] = key
}

// allocationKey returns the key a live allocation was opened with.
func (b *book) allocationKey(tuple string) []byte {
	b.mu.Lock()
	defer b.mu.Unlock()

	return b.keys[tuple]
}
