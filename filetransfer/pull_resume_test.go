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
)

// cutRequest requests name from a by name alone over IBB and cancels
// once half of size has arrived, leaving b a partial file; it returns
// that file's size.
func cutRequest(t *testing.T, a, b *peer, name string, size int) int64 {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := b.app.Request(ctx, b.m, alice, filetransfer.File{Name: name, Size: -1}, filetransfer.RequestOptions{Transport: "ibb",
		Progress: func(done, _ int64) {
			if done >= int64(size/2) {
				cancel()
			}
		}})
	if err == nil {
		t.Fatal("cut request reported success")
	}
	waitResult(t, a)
	var parts []string
	for _, n := range listDir(t, b.dir) {
		if !strings.HasSuffix(n, ".part") {
			t.Fatalf("unverified data published as %s", n)
		}
		parts = append(parts, n)
	}
	if len(parts) != 1 {
		t.Fatalf("partial files after the cut: %v", parts)
	}
	fi, err := os.Stat(filepath.Join(b.dir, parts[0]))
	if err != nil || fi.Size() < int64(size/2) || fi.Size() >= int64(size) {
		t.Fatalf("partial file of %v bytes (%v), want half of %d", fi.Size(), err, size)
	}
	return fi.Size()
}

// TestResumePullByName: a request by name alone (what `jingle fetch`
// knows) that was cut resumes from the partial file when the same name
// is requested again, and the responder's digest checks the whole file.
func TestResumePullByName(t *testing.T) {
	r := newRouter(t)
	const size = 400_000
	path, data := randomFile(t, size)
	a := newPeer(t, r, alice, peerOpts{app: []filetransfer.Option{filetransfer.WithServeDir(filepath.Dir(path))}})
	b := newPeer(t, r, bob, peerOpts{})
	have := cutRequest(t, a, b, filepath.Base(path), size)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := b.app.Request(ctx, b.m, alice, filetransfer.File{Name: filepath.Base(path), Size: -1}, filetransfer.RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkReceived(t, res, data)
	if res.Offset != have || res.Transferred != size-have {
		t.Fatalf("resumed at %d with %d bytes, want %d and %d", res.Offset, res.Transferred, have, size-have)
	}
	if sent := waitResult(t, a); sent.Err != nil || sent.Offset != have {
		t.Fatalf("server side: %+v", sent)
	}
}

// TestResumePullByNameChanged: a file that changed on the responder
// between the cut and the new request fails the digest check, and the
// mixed bytes are deleted, so the request after that starts afresh.
func TestResumePullByNameChanged(t *testing.T) {
	r := newRouter(t)
	const size = 400_000
	path, _ := randomFile(t, size)
	a := newPeer(t, r, alice, peerOpts{app: []filetransfer.Option{filetransfer.WithServeDir(filepath.Dir(path))}})
	b := newPeer(t, r, bob, peerOpts{})
	cutRequest(t, a, b, filepath.Base(path), size)
	newPath, data := randomFile(t, size)
	if err := os.Rename(newPath, path); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := filetransfer.File{Name: filepath.Base(path), Size: -1}
	if _, err := b.app.Request(ctx, b.m, alice, f, filetransfer.RequestOptions{}); !errors.Is(err, filetransfer.ErrHashMismatch) {
		t.Fatalf("resume onto a changed file: %v, want a hash mismatch", err)
	}
	waitResult(t, a)
	if es := listDir(t, b.dir); len(es) != 0 {
		t.Fatalf("mismatched bytes left: %v", es)
	}
	res, err := b.app.Request(ctx, b.m, alice, f, filetransfer.RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkReceived(t, res, data)
	if res.Offset != 0 {
		t.Fatalf("fresh request started at %d", res.Offset)
	}
}
