package mixer

import (
	"testing"
	"time"
)

// TestOverloadVerdict: the verdict follows whole windows of ticks: 10%
// of a window late (half a frame or more) switches to the cheap encoder
// at once; switching back takes overloadCalm calm windows in a row, and
// a window that is not calm starts the count again.
func TestOverloadVerdict(t *testing.T) {
	for _, tc := range []struct {
		name    string
		windows []int  // late ticks in each window of overloadWindow
		want    []bool // the verdict after each window
	}{
		{"on time", []int{0, 0, 0}, []bool{false, false, false}},
		{"a few late ticks", []int{4, 4, 1}, []bool{false, false, false}},
		{"overloaded", []int{0, 5, 50}, []bool{false, true, true}},
		{"recovers after ten calm windows", []int{5, 1, 0, 1, 0, 0, 1, 0, 0, 0, 0}, []bool{true, true, true, true, true, true, true, true, true, true, false}},
		{"a busy window restarts the count", []int{9, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 0},
			[]bool{true, true, true, true, true, true, true, true, true, true, true, true}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := overload{after: 10 * time.Millisecond}
			for w, late := range tc.windows {
				changed := false
				for i := range overloadWindow {
					d := time.Duration(0)
					switch {
					case i < late:
						d = o.after
					case i < late+10:
						d = o.after - time.Millisecond // not late enough
					}
					if o.observe(d) {
						if i != overloadWindow-1 || changed {
							t.Fatalf("window %d: verdict changed at tick %d, want only at the window's end", w, i)
						}
						changed = true
					}
				}
				if o.on != tc.want[w] {
					t.Fatalf("window %d (%d late): overloaded %v, want %v", w, late, o.on, tc.want[w])
				}
				was := false
				if w > 0 {
					was = tc.want[w-1]
				}
				if changed != (was != tc.want[w]) {
					t.Errorf("window %d: changed %v, want %v", w, changed, was != tc.want[w])
				}
			}
		})
	}
}

// TestOverloadEncodesCheaper: a mixer whose ticks start late moves every
// encoder it has (the speakers' and the common one) to the overload
// complexity, creates new ones there, counts the frames, and moves back
// once on time; the mix stays right throughout.
func TestOverloadEncodesCheaper(t *testing.T) {
	c := newConf(t, Options{MaxSpeakers: 4})
	a := c.join(Opus, newSource(t, Opus, 440, 20))
	b := c.join(Opus, newSource(t, Opus, 660, 20))
	listener := c.join(Opus, nil)
	complexities := func() []int {
		t.Helper()
		c.m.mu.Lock()
		defer c.m.mu.Unlock()
		var got []int
		for _, e := range append([]encoder{c.m.commonEnc[Opus]}, a.in.st.enc, b.in.st.enc) {
			oe, ok := e.(*opusEncoder)
			if !ok {
				t.Fatalf("encoder %T, want Opus", e)
			}
			n, err := oe.enc.Complexity()
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, n)
		}
		return got
	}
	setLate := func(d time.Duration) { c.late = d }

	c.run(overloadWindow)
	if got := complexities(); got[0] != encodeComplexity || got[1] != encodeComplexity || got[2] != encodeComplexity {
		t.Fatalf("on time: complexities %v, want %d", got, encodeComplexity)
	}
	setLate(c.m.opts.FrameDuration / 2)
	mark := listener.sink.count()
	c.run(overloadWindow)
	s := c.m.Stats()
	if !s.Overloaded {
		t.Fatal("a window of late ticks: not overloaded")
	}
	if got := complexities(); got[0] != defaultOverloadComplexity || got[1] != defaultOverloadComplexity || got[2] != defaultOverloadComplexity {
		t.Fatalf("overloaded: complexities %v, want %d", got, defaultOverloadComplexity)
	}
	late := c.join(Opus, newSource(t, Opus, 880, 20))
	c.run(2 * warmup)
	if n, err := late.in.st.enc.(*opusEncoder).enc.Complexity(); err != nil || n != defaultOverloadComplexity {
		t.Errorf("an encoder made while overloaded: complexity %d (%v), want %d", n, err, defaultOverloadComplexity)
	}
	c.hears(listener, Opus, mark+warmup, []float64{440, 660, 880}, nil)
	// The frames of the tick that switched and every one after it.
	if s := c.m.Stats(); s.OverloadFrames != 1+2*warmup {
		t.Errorf("OverloadFrames %d, want %d", s.OverloadFrames, 1+2*warmup)
	}

	setLate(0)
	c.run(overloadCalm*overloadWindow + overloadWindow)
	if s := c.m.Stats(); s.Overloaded {
		t.Fatal("on time again for 11 windows: still overloaded")
	}
	if got := complexities(); got[0] != encodeComplexity {
		t.Errorf("recovered: complexities %v, want %d", got, encodeComplexity)
	}
	if n, _ := late.in.st.enc.(*opusEncoder).enc.Complexity(); n != encodeComplexity {
		t.Errorf("recovered: the late joiner's encoder at %d, want %d", n, encodeComplexity)
	}
}

// TestOverloadComplexityOption: the option's default, its cap at the
// normal complexity (which turns the fallback off), and a value kept.
func TestOverloadComplexityOption(t *testing.T) {
	for _, tc := range []struct{ in, want int }{{0, defaultOverloadComplexity}, {-3, defaultOverloadComplexity}, {1, 1}, {9, encodeComplexity}} {
		if got := (Options{OverloadComplexity: tc.in}).withDefaults().OverloadComplexity; got != tc.want {
			t.Errorf("OverloadComplexity %d: %d, want %d", tc.in, got, tc.want)
		}
	}
}
