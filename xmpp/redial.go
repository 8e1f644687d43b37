package xmpp

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// dialPlan is one round of connection attempts of a Client or a Component:
// the first connection of Start, or the reconnection after a stream
// broke. What differs between the two (how to dial, which failures no
// retry can fix) is given; the schedule (backoff with jitter, the attempt
// and time bounds) and the events are the same for both.
type dialPlan struct {
	// what prefixes the errors: "xmpp: connecting".
	what string
	// dial makes one attempt.
	dial func(ctx context.Context) (*stream, error)
	// permanent tells failures that retrying cannot fix.
	permanent func(error) bool
	// maxAttempts bounds the attempts (0: no limit) with ErrGaveUp.
	maxAttempts int
	// lost is when the stream broke (zero for a first connection);
	// with reconnectFor > 0 the round gives up that long after it with
	// a *GaveUpError.
	lost         time.Time
	reconnectFor time.Duration
	// minBackoff and maxBackoff bound the waits (retryDelay).
	minBackoff, maxBackoff time.Duration
	// emit reports each attempt (the owner's events and logs).
	emit func(Event)
}

// redial runs r until a stream is up, a permanent error, a bound, or
// ctx ends; ErrClosed when the owner was closed meanwhile.
func (d *dispatcher) redial(ctx context.Context, r dialPlan) (*stream, error) {
	var deadline time.Time
	if !r.lost.IsZero() && r.reconnectFor > 0 {
		deadline = r.lost.Add(r.reconnectFor)
	}
	var prev error
	for attempt := 1; ; attempt++ {
		dctx, cancel := ctx, context.CancelFunc(func() {})
		if !deadline.IsZero() {
			// A dial that hangs must not outlive the bound either.
			dctx, cancel = context.WithDeadline(ctx, deadline)
		}
		s, err := r.dial(dctx)
		cutShort := dctx.Err() != nil
		cancel()
		if err == nil {
			s.attempt = attempt
			return s, nil
		}
		if ctx.Err() != nil {
			return nil, d.connectEnded(ctx, r.what, err)
		}
		if cutShort && prev != nil {
			// The bound ended this attempt; the one before says why
			// the server cannot be reached.
			err = prev
		}
		prev = err
		permanent := r.permanent(err)
		r.emit(Event{Kind: EventConnectFailed, Err: err, Attempt: attempt, Permanent: permanent})
		if permanent {
			return nil, err
		}
		if r.maxAttempts > 0 && attempt >= r.maxAttempts {
			err = fmt.Errorf("%w after %d attempts: %w", ErrGaveUp, attempt, err)
			r.emit(Event{Kind: EventGaveUp, Err: err, Attempt: attempt, Permanent: true})
			return nil, err
		}
		base, delay := retryDelay(r.minBackoff, r.maxBackoff, attempt, rand.Float64())
		delay, ok := retryWait(delay, time.Now(), deadline)
		if !ok {
			gaveUp := &GaveUpError{Lost: r.lost, For: r.reconnectFor, Attempts: attempt, Err: err}
			r.emit(Event{Kind: EventGaveUp, Err: gaveUp, Attempt: attempt, Permanent: true})
			return nil, gaveUp
		}
		r.emit(Event{Kind: EventRetry, Err: err, Attempt: attempt, Backoff: base, Delay: delay})
		t := time.NewTimer(delay)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return nil, d.connectEnded(ctx, r.what, err)
		}
	}
}

// connectEnded is the error of a round whose ctx ended: ErrClosed when
// the owner was closed, else ctx's error with the last attempt's.
func (d *dispatcher) connectEnded(ctx context.Context, what string, last error) error {
	if d.ctx.Err() != nil {
		return ErrClosed
	}
	return fmt.Errorf("%s: %w (last error: %w)", what, ctx.Err(), last)
}

// permanentClient tells a client's failures that retrying cannot fix.
func permanentClient(err error) bool {
	return errors.Is(err, ErrAuth) || errors.Is(err, ErrTLS) ||
		errors.Is(err, ErrPlainNotLoopback)
}

// permanentComponent tells a component's failures that retrying cannot
// fix.
func permanentComponent(err error) bool {
	return errors.Is(err, ErrAuth) || errors.Is(err, ErrUnknownComponent)
}
