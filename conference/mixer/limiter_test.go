package mixer

import (
	"math"
	"testing"
)

func TestLimiter(t *testing.T) {
	tests := []struct {
		name      string
		amp       float64 // sine amplitude in
		untouched bool    // output equals input
	}{
		{"quiet passes", 0.5, true},
		{"just under ceiling passes", 0.88, true},
		{"two loud speakers", 1.6, false},
		{"ten loud speakers", 8, false},
		{"absurd", 1e6, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var l limiter
			for frame := range 20 {
				x := make([]float32, 960)
				for i := range x {
					x[i] = float32(tt.amp * math.Sin(2*math.Pi*440*float64(frame*960+i)/sampleRate))
				}
				in := append([]float32(nil), x...)
				l.process(x)
				for i, v := range x {
					if math.Abs(float64(v)) > limitCeiling+1e-6 {
						t.Fatalf("sample %v over the ceiling", v)
					}
					if tt.untouched && v != in[i] {
						t.Fatalf("sample changed: %v -> %v", in[i], v)
					}
				}
			}
		})
	}
}

func TestToInt16(t *testing.T) {
	tests := []struct {
		in   float32
		want int16
	}{
		{0, 0},
		{0.5, 16384},
		{-1, math.MinInt16},
		{1, math.MaxInt16},
		{1.5, math.MaxInt16},
		{-7, math.MinInt16},
		{float32(math.Inf(1)), math.MaxInt16},
		{float32(math.NaN()), 0},
	}
	for _, tt := range tests {
		if got := toInt16(tt.in); got != tt.want {
			t.Errorf("toInt16(%v) = %v, want %v", tt.in, got, tt.want)
		}
	}
}
