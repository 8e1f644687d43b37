package mediatest

import "math"

// ToneLevel is the level of a pure tone at freq in s (sampled at rate), in
// dB relative to a full-scale sine: a Goertzel filter over a Hann window,
// so tones a few tens of Hz apart do not leak into each other. The
// conference tests use it to tell "my own tone is 20 dB below the
// others'" in a mix.
func ToneLevel(s []float64, rate int, freq float64) float64 {
	n := len(s)
	if n == 0 {
		return math.Inf(-1)
	}
	k := 2 * math.Cos(2*math.Pi*freq/float64(rate))
	var s1, s2, wsum float64
	for i, v := range s {
		w := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		wsum += w
		s0 := v*w + k*s1 - s2
		s2, s1 = s1, s0
	}
	power := s1*s1 + s2*s2 - k*s1*s2
	amp := 2 * math.Sqrt(math.Max(power, 0)) / wsum
	if amp <= 0 {
		return math.Inf(-1)
	}
	return 20 * math.Log10(amp)
}

// ToneOnsets returns, for each window of win samples of s, whether a tone
// at freq is present at least minDB (ToneLevel) in it: a coarse timeline
// to find when a participant became audible in a mix, or stopped being.
func ToneOnsets(s []float64, rate int, freq float64, win int, minDB float64) []bool {
	var out []bool
	for i := 0; i+win <= len(s); i += win {
		out = append(out, ToneLevel(s[i:i+win], rate, freq) >= minDB)
	}
	return out
}
