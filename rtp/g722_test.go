package rtp

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"slices"
	"testing"
)

// The vectors in testdata/g722 were made with ffmpeg 5.1 (its G.722
// codec, which follows the ITU reference bit for bit):
//
//	ffmpeg -f lavfi -i sine=frequency=1000:sample_rate=16000:duration=0.1 -af volume=0.5 -f s16le -ac 1 sine.s16
//	ffmpeg -f lavfi -i anoisesrc=color=white:sample_rate=16000:amplitude=1:duration=0.1:seed=18 -f s16le -ac 1 noise.s16
//	ffmpeg -f s16le -ar 16000 -ac 1 -i NAME.s16 -c:a g722 -f g722 NAME.g722
//	ffmpeg -f g722 -i NAME.g722 -f s16le NAME.dec.s16
//
// The full-scale noise drives the quantisers and predictors to their
// limits (the saturations); the sine is a signal a call carries.
func TestG722MatchesFFmpeg(t *testing.T) {
	for _, name := range []string{"sine", "noise"} {
		t.Run(name, func(t *testing.T) {
			pcm := readS16(t, filepath.Join("testdata", "g722", name+".s16"))
			coded, err := os.ReadFile(filepath.Join("testdata", "g722", name+".g722"))
			if err != nil {
				t.Fatal(err)
			}
			decoded := readS16(t, filepath.Join("testdata", "g722", name+".dec.s16"))
			// In pieces of 20 ms, as a call codes.
			got := inPieces(pcm, 320, NewG722Encoder().Encode)
			if i := firstDiff(got, coded); i >= 0 {
				t.Errorf("encoding differs from ffmpeg's at byte %d of %d (len %d)", i, len(coded), len(got))
			}
			out := inPieces(coded, 160, NewG722Decoder().Decode)
			if i := firstDiff(out, decoded); i >= 0 {
				t.Errorf("decoding differs from ffmpeg's at sample %d of %d (len %d)", i, len(decoded), len(out))
			}
		})
	}
}

// inPieces runs code over in, n items at a time, appending its output.
func inPieces[In, Out any](in []In, n int, code func([]Out, []In) []Out) []Out {
	var out []Out
	for c := range slices.Chunk(in, n) {
		out = code(out, c)
	}
	return out
}

func readS16(t *testing.T, path string) []int16 {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	s := make([]int16, len(b)/2)
	for i := range s {
		s[i] = int16(binary.LittleEndian.Uint16(b[2*i:]))
	}
	return s
}

// firstDiff is the first index where a and b differ (or one ends), -1
// when they are equal.
func firstDiff[T comparable](a, b []T) int {
	for i := range max(len(a), len(b)) {
		if i >= len(a) || i >= len(b) || a[i] != b[i] {
			return i
		}
	}
	return -1
}
