package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/proctest"
)

// Issue 18: a call's media to and from local tools over plain RTP.

// startCall runs `jingle call` (as alice) in the background and returns
// a channel of its --json lines, closed when it exited, and a function
// that waits for its exit code.
func (e *env) startCall(t *testing.T, ctx context.Context, args ...string) (<-chan map[string]any, func() (int, string)) {
	t.Helper()
	cmd := exec.CommandContext(ctx, bin("jingle"), e.cli(append([]string{"call"}, args...)...)...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &proctest.SyncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	lines := make(chan map[string]any, 64)
	go func() {
		defer close(lines)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				lines <- m
			}
		}
	}()
	var waited bool
	wait := func() (int, string) {
		for range lines {
		}
		waited = true
		_ = cmd.Wait()
		return cmd.ProcessState.ExitCode(), stderr.String()
	}
	t.Cleanup(func() {
		if !waited {
			_ = cmd.Process.Kill()
			_ = cmd.Wait()
		}
	})
	return lines, wait
}

// waitEvent reads lines until one with event name arrives.
func waitEvent(t *testing.T, lines <-chan map[string]any, name string, wait func() (int, string)) map[string]any {
	t.Helper()
	for m := range lines {
		if m["event"] == name {
			return m
		}
	}
	code, stderr := wait()
	t.Fatalf("jingle call exited (%d) without a %q event: %s", code, name, stderr)
	return nil
}

// ffmpegRecord records the first 4 s of the streams an SDP file
// describes, as the documentation says to.
func ffmpegRecord(t *testing.T, ctx context.Context, sdp, out string) {
	t.Helper()
	ffmpeg, err := mediatest.FFmpeg()
	if err != nil {
		t.Fatal(err)
	}
	rctx, cancel := context.WithTimeout(ctx, 40*time.Second)
	defer cancel()
	cmd := exec.CommandContext(rctx, ffmpeg, "-hide_banner", "-loglevel", "error", "-y",
		"-protocol_whitelist", "file,udp,rtp", "-i", sdp, "-t", "4", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("ffmpeg reading %s: %v\n%s", sdp, err, b)
	}
}

// gstLaunch is GStreamer's gst-launch-1.0.
func gstLaunch(t *testing.T) string {
	t.Helper()
	gst, err := exec.LookPath("gst-launch-1.0")
	if err != nil {
		t.Fatalf("gst-launch-1.0 (Debian gstreamer1.0-tools, scripts/deps.txt): %v", err)
	}
	return gst
}

func checkTone(t *testing.T, ctx context.Context, path string, hz float64, what string) {
	t.Helper()
	a, err := mediatest.AnalyzeAudio(ctx, path)
	if err != nil || math.Abs(a.Frequency-hz) > 5 || a.Duration < 3*time.Second {
		t.Fatalf("%s: %v Hz over %v (err %v), want %v Hz over 3 s at least", what, a.Frequency, a.Duration, err, hz)
	}
}

// loopbackDaemon runs jingled with accts on loopback, without XEP-0215.
func (e *env) loopbackDaemon(t *testing.T, accts string) *proctest.Jingled {
	t.Helper()
	httpPort := proctest.FreePort(t)
	return startDaemon(t, e.dir, fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"\n[ice]\nloopback_only = true\ndiscover = false\n%s", httpPort, accts), httpPort)
}

// TestRTPOutToFFmpeg: `jingle call --rtp-out` to jingled's play account
// forwards the played tone as RTP with its negotiated payload type, the
// SDP file says so, and ffmpeg records the live call from that SDP file
// alone: the recording holds the 660 Hz tone.
func TestRTPOutToFFmpeg(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	music := filepath.Join(e.dir, "music.ogg")
	if err := mediatest.SineOpus(ctx, music, 660, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	play, acct := e.account(t, "play", fmt.Sprintf("file = %q", music))
	e.loopbackDaemon(t, acct)

	addr := fmt.Sprintf("127.0.0.1:%d", proctest.QuietPorts(t, 2))
	sdp := filepath.Join(e.dir, "call.sdp")
	lines, wait := e.startCall(t, ctx, play.JID, "--rtp-out", addr, "--rtp-sdp", sdp, "--duration", "12s", "--loopback", "--no-discover", "--json")
	ev := waitEvent(t, lines, "rtp-out", wait)
	pt := int(ev["payload_type"].(float64))
	if ev["addr"] != addr || ev["codec"] != "opus" || ev["sdp"] != sdp || ev["content"] == "" {
		t.Fatalf("rtp-out event %v, want opus to %s described in %s", ev, addr, sdp)
	}
	b, err := os.ReadFile(sdp)
	if err != nil {
		t.Fatal(err)
	}
	_, port, _ := strings.Cut(addr, ":")
	for _, l := range []string{fmt.Sprintf("m=audio %s RTP/AVP %d\r\n", port, pt), fmt.Sprintf("a=rtpmap:%d opus/48000/2\r\n", pt), "c=IN IP4 127.0.0.1\r\n"} {
		if !strings.Contains(string(b), l) {
			t.Fatalf("SDP file lacks %q:\n%s", l, b)
		}
	}
	out := filepath.Join(e.dir, "ffmpeg.wav")
	ffmpegRecord(t, ctx, sdp, out)
	if code, stderr := wait(); code != 0 {
		t.Fatalf("jingle call --rtp-out: exit %d: %s", code, stderr)
	}
	checkTone(t, ctx, out, 660, "ffmpeg's recording of the call")
}

// TestRTPSendRole: jingled's record account with rtp_send forwards what
// the caller sends; the SDP file appears beside the recording, ffmpeg
// records the caller's 440 Hz tone from it, and the recording itself is
// still made.
func TestRTPSendRole(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	tone := filepath.Join(e.dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 440, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	recDir := filepath.Join(e.dir, "recordings")
	addr := fmt.Sprintf("127.0.0.1:%d", proctest.QuietPorts(t, 2))
	rec, acct := e.account(t, "record", fmt.Sprintf("dir = %q\nrtp_send = %q\nmax_duration = \"60s\"", recDir, addr))
	e.loopbackDaemon(t, acct)

	lines, wait := e.startCall(t, ctx, rec.JID, "--audio", tone, "--duration", "12s", "--loopback", "--no-discover", "--json")
	waitEvent(t, lines, "ice-connected", wait)
	var sdps []string
	for i := 0; i < 100 && len(sdps) == 0; i++ {
		sdps, _ = filepath.Glob(filepath.Join(recDir, "*.sdp"))
		time.Sleep(100 * time.Millisecond)
	}
	if len(sdps) != 1 {
		t.Fatalf("SDP files beside the recording: %v", sdps)
	}
	out := filepath.Join(e.dir, "ffmpeg.wav")
	ffmpegRecord(t, ctx, sdps[0], out)
	if code, stderr := wait(); code != 0 {
		t.Fatalf("jingle call to the record account: exit %d: %s", code, stderr)
	}
	checkTone(t, ctx, out, 440, "ffmpeg's recording of rtp_send")
	ogg := strings.TrimSuffix(sdps[0], ".sdp") + ".ogg"
	for i := 0; i < 100; i++ {
		if _, err := os.Stat(ogg); err == nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	checkTone(t, ctx, ogg, 440, "the record account's own recording")
}

// TestRTPInFromGStreamer: a GStreamer pipeline (audiotestsrc ! opusenc !
// rtpopuspay ! udpsink) feeds `jingle call --rtp-in`, and jingled's
// record account, the callee, records its 550 Hz tone.
func TestRTPInFromGStreamer(t *testing.T) {
	e := newEnv(t)
	gst := gstLaunch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	recDir := filepath.Join(e.dir, "recordings")
	rec, acct := e.account(t, "record", fmt.Sprintf("dir = %q\nmax_duration = \"60s\"", recDir))
	e.loopbackDaemon(t, acct)

	port := proctest.QuietPorts(t, 2)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	lines, wait := e.startCall(t, ctx, rec.JID, "--rtp-in", addr, "--duration", "6s", "--loopback", "--no-discover", "--json")
	ev := waitEvent(t, lines, "rtp-in", wait)
	if ev["addr"] != addr {
		t.Fatalf("rtp-in event %v, want %s", ev, addr)
	}
	// The pipeline of docs/CALLS.md; it runs until the test ends.
	feed := exec.CommandContext(ctx, gst, "-q", "audiotestsrc", "is-live=true", "freq=550", "!",
		"audioconvert", "!", "audioresample", "!", "opusenc", "!", "rtpopuspay", "pt=96", "!",
		"udpsink", "host=127.0.0.1", fmt.Sprintf("port=%d", port))
	ferr := &proctest.SyncBuffer{}
	feed.Stdout, feed.Stderr = ferr, ferr
	if err := feed.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = feed.Process.Kill(); _ = feed.Wait() }()
	if code, stderr := wait(); code != 0 {
		t.Fatalf("jingle call --rtp-in: exit %d: %s (gst-launch: %s)", code, stderr, ferr.String())
	}
	var files []string
	for i := 0; i < 100 && len(files) == 0; i++ {
		files, _ = filepath.Glob(filepath.Join(recDir, "*.ogg"))
		time.Sleep(100 * time.Millisecond)
	}
	if len(files) != 1 {
		t.Fatalf("recordings: %v (gst-launch: %s)", files, ferr.String())
	}
	checkTone(t, ctx, files[0], 550, "the callee's recording of the GStreamer feed")
}

// TestRTPOutToGStreamer: the GStreamer receive line of docs/CALLS.md
// (udpsrc with the SDP's payload type ! rtpjitterbuffer ! rtpopusdepay !
// opusdec ! wavenc) records the forwarded 660 Hz tone of a live call.
func TestRTPOutToGStreamer(t *testing.T) {
	e := newEnv(t)
	gst := gstLaunch(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	music := filepath.Join(e.dir, "music.ogg")
	if err := mediatest.SineOpus(ctx, music, 660, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	play, acct := e.account(t, "play", fmt.Sprintf("file = %q", music))
	e.loopbackDaemon(t, acct)

	port := proctest.QuietPorts(t, 2)
	lines, wait := e.startCall(t, ctx, play.JID, "--rtp-out", fmt.Sprintf("127.0.0.1:%d", port), "--rtp-sdp", filepath.Join(e.dir, "call.sdp"),
		"--duration", "10s", "--loopback", "--no-discover", "--json")
	ev := waitEvent(t, lines, "rtp-out", wait)
	out := filepath.Join(e.dir, "gst.wav")
	caps := fmt.Sprintf("application/x-rtp,media=audio,clock-rate=48000,encoding-name=OPUS,payload=%d", int(ev["payload_type"].(float64)))
	rec := exec.CommandContext(ctx, gst, "-q", "-e", "udpsrc", fmt.Sprintf("port=%d", port), "caps="+caps, "!",
		"rtpjitterbuffer", "!", "rtpopusdepay", "!", "opusdec", "!", "audioconvert", "!", "wavenc", "!", "filesink", "location="+out)
	gout := &proctest.SyncBuffer{}
	rec.Stdout, rec.Stderr = gout, gout
	if err := rec.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = rec.Process.Kill(); _ = rec.Wait() }()
	if code, stderr := wait(); code != 0 {
		t.Fatalf("jingle call --rtp-out: exit %d: %s", code, stderr)
	}
	// -e: Ctrl-C sends end-of-stream, so wavenc completes the file.
	_ = rec.Process.Signal(os.Interrupt)
	if err := rec.Wait(); err != nil {
		t.Fatalf("gst-launch-1.0: %v: %s", err, gout.String())
	}
	checkTone(t, ctx, out, 660, "GStreamer's recording of the call")
}

// TestAnswerRTPOut: `jingle answer --rtp-out --record PREFIX` forwards
// the caller's 523 Hz tone and records it; the SDP file defaults to
// PREFIX.sdp beside the recording, and ffmpeg records from it.
func TestAnswerRTPOut(t *testing.T) {
	e := newEnv(t)
	bob := e.srv.NewAccount(t, "bob")
	bpw := writeFile(t, e.dir, "bob.pw", bob.Password)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	tone := filepath.Join(e.dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 523, 20*time.Second); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", proctest.QuietPorts(t, 2))
	rec := filepath.Join(e.dir, "answered")
	ans, sc, aerr := e.startCLI(t, ctx, bob.JID, bpw, nil, "answer", "--rtp-out", addr, "--record", rec, "--count", "1", "--loopback", "--no-discover")
	lines, wait := e.startCall(t, ctx, bob.JID, "--audio", tone, "--duration", "12s", "--loopback", "--no-discover", "--json")
	var ev map[string]any
	for ev == nil && sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil && m["event"] == "rtp-out" {
			ev = m
		}
	}
	if ev == nil || ev["sdp"] != rec+".sdp" || ev["addr"] != addr {
		t.Fatalf("answer's rtp-out event %v, want %s described in %s.sdp: %s", ev, addr, rec, aerr.String())
	}
	out := filepath.Join(e.dir, "ffmpeg.wav")
	ffmpegRecord(t, ctx, rec+".sdp", out)
	for range lines {
	}
	if code, stderr := wait(); code != 0 {
		t.Fatalf("jingle call: exit %d: %s", code, stderr)
	}
	for sc.Scan() {
	}
	if err := ans.Wait(); err != nil {
		t.Fatalf("jingle answer: %v: %s", err, aerr.String())
	}
	checkTone(t, ctx, out, 523, "ffmpeg's recording of what jingle answer forwarded")
	checkTone(t, ctx, rec+".ogg", 523, "jingle answer's own recording")
}

// TestRTPOutVideo: a video content is forwarded to PORT+2 with its VP8
// payload type, the SDP file says so, and ffmpeg decodes the play
// account's red picture from it.
func TestRTPOutVideo(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	red := filepath.Join(e.dir, "red.ivf")
	if err := mediatest.ColourVP8(ctx, red, "red", 20, 15); err != nil {
		t.Fatal(err)
	}
	play, acct := e.account(t, "play", fmt.Sprintf("file = %q", red))
	e.loopbackDaemon(t, acct)

	port := proctest.QuietPorts(t, 2)
	sdp := filepath.Join(e.dir, "call.sdp")
	lines, wait := e.startCall(t, ctx, play.JID, "--receive-video", "--rtp-out", fmt.Sprintf("127.0.0.1:%d", port), "--rtp-sdp", sdp,
		"--duration", "12s", "--loopback", "--no-discover", "--json")
	ev := waitEvent(t, lines, "rtp-out", wait)
	pt := int(ev["payload_type"].(float64))
	if ev["media"] != "video" || ev["codec"] != "VP8" || ev["addr"] != fmt.Sprintf("127.0.0.1:%d", port+2) {
		t.Fatalf("rtp-out event %v, want VP8 video on port %d", ev, port+2)
	}
	b, err := os.ReadFile(sdp)
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range []string{fmt.Sprintf("m=video %d RTP/AVP %d\r\n", port+2, pt), fmt.Sprintf("a=rtpmap:%d VP8/90000\r\n", pt)} {
		if !strings.Contains(string(b), l) {
			t.Fatalf("SDP file lacks %q:\n%s", l, b)
		}
	}
	out := filepath.Join(e.dir, "ffmpeg.ivf")
	ffmpegRecord(t, ctx, sdp, out)
	if code, stderr := wait(); code != 0 {
		t.Fatalf("jingle call --rtp-out: exit %d: %s", code, stderr)
	}
	cs, err := mediatest.FrameColours(ctx, out)
	if err != nil {
		t.Fatal(err)
	}
	reds := 0
	for _, c := range cs {
		if c.Name() == "red" {
			reds++
		}
	}
	if len(cs) < 20 || reds < len(cs)*9/10 {
		t.Fatalf("ffmpeg decoded %d frames, %d of them red", len(cs), reds)
	}
	t.Logf("%d frames, %d red", len(cs), reds)
}
