package resilience

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/proctest"
)

// TestReceiverDiskFullMidTransfer (issue 17 acceptance): the receiver's
// disk fills up in the middle of a file (a small tmpfs, filled by
// another writer while the sender is stopped, so the offer's free-space
// check passed). `jingle receive` reports the file failed with what is
// full, how far it got and what to do; the sender is told why; no file
// appears under the sent name, and the partial file holds exactly the
// first bytes of the file. Once space is freed, the same file sent again
// resumes from the partial and arrives whole.
func TestReceiverDiskFullMidTransfer(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounting a small tmpfs needs root; make test runs the suite as root in a namespace (scripts/in-netns.sh)")
	}
	l := newLab(t)
	ctx := testCtx(t, 3*time.Minute)
	alice, bob := l.user(t, "alice"), l.user(t, "bob")
	inbox := filepath.Join(l.dir, "inbox")
	if err := os.Mkdir(inbox, 0o700); err != nil {
		t.Fatal(err)
	}
	// An offer is accepted when its size plus 64 MiB to spare fits
	// (filetransfer's spareBytes): 8 MiB into 80 MiB does.
	if err := syscall.Mount("tmpfs", inbox, "tmpfs", 0, "size=80m,mode=0700"); err != nil {
		t.Fatalf("mounting a tmpfs on %s: %v", inbox, err)
	}
	t.Cleanup(func() { _ = syscall.Unmount(inbox, syscall.MNT_DETACH) })
	recv := l.start(ctx, t, bob, "receive", "--resource", "rx", "--dir", inbox, "--count", "2")

	const size = 8 << 20
	src := filepath.Join(l.dir, "big.bin")
	sum := proctest.RandomFile(t, src, size)
	send := proctest.StartCLI(t, bin(t, "jingle"), l.args(alice, "send", bob.JID+"/rx", src, "--transport", "ibb")...)
	partial := waitPartial(ctx, t, inbox, 512<<10, nil, send.Lines)
	// The sender holds still while the disk fills, so the file cannot
	// be complete before it is full.
	if err := send.Signal(syscall.SIGSTOP); err != nil {
		t.Fatal(err)
	}
	filler := filepath.Join(inbox, "filler")
	fill(t, filler)
	if err := send.Signal(syscall.SIGCONT); err != nil {
		t.Fatal(err)
	}

	failed := recv.Event(ctx, t, "summary")
	msg, _ := failed["error"].(string)
	for _, want := range []string{inbox + " is full after ", " of 8388608 bytes of big.bin", "free space there and have the file sent again to resume"} {
		if !strings.Contains(msg, want) {
			t.Errorf("receive's error %q lacks %q", msg, want)
		}
	}
	if code := send.Wait(t, time.Minute); code == 0 {
		t.Fatal("send succeeded into a full disk")
	} else if !strings.Contains(send.Stderr.String(), "is full after") {
		t.Errorf("send exited %d without the receiver's reason: %s", code, send.Stderr.String())
	}
	if got := entries(t, inbox); !slices.Equal(got, []string{partial, "filler"}) {
		t.Fatalf("after the failure the inbox holds %v, want the partial %s and the filler", got, partial)
	}
	have, err := os.ReadFile(filepath.Join(inbox, partial))
	if err != nil {
		t.Fatal(err)
	}
	want, err := os.ReadFile(src)
	if err != nil {
		t.Fatal(err)
	}
	if len(have) < 512<<10 || len(have) >= size || !bytes.Equal(have, want[:len(have)]) {
		t.Fatalf("the partial file holds %d bytes that are not the file's first bytes", len(have))
	}

	if err := os.Remove(filler); err != nil {
		t.Fatal(err)
	}
	out, stderr, code, err := proctest.RunCLI(ctx, bin(t, "jingle"), l.args(alice, "send", bob.JID+"/rx", src, "--transport", "ibb")...)
	if code != 0 {
		t.Fatalf("send after freeing space: exit %d (%v): %s %v", code, err, stderr, out)
	}
	done := recv.Event(ctx, t, "summary")
	if offset, _ := done["offset"].(float64); int(offset) != len(have) {
		t.Errorf("the second send resumed from byte %v, want %d (the partial's size)", done["offset"], len(have))
	}
	if code := recv.Wait(t, time.Minute); code != 0 {
		t.Fatalf("receive exited %d: %s", code, recv.Stderr.String())
	}
	if got := proctest.FileSHA256(t, filepath.Join(inbox, "big.bin")); got != sum {
		t.Fatalf("received sha-256 %s, sent %s", got, sum)
	}
}

// fill writes zeros to path until the filesystem is full.
func fill(t *testing.T, path string) {
	t.Helper()
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	block := make([]byte, 64<<10)
	for {
		if _, err := f.Write(block); err != nil {
			if !errors.Is(err, syscall.ENOSPC) {
				t.Fatalf("filling %s: %v", path, err)
			}
			return
		}
	}
}
