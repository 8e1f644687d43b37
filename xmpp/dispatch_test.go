package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/jingled/jingled/jingle"
)

// Helpers for the dispatcher that Client and Component share: their tests
// hold requests in flight and keep the dispatch goroutine busy the same
// way.

// inFlight counts the IQs waiting for their reply.
func (d *dispatcher) inFlight() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.pending)
}

// iqSender is a *Client or a *Component.
type iqSender interface {
	SendIQ(ctx context.Context, iq *jingle.IQ) (*jingle.IQ, error)
	inFlight() int
}

// sendIQAsync sends iq from s in the background; the channel yields
// SendIQ's error.
func sendIQAsync(ctx context.Context, s iqSender, iq *jingle.IQ) <-chan error {
	errc := make(chan error, 1)
	go func() {
		_, err := s.SendIQ(ctx, iq)
		errc <- err
	}()
	return errc
}

// sendIQInFlight is sendIQAsync that returns once iq is s's only IQ in
// flight.
func sendIQInFlight(ctx context.Context, t *testing.T, s iqSender, iq *jingle.IQ) <-chan error {
	t.Helper()
	errc := sendIQAsync(ctx, s, iq)
	waitFor(ctx, t, "IQ in flight", func() bool { return s.inFlight() == 1 })
	return errc
}

// blockingIQHandler answers every request with a result once release is
// closed (or its context ends), keeping the dispatch goroutine busy until
// then. entered is signalled when a request reaches it.
func blockingIQHandler() (h IQHandler, entered <-chan struct{}, release chan struct{}) {
	in := make(chan struct{}, 1)
	release = make(chan struct{})
	h = func(ctx context.Context, iq *jingle.IQ) *jingle.IQ {
		select {
		case in <- struct{}{}:
		default:
		}
		select {
		case <-release:
		case <-ctx.Done():
		}
		return iq.Result()
	}
	return h, in, release
}

// TestUndecodableIQGetsBadRequest: a get whose content cannot be decoded
// is answered bad-request, addressed back to its sender from the address
// it was sent to.
func TestUndecodableIQGetsBadRequest(t *testing.T) {
	var got []jingle.IQ
	d := &dispatcher{
		log:        slog.New(slog.DiscardHandler),
		write:      func(_ *stream, v any) error { got = append(got, v.(jingle.IQ)); return nil },
		answerFrom: func(iq *jingle.IQ) string { return iq.To },
	}
	st := &rawStanza{
		name:  xml.Name{Space: nsClient, Local: "iq"},
		attrs: map[string]string{"type": "get", "id": "x1", "from": "juliet@example.org/balcony", "to": "room@call.example.org/focus"},
		raw:   []byte(`<iq type="get"`),
	}
	d.routeIQ(nil, st)
	if len(got) != 1 {
		t.Fatalf("%d replies, want 1", len(got))
	}
	r := got[0]
	if r.Type != jingle.IQError || r.ID != "x1" || r.To != "juliet@example.org/balcony" || r.From != "room@call.example.org/focus" || !errors.Is(r.Error, jingle.ErrBadRequest) {
		t.Errorf("reply %+v", r)
	}
}

// TestSendIQWriteFailureIsDisconnected: a request whose write fails on
// the stream's connection (the server went away and the reader has not
// noticed yet) fails with ErrDisconnected, as the requests already in
// flight do, so that a caller resuming after a reconnection (jingle send)
// cannot tell the two races apart; a write that failed because Close shut
// the connection fails with ErrClosed; other write errors pass unchanged.
func TestSendIQWriteFailureIsDisconnected(t *testing.T) {
	for _, tc := range []struct {
		name     string
		writeErr error
		closing  bool // Close runs while the request is being written
		want     error
	}{
		{"socket closed under the write", &writeError{err: net.ErrClosed}, false, ErrDisconnected},
		{"queue full", ErrQueueFull, false, ErrQueueFull},
		// Close shut the socket the request was being written to: the
		// caller closed us, and ErrClosed says so (the CI run at 509b884
		// failed TestComponentCloseStopsEverything on this order).
		{"closed by Close under the write", &writeError{err: net.ErrClosed}, true, ErrClosed},
	} {
		t.Run(tc.name, func(t *testing.T) {
			d := &dispatcher{
				log:     slog.New(slog.DiscardHandler),
				pending: map[string]*pendingIQ{},
				cur:     &stream{},
			}
			d.write = func(*stream, any) error {
				if tc.closing {
					d.mu.Lock()
					d.closeLocked()
					d.mu.Unlock()
				}
				return tc.writeErr
			}
			_, err := d.sendIQ(context.Background(), jingle.IQ{To: "bob@example.org/b", Type: jingle.IQSet}, time.Second)
			if !errors.Is(err, tc.want) {
				t.Fatalf("err = %v, want %v", err, tc.want)
			}
			if tc.want == ErrDisconnected && !errors.Is(err, net.ErrClosed) {
				t.Fatalf("err = %v, lost the socket's error", err)
			}
			if len(d.pending) != 0 {
				t.Fatalf("%d requests left pending", len(d.pending))
			}
		})
	}
}
