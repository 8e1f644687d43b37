package rtp

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

func TestPreferCodecs(t *testing.T) {
	names := func(cs []webrtc.RTPCodecParameters) []string {
		var out []string
		for _, c := range cs {
			out = append(out, codecLabel(c.RTPCodecCapability))
		}
		return out
	}
	for _, c := range []struct {
		prefs        string
		audio, video []string
	}{
		{"", []string{"opus", "G722", "PCMU", "PCMA"}, []string{"VP8", "VP9", "H264/42e01f", "H264/4d001f", "H264/640c1f"}},
		{"PCMA,opus", []string{"PCMA", "opus"}, []string{"VP8", "VP9", "H264/42e01f", "H264/4d001f", "H264/640c1f"}},
		{"pcmu", []string{"PCMU"}, []string{"VP8", "VP9", "H264/42e01f", "H264/4d001f", "H264/640c1f"}},
		{"H264,VP8", []string{"opus", "G722", "PCMU", "PCMA"}, []string{"H264/42e01f", "H264/4d001f", "H264/640c1f", "VP8"}},
		{"H264/640c1f,G722", []string{"G722"}, []string{"H264/640c1f"}},
	} {
		var prefs []string
		if c.prefs != "" {
			prefs = strings.Split(c.prefs, ",")
		}
		a := names(preferCodecs(SupportedCodecs(webrtc.RTPCodecTypeAudio), prefs, paramsCap))
		v := names(preferCodecs(SupportedCodecs(webrtc.RTPCodecTypeVideo), prefs, paramsCap))
		if !slices.Equal(a, c.audio) || !slices.Equal(v, c.video) {
			t.Errorf("--codecs %q: audio %v, video %v; want %v, %v", c.prefs, a, v, c.audio, c.video)
		}
	}
	if err := CheckCodecNames([]string{"PCMA", "H264/640c1f", "vp9"}); err != nil {
		t.Errorf("valid names refused: %v", err)
	}
	for _, bad := range []string{"G729", "H264/f4001f", "AV1"} {
		if err := CheckCodecNames([]string{bad}); err == nil || !strings.Contains(err.Error(), "PCMA") {
			t.Errorf("%s: %v, want an error listing the codecs calls support", bad, err)
		}
	}
}

// TestPreferSource: a WAV source keeps the codecs --codecs allows, in
// its order; a file of one codec that --codecs excludes is an error
// naming what the file holds and what is allowed.
func TestPreferSource(t *testing.T) {
	wav := filepath.Join(t.TempDir(), "tone.wav")
	if err := os.WriteFile(wav, wavFile(wavPCM, 1, 16000, 16, s16Bytes(sineS16(440, 16000, 1600))), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := OpenFile(wav, "audio", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	if err := preferSource(src, []string{"PCMA", "VP8", "PCMU"}); err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, c := range SourceCodecs(src) {
		got = append(got, codecName(c))
	}
	if !slices.Equal(got, []string{"PCMA", "PCMU"}) || src.Codec().MimeType != webrtc.MimeTypePCMA {
		t.Errorf("WAV source with --codecs PCMA,VP8,PCMU sends %v (codec %s), want [PCMA PCMU]", got, src.Codec().MimeType)
	}
	if len(src.Track().(*codecTrack).tracks) != 2 {
		t.Errorf("the track can still bind %d codecs, want 2", len(src.Track().(*codecTrack).tracks))
	}
	ogg := sine(t, 440, 200*time.Millisecond)
	osrc, err := OpenFile(ogg, "audio", 0)
	if err != nil {
		t.Fatal(err)
	}
	defer osrc.Close()
	err = preferSource(osrc, []string{"PCMA"})
	if !errors.Is(err, ErrNoCommonCodec) || !strings.Contains(err.Error(), "holds audio/opus") || !strings.Contains(err.Error(), "PCMA") {
		t.Errorf("Ogg/Opus with --codecs PCMA: %v, want ErrNoCommonCodec naming audio/opus and PCMA", err)
	}
	if err := preferSource(osrc, []string{"VP8"}); err != nil {
		t.Errorf("Ogg/Opus with --codecs VP8 (no audio named): %v", err)
	}
}
