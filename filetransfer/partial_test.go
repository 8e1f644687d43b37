package filetransfer_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/jingle"
)

const mallory = "mallory@evil.example/x"

// partials lists the .part files left in dir.
func partials(t *testing.T, dir string) []string {
	t.Helper()
	var out []string
	for _, n := range listDir(t, dir) {
		if strings.HasSuffix(n, ".part") {
			out = append(out, n)
		}
	}
	return out
}

// TestPartialNotSharedAcrossSenders: one sender's broken transfer must not
// become the head of another sender's file of the same name and size. The
// review's reproduction: mallory sends "EVIL" of an 8-byte report.pdf (no
// hash, as Dino offers) and hangs up; alice's offer of the same name and
// size was resumed at offset 4 and "EVILGOOD" was published.
func TestPartialNotSharedAcrossSenders(t *testing.T) {
	r := newRouter(t)
	m := newPeer(t, r, mallory, peerOpts{})
	a := newPeer(t, r, alice, peerOpts{})
	b := newPeer(t, r, bob, peerOpts{})
	file := filetransfer.File{Name: "report.pdf", Size: 8, Range: &filetransfer.Range{}}
	if reason := sendRaw(t, m, bob, rawOffer{file: file, payload: []byte("EVIL"), hangUp: true}); reason == nil || reason.Condition == jingle.ReasonSuccess {
		t.Fatalf("broken transfer ended with %v", reason)
	}
	if res := waitResult(t, b); res.Err == nil {
		t.Fatal("receiver completed a broken transfer")
	}
	if reason := sendRaw(t, a, bob, rawOffer{file: file, payload: []byte("GOODGOOD")}); reason == nil || reason.Condition != jingle.ReasonSuccess {
		t.Fatalf("alice's transfer ended with %v", reason)
	}
	res := waitResult(t, b)
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	got, err := os.ReadFile(res.Path)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != "GOODGOOD" || res.Offset != 0 {
		t.Fatalf("published %q (resumed at %d), want alice's GOODGOOD from 0", got, res.Offset)
	}
	// Without a hash nothing could ever be resumed: the broken
	// transfer's bytes are gone, not waiting for a later offer.
	if ps := partials(t, b.dir); len(ps) != 0 {
		t.Fatalf("partial files left: %v", ps)
	}
}

// TestNoResumeWithoutRange: XEP-0234 §8, <range/> in an offer says the
// sender can resume. Dino offers none and always sends from byte 0, so
// after a broken transfer its next offer of the same file must be
// accepted whole, not answered with an offset it will ignore (which made
// the data overrun the declared size: media-error).
func TestNoResumeWithoutRange(t *testing.T) {
	r := newRouter(t)
	a := newPeer(t, r, alice, peerOpts{})
	b := newPeer(t, r, bob, peerOpts{})
	data := []byte("0123456789abcdef")
	file := filetransfer.File{Name: "dino.bin", Size: int64(len(data)), Hashes: sum256(data)}
	if reason := sendRaw(t, a, bob, rawOffer{file: file, payload: data[:6], hangUp: true}); reason == nil || reason.Condition == jingle.ReasonSuccess {
		t.Fatalf("broken transfer ended with %v", reason)
	}
	if res := waitResult(t, b); res.Err == nil {
		t.Fatal("receiver completed a broken transfer")
	}
	if reason := sendRaw(t, a, bob, rawOffer{file: file, payload: data}); reason == nil || reason.Condition != jingle.ReasonSuccess {
		t.Fatalf("second offer ended with %v", reason)
	}
	res := waitResult(t, b)
	checkReceived(t, res, data)
	if res.Offset != 0 {
		t.Fatalf("resumed at %d an offer without <range/>", res.Offset)
	}
	if ps := partials(t, b.dir); len(ps) != 0 {
		t.Fatalf("partial files left: %v", ps)
	}
}

// openIn lists this process's open files under dir (Linux /proc).
func openIn(t *testing.T, dir string) []string {
	t.Helper()
	fds, err := os.ReadDir("/proc/self/fd")
	if err != nil {
		t.Skip("no /proc/self/fd:", err)
	}
	var out []string
	for _, fd := range fds {
		target, err := os.Readlink(filepath.Join("/proc/self/fd", fd.Name()))
		if err == nil && strings.HasPrefix(target, dir+string(filepath.Separator)) {
			out = append(out, target)
		}
	}
	return out
}

// TestDeclinedRequestLeavesNothing: a pull the peer declines (or that is
// cancelled before the accept) closes and removes the partial file the
// request had opened: no descriptor and no .part per refused request.
func TestDeclinedRequestLeavesNothing(t *testing.T) {
	r := newRouter(t)
	a := newPeer(t, r, alice, peerOpts{}) // serves nothing: declines every request
	b := newPeer(t, r, bob, peerOpts{})
	data := []byte("some file alice does not serve")
	want := filetransfer.File{Name: "wanted.bin", Size: int64(len(data)), Hashes: sum256(data)}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, f := range []filetransfer.File{want, {Name: "unknown.bin", Size: -1}} {
		if _, err := b.app.Request(ctx, b.m, alice, f, filetransfer.RequestOptions{}); !errors.Is(err, filetransfer.ErrDeclined) {
			t.Fatalf("request of %s: %v", f.Name, err)
		}
		if r := waitResult(t, a); r.Err == nil {
			t.Fatal("the refusing side reported success")
		}
		if fs := openIn(t, b.dir); len(fs) != 0 {
			t.Fatalf("declined request of %s left open: %v", f.Name, fs)
		}
		if es := listDir(t, b.dir); len(es) != 0 {
			t.Fatalf("declined request of %s left %v", f.Name, es)
		}
	}
}
