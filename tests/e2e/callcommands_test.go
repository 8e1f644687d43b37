package e2e

// Issue 18, deliverable 3: commands typed on a running call's standard
// input (video on/off, hold/unhold, …), their outcome and the peer's
// events printed with --json.

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/proctest"
)

// commandsCall starts `jingle answer` as bob (answerArgs added) and then
// `jingle call` to bob as alice (callArgs added), both with --json and
// a pipe as standard input, and waits until the callee receives audio.
func (e *env) commandsCall(t *testing.T, ctx context.Context, answerArgs, callArgs []string) (caller, callee *proctest.Proc) {
	t.Helper()
	bob := e.srv.NewAccount(t, "bob")
	bpw := writeFile(t, e.dir, "bob.pw", bob.Password)
	callee = proctest.StartCLIInput(t, bin("jingle"), append(append([]string{"answer", "--count", "1"}, answerArgs...),
		"--jid", bob.JID, "--password-file", bpw, "--server", e.srv.Addr, "--ca", e.srv.CAFile, "--loopback", "--no-discover", "--json")...)
	callee.Event(ctx, t, "ready")
	caller = proctest.StartCLIInput(t, bin("jingle"), e.cli(append(append([]string{"call", bob.JID}, callArgs...), "--loopback", "--no-discover", "--json")...)...)
	callee.EventWhere(ctx, t, "media", cmdField("content", "audio"))
	return caller, callee
}

// cmdField matches an event whose key k is v.
func cmdField(k string, v any) func(map[string]any) bool {
	return func(m map[string]any) bool { return m[k] == v }
}

// cmdSend writes a command line to p's standard input.
func cmdSend(t *testing.T, p *proctest.Proc, line string) {
	t.Helper()
	if _, err := fmt.Fprintln(p.Stdin, line); err != nil {
		t.Fatalf("writing %q to %s: %v", line, p.Cmd.Args[1], err)
	}
}

// cmdRun sends line to p and returns the outcome ("command" event) of
// the command verb, failing t unless it is ok.
func cmdRun(t *testing.T, ctx context.Context, p *proctest.Proc, line, verb string) map[string]any {
	t.Helper()
	cmdSend(t, p, line)
	m := p.EventWhere(ctx, t, "command", cmdField("command", verb))
	if m["ok"] != true {
		t.Fatalf("%q to %s: %v", line, p.Cmd.Args[1], m)
	}
	return m
}

// cmdReceived asks p for its statistics (the stats command) and returns
// the RTP packets it received so far.
func cmdReceived(t *testing.T, ctx context.Context, p *proctest.Proc) uint64 {
	t.Helper()
	cmdSend(t, p, "stats")
	m := p.Event(ctx, t, "stats")
	st, _ := m["stats"].(map[string]any)
	n, ok := st["packets_received"].(float64)
	if !ok {
		t.Fatalf("stats event without packets_received: %v", m)
	}
	return uint64(n)
}

// cmdVideoReceived is the RTP packets p received on content's stream.
func cmdVideoReceived(t *testing.T, ctx context.Context, p *proctest.Proc, content string) uint64 {
	t.Helper()
	cmdSend(t, p, "stats")
	m := p.Event(ctx, t, "stats")
	st, _ := m["stats"].(map[string]any)
	streams, _ := st["streams"].([]any)
	for _, s := range streams {
		if s, ok := s.(map[string]any); ok && s["content"] == content {
			n, _ := s["packets_received"].(float64)
			return uint64(n)
		}
	}
	return 0
}

// cmdHangUp ends the call from the caller's side and checks both exit 0.
func cmdHangUp(t *testing.T, ctx context.Context, caller, callee *proctest.Proc) {
	t.Helper()
	cmdRun(t, ctx, caller, "hangup", "hangup")
	if code := caller.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("jingle call exited %d: %s", code, caller.Stderr.String())
	}
	if code := callee.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("jingle answer exited %d: %s", code, callee.Stderr.String())
	}
}

// TestCallCommandVideoOnOff: an audio call gains video mid-call from
// `video on FILE` typed to the caller; the callee's recording gets
// decodable frames; `video off` removes it, with content-remove printed
// on both sides. An unknown command prints the valid ones and the call
// goes on.
func TestCallCommandVideoOnOff(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	tone := filepath.Join(e.dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 440, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	video := filepath.Join(e.dir, "cam.ivf")
	if err := mediatest.TestsrcVP8(ctx, video, 450, 15, 160, 120); err != nil {
		t.Fatal(err)
	}
	rec := filepath.Join(e.dir, "rec")
	caller, callee := e.commandsCall(t, ctx, []string{"--record", rec}, []string{"--audio", tone})

	cmdSend(t, caller, "dance")
	m := caller.EventWhere(ctx, t, "command", cmdField("command", "dance"))
	if msg, _ := m["error"].(string); m["ok"] != false || !strings.Contains(msg, "video on [FILE], video off, hold, unhold, mute") {
		t.Fatalf("unknown command: %v", m)
	}

	m = cmdRun(t, ctx, caller, "video on "+video, "video-on")
	content, _ := m["arg"].(string)
	if content == "" {
		t.Fatalf("video on names no content: %v", m)
	}
	callee.EventWhere(ctx, t, "content-add", cmdField("content", content))
	callee.EventWhere(ctx, t, "media", cmdField("content", content))
	// Let some frames through (a count, not a time).
	for i := 0; cmdVideoReceived(t, ctx, callee, content) < 60; i++ {
		if i == 100 {
			t.Fatalf("the callee received fewer than 60 video packets on %s", content)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmdRun(t, ctx, caller, "video off", "video-off")
	caller.EventWhere(ctx, t, "content-remove", cmdField("content", content))
	callee.EventWhere(ctx, t, "content-remove", cmdField("content", content))
	// The call goes on with audio after the video is gone.
	before := cmdReceived(t, ctx, callee)
	for i := 0; cmdReceived(t, ctx, callee) <= before; i++ {
		if i == 100 {
			t.Fatal("audio stopped after video off")
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmdHangUp(t, ctx, caller, callee)

	n, err := mediatest.DecodeVideo(ctx, rec+".ivf")
	if err != nil || n == 0 {
		t.Fatalf("the callee's recording %s.ivf: %d decodable frames (%v)", rec, n, err)
	}
	t.Logf("%s.ivf: %d frames decoded", rec, n)
	if a, err := mediatest.AnalyzeAudio(ctx, rec+".ogg"); err != nil || a.Frequency < 430 || a.Frequency > 450 {
		t.Fatalf("the callee's audio recording: %+v (%v), want 440 Hz", a, err)
	}
}

// TestCallCommandHold: `hold` typed to the caller stops the media both
// ways (both sides' received packet counters stop growing), the callee
// prints hold; `unhold` makes both grow again and the callee prints
// unhold. Counts are compared, no duration is measured.
func TestCallCommandHold(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	low := filepath.Join(e.dir, "low.ogg")
	high := filepath.Join(e.dir, "high.ogg")
	if err := mediatest.SineOpus(ctx, low, 440, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	if err := mediatest.SineOpus(ctx, high, 880, 60*time.Second); err != nil {
		t.Fatal(err)
	}
	caller, callee := e.commandsCall(t, ctx, []string{"--audio", high, "--record", filepath.Join(e.dir, "rec")}, []string{"--audio", low})
	caller.EventWhere(ctx, t, "media", cmdField("content", "audio"))
	both := func() [2]uint64 { return [2]uint64{cmdReceived(t, ctx, caller), cmdReceived(t, ctx, callee)} }

	cmdRun(t, ctx, caller, "hold", "hold")
	callee.Event(ctx, t, "hold")
	// Eventually nothing arrives either way: two readings a second apart
	// agree on both sides (packets in flight at the hold may still land).
	var held [2]uint64
	for i := 0; ; i++ {
		a := both()
		time.Sleep(time.Second)
		held = both()
		if held == a {
			break
		}
		if i == 15 {
			t.Fatalf("media kept flowing on hold: received (caller, callee) %v then %v", a, held)
		}
	}
	cmdRun(t, ctx, caller, "unhold", "unhold")
	callee.Event(ctx, t, "unhold")
	for i := 0; ; i++ {
		now := both()
		if now[0] > held[0] && now[1] > held[1] {
			break
		}
		if i == 100 {
			t.Fatalf("media did not resume both ways after unhold: received (caller, callee) %v on hold, %v now", held, now)
		}
		time.Sleep(100 * time.Millisecond)
	}
	cmdHangUp(t, ctx, caller, callee)
}
