package resilience

import (
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/proctest"
)

// TestServerRestartMidTransfer (issue 17 acceptance): Prosody restarted
// while a file crosses it (IBB): `jingle send` and `jingle receive`
// reconnect by themselves, the sender offers the file again and the
// receiver's accept carries the range its partial file lacks, so the
// transfer resumes from where it stopped instead of from byte 0; the
// received file's sha-256 is the sent one. Before, the sender exited 7
// and the receiver's session waited on its dead IBB stream, holding the
// partial file. The receiver is held (SIGSTOP) through the restart so
// that it comes back after the sender, whose first offers then find it
// offline: the sender waits for it instead of giving up (seen when
// the receiver's reconnection backoff happened to be the longer one).
func TestServerRestartMidTransfer(t *testing.T) {
	l := newLab(t)
	ctx := testCtx(t, 4*time.Minute)
	alice, bob := l.user(t, "alice"), l.user(t, "bob")
	inbox := filepath.Join(l.dir, "inbox")
	recv := l.start(ctx, t, bob, "receive", "--resource", "rx", "--dir", inbox, "--count", "1", "--reconnect-for", "2m")

	const size = 16 << 20
	src := filepath.Join(l.dir, "big.bin")
	sum := proctest.RandomFile(t, src, size)
	send := proctest.StartCLI(t, bin(t, "jingle"), l.args(alice, "send", bob.JID+"/rx", src, "--transport", "ibb")...)
	// Past 1 MiB, the server goes away and comes back.
	waitPartial(ctx, t, inbox, 1<<20, nil, send.Lines)
	if err := recv.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	if err := l.srv.Restart(ctx); err != nil {
		t.Fatal(err)
	}
	resumed := send.Event(ctx, t, "resuming")
	send.Event(ctx, t, "waiting")
	if err := recv.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}
	recv.Event(ctx, t, "disconnected")
	recv.Event(ctx, t, "reconnected")
	recv.Event(ctx, t, "superseded")
	summary := recv.Event(ctx, t, "summary")
	if code := send.Wait(t, 2*time.Minute); code != 0 {
		t.Fatalf("send exited %d: %s", code, send.Stderr.String())
	}
	if code := recv.Wait(t, time.Minute); code != 0 {
		t.Fatalf("receive exited %d: %s", code, recv.Stderr.String())
	}
	offset, _ := summary["offset"].(float64)
	transferred, _ := summary["transferred"].(float64)
	if offset < 1<<20 || offset+transferred != size {
		t.Fatalf("the second offer went from byte %v (%v bytes), want a resume past the first MiB the partial held (sender: %v)", offset, transferred, resumed)
	}
	if got := proctest.FileSHA256(t, filepath.Join(inbox, "big.bin")); got != sum {
		t.Fatalf("received sha-256 %s, sent %s", got, sum)
	}
	if got := entries(t, inbox); !slices.Equal(got, []string{"big.bin"}) {
		t.Fatalf("the inbox holds %v, want only big.bin", got)
	}
}
