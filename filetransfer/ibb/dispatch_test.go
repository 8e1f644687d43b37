package ibb

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

const nsPing = "urn:xmpp:ping"

// buffered is how many received bytes wait for the reader.
func (s *Stream) buffered() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.buf)
}

// TestStalledReaderKeepsDispatchFree: HandleIQ runs on the connection's
// one dispatch goroutine (xmpp, like the router's endpoints,
// handles an account's IQs and messages one at a time). A transfer whose
// reader has stopped must not hold it: once the receive buffer is full,
// an unrelated IQ to the same client is still answered, the sender is
// told to wait and retries, and when the reader resumes every byte
// arrives in order.
func TestStalledReaderKeepsDispatchFree(t *testing.T) {
	r := jingletest.NewRouter()
	defer r.Close()
	ea, eb, other := r.Endpoint(romeo), r.Endpoint(juliet), r.Endpoint("nurse@capulet.lit/hall")
	ta, tb := New(ea), New(eb)
	// overflow is closed when juliet's dispatch starts on the first block
	// that cannot fit: an IQ sent after that queues behind it.
	overflow := make(chan struct{})
	var once sync.Once
	firstOver := uint16(maxBuffered / DefaultBlockSize)
	for _, pl := range tb.Payloads() {
		ea.HandleIQ(pl[0], pl[1], ta.HandleIQ)
		eb.HandleIQ(pl[0], pl[1], func(ctx context.Context, iq *jingle.IQ) *jingle.IQ {
			var d dataIQ
			if xml.Unmarshal(iq.Payload, &d) == nil && d.XMLName.Local == "data" && d.Seq >= firstOver {
				once.Do(func() { close(overflow) })
			}
			return tb.HandleIQ(ctx, iq)
		})
	}
	eb.HandleIQ(nsPing, "ping", func(_ context.Context, iq *jingle.IQ) *jingle.IQ { return iq.Result() })
	a, b := ta.newHandle(sess{romeo, juliet, true}), tb.newHandle(sess{juliet, romeo, false})
	defer func() { _ = a.Close(); _ = b.Close() }()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	offer, err := a.Local(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.HandleRemote(ctx, jingle.ActionSessionInitiate, offer); err != nil {
		t.Fatal(err)
	}
	answer, err := b.Local(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.HandleRemote(ctx, jingle.ActionSessionAccept, answer); err != nil {
		t.Fatal(err)
	}
	ca, cb := conns(t, a, b)
	msg := make([]byte, maxBuffered+300_000)
	_, _ = rand.Read(msg)
	errc := make(chan error, 1)
	go func() { _, err := ca.Write(msg); errc <- err }()
	// Nobody reads on juliet's side: the buffer fills up, and the next
	// block finds no room.
	select {
	case <-overflow:
	case err := <-errc:
		t.Fatalf("writer ended before the buffer filled: %v", err)
	case <-ctx.Done():
		t.Fatalf("buffer stuck at %d bytes", b.stream.buffered())
	}
	pingCtx, pingCancel := context.WithTimeout(ctx, 10*time.Second)
	defer pingCancel()
	ping := &jingle.IQ{To: juliet, Type: jingle.IQGet, Payload: []byte("<ping xmlns='" + nsPing + "'/>")}
	if _, err := other.SendIQ(pingCtx, ping); err != nil {
		t.Fatalf("an unrelated IQ waited behind the stalled transfer: %v", err)
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
