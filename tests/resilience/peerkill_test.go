package resilience

import (
	"syscall"
	"testing"
	"time"
)

// TestCallEndsWhenPeerKilled (issue 17 fault matrix: a peer killed
// mid-call): the callee (`jingle answer --echo`) is SIGKILLed while the
// echo flows. Nothing says goodbye: no session-terminate, its TCP
// connection just closes. The caller must not wait forever: it sees the
// path break, its ICE restart offer comes back from Prosody with
// service-unavailable (the full JID is offline), and it ends the call
// with reason gone rather than after all its restart attempts, then
// exits non-zero.
func TestCallEndsWhenPeerKilled(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	c := l.startCall(ctx, t)
	c.poll.stop()
	if err := c.callee.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	killed := time.Now()
	ended := c.caller.Event(ctx, t, "ended")
	t.Logf("caller's call ended %.1f s after the kill: %v", time.Since(killed).Seconds(), ended)
	if ended["reason"] != "gone" {
		t.Fatalf("the call with a killed peer ended %v, want reason gone", ended)
	}
	if code := c.caller.Wait(t, time.Minute); code == 0 {
		t.Fatalf("jingle call exited 0 after its peer was killed: %s", c.caller.Stderr.String())
	}
}
