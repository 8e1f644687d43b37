package mixer

import "math"

// G.711 runs at 8 kHz, the mixer at 48 kHz: a whole factor, so plain
// polyphase FIR interpolation and decimation do.
const (
	g711Rate       = 8000
	resampleFactor = sampleRate / g711Rate // 6
	// tapsPerPhase sets the filter length (6*32 = 192 taps at 48 kHz, 4 ms).
	// With a Blackman window the transition band is about 1.4 kHz wide,
	// so the pass band reaches past 3.4 kHz (the telephone band) while
	// aliases from 4.6 kHz up are down by 70 dB. Shorter filters either
	// dull the voice or let images through.
	tapsPerPhase = 32
	resampleTaps = resampleFactor * tapsPerPhase
	// resampleCutoff is the filter's -6 dB point.
	resampleCutoff = 3900.0
)

// lowpass is the shared windowed-sinc low-pass filter at 48 kHz, unity
// gain at DC.
var lowpass = designLowpass(resampleTaps, resampleCutoff/sampleRate)

// designLowpass returns an n-tap Blackman-windowed sinc low-pass with
// cutoff fc (cycles per sample), normalized to unity DC gain.
func designLowpass(n int, fc float64) []float32 {
	h := make([]float64, n)
	sum := 0.0
	mid := float64(n-1) / 2
	for i := range h {
		x := float64(i) - mid
		sinc := 2 * fc
		if x != 0 {
			sinc = math.Sin(2*math.Pi*fc*x) / (math.Pi * x)
		}
		w := 0.42 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1)) + 0.08*math.Cos(4*math.Pi*float64(i)/float64(n-1))
		h[i] = sinc * w
		sum += h[i]
	}
	out := make([]float32, n)
	for i := range h {
		out[i] = float32(h[i] / sum)
	}
	return out
}

// upsampler turns 8 kHz audio into 48 kHz, keeping filter history across
// calls so frame edges do not click.
type upsampler struct {
	buf []float32 // history (tapsPerPhase-1 samples) followed by input
}

// process writes 6*len(in) samples to out.
func (u *upsampler) process(in, out []float32) {
	const hist = tapsPerPhase - 1
	if u.buf == nil {
		u.buf = make([]float32, hist, hist+len(in))
	}
	u.buf = append(u.buf[:hist], in...)
	for m := range in {
		// y[6m+p] = 6 * sum_k h[p+6k] * x[m-k]; x[m] is buf[hist+m].
		x := u.buf[m : m+tapsPerPhase] // x[m-31] .. x[m]
		for p := range resampleFactor {
			var acc float32
			for k := range tapsPerPhase {
				acc += lowpass[p+resampleFactor*k] * x[tapsPerPhase-1-k]
			}
			out[resampleFactor*m+p] = acc * resampleFactor
		}
	}
	copy(u.buf, u.buf[len(in):])
	u.buf = u.buf[:hist]
}

// downsampler turns 48 kHz audio into 8 kHz, filtering first so nothing
// above 4 kHz folds back into the telephone band.
type downsampler struct {
	buf []float32 // history (resampleTaps-1 samples) followed by input
}

// process writes len(in)/6 samples to out; len(in) must be a multiple
// of 6.
func (d *downsampler) process(in, out []float32) {
	const hist = resampleTaps - 1
	if d.buf == nil {
		d.buf = make([]float32, hist, hist+len(in))
	}
	d.buf = append(d.buf[:hist], in...)
	for m := range len(in) / resampleFactor {
		// y[m] = sum_j h[j] * x[6m+5-j]; x[i] is buf[hist+i].
		end := hist + resampleFactor*m + resampleFactor - 1
		x := d.buf[end-hist : end+1]
		var acc float32
		for j, h := range lowpass {
			acc += h * x[hist-j]
		}
		out[m] = acc
	}
	copy(d.buf, d.buf[len(in):])
	d.buf = d.buf[:hist]
}
