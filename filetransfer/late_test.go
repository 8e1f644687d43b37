package filetransfer_test

import (
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/filetransfer/ibb"
	"github.com/jingled/jingled/filetransfer/s5b"
	"github.com/jingled/jingled/jingle"
)

// hookedTransport wraps a transport to steer and watch the handles the
// App makes of it.
type hookedTransport struct {
	jingle.StreamTransport
	beforeHandle func() // runs before each handle is made
	localErr     error  // if set, every handle's Local fails with it
	// wrapConn, if set, wraps the stream of each handle.
	wrapConn func(io.ReadWriteCloser) io.ReadWriteCloser

	mu      sync.Mutex
	handles []*hookedHandle
}

func (t *hookedTransport) NewHandle(ctx context.Context, s jingle.TransportSession, content string) (jingle.TransportHandle, error) {
	if t.beforeHandle != nil {
		t.beforeHandle()
	}
	inner, err := t.StreamTransport.NewHandle(ctx, s, content)
	if err != nil {
		return nil, err
	}
	h := &hookedHandle{TransportHandle: inner, t: t}
	t.mu.Lock()
	t.handles = append(t.handles, h)
	t.mu.Unlock()
	return h, nil
}

// unclosed counts the handles nobody closed.
func (t *hookedTransport) unclosed() (made, open int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, h := range t.handles {
		h.mu.Lock()
		if !h.closed {
			open++
		}
		h.mu.Unlock()
	}
	return len(t.handles), open
}

type hookedHandle struct {
	jingle.TransportHandle
	t      *hookedTransport
	mu     sync.Mutex
	closed bool
}

func (h *hookedHandle) Local(ctx context.Context) (jingle.Element, error) {
	if h.t.localErr != nil {
		return jingle.Element{}, h.t.localErr
	}
	return h.TransportHandle.Local(ctx)
}

func (h *hookedHandle) Conn(ctx context.Context) (io.ReadWriteCloser, error) {
	c, err := h.TransportHandle.Conn(ctx)
	if err != nil || h.t.wrapConn == nil {
		return c, err
	}
	return h.t.wrapConn(c), nil
}

func (h *hookedHandle) Close() error {
	h.mu.Lock()
	h.closed = true
	h.mu.Unlock()
	return h.TransportHandle.Close()
}

// TestReplacementAfterEndIsClosed: the session ends while the responder is
// building the transport a transport-replace asked for. Terminated has
// already closed the handles it knew, so the late one must be closed by
// whoever makes it, or its stream (and goroutine) outlives the session.
func TestReplacementAfterEndIsClosed(t *testing.T) {
	r := newRouter(t)
	blocked := []s5b.Option{s5b.WithDialContext(refuseDial)}
	a := newPeer(t, r, alice, peerOpts{s5b: blocked, features: []string{filetransfer.NS, s5b.NS, ibb.NS}})
	entered, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	hooked := &hookedTransport{beforeHandle: func() {
		once.Do(func() { close(entered) })
		<-release
	}}
	b := newPeer(t, r, bob, peerOpts{s5b: blocked, wrapIBB: func(st jingle.StreamTransport) jingle.StreamTransport {
		hooked.StreamTransport = st
		return hooked
	}})
	path, _ := randomFile(t, 10_000)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	sendCtx, endSend := context.WithCancel(ctx)
	sent := make(chan error, 1)
	go func() {
		_, err := a.app.Send(sendCtx, a.m, bob, path, filetransfer.SendOptions{})
		sent <- err
	}()
	// SOCKS5 fails both ways; alice replaces it with IBB and bob starts
	// building his IBB handle...
	select {
	case <-entered:
	case <-ctx.Done():
		close(release)
		t.Fatal("no transport-replace reached bob")
	}
	// ...when alice gives up: the session ends on both sides.
	endSend()
	if err := <-sent; err == nil {
		t.Fatal("cancelled send reported success")
	}
	if res := waitResult(t, b); res.Err == nil {
		t.Fatal("receiver reported success")
	}
	close(release)
	// App.Close waits for the transfer's goroutines, the replacement's
	// builder included.
	_ = b.app.Close()
	if made, open := hooked.unclosed(); made == 0 || open != 0 {
		t.Fatalf("%d of %d IBB handles left open after the session ended", open, made)
	}
}

// TestRequestWithoutTransportLeavesNothing: a request that never goes out
// (no transport could build its offer) releases its partial file too.
func TestRequestWithoutTransportLeavesNothing(t *testing.T) {
	r := newRouter(t)
	newPeer(t, r, alice, peerOpts{})
	broken := &hookedTransport{localErr: errors.New("no transport here")}
	b := newPeer(t, r, bob, peerOpts{wrapIBB: func(st jingle.StreamTransport) jingle.StreamTransport {
		broken.StreamTransport = st
		return broken
	}})
	data := []byte("wanted")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	f := filetransfer.File{Name: "wanted.bin", Size: int64(len(data)), Hashes: sum256(data)}
	if _, err := b.app.Request(ctx, b.m, alice, f, filetransfer.RequestOptions{Transport: "ibb"}); !errors.Is(err, filetransfer.ErrNoTransport) {
		t.Fatalf("request without a transport: %v", err)
	}
	if fs := openIn(t, b.dir); len(fs) != 0 {
		t.Fatalf("left open: %v", fs)
	}
	if es := listDir(t, b.dir); len(es) != 0 {
		t.Fatalf("left %v", es)
	}
	if made, open := broken.unclosed(); made == 0 || open != 0 {
		t.Fatalf("%d of %d handles left open", open, made)
	}
}
