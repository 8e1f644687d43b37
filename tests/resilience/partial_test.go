package resilience

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/proctest"
)

// resumablePartial is the name of a partial file kept for a resume.
var resumablePartial = regexp.MustCompile(`^\.jingle-[0-9a-f]{24}\.part$`)

// entries lists dir's names.
func entries(t *testing.T, dir string) []string {
	t.Helper()
	des, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, de := range des {
		out = append(out, de.Name())
	}
	return out
}

// TestKilledSenderLeavesOnlyPartial (issue 17 acceptance): a sender
// SIGKILLed in the middle of a file leaves no file under its name in the
// receiver's directory, only the resumable partial. A second receive
// started on the same directory does not touch it, however old, while
// the first still holds it; once that one has crashed too (SIGKILL),
// a start with a --partial-max-age longer than the partial's age keeps it
// for a resume, and one shorter removes it.
func TestKilledSenderLeavesOnlyPartial(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	alice, bob := l.user(t, "alice"), l.user(t, "bob")
	inbox := filepath.Join(l.dir, "inbox")
	first := l.start(ctx, t, bob, "receive", "--resource", "first", "--dir", inbox)

	// IBB (base64 through Prosody) is slow enough to be caught midway.
	src := filepath.Join(l.dir, "big.bin")
	proctest.RandomFile(t, src, 48<<20)
	sender := exec.Command(bin(t, "jingle"), l.args(alice, "send", bob.JID+"/first", src, "--transport", "ibb")...)
	senderOut := &proctest.SyncBuffer{}
	sender.Stdout, sender.Stderr = senderOut, senderOut
	if err := sender.Start(); err != nil {
		t.Fatal(err)
	}
	senderDone := make(chan struct{})
	go func() { _ = sender.Wait(); close(senderDone) }()
	t.Cleanup(func() { _ = sender.Process.Kill(); <-senderDone })
	partial := waitPartial(ctx, t, inbox, 256<<10, senderDone, senderOut)
	_ = sender.Process.Kill() // the sender crashes mid-transfer
	<-senderDone

	if got := entries(t, inbox); !slices.Equal(got, []string{partial}) || !resumablePartial.MatchString(partial) {
		t.Fatalf("after the sender died the inbox holds %v, want only a resumable partial", got)
	}
	// Make it look old: only a holder's lock may save it now.
	old := time.Now().Add(-time.Hour)
	if err := os.Chtimes(filepath.Join(inbox, partial), old, old); err != nil {
		t.Fatal(err)
	}

	second := l.start(ctx, t, bob, "receive", "--resource", "second", "--dir", inbox, "--partial-max-age", "1m")
	if got := entries(t, inbox); !slices.Equal(got, []string{partial}) {
		t.Fatalf("a second receive removed the partial the first still holds: %v", got)
	}
	_ = second.Signal(syscall.SIGTERM)
	second.Wait(t, time.Minute)

	_ = first.Signal(syscall.SIGKILL) // the receiver crashes too
	first.Wait(t, time.Minute)
	// Old again: IBB blocks the sender had already handed to Prosody may
	// have reached the first receiver, and been written, after the first
	// Chtimes (seen in CI on a loaded machine).
	if err := os.Chtimes(filepath.Join(inbox, partial), old, old); err != nil {
		t.Fatal(err)
	}

	keep := l.start(ctx, t, bob, "receive", "--resource", "third", "--dir", inbox, "--partial-max-age", "2h")
	if got := entries(t, inbox); !slices.Equal(got, []string{partial}) {
		t.Fatalf("a partial younger than --partial-max-age was removed: %v", got)
	}
	_ = keep.Signal(syscall.SIGTERM)
	keep.Wait(t, time.Minute)

	clean := l.start(ctx, t, bob, "receive", "--resource", "fourth", "--dir", inbox, "--partial-max-age", "30m")
	ev := clean.Event(ctx, t, "partials-removed")
	if removed, _ := ev["removed"].([]any); len(removed) != 1 || removed[0] != partial {
		t.Fatalf("partials-removed event %v, want [%s]", ev, partial)
	}
	if got := entries(t, inbox); len(got) != 0 {
		t.Fatalf("after the clean-up the inbox holds %v", got)
	}
}

// waitPartial waits until dir holds a partial file of at least n bytes
// and returns its name; it fails t if the sender exits first.
func waitPartial(ctx context.Context, t *testing.T, dir string, n int64, senderDone <-chan struct{}, out *proctest.SyncBuffer) string {
	t.Helper()
	for {
		des, _ := os.ReadDir(dir)
		for _, de := range des {
			if fi, err := de.Info(); err == nil && filepath.Ext(de.Name()) == ".part" && fi.Size() >= n {
				return de.Name()
			}
		}
		select {
		case <-senderDone:
			t.Fatalf("the sender ended before %d bytes were in a partial file: %s", n, out.String())
		case <-ctx.Done():
			t.Fatalf("no partial file of %d bytes: %v", n, ctx.Err())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// TestFiledropCleansPartialsAtStart: jingled's filedrop cleans its
// directory at start as receive does: a partial file older than
// partial_max_age goes, a younger one stays for its sender's resume,
// and received files are not touched.
func TestFiledropCleansPartialsAtStart(t *testing.T) {
	l := newLab(t)
	drop := l.user(t, "drop")
	dir := filepath.Join(l.dir, "drop")
	if err := os.MkdirAll(dir, 0o700); err != nil {
		t.Fatal(err)
	}
	old := time.Now().Add(-2 * time.Hour)
	for _, f := range []struct {
		name  string
		mtime time.Time
	}{
		{".jingle-00000000000000000000000a.part", old},
		{".jingle-tmp-00000000000000000000000b.part", old},
		{".jingle-00000000000000000000000c.part", time.Now()},
		{"report.pdf", old},
	} {
		p := filepath.Join(dir, f.name)
		if err := os.WriteFile(p, []byte("bytes"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Chtimes(p, f.mtime, f.mtime); err != nil {
			t.Fatal(err)
		}
	}
	httpPort := proctest.FreePort(t)
	cfg := filepath.Join(l.dir, "jingled.toml")
	config := proctest.JingledConfig(httpPort, false,
		proctest.Account(drop.JID, drop.pwFile, l.srv.Addr, l.srv.CAFile, "filedrop", "dir = "+strconv.Quote(dir), `partial_max_age = "1h"`))
	if err := os.WriteFile(cfg, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	proctest.StartJingled(t, bin(t, "jingled"), cfg, httpPort) // healthy: the role is set up
	if got, want := entries(t, dir), []string{".jingle-00000000000000000000000c.part", "report.pdf"}; !slices.Equal(got, want) {
		t.Fatalf("after jingled started the drop directory holds %v, want %v", got, want)
	}
}
