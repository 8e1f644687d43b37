package mixer

import "math"

const (
	// limitCeiling is the limiter's output bound, -1 dBFS: headroom for
	// the codec's own overshoot.
	limitCeiling = 0.891
	// limitRelease is the per-sample decay of the peak envelope, a 100 ms
	// time constant: slow enough not to pump on speech.
	limitRelease = 0.99979 // exp(-1 / (0.1 * 48000))
)

// limiter keeps a mix under limitCeiling. Summing several loud speakers
// easily exceeds full scale, and int16 conversion would then wrap around
// (a loud crack) or hard clip (harsh distortion).
//
// It is a peak limiter with instant attack and no look-ahead: the
// envelope jumps to any peak above it, so the output never exceeds the
// ceiling, and decays slowly afterwards. Look-ahead would sound a little
// better at the price of latency, which the conference budget does not
// have.
type limiter struct {
	env float32 // peak envelope
}

// process limits x in place.
func (l *limiter) process(x []float32) {
	env := l.env
	for i, v := range x {
		a := float32(math.Abs(float64(v)))
		env *= limitRelease
		if a > env {
			env = a
		}
		if env > limitCeiling {
			x[i] = v * (limitCeiling / env)
		}
	}
	l.env = env
}

// toInt16 converts a float sample to int16, saturating: never wraps.
func toInt16(v float32) int16 {
	s := v * 32768
	switch {
	case s >= math.MaxInt16:
		return math.MaxInt16
	case s <= math.MinInt16:
		return math.MinInt16
	case s != s: // NaN
		return 0
	}
	return int16(s)
}
