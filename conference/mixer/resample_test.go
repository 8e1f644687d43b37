package mixer

import (
	"math"
	"testing"
)

// sine returns n samples of a sine of amplitude 0.5.
func sine(freq, rate float64, n int) []float32 {
	x := make([]float32, n)
	for i := range x {
		x[i] = float32(0.5 * math.Sin(2*math.Pi*freq*float64(i)/rate))
	}
	return x
}

// levelDB returns the level of freq in x relative to amplitude 0.5,
// skipping the filter's start-up.
func levelDB(x []float32, freq, rate float64) float64 {
	skip := len(x) / 4
	y := make([]float64, len(x)-skip)
	for i := range y {
		y[i] = float64(x[skip+i])
	}
	return toneDB(y, freq, rate) - 20*math.Log10(0.5)
}

func TestResample(t *testing.T) {
	tests := []struct {
		name     string
		freq     float64
		up       bool    // upsample an 8 kHz tone (else downsample a 48 kHz one)
		at       float64 // where to measure
		min, max float64 // dB relative to the input tone
	}{
		{"up: 300 Hz passes", 300, true, 300, -0.5, 0.5},
		{"up: 1 kHz passes", 1000, true, 1000, -0.5, 0.5},
		{"up: 3.4 kHz passes", 3400, true, 3400, -1.5, 0.5},
		{"up: image of 1 kHz at 7 kHz removed", 1000, true, 7000, -200, -60},
		{"up: image of 3 kHz at 5 kHz removed", 3000, true, 5000, -200, -40},
		{"down: 1 kHz passes", 1000, false, 1000, -0.5, 0.5},
		{"down: 3.4 kHz passes", 3400, false, 3400, -1.5, 0.5},
		{"down: 6 kHz does not fold to 2 kHz", 6000, false, 2000, -200, -60},
		{"down: 10 kHz does not fold to 2 kHz", 10000, false, 2000, -200, -60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out []float32
			var rate float64
			if tt.up {
				var u upsampler
				rate = sampleRate
				for range 10 { // frame by frame: history must carry over
					out = append(out, make([]float32, 960)...)
				}
				in := sine(tt.freq, g711Rate, 1600)
				for f := range 10 {
					u.process(in[f*160:(f+1)*160], out[f*960:(f+1)*960])
				}
			} else {
				var d downsampler
				rate = g711Rate
				out = make([]float32, 1600)
				in := sine(tt.freq, sampleRate, 9600)
				for f := range 10 {
					d.process(in[f*960:(f+1)*960], out[f*160:(f+1)*160])
				}
			}
			if db := levelDB(out, tt.at, rate); db < tt.min || db > tt.max {
				t.Errorf("level at %v Hz = %.1f dB, want in [%v, %v]", tt.at, db, tt.min, tt.max)
			}
		})
	}
}
