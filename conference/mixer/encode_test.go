package mixer

import (
	"math"
	"testing"

	"gopkg.in/hraban/opus.v2"
)

// codecDelay returns, in 48 kHz samples, how far the output of an Opus
// encoder (app, complexity, the mixer's other settings) and a decoder
// lags the input beyond the frame itself: the encoder's lookahead,
// OPUS_GET_LOOKAHEAD, which hraban/opus does not expose. It is the lag
// of the largest cross-correlation between speech-like input and what
// comes out. snr is the signal-to-noise ratio of the output at that lag,
// in dB: a crude, not perceptual, measure of what the settings keep.
func codecDelay(t testing.TB, app opus.Application, complexity int) (lag int, snr float64) {
	t.Helper()
	enc, err := newOpusEncoder(app, complexity)
	if err != nil {
		t.Fatal(err)
	}
	dec, err := newDecoder(Opus)
	if err != nil {
		t.Fatal(err)
	}
	var in, out []float32
	buf := make([]float32, maxPacketSamples)
	for _, f := range speechLike(25) {
		p, err := enc.encode(f)
		if err != nil {
			t.Fatal(err)
		}
		n, err := dec.decode(p, buf)
		if err != nil {
			t.Fatal(err)
		}
		in = append(in, f...)
		out = append(out, buf[:n]...)
	}
	best, bestLag := 0.0, -1
	for lag := 0; lag < 960; lag++ {
		c := 0.0
		for i := 960; i+lag < len(out); i++ {
			c += float64(in[i]) * float64(out[i+lag])
		}
		if c > best {
			best, bestLag = c, lag
		}
	}
	sig, noise := 0.0, 0.0
	for i := 960; i+bestLag < len(out); i++ {
		d := float64(out[i+bestLag]) - float64(in[i])
		sig += float64(in[i]) * float64(in[i])
		noise += d * d
	}
	return bestLag, 10 * math.Log10(sig/noise)
}

// TestEncoderLookahead: what the mixer sends lags its input by CELT's
// 2.5 ms lookahead, not the 6.5 ms of the modes that can use SILK; the
// latency budget (adapt.go) counts on it.
func TestEncoderLookahead(t *testing.T) {
	lag, snr := codecDelay(t, encodeApplication, encodeComplexity)
	if lag != sampleRate*25/10000 {
		t.Errorf("encoder lookahead %d samples, want 120 (2.5 ms)", lag)
	}
	if snr < 6 {
		t.Errorf("speech through the encoder: SNR %.1f dB, want at least 6 (something decodes wrong)", snr)
	}
}
