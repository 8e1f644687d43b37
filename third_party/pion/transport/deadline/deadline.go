// SPDX-FileCopyrightText: 2026 The Pion community <https://pion.ly>
// SPDX-License-Identifier: MIT

// Package deadline provides deadline timer used to implement
// net.Conn compatible connection
package deadline

import (
	"context"
	"sync"
	"time"
)

type deadlineState uint8

const (
	deadlineStopped deadlineState = iota
	deadlineStarted
	deadlineExceeded
)

var _ context.Context = (*Deadline)(nil)

// Deadline signals updatable deadline timer.
// Also, it implements context.Context.
type Deadline struct {
	mu       sync.RWMutex
	timer    timer
	done     chan struct{}
	deadline time.Time
	state    deadlineState
	pending  uint8
	// afters are the callbacks registered with OnDone for the current
	// done channel (jingled patch: see OnDone).
	afters map[*afterEntry]struct{}
}

type afterEntry struct{ f func() }

// New creates new deadline timer.
func New() *Deadline {
	return &Deadline{
		done: make(chan struct{}),
	}
}

func (d *Deadline) timeout() {
	d.mu.Lock()
	if d.pending--; d.pending != 0 || d.state != deadlineStarted {
		d.mu.Unlock()

		return
	}

	d.state = deadlineExceeded
	done := d.done
	afters := d.takeAfters()
	d.mu.Unlock()

	close(done)
	runAfters(afters)
}

// Set new deadline. Zero value means no deadline.
func (d *Deadline) Set(setTo time.Time) {
	d.mu.Lock()
	afters := d.set(setTo)
	d.mu.Unlock()
	runAfters(afters)
}

// set is Set under d.mu; it returns the OnDone callbacks to run once
// the lock is released.
func (d *Deadline) set(setTo time.Time) []func() {

	if d.state == deadlineStarted && d.timer.Stop() {
		d.pending--
	}

	d.deadline = setTo
	d.pending++

	if d.state == deadlineExceeded {
		d.done = make(chan struct{})
	}

	if setTo.IsZero() {
		d.pending--
		d.state = deadlineStopped

		return nil
	}

	if dur := time.Until(setTo); dur > 0 {
		d.state = deadlineStarted
		if d.timer == nil {
			d.timer = afterFunc(dur, d.timeout)
		} else {
			d.timer.Reset(dur)
		}

		return nil
	}

	d.pending--
	d.state = deadlineExceeded
	close(d.done)

	return d.takeAfters()
}

// OnDone arranges for f to be called once the current done channel
// closes, and returns a function that cancels that if it has not happened
// yet (reporting whether it cancelled it), like context.AfterFunc.
//
// jingled patch: pion/dtls writes each record under a context built on
// its write deadline, and watched that deadline with a goroutine per
// datagram; the fork of pion/dtls registers with OnDone instead. f runs on
// the goroutine that closed the channel, after the lock is released; if
// the deadline is already exceeded it runs at once in a new goroutine.
//
// It is deliberately not named AfterFunc: that would make
// context.AfterFunc and context.WithCancel use it, and the standard
// library requires a context's Err to stay non-nil once it is done, while
// a Deadline can be Set again (and Err return nil) before f has run.
func (d *Deadline) OnDone(f func()) (stop func() bool) {
	d.mu.Lock()
	if d.state == deadlineExceeded {
		d.mu.Unlock()
		go f()

		return func() bool { return false }
	}
	e := &afterEntry{f: f}
	if d.afters == nil {
		d.afters = make(map[*afterEntry]struct{})
	}
	d.afters[e] = struct{}{}
	d.mu.Unlock()

	return func() bool {
		d.mu.Lock()
		defer d.mu.Unlock()
		if _, ok := d.afters[e]; !ok {
			return false
		}
		delete(d.afters, e)

		return true
	}
}

// takeAfters removes and returns the registered callbacks; d.mu is held.
func (d *Deadline) takeAfters() []func() {
	if len(d.afters) == 0 {
		return nil
	}
	fs := make([]func(), 0, len(d.afters))
	for e := range d.afters {
		fs = append(fs, e.f)
		delete(d.afters, e)
	}

	return fs
}

func runAfters(fs []func()) {
	for _, f := range fs {
		f()
	}
}

// Done receives deadline signal.
func (d *Deadline) Done() <-chan struct{} {
	d.mu.RLock()
	defer d.mu.RUnlock()

	return d.done
}

// Err returns context.DeadlineExceeded if the deadline is exceeded.
// Otherwise, it returns nil.
func (d *Deadline) Err() error {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.state == deadlineExceeded {
		return context.DeadlineExceeded
	}

	return nil
}

// Deadline returns current deadline.
func (d *Deadline) Deadline() (time.Time, bool) {
	d.mu.RLock()
	defer d.mu.RUnlock()
	if d.deadline.IsZero() {
		return d.deadline, false
	}

	return d.deadline, true
}

// Value returns nil.
func (d *Deadline) Value(any) any {
	return nil
}
