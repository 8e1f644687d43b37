package filetransfer_test

import (
	"context"
	"errors"
	"testing"

	"github.com/jingled/jingled/filetransfer"
)

// A send cancelled before its offer (here while the peer's features are
// looked up, the file's hashing running beside) returns the
// cancellation and offers nothing; the hashing ends with the send
// (TestDigestStops, and goleak in TestMain).
func TestSendCancelledBeforeOffer(t *testing.T) {
	r := newRouter(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	asked := make(chan struct{})
	a := newPeer(t, r, alice, peerOpts{app: []filetransfer.Option{
		filetransfer.WithPeerFeatures(func(ctx context.Context, _ string) ([]string, error) {
			close(asked)
			<-ctx.Done()
			return nil, ctx.Err()
		}),
	}})
	b := newPeer(t, r, bob, peerOpts{})
	path, _ := randomFile(t, 8<<20)
	go func() {
		select {
		case <-asked:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := a.app.Send(ctx, a.m, bob, path, filetransfer.SendOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("send: %v, want context.Canceled", err)
	}
	select {
	case res := <-b.res:
		t.Fatalf("the receiver saw an offer: %+v", res)
	default:
	}
}
