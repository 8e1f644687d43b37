package e2e

// Issue 18: every codec a call offers carries media, both ways, through
// Prosody, from the CLI's file inputs to its recordings.

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/proctest"
)

// codecCase is one codec's call: the caller's --codecs (its preference,
// which the callee's choice must follow), the input each side sends and
// the codec both must report.
type codecCase struct {
	name   string
	codecs string // the caller's --codecs
	want   string // the MIME type both sides' stats must show
	// params, when set, must be among the codec's parameters in both
	// sides' stats (H.264's profile).
	params string
	// audio: the input format ("ogg" or "wav"); video: mediatest.Colour's
	// codec. One of them is set.
	audio, video string
}

// TestCallEachCodec (issue 18): a call per codec we offer, Alice calling
// Bob through Prosody with `jingle call` and `jingle answer`, each
// sending its own tone (audio) or colour (video) from a file and
// recording the other's. Alice's --codecs puts the codec first, the
// others after it, and Bob, whose input can be sent in several of them
// (WAV is encoded to G.722, PCMU or PCMA), must send in the one Alice
// prefers; both summaries must name it. Audio recordings must hold the
// peer's tone (440 Hz from Alice, 660 Hz from Bob, +-5 Hz); video
// recordings must decode without a decoder complaint, hold most of the
// frames sent, and every frame must be the peer's colour (red from
// Alice, blue from Bob). Each side must receive at least 95% of the
// packets the other reports sent.
func TestCallEachCodec(t *testing.T) {
	cases := []codecCase{
		{name: "opus", codecs: "opus,G722,PCMU,PCMA", want: "audio/opus", audio: "ogg"},
		{name: "PCMU", codecs: "PCMU,G722,PCMA", want: "audio/PCMU", audio: "wav"},
		{name: "PCMA", codecs: "PCMA,G722,PCMU", want: "audio/PCMA", audio: "wav"},
		{name: "G722", codecs: "G722,PCMU,PCMA", want: "audio/G722", audio: "wav"},
		{name: "VP8", codecs: "VP8", want: "video/VP8", video: "vp8"},
		{name: "VP9", codecs: "VP9", want: "video/VP9", video: "vp9"},
		{name: "H264-42e01f", codecs: "H264/42e01f", want: "video/H264", params: "profile-level-id=42e01f", video: "h264"},
		{name: "H264-640c1f", codecs: "H264/640c1f", want: "video/H264", params: "profile-level-id=640c1f", video: "h264-high"},
	}
	e := newEnv(t)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) { e.codecCall(t, c) })
	}
}

// answerOne starts `jingle answer --count 1` with args as a new account
// and waits until it is ready; it returns the account's JID.
func (e *env) answerOne(t *testing.T, ctx context.Context, args ...string) (string, *proctest.Proc) {
	t.Helper()
	bob := e.srv.NewAccount(t, "bob")
	bpw := writeFile(t, t.TempDir(), "bob.pw", bob.Password)
	p := proctest.StartCLI(t, bin("jingle"), append(append([]string{"answer", "--count", "1"}, args...),
		"--jid", bob.JID, "--password-file", bpw, "--server", e.srv.Addr, "--ca", e.srv.CAFile, "--loopback", "--no-discover", "--json")...)
	p.Event(ctx, t, "ready")
	return bob.JID, p
}

// The media each side sends, and how long.
const (
	codecSeconds = 4
	codecFPS     = 15
)

var (
	codecTones   = [2]float64{440, 660}
	codecColours = [2]string{"red", "blue"}
)

func (e *env) codecCall(t *testing.T, c codecCase) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	dir := t.TempDir()
	var inputs [2]string
	for i, who := range []string{"alice", "bob"} {
		var err error
		switch {
		case c.audio == "ogg":
			inputs[i] = filepath.Join(dir, who+"-in.ogg")
			err = mediatest.SineOpus(ctx, inputs[i], codecTones[i], codecSeconds*time.Second)
		case c.audio == "wav":
			inputs[i] = filepath.Join(dir, who+"-in.wav")
			err = mediatest.SineWAV(ctx, inputs[i], codecTones[i], codecSeconds*time.Second, 16000)
		default:
			ext := ".ivf"
			if strings.HasPrefix(c.video, "h264") {
				ext = ".h264"
			}
			inputs[i] = filepath.Join(dir, who+"-in"+ext)
			err = mediatest.Colour(ctx, inputs[i], c.video, codecColours[i], codecSeconds, codecFPS)
		}
		if err != nil {
			t.Fatal(err)
		}
	}
	flag, extra := "--audio", []string(nil)
	if c.video != "" {
		flag, extra = "--video", []string{"--no-audio"}
	}

	bob, callee := e.answerOne(t, ctx, flag, inputs[1], "--record", filepath.Join(dir, "bob"))
	lines, stderr, code := jingle(t, ctx, e.cli(append([]string{"call", bob, flag, inputs[0], "--codecs", c.codecs,
		"--record", filepath.Join(dir, "alice"), "--duration", fmt.Sprintf("%ds", codecSeconds+1), "--loopback", "--no-discover", "--json"}, extra...)...)...)
	if code != 0 {
		t.Fatalf("jingle call exit %d: %s\n%v", code, stderr, lines)
	}
	summaries := [2]map[string]any{proctest.Last(lines), callee.Event(ctx, t, "summary")}
	if code := callee.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("jingle answer exit %d", code)
	}
	var sent, received [2]float64
	for i, who := range []string{"caller", "callee"} {
		s := summaries[i]
		if s["reason"] != "success" {
			t.Fatalf("%s's call ended with %v", who, s["reason"])
		}
		st, _ := s["stats"].(map[string]any)
		sent[i], _ = st["packets_sent"].(float64)
		received[i], _ = st["packets_received"].(float64)
		streams, _ := st["streams"].([]any)
		var codecs, params []string
		for _, x := range streams {
			if m, ok := x.(map[string]any); ok {
				codecs = append(codecs, fmt.Sprint(m["codec"]))
				p, _ := m["codec_parameters"].(string)
				params = append(params, p)
			}
		}
		if len(codecs) != 1 || !strings.EqualFold(codecs[0], c.want) {
			t.Errorf("%s's streams use %v, want [%s]", who, codecs, c.want)
		} else if !strings.Contains(params[0], c.params) {
			t.Errorf("%s's %s has parameters %q, want %s", who, codecs[0], params[0], c.params)
		}
		t.Logf("%s: codec %v %v, sent %v packets, received %v", who, codecs, params, sent[i], received[i])
	}
	for i, dirn := range []string{"caller to callee", "callee to caller"} {
		if got := received[1-i]; got < 0.95*sent[i] || sent[i] == 0 {
			t.Errorf("%s: %v packets received of %v sent, want >= 95%%", dirn, got, sent[i])
		}
	}

	// What each side recorded is what the other sent.
	for _, r := range []struct {
		who  string
		from int // the index of the side whose media the recording holds
	}{{"bob", 0}, {"alice", 1}} {
		if c.video == "" {
			checkCodecTone(t, ctx, filepath.Join(dir, r.who), c, codecTones[r.from])
		} else {
			checkCodecVideo(t, ctx, filepath.Join(dir, r.who), c, codecColours[r.from])
		}
	}
}

// checkCodecTone checks prefix's audio recording holds freq.
func checkCodecTone(t *testing.T, ctx context.Context, prefix string, c codecCase, freq float64) {
	t.Helper()
	path := prefix + ".wav"
	if c.audio == "ogg" {
		path = prefix + ".ogg"
	}
	a, err := mediatest.AnalyzeAudio(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %v of %s audio, %.1f Hz, RMS %.3f", filepath.Base(path), a.Duration.Round(time.Millisecond), c.name, a.Frequency, a.RMS)
	if math.Abs(a.Frequency-freq) > 5 {
		t.Errorf("%s holds %.1f Hz, want %.0f +- 5", filepath.Base(path), a.Frequency, freq)
	}
	if a.Duration < (codecSeconds-1)*time.Second {
		t.Errorf("%s holds %v of audio, want %ds or more", filepath.Base(path), a.Duration, codecSeconds-1)
	}
}

// checkCodecVideo checks prefix's video recording decodes cleanly and
// every frame is colour.
func checkCodecVideo(t *testing.T, ctx context.Context, prefix string, c codecCase, colour string) {
	t.Helper()
	path := prefix + ".ivf"
	if strings.HasPrefix(c.video, "h264") {
		path = prefix + ".h264"
	}
	n, err := mediatest.DecodeVideo(ctx, path)
	if err != nil {
		t.Errorf("%s does not decode cleanly: %v", filepath.Base(path), err)
	}
	cs, err := mediatest.FrameColours(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	wrong := 0
	for _, rgb := range cs {
		if rgb.Name() != colour {
			wrong++
		}
	}
	mean := "none"
	if len(cs) > 0 {
		mean = fmt.Sprintf("%+v (%s)", cs[len(cs)/2], cs[len(cs)/2].Name())
	}
	t.Logf("%s: %d frames decoded, %d with colour, middle frame %s", filepath.Base(path), n, len(cs), mean)
	if sent := codecSeconds * codecFPS; len(cs)*10 < sent*8 {
		t.Errorf("%s: %d frames of %d sent, want >= 80%%", filepath.Base(path), len(cs), sent)
	}
	if wrong > 0 {
		t.Errorf("%s: %d of %d frames are not %s", filepath.Base(path), wrong, len(cs), colour)
	}
}

// TestCallCodecMismatch (issue 18): a file whose codec the call cannot
// use is an error that names what the file holds and what the call
// allows or the peer offered, on either side; nothing is transcoded
// behind the user's back.
func TestCallCodecMismatch(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	tone := filepath.Join(e.dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 440, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	bob, callee := e.answerOne(t, ctx, "--audio", tone)

	// The caller's own file against its own --codecs.
	lines, stderr, code := jingle(t, ctx, e.cli("call", bob, "--audio", tone, "--codecs", "PCMA", "--duration", "2s", "--loopback", "--no-discover", "--json")...)
	t.Logf("caller with Ogg/Opus and --codecs PCMA: exit %d: %s", code, strings.TrimSpace(stderr))
	if code == 0 || !strings.Contains(stderr, "holds audio/opus") || !strings.Contains(stderr, "PCMA") {
		t.Errorf("jingle call --audio tone.ogg --codecs PCMA: exit %d, stderr %q; want a failure naming audio/opus and PCMA\n%v", code, stderr, lines)
	}

	// The callee's file against what the caller offers: PCMA only.
	_, stderr, code = jingle(t, ctx, e.cli("call", bob, "--codecs", "PCMA", "--duration", "2s", "--loopback", "--no-discover", "--json")...)
	t.Logf("call offering PCMA only: exit %d: %s", code, strings.TrimSpace(stderr))
	ev := callee.Event(ctx, t, "error")
	msg := fmt.Sprint(ev["error"])
	t.Logf("jingle answer --audio tone.ogg: %s", msg)
	if !strings.Contains(msg, "holds audio/opus") || !strings.Contains(msg, "offered PCMA") {
		t.Errorf("answer's error %q, want it to name audio/opus and the offered PCMA", msg)
	}
	if code == 0 {
		t.Errorf("the caller's call succeeded though the callee could not answer it")
	}
}
