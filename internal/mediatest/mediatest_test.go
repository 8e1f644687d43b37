package mediatest

import (
	"context"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"
)

func TestSineOpusRoundTrip(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	for _, freq := range []float64{440, 880} {
		path := filepath.Join(t.TempDir(), "sine.ogg")
		if err := SineOpus(ctx, path, freq, 2*time.Second); err != nil {
			t.Fatal(err)
		}
		a, err := AnalyzeAudio(ctx, path)
		if err != nil {
			t.Fatal(err)
		}
		if math.Abs(a.Frequency-freq) > 2 {
			t.Errorf("dominant frequency %.1f Hz, want %.0f", a.Frequency, freq)
		}
		if d := a.Duration - 2*time.Second; d < -50*time.Millisecond || d > 50*time.Millisecond {
			t.Errorf("duration %v, want 2s", a.Duration)
		}
		if a.RMS < 0.05 {
			t.Errorf("RMS %.3f: tone too quiet", a.RMS)
		}
	}
}

func TestDominantFrequencySynthetic(t *testing.T) {
	for _, f := range []float64{100, 440, 1000, 3333.3} {
		s := make([]float64, AnalysisRate)
		for i := range s {
			s[i] = math.Sin(2 * math.Pi * f * float64(i) / AnalysisRate)
		}
		if got := DominantFrequency(s, AnalysisRate); math.Abs(got-f) > 0.5 {
			t.Errorf("DominantFrequency(%g Hz sine) = %g", f, got)
		}
	}
}

func TestTestsrcVP8(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "v.ivf")
	if err := TestsrcVP8(ctx, path, 30, 15, 160, 120); err != nil {
		t.Fatal(err)
	}
	info, err := CountIVF(path)
	if err != nil {
		t.Fatal(err)
	}
	if info.FourCC != "VP80" || info.Frames != 30 || info.Width != 160 {
		t.Errorf("IVF %+v, want VP80 160x120 with 30 frames", info)
	}
	n, err := DecodeVideo(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if n != 30 {
		t.Errorf("decoded %d frames, want 30", n)
	}
}

func TestDecodeVideoRejectsCorruptFile(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "v.ivf")
	if err := TestsrcVP8(ctx, path, 10, 15, 160, 120); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// Garble the key frame's data, keeping the IVF framing intact.
	for i := 32 + 12 + 3; i < 32+12+400 && i < len(b); i++ {
		b[i] ^= 0x5a
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := DecodeVideo(ctx, path); err == nil {
		t.Error("DecodeVideo of a garbled VP8 stream succeeded")
	}
	if _, err := DecodeVideo(ctx, path+".missing"); err == nil {
		t.Error("DecodeVideo of a missing file succeeded")
	}
	if _, err := CountIVF(path + ".missing"); err == nil {
		t.Error("CountIVF of a missing file succeeded")
	}
}

func TestToneLevel(t *testing.T) {
	const rate = AnalysisRate
	s := make([]float64, rate)
	for i := range s {
		x := float64(i) / rate
		s[i] = 0.5*math.Sin(2*math.Pi*440*x) + 0.05*math.Sin(2*math.Pi*660*x)
	}
	cases := []struct {
		freq   float64
		lo, hi float64
	}{
		{440, -6.5, -5.5},        // 0.5 full scale = -6 dB
		{660, -26.5, -25.5},      // 0.05 = -26 dB
		{880, math.Inf(-1), -60}, // absent
	}
	for _, c := range cases {
		if got := ToneLevel(s, rate, c.freq); got < c.lo || got > c.hi {
			t.Errorf("ToneLevel(%v Hz) = %.1f dB, want %.1f..%.1f", c.freq, got, c.lo, c.hi)
		}
	}
	on := ToneOnsets(append(make([]float64, rate/2), s...), rate, 440, rate/10, -20)
	if len(on) != 15 || on[4] || !on[5] || !on[14] {
		t.Errorf("ToneOnsets = %v, want 5 silent windows then 10 with the tone", on)
	}
}

func TestColourVP8(t *testing.T) {
	if _, err := FFmpeg(); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	for _, c := range []string{"red", "green", "blue"} {
		p := filepath.Join(t.TempDir(), c+".ivf")
		if err := ColourVP8(ctx, p, c, 1, 15); err != nil {
			t.Fatal(err)
		}
		cs, err := FrameColours(ctx, p)
		if err != nil {
			t.Fatal(err)
		}
		if len(cs) != 15 {
			t.Errorf("%s: %d frames, want 15", c, len(cs))
		}
		for i, f := range cs {
			if f.Name() != c {
				t.Errorf("%s: frame %d is %+v (%q)", c, i, f, f.Name())
				break
			}
		}
	}
}
