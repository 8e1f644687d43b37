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

// interrupt pushes path over IBB and kills the session once half of it
// has been acked, leaving the receiver a partial file.
func interrupt(t *testing.T, a, b *peer, path string, size int) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_, err := a.app.Send(ctx, a.m, bob, path, filetransfer.SendOptions{Transport: "ibb", Progress: func(done, _ int64) {
		if done >= int64(size/2) {
			cancel()
		}
	}})
	if err == nil {
		t.Fatal("interrupted send reported success")
	}
	r := waitResult(t, b)
	if r.Err == nil {
		t.Fatal("receiver completed an interrupted transfer")
	}
	var parts []string
	for _, n := range listDir(t, b.dir) {
		if strings.HasSuffix(n, ".part") {
			parts = append(parts, n)
		} else {
			t.Fatalf("unverified data published as %s", n)
		}
	}
	if len(parts) != 1 {
		t.Fatalf("partial files: %v", parts)
	}
	fi, err := os.Stat(filepath.Join(b.dir, parts[0]))
	if err != nil || fi.Size() < int64(size/2) || fi.Size() >= int64(size) {
		t.Fatalf("partial file %v bytes (%v), want half of %d", fi.Size(), err, size)
	}
}

func TestResumePush(t *testing.T) {
	r := newRouter(t)
	a := newPeer(t, r, alice, peerOpts{})
	b := newPeer(t, r, bob, peerOpts{})
	const size = 400_000
	path, data := randomFile(t, size)
	interrupt(t, a, b, path, size)
	// The same offer again: the receiver's session-accept carries
	// <range offset=N/> and only the rest crosses the wire.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := a.app.Send(ctx, a.m, bob, path, filetransfer.SendOptions{Transport: "s5b"})
	if err != nil {
		t.Fatal(err)
	}
	rr := waitResult(t, b)
	checkReceived(t, rr, data)
	if rr.Offset < size/2 || res.Offset != rr.Offset || res.Transferred != size-res.Offset {
		t.Fatalf("resumed at %d/%d, sent %d", rr.Offset, res.Offset, res.Transferred)
	}
	t.Logf("resumed from offset %d, %d bytes sent", res.Offset, res.Transferred)
}

func TestResumePull(t *testing.T) {
	r := newRouter(t)
	const size = 400_000
	path, data := randomFile(t, size)
	a := newPeer(t, r, alice, peerOpts{app: []filetransfer.Option{filetransfer.WithServeDir(filepath.Dir(path))}})
	b := newPeer(t, r, bob, peerOpts{})
	interrupt(t, a, b, path, size)
	// The receiver requests the file it knows (name, size, hash from the
	// interrupted offer) and gets the rest.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	want := filetransfer.File{Name: filepath.Base(path), Size: size, Hashes: sum256(data)}
	res, err := b.app.Request(ctx, b.m, alice, want, filetransfer.RequestOptions{})
	if err != nil {
		t.Fatal(err)
	}
	checkReceived(t, res, data)
	if res.Offset < size/2 || res.Transferred != size-res.Offset {
		t.Fatalf("pulled from %d, %d bytes", res.Offset, res.Transferred)
	}
	sent := waitResult(t, a)
	if sent.Err != nil || !sent.Sent || sent.Offset != res.Offset {
		t.Fatalf("server side: %+v", sent)
	}
	// A request for a file that is not there is declined.
	_, err = b.app.Request(ctx, b.m, alice, filetransfer.File{Name: "missing.bin", Size: -1}, filetransfer.RequestOptions{})
	if !errors.Is(err, filetransfer.ErrDeclined) {
		t.Fatalf("missing file: %v", err)
	}
}

func TestPolicyDeclines(t *testing.T) {
	r := newRouter(t)
	a := newPeer(t, r, alice, peerOpts{})
	b := newPeer(t, r, bob, peerOpts{app: []filetransfer.Option{filetransfer.WithAutoAccept(filetransfer.AcceptPolicy{MaxSize: 1000, Senders: []string{"carol@example.org"}})}})
	path, _ := randomFile(t, 5000)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := a.app.Send(ctx, a.m, bob, path, filetransfer.SendOptions{}); !errors.Is(err, filetransfer.ErrDeclined) {
		t.Fatalf("send to a refusing peer: %v", err)
	}
	if n := listDir(t, b.dir); len(n) != 0 {
		t.Fatalf("declined offer left %v", n)
	}
}
