package resilience

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/proctest"
)

// TestListenersExitWhenServerGone (issue 17 acceptance): Prosody stopped
// for good under a waiting `jingle receive` and `jingle answer` with
// --reconnect-for 5s: each reports the loss and its attempts, then exits
// 4 with when the connection was lost, for how long it tried, the last
// error and the flag to wait longer. Before, they logged "stopped
// reconnecting" and lived on, listening to nothing.
func TestListenersExitWhenServerGone(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 2*time.Minute)
	bob, carol := l.user(t, "bob"), l.user(t, "carol")
	recv := l.start(ctx, t, bob, "receive", "--dir", filepath.Join(l.dir, "inbox"), "--reconnect-for", "5s")
	ans := l.start(ctx, t, carol, "answer", "--echo", "--reconnect-for", "5s")
	if err := l.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	for _, p := range []*proctest.Proc{recv, ans} {
		name := p.Cmd.Args[1]
		p.Event(ctx, t, "disconnected")
		// Each attempt is reported; once Prosody is gone, as refused.
		for {
			if e := p.Event(ctx, t, "reconnecting"); strings.Contains(fmt.Sprint(e["error"]), "refused") {
				break
			}
		}
		// The bound is 5 s; a minute is only the test's patience.
		if code := p.Wait(t, time.Minute); code != 4 {
			t.Fatalf("%s exited %d, want 4 (%s)", name, code, p.Stderr.String())
		}
		msg := p.Stderr.String()
		for _, want := range []string{"lost the connection to " + l.srv.Addr + " at ", "could not reconnect for 5s", "connection refused", "is the server up?", "--reconnect-for"} {
			if !strings.Contains(msg, want) {
				t.Errorf("%s: exit message %q lacks %q", name, msg, want)
			}
		}
	}
}

// TestListenersSurviveServerRestart (issue 17 acceptance): Prosody stopped
// for 10 s and started again: `jingle receive` reconnects by itself (its
// resource kept) and the next `jingle send` file arrives whole; `jingle
// answer` reconnects too and answers the next call. jingled's account,
// beside them, is back as well: a daemon never gives up (10 s down is
// more attempts than the CLI's login allows).
func TestListenersSurviveServerRestart(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	alice, bob, carol, echo := l.user(t, "alice"), l.user(t, "bob"), l.user(t, "carol"), l.user(t, "echo")
	httpPort := proctest.FreePort(t)
	cfg := filepath.Join(l.dir, "jingled.toml")
	config := proctest.JingledConfig(httpPort, false, proctest.Account(echo.JID, echo.pwFile, l.srv.Addr, l.srv.CAFile, "echo"))
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	d := proctest.StartJingled(t, bin(t, "jingled"), cfg, httpPort)
	connected := func() float64 {
		m, err := d.Metrics()
		if err != nil {
			t.Fatal(err)
		}
		return proctest.MetricValue(m, "jingled_xmpp_connected", `role="echo"`)
	}
	if v := connected(); v != 1 {
		t.Fatalf("jingled_xmpp_connected{role=echo} = %v before the restart", v)
	}

	inbox := filepath.Join(l.dir, "inbox")
	recv := l.start(ctx, t, bob, "receive", "--resource", "rx", "--dir", inbox, "--count", "1", "--reconnect-for", "2m")
	ans := l.start(ctx, t, carol, "answer", "--echo", "--resource", "ans", "--count", "1", "--reconnect-for", "2m")
	if err := l.srv.Stop(); err != nil {
		t.Fatal(err)
	}
	recv.Event(ctx, t, "disconnected")
	ans.Event(ctx, t, "disconnected")
	waitUntil(ctx, t, "jingled to see the loss", func() bool { return connected() == 0 })
	time.Sleep(10 * time.Second) // the server is down for 10 s
	if err := l.srv.Resume(ctx); err != nil {
		t.Fatal(err)
	}
	recv.Event(ctx, t, "reconnected")
	ans.Event(ctx, t, "reconnected")

	src := filepath.Join(l.dir, "after-restart.bin")
	sum := proctest.RandomFile(t, src, 1<<20)
	out, stderr, code, err := proctest.RunCLI(ctx, bin(t, "jingle"), l.args(alice, "send", bob.JID+"/rx", src)...)
	if code != 0 {
		t.Fatalf("send after the restart: exit %d (%v): %s %v", code, err, stderr, out)
	}
	if code := recv.Wait(t, time.Minute); code != 0 {
		t.Fatalf("receive exited %d: %s", code, recv.Stderr.String())
	}
	if got := proctest.FileSHA256(t, filepath.Join(inbox, "after-restart.bin")); got != sum {
		t.Fatalf("received sha-256 %s, sent %s", got, sum)
	}

	out, stderr, code, err = proctest.RunCLI(ctx, bin(t, "jingle"), l.args(alice, "call", carol.JID+"/ans", "--duration", "2s")...)
	if sum := proctest.Last(proctest.JSONLines(out, false)); code != 0 || sum["reason"] != "success" {
		t.Fatalf("call after the restart: exit %d (%v): %s %v", code, err, stderr, sum)
	}
	if code := ans.Wait(t, time.Minute); code != 0 {
		t.Fatalf("answer exited %d: %s", code, ans.Stderr.String())
	}
	waitUntil(ctx, t, "jingled's account to reconnect", func() bool { return connected() == 1 })
}

// waitUntil polls cond until it holds, failing t when ctx ends first.
func waitUntil(ctx context.Context, t *testing.T, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %s: %v", what, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}
