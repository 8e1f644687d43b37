package soak

import (
	"fmt"
	"slices"
	"testing"
	"time"
)

// rssCheck judges jingled's RSS over a soak against the bound,
// within rssTolerance of a reference.
//
// A long run takes the reference at the first cycle past rssReferenceAt
// and checks every cycle after it, as the issue states. A short run (the
// 2 minutes of make test) has too few cycles for that: a Go heap swings
// by its GC headroom (about the live heap, GOGC 100), a few MiB on a
// 30 MiB process, and fresh-clone CI runs failed twice at one cycle's
// peak, 10.07% and 10.8% above a single-cycle reference, with calls,
// transfers, goroutines and descriptors all at their baselines, the
// next cycles back within 5%. So a short run compares medians: of the
// cycles up to the first past rssShortFraction of the run (the
// reference), and of the cycles after it. A leak moves the second
// median; one GC peak does not.
type rssCheck struct {
	long   bool
	refAt  time.Duration
	ref    float64 // 0 until taken
	before []float64
	after  []float64
}

func newRSSCheck(duration time.Duration) *rssCheck {
	if duration >= rssLongRun {
		return &rssCheck{long: true, refAt: rssReferenceAt}
	}
	return &rssCheck{refAt: time.Duration(rssShortFraction * float64(duration))}
}

// add takes one cycle's RSS (bytes) at elapsed. It returns a note when
// the reference was just taken, and an error when a long run's cycle is
// out of bounds.
func (c *rssCheck) add(elapsed time.Duration, rss float64) (note string, err error) {
	if c.ref == 0 {
		c.before = append(c.before, rss)
		if elapsed < c.refAt {
			return "", nil
		}
		c.ref = rss
		if !c.long {
			c.ref = median(c.before)
			return fmt.Sprintf("RSS reference: %.1f MiB (median of the %d cycles so far)", c.ref/(1<<20), len(c.before)), nil
		}
		return fmt.Sprintf("RSS reference: %.1f MiB", c.ref/(1<<20)), nil
	}
	c.after = append(c.after, rss)
	if c.long && outside(rss, c.ref) {
		return "", fmt.Errorf("RSS %.1f MiB is more than %.0f%% from its reference %.1f MiB", rss/(1<<20), rssTolerance*100, c.ref/(1<<20))
	}
	return "", nil
}

// final is a short run's verdict once the cycles are done: nil when the
// cycles after the reference stayed within bounds (or there were none).
func (c *rssCheck) final() error {
	if c.long || c.ref == 0 || len(c.after) == 0 {
		return nil
	}
	if m := median(c.after); outside(m, c.ref) {
		return fmt.Errorf("RSS over the %d cycles after the reference, median %.1f MiB, is more than %.0f%% from the reference %.1f MiB", len(c.after), m/(1<<20), rssTolerance*100, c.ref/(1<<20))
	}
	return nil
}

func outside(v, ref float64) bool { return v > ref*(1+rssTolerance) || v < ref*(1-rssTolerance) }

func median(v []float64) float64 {
	s := slices.Clone(v)
	slices.Sort(s)
	n := len(s)
	if n%2 == 1 {
		return s[n/2]
	}
	return (s[n/2-1] + s[n/2]) / 2
}

func TestRSSCheck(t *testing.T) {
	mib := func(v ...float64) []float64 {
		for i := range v {
			v[i] *= 1 << 20
		}
		return v
	}
	const cycle = 20 * time.Second
	for _, tc := range []struct {
		name     string
		duration time.Duration
		rss      []float64
		wantErr  bool
	}{
		// The two CI runs that failed the per-cycle check: no leak.
		{"short, one GC peak (CI 237cd70)", 2 * time.Minute, mib(28.8, 29.7, 29.7, 31.2, 31.7, 30.1, 29.7), false},
		{"short, one GC peak (CI 8f6b306)", 2 * time.Minute, mib(29.6, 29.8, 29.5, 30.2, 32.7, 32.3, 31.1), false},
		{"short, a leak of 1.5 MiB a cycle", 2 * time.Minute, mib(29.6, 31.1, 32.6, 34.1, 35.6, 37.1, 38.6), true},
		{"short, shrinking by a third", 2 * time.Minute, mib(30, 30, 30, 20, 20, 20, 20), true},
		{"long, steady", 20 * time.Minute, mib(28, 29, 30, 30, 30, 31, 30, 30, 30, 30, 30, 30, 30, 30, 30, 30, 31, 30, 30, 30), false},
		{"long, one cycle out", 20 * time.Minute, mib(28, 29, 30, 30, 30, 31, 30, 30, 30, 30, 30, 30, 30, 30, 33.5, 30, 31, 30, 30, 30), true},
	} {
		c := newRSSCheck(tc.duration)
		var errs []error
		for i, v := range tc.rss {
			if _, err := c.add(time.Duration(i+1)*cycle, v); err != nil {
				errs = append(errs, err)
			}
		}
		if err := c.final(); err != nil {
			errs = append(errs, err)
		}
		if got := len(errs) > 0; got != tc.wantErr {
			t.Errorf("%s: errors %v, want any: %v", tc.name, errs, tc.wantErr)
		}
	}
}
