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

// cmdEvent matches an event named name whose key k is v.
func cmdEvent(name, k string, v any) func(map[string]any) bool {
	return func(m map[string]any) bool { return m["event"] == name && m[k] == v }
}

// cmdAll waits until p printed an event matching each of wants, in any
// order (the events of one command may come either way round), and
// returns them in the order of wants.
func cmdAll(t *testing.T, ctx context.Context, p *proctest.Proc, wants ...func(map[string]any) bool) []map[string]any {
	t.Helper()
	got := make([]map[string]any, len(wants))
	for left := len(wants); left > 0; {
		p.EventWhere(ctx, t, "", func(m map[string]any) bool {
			for i, w := range wants {
				if got[i] == nil && w(m) {
					got[i], left = m, left-1
					return true
				}
			}
			return false
		})
	}
	return got
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
	cmdAll(t, ctx, callee, cmdEvent("content-add", "content", content), cmdEvent("media", "content", content))
	// Let some frames through (a count, not a time).
	for i := 0; cmdVideoReceived(t, ctx, callee, content) < 60; i++ {
		if i == 100 {
			t.Fatalf("the callee received fewer than 60 video packets on %s", content)
		}
		time.Sleep(200 * time.Millisecond)
	}
	cmdSend(t, caller, "video off")
	off := cmdAll(t, ctx, caller, cmdEvent("command", "command", "video-off"), cmdEvent("content-remove", "content", content))
	if off[0]["ok"] != true {
		t.Fatalf("video off: %v", off[0])
	}
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

// TestCallCommandHold: `hold` typed to one side stops the media both
// ways (both sides' received packet counters stop growing) and the other
// side prints hold; `unhold` makes both grow again and the other side
// prints unhold. First the caller holds, then the callee. Counts are
// compared, no duration is measured.
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

	for _, side := range []struct {
		name         string
		holder, peer *proctest.Proc
	}{{"caller", caller, callee}, {"callee", callee, caller}} {
		cmdRun(t, ctx, side.holder, "hold", "hold")
		side.peer.Event(ctx, t, "hold")
		// Eventually nothing arrives either way: two readings a second
		// apart agree on both sides (packets in flight at the hold may
		// still land).
		var held [2]uint64
		for i := 0; ; i++ {
			a := both()
			time.Sleep(time.Second)
			held = both()
			if held == a {
				break
			}
			if i == 15 {
				t.Fatalf("the %s's hold: media kept flowing: received (caller, callee) %v then %v", side.name, a, held)
			}
		}
		cmdRun(t, ctx, side.holder, "unhold", "unhold")
		side.peer.Event(ctx, t, "unhold")
		for i := 0; ; i++ {
			now := both()
			if now[0] > held[0] && now[1] > held[1] {
				break
			}
			if i == 100 {
				t.Fatalf("the %s's unhold: media did not resume both ways: received (caller, callee) %v on hold, %v now", side.name, held, now)
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	cmdHangUp(t, ctx, caller, callee)
}
