package integration_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/filetransfer/ibb"
	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
	"github.com/jingled/jingled/xmpp"
)

// ibbBuffer is what an IBB receiver buffers for a reader that is behind.
const ibbBuffer = 1 << 20

// TestIBBStallThroughProsody: xmpp runs every incoming IQ and
// message of the account on one goroutine. An IBB stream whose reader has
// stopped must not hold it: with the receive buffer full, a ping to the
// receiver is still answered, and once the reader resumes every byte
// arrives in order (the sender retried the refused blocks).
func TestIBBStallThroughProsody(t *testing.T) {
	srv := prosodytest.Shared(t)
	a := newSide(t, srv, "aibbstall", sideOpts{})
	b := newSide(t, srv, "bibbstall", sideOpts{})
	// overflow is closed when b's dispatch starts on the first block that
	// cannot fit: a ping a sends after that is queued behind it.
	overflow := make(chan struct{})
	var once sync.Once
	firstOver := uint64(ibbBuffer / *ibbBlock)
	b.c.HandleIQ(ibb.NSIBB, "data", func(ctx context.Context, iq *jingle.IQ) *jingle.IQ {
		var d struct {
			Seq uint64 `xml:"seq,attr"`
		}
		if xml.Unmarshal(iq.Payload, &d) == nil && d.Seq >= firstOver {
			once.Do(func() { close(overflow) })
		}
		return b.ibb.HandleIQ(ctx, iq)
	})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	ha, err := a.ibb.NewHandle(ctx, jingletest.TransportSession{LocalJID: a.c.JID(), PeerJID: b.c.JID(), Initiator: true}, "stall")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = ha.Close() }()
	hb, err := b.ibb.NewHandle(ctx, jingletest.TransportSession{LocalJID: b.c.JID(), PeerJID: a.c.JID()}, "stall")
	if err != nil {
		t.Fatal(err)
	}
	defer func() { _ = hb.Close() }()
	offer, err := ha.Local(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := hb.HandleRemote(ctx, jingle.ActionSessionInitiate, offer); err != nil {
		t.Fatal(err)
	}
	answer, err := hb.Local(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := ha.HandleRemote(ctx, jingle.ActionSessionAccept, answer); err != nil {
		t.Fatal(err)
	}
	ca, err := ha.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cb, err := hb.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	msg := make([]byte, ibbBuffer+200_000)
	_, _ = rand.Read(msg)
	errc := make(chan error, 1)
	go func() { _, err := ca.Write(msg); errc <- err }()
	select {
	case <-overflow:
	case err := <-errc:
		t.Fatalf("writer ended before the buffer filled: %v", err)
	case <-ctx.Done():
		t.Fatal("the buffer never filled")
	}
	pingCtx, pingCancel := context.WithTimeout(ctx, 15*time.Second)
	defer pingCancel()
	ping := &jingle.IQ{To: b.c.JID(), Type: jingle.IQGet, Payload: []byte("<ping xmlns='" + xmpp.NSPing + "'/>")}
	if _, err := a.c.SendIQ(pingCtx, ping); err != nil {
		t.Fatalf("a ping waited behind the stalled transfer: %v", err)
	}
	got := make([]byte, len(msg))
	if _, err := io.ReadFull(cb, got); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; err != nil {
		t.Fatalf("writer: %v", err)
	}
	if !bytes.Equal(got, msg) {
		t.Fatal("data differs after the stall")
	}
}
