package filetransfer_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

// failingReads fails every read once limit bytes have been read: the
// receiver's disk filling up in the middle of a file, without a disk.
type failingReads struct {
	io.ReadWriteCloser
	limit int
	err   error
}

func (f *failingReads) Read(p []byte) (int, error) {
	if f.limit <= 0 {
		return 0, f.err
	}
	if len(p) > f.limit {
		p = p[:f.limit]
	}
	n, err := f.ReadWriteCloser.Read(p)
	f.limit -= n
	return n, err
}

// delayTerminate holds every session-terminate from `from` back for a
// second, so that what follows it on other paths arrives first.
func delayTerminate(r *jingletest.Router, from string) {
	r.SetFilter(func(f, _ string, stanza any) jingletest.Verdict {
		if iq, ok := stanza.(*jingle.IQ); ok && f == from && bytes.Contains(iq.Payload, []byte("session-terminate")) {
			return jingletest.Verdict{Delay: time.Second}
		}
		return jingletest.Verdict{}
	})
}

// TestSenderReportsReceiversReason: the receiver stops a transfer in the
// middle (its disk is full) and ends the session, which also closes its
// end of the stream. The sender learns of the two on different paths: its
// next write fails at once, and the session-terminate with the reason
// comes through the session. The sender must report the receiver's reason,
// not its broken write, even when the write's error comes first (CI saw
// it do so over Prosody; here the router holds the session-terminate back
// for a while to make that order certain).
func TestSenderReportsReceiversReason(t *testing.T) {
	r := newRouter(t)
	const why = "the inbox is full after 262144 bytes"
	a := newPeer(t, r, alice, peerOpts{})
	hooked := &hookedTransport{wrapConn: func(c io.ReadWriteCloser) io.ReadWriteCloser {
		return &failingReads{ReadWriteCloser: c, limit: 256 << 10, err: fmt.Errorf("%w: %s", filetransfer.ErrNoSpace, why)}
	}}
	b := newPeer(t, r, bob, peerOpts{wrapIBB: func(st jingle.StreamTransport) jingle.StreamTransport {
		hooked.StreamTransport = st
		return hooked
	}})
	delayTerminate(r, bob)
	path, _ := randomFile(t, 8<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := a.app.Send(ctx, a.m, bob, path, filetransfer.SendOptions{Transport: "ibb"})
	if err == nil {
		t.Fatal("the send into a full disk succeeded")
	}
	if !errors.Is(err, filetransfer.ErrDeclined) || !strings.Contains(err.Error(), why) {
		t.Errorf("the sender's error is %q, want the receiver's decline with %q", err, why)
	}
	if res == nil || res.Reason == nil || res.Reason.Condition != jingle.ReasonDecline {
		t.Errorf("the sender's result is %+v, want the receiver's decline as its reason", res)
	}
	if got := waitResult(t, b); !errors.Is(got.Err, filetransfer.ErrNoSpace) {
		t.Errorf("the receiver's error is %v, want ErrNoSpace", got.Err)
	}
}

// TestReceiverReportsSendersReason is the same race the other way: the
// sender cancels in the middle of a file, which ends the session and
// closes its end of the stream (IBB's <close/>). The receiver must report
// the sender's cancel as the reason, not a short file of its own.
func TestReceiverReportsSendersReason(t *testing.T) {
	r := newRouter(t)
	a := newPeer(t, r, alice, peerOpts{})
	b := newPeer(t, r, bob, peerOpts{})
	delayTerminate(r, alice)
	path, _ := randomFile(t, 8<<20)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	sendCtx, stop := context.WithCancel(ctx)
	defer stop()
	progress := func(done, _ int64) {
		if done >= 256<<10 {
			stop()
		}
	}
	if _, err := a.app.Send(sendCtx, a.m, bob, path, filetransfer.SendOptions{Transport: "ibb", Progress: progress}); err == nil {
		t.Fatal("the cancelled send succeeded")
	}
	got := waitResult(t, b)
	if got.Err == nil {
		t.Fatal("the receiver reported success")
	}
	if got.Reason == nil || got.Reason.Condition != jingle.ReasonCancel {
		t.Errorf("the receiver's result ended with %v (%v), want the sender's cancel", got.Reason, got.Err)
	}
}
