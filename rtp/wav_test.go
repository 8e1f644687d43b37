package rtp

import (
	"bytes"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"testing"

	"github.com/zaf/g711"

	"github.com/jingled/jingled/internal/mediatest"
)

// sineS16 is n samples of a freq Hz sine at rate, amplitude 8000.
func sineS16(freq float64, rate, n int) []int16 {
	s := make([]int16, n)
	for i := range s {
		s[i] = int16(8000 * math.Sin(2*math.Pi*freq*float64(i)/float64(rate)))
	}
	return s
}

// wavFile builds a WAV file of format holding data.
func wavFile(format uint16, channels, rate, bits int, data []byte) []byte {
	align := channels * bits / 8
	return append(wavHeader(format, channels, rate, rate*align, align, bits, uint32(len(data))), data...)
}

func s16Bytes(s []int16) []byte {
	b := make([]byte, 2*len(s))
	for i, v := range s {
		binary.LittleEndian.PutUint16(b[2*i:], uint16(v))
	}
	return b
}

// TestWAVReaderFormats: 16-bit PCM (mono and stereo, mixed down),
// A-law and mu-law come out as the same mono frames; a short last
// frame is padded with silence; formats we do not read are named.
func TestWAVReaderFormats(t *testing.T) {
	tone := sineS16(440, 8000, 400) // 50 ms: two frames and a half
	stereo := make([]int16, 0, 2*len(tone))
	for _, v := range tone {
		stereo = append(stereo, v, v)
	}
	alaw, ulaw := make([]byte, len(tone)), make([]byte, len(tone))
	for i, v := range tone {
		alaw[i], ulaw[i] = g711.EncodeAlawFrame(v), g711.EncodeUlawFrame(v)
	}
	for _, c := range []struct {
		name string
		file []byte
		tol  int // G.711 is lossy
	}{
		{"pcm", wavFile(wavPCM, 1, 8000, 16, s16Bytes(tone)), 0},
		{"stereo", wavFile(wavPCM, 2, 8000, 16, s16Bytes(stereo)), 0},
		{"alaw", wavFile(wavALaw, 1, 8000, 8, alaw), 8000 / 16},
		{"ulaw", wavFile(wavMuLaw, 1, 8000, 8, ulaw), 8000 / 16},
	} {
		t.Run(c.name, func(t *testing.T) {
			w, err := newWAVReader(bytes.NewReader(c.file))
			if err != nil {
				t.Fatal(err)
			}
			var got []int16
			var frame []int16
			frames := 0
			for {
				frame, err = w.read(frame)
				if errors.Is(err, io.EOF) {
					break
				}
				if err != nil {
					t.Fatal(err)
				}
				if len(frame) != 160 {
					t.Fatalf("frame of %d samples, want 160 (20 ms at 8 kHz)", len(frame))
				}
				got = append(got, frame...)
				frames++
			}
			if frames != 3 {
				t.Fatalf("%d frames, want 3 (the last padded)", frames)
			}
			for i, v := range tone {
				if d := int(got[i]) - int(v); d > c.tol || d < -c.tol {
					t.Fatalf("sample %d: %d, want %d +- %d", i, got[i], v, c.tol)
				}
			}
			for i := len(tone); i < len(got); i++ {
				if got[i] != 0 {
					t.Fatalf("padding sample %d is %d, want silence", i, got[i])
				}
			}
		})
	}
	for _, c := range []struct {
		name string
		file []byte
	}{
		{"8-bit PCM", wavFile(wavPCM, 1, 8000, 8, make([]byte, 160))},
		{"G.722", wavFile(wavG722, 1, 16000, 4, make([]byte, 160))},
		{"11025 Hz", wavFile(wavPCM, 1, 11025, 16, make([]byte, 320))},
		{"not RIFF", []byte("OggS and more bytes than a header")},
	} {
		if _, err := newWAVReader(bytes.NewReader(c.file)); !errors.Is(err, ErrUnknownMediaFile) {
			t.Errorf("%s: %v, want ErrUnknownMediaFile", c.name, err)
		}
	}
}

// TestResamplerKeepsTone: a 440 Hz tone resampled frame by frame from
// 16 to 8 kHz and from 8 to 16 kHz is still 440 Hz, and the frames join
// without clicks (no sample jumps more than a sine's step can).
func TestResamplerKeepsTone(t *testing.T) {
	for _, c := range []struct{ from, to int }{{16000, 8000}, {8000, 16000}, {48000, 16000}} {
		in := sineS16(440, c.from, c.from) // one second
		var r resampler
		var out, frame []int16
		for i := 0; i < len(in); i += c.from / 50 {
			frame = r.frame(frame, in[i:i+c.from/50], c.to/50)
			out = append(out, frame...)
		}
		if len(out) != c.to {
			t.Fatalf("%d -> %d Hz: %d samples, want %d", c.from, c.to, len(out), c.to)
		}
		f := make([]float64, len(out))
		maxStep := 0.0
		for i, v := range out {
			f[i] = float64(v)
			if i > 0 {
				maxStep = max(maxStep, math.Abs(f[i]-f[i-1]))
			}
		}
		if got := mediatest.DominantFrequency(f, c.to); math.Abs(got-440) > 2 {
			t.Errorf("%d -> %d Hz: tone at %.1f Hz, want 440", c.from, c.to, got)
		}
		// A 440 Hz sine of amplitude 8000 moves at most 2*pi*440*8000/rate
		// per sample.
		if limit := 2 * math.Pi * 440 * 8000 / float64(c.to) * 1.05; maxStep > limit {
			t.Errorf("%d -> %d Hz: a step of %.0f, want <= %.0f (a click where frames join)", c.from, c.to, maxStep, limit)
		}
	}
}
