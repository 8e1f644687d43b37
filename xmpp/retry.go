package xmpp

import (
	"fmt"
	"time"
)

// backoff is min·2^(attempt-1), capped at max.
func backoff(lo, hi time.Duration, attempt int) time.Duration {
	d := lo
	for i := 1; i < attempt && d < hi; i++ {
		d *= 2
	}
	return min(d, hi)
}

// retryDelay is the wait after failed attempt number attempt: the
// exponential base (backoff) plus up to 20 % of it, chosen by jitter in
// [0, 1), so that many clients cut off by one server restart do not all
// come back in the same instant. The caller draws jitter; keeping the
// randomness out makes the schedule a pure function a table can pin.
func retryDelay(lo, hi time.Duration, attempt int, jitter float64) (base, delay time.Duration) {
	base = backoff(lo, hi, attempt)
	jitter = min(max(jitter, 0), 1)
	return base, base + time.Duration(jitter*float64(base/5))
}

// retryWait bounds a wait of delay so it ends by deadline (zero: no
// deadline): the last attempt of a bounded reconnection happens at the
// bound, not a whole backoff after it. ok is false when the deadline has
// passed already, so there is no attempt left.
func retryWait(delay time.Duration, now, deadline time.Time) (wait time.Duration, ok bool) {
	if deadline.IsZero() {
		return delay, true
	}
	left := deadline.Sub(now)
	if left <= 0 {
		return 0, false
	}
	return min(delay, left), true
}

// GaveUpError is why a client stopped reconnecting after its stream was
// lost: Config.ReconnectFor passed without a stream. It matches
// ErrGaveUp (errors.Is) and unwraps to the last attempt's error.
type GaveUpError struct {
	// Lost is when the stream broke; For is Config.ReconnectFor.
	Lost time.Time
	For  time.Duration
	// Attempts is how many reconnection attempts failed.
	Attempts int
	// Err is the last attempt's error.
	Err error
}

// Error says when the stream was lost, how long and how often the
// client tried again, and the last attempt's error.
func (e *GaveUpError) Error() string {
	return fmt.Sprintf("xmpp: stream lost at %s, %d reconnection attempts in %v failed: %v",
		e.Lost.UTC().Format(time.RFC3339), e.Attempts, e.For, e.Err)
}

// Is makes errors.Is(err, ErrGaveUp) hold.
func (e *GaveUpError) Is(target error) bool { return target == ErrGaveUp }

// Unwrap returns the last attempt's error, so errors.Is finds ErrAuth
// or a net.Error behind the give-up.
func (e *GaveUpError) Unwrap() error { return e.Err }
