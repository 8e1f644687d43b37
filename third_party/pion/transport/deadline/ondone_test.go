// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

// jingled patch: tests for Deadline.OnDone.

package deadline

import (
	"context"
	"runtime/metrics"
	"testing"
	"time"
)

func TestAfterFuncFiresOnTimeout(t *testing.T) {
	d := New()
	fired := make(chan struct{})
	d.OnDone(func() { close(fired) })
	d.Set(time.Now().Add(20 * time.Millisecond))
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("OnDone did not fire when the deadline passed")
	}
}

func TestAfterFuncFiresOnPastSet(t *testing.T) {
	d := New()
	fired := make(chan struct{})
	d.OnDone(func() { close(fired) })
	d.Set(time.Unix(1, 0))
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("OnDone did not fire on a deadline set in the past")
	}
}

func TestAfterFuncStop(t *testing.T) {
	d := New()
	fired := make(chan struct{}, 1)
	stop := d.OnDone(func() { fired <- struct{}{} })
	if !stop() {
		t.Fatal("stop() = false before the deadline, want true")
	}
	if stop() {
		t.Fatal("second stop() = true, want false")
	}
	d.Set(time.Unix(1, 0))
	select {
	case <-fired:
		t.Fatal("a stopped OnDone fired")
	case <-time.After(50 * time.Millisecond):
	}
}

func TestAfterFuncAlreadyExceeded(t *testing.T) {
	d := New()
	d.Set(time.Unix(1, 0))
	fired := make(chan struct{})
	if d.OnDone(func() { close(fired) })() {
		t.Fatal("stop() = true on an exceeded deadline, want false")
	}
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("OnDone on an exceeded deadline did not run")
	}
}

// TestAfterFuncAfterReset: a deadline exceeded and then cleared gets a
// new done channel; callbacks registered then wait for the next expiry.
func TestAfterFuncAfterReset(t *testing.T) {
	d := New()
	d.Set(time.Unix(1, 0))
	d.Set(time.Time{})
	fired := make(chan struct{})
	d.OnDone(func() { close(fired) })
	select {
	case <-fired:
		t.Fatal("fired for the expiry before the reset")
	case <-time.After(30 * time.Millisecond):
	}
	d.Set(time.Unix(1, 0))
	select {
	case <-fired:
	case <-time.After(5 * time.Second):
		t.Fatal("did not fire on the expiry after the reset")
	}
}

// TestOnDoneNoGoroutine: registering and stopping creates no goroutine,
// the point of the patch.
func TestOnDoneNoGoroutine(t *testing.T) {
	d := New()
	sample := []metrics.Sample{{Name: "/sched/goroutines-created:goroutines"}}
	metrics.Read(sample)
	before := sample[0].Value.Uint64()
	const n = 1000
	for i := 0; i < n; i++ {
		stop := d.OnDone(func() {})
		stop()
	}
	metrics.Read(sample)
	if created := sample[0].Value.Uint64() - before; created > n/10 {
		t.Errorf("%d goroutines created for %d registrations, want almost none", created, n)
	}
}

// TestNotAnAfterFuncer: context.AfterFunc must not take Deadline's
// callback path (see OnDone), so it keeps working across a reset.
func TestNotAnAfterFuncer(t *testing.T) {
	var d any = New()
	if _, ok := d.(interface{ AfterFunc(func()) func() bool }); ok {
		t.Fatal("Deadline has an AfterFunc method; context would rely on it")
	}
	dl := New()
	ctx, cancel := context.WithCancel(dl)
	defer cancel()
	dl.Set(time.Unix(1, 0))
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("a context derived from the deadline did not end with it")
	}
}
