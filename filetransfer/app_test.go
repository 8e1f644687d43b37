package filetransfer_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"log/slog"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/filetransfer/datachannel"
	"github.com/jingled/jingled/filetransfer/ibb"
	"github.com/jingled/jingled/filetransfer/s5b"
	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
)

const (
	alice = "alice@example.org/laptop"
	bob   = "bob@example.org/phone"
)

// peer is one side: an endpoint of the in-memory router, a Manager and
// the file-transfer App with the three transports.
type peer struct {
	ep   *jingletest.Endpoint
	m    *jingle.Manager
	app  *filetransfer.App
	dir  string
	res  chan *filetransfer.Result
	ibb  *ibb.Transport
	s5b  *s5b.Transport
	dc   *datachannel.Transport
	opts peerOpts
}

type peerOpts struct {
	s5b      []s5b.Option
	dc       []datachannel.Option
	app      []filetransfer.Option
	features []string // nil: all
	// wrapIBB, if set, registers this transport in place of IBB (to
	// watch or steer the handles the App makes).
	wrapIBB func(jingle.StreamTransport) jingle.StreamTransport
}

func newPeer(t *testing.T, r *jingletest.Router, jid string, o peerOpts) *peer {
	t.Helper()
	p := &peer{ep: r.Endpoint(jid), dir: t.TempDir(), res: make(chan *filetransfer.Result, 4), opts: o}
	log := testLogger(jid)
	p.ibb = ibb.New(p.ep, ibb.WithLogger(log))
	p.s5b = s5b.New(p.ep, append([]s5b.Option{s5b.WithHosts("127.0.0.1"), s5b.WithDialTimeout(2 * time.Second), s5b.WithLogger(log)}, o.s5b...)...)
	p.dc = datachannel.New(append([]datachannel.Option{datachannel.WithLoopbackOnly()}, o.dc...)...)
	dir, err := filetransfer.OpenDir(p.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	var ibbT jingle.StreamTransport = p.ibb
	if o.wrapIBB != nil {
		ibbT = o.wrapIBB(p.ibb)
	}
	opts := []filetransfer.Option{
		filetransfer.WithReceiveDir(dir),
		filetransfer.WithAutoAccept(filetransfer.AcceptPolicy{MaxSize: -1}),
		filetransfer.WithResults(func(r *filetransfer.Result) { p.res <- r }),
		filetransfer.WithTransportTimeout(5 * time.Second),
		filetransfer.WithChecksumTimeout(5 * time.Second),
		filetransfer.WithLogger(log),
	}
	if o.features != nil {
		feats := o.features
		opts = append(opts, filetransfer.WithPeerFeatures(func(context.Context, string) ([]string, error) { return feats, nil }))
	}
	p.app = filetransfer.New(append(opts, o.app...)...)
	mopts := []jingle.Option{jingle.WithApplication(p.app), jingle.WithTransport(p.dc), jingle.WithTransport(p.dc.Dialect(ice.NS)),
		jingle.WithTransport(p.dc.Dialect(ice.NSDataChannel0)), jingle.WithTransport(p.s5b), jingle.WithTransport(ibbT)}
	for _, v := range p.app.Versions() {
		mopts = append(mopts, jingle.WithApplication(v))
	}
	p.m = jingle.NewManager(jid, p.ep, append(mopts, jingle.WithLogger(log))...)
	p.ep.Serve(p.m)
	for _, pl := range p.ibb.Payloads() {
		p.ep.HandleIQ(pl[0], pl[1], p.ibb.HandleIQ)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = p.m.Close(ctx)
		_ = p.app.Close()
	})
	return p
}

func randomFile(t *testing.T, size int) (string, []byte) {
	t.Helper()
	b := make([]byte, size)
	_, _ = rand.Read(b)
	path := filepath.Join(t.TempDir(), "payload.bin")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	return path, b
}

func waitResult(t *testing.T, p *peer) *filetransfer.Result {
	t.Helper()
	select {
	case r := <-p.res:
		return r
	case <-time.After(60 * time.Second):
		t.Fatal("no result on the receiving side")
		return nil
	}
}

func checkReceived(t *testing.T, r *filetransfer.Result, want []byte) {
	t.Helper()
	if r.Err != nil {
		t.Fatalf("receiver: %v", r.Err)
	}
	got, err := os.ReadFile(r.Path)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(want)
	if !bytes.Equal(got, want) || !bytes.Equal(r.Hash.Value, sum[:]) {
		t.Fatalf("received file differs (%d bytes, want %d)", len(got), len(want))
	}
}

func TestPushEachTransport(t *testing.T) {
	for _, tc := range []struct{ force, wantNS string }{
		{"datachannel", ice.NSDataChannel1},
		{"s5b", s5b.NS},
		{"ibb", ibb.NS},
	} {
		t.Run(tc.force, func(t *testing.T) {
			r := jingletest.NewRouter()
			defer r.Close()
			a := newPeer(t, r, alice, peerOpts{})
			b := newPeer(t, r, bob, peerOpts{})
			path, data := randomFile(t, 300_000)
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			res, err := a.app.Send(ctx, a.m, bob, path, filetransfer.SendOptions{Transport: tc.force})
			if err != nil {
				t.Fatalf("send: %v", err)
			}
			if res.Transport != tc.wantNS || res.Transferred != int64(len(data)) {
				t.Fatalf("sent over %s, %d bytes", res.Transport, res.Transferred)
			}
			rr := waitResult(t, b)
			checkReceived(t, rr, data)
			if rr.Transport != tc.wantNS {
				t.Fatalf("received over %s", rr.Transport)
			}
			// A datachannel transfer reports its candidate pair on both
			// sides (loopback: host to host); the stream transports none.
			for _, p := range []ice.Pair{res.Pair, rr.Pair} {
				if tc.force == "datachannel" && (p.LocalType != "host" || p.RemoteType != "host") {
					t.Errorf("datachannel pair %+v, want host/host", p)
				}
				if tc.force != "datachannel" && p != (ice.Pair{}) {
					t.Errorf("%s transfer reports a candidate pair %+v", tc.force, p)
				}
			}
		})
	}
}

func TestDialectFromDisco(t *testing.T) {
	// A StanzaJS-like peer advertises only dtls-sctp:1: we offer ICE-UDP
	// with <sctpmap>.
	r := jingletest.NewRouter()
	defer r.Close()
	a := newPeer(t, r, alice, peerOpts{features: []string{ice.NS, ice.NSDTLSSCTP, filetransfer.NS}})
	b := newPeer(t, r, bob, peerOpts{})
	path, data := randomFile(t, 100_000)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	res, err := a.app.Send(ctx, a.m, bob, path, filetransfer.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Transport != ice.NS {
		t.Fatalf("offered %s", res.Transport)
	}
	checkReceived(t, waitResult(t, b), data)
}

func TestFallbackToIBB(t *testing.T) {
	// Direct paths blocked: the data channel gathers nothing (relay policy,
	// no TURN) and SOCKS5 connects nowhere; IBB carries the file after
	// two transport-replace rounds.
	r := jingletest.NewRouter()
	defer r.Close()
	blocked := peerOpts{
		s5b: []s5b.Option{s5b.WithDialContext(refuseDial)},
		dc:  []datachannel.Option{datachannel.WithRelayOnly(true), datachannel.WithGatherTimeout(time.Second)},
	}
	a := newPeer(t, r, alice, blocked)
	b := newPeer(t, r, bob, blocked)
	path, data := randomFile(t, 50_000)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	res, err := a.app.Send(ctx, a.m, bob, path, filetransfer.SendOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Transport != ibb.NS || len(res.Tried) != 2 {
		t.Fatalf("carried by %s after %v", res.Transport, res.Tried)
	}
	rr := waitResult(t, b)
	checkReceived(t, rr, data)
	t.Logf("fallback: %v -> %s", res.Tried, res.Transport)
}

func newRouter(t *testing.T) *jingletest.Router {
	t.Helper()
	r := jingletest.NewRouter()
	t.Cleanup(r.Close)
	return r
}

func TestReceivedAck(t *testing.T) {
	// With <received/> on, the sender may end the session itself as soon
	// as the ack arrives; either way both sides report success.
	r := newRouter(t)
	a := newPeer(t, r, alice, peerOpts{})
	b := newPeer(t, r, bob, peerOpts{app: []filetransfer.Option{filetransfer.WithReceivedAck(true)}})
	path, data := randomFile(t, 50_000)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	res, err := a.app.Send(ctx, a.m, bob, path, filetransfer.SendOptions{Transport: "s5b"})
	if err != nil || res.Reason == nil || res.Reason.Condition != jingle.ReasonSuccess {
		t.Fatalf("send: %v (%v)", err, res)
	}
	checkReceived(t, waitResult(t, b), data)
}

func TestOfferHandler(t *testing.T) {
	// Offers the policy does not take go to the handler, which decides.
	r := newRouter(t)
	a := newPeer(t, r, alice, peerOpts{})
	decide := func(o *filetransfer.Offer) {
		if o.File.Name == "yes.bin" && o.Peer == alice {
			o.Accept()
		} else {
			o.Decline()
		}
	}
	b := newPeer(t, r, bob, peerOpts{app: []filetransfer.Option{
		filetransfer.WithAutoAccept(filetransfer.AcceptPolicy{MaxSize: 0}),
		filetransfer.WithOfferHandler(decide),
	}})
	path, data := randomFile(t, 20_000)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := a.app.Send(ctx, a.m, bob, path, filetransfer.SendOptions{Name: "yes.bin"}); err != nil {
		t.Fatal(err)
	}
	checkReceived(t, waitResult(t, b), data)
	if _, err := a.app.Send(ctx, a.m, bob, path, filetransfer.SendOptions{Name: "no.bin"}); !errors.Is(err, filetransfer.ErrDeclined) {
		t.Fatalf("declined by the handler: %v", err)
	}
}

// testLogger logs to stderr with JINGLED_TEST_LOG=1, else discards.
func testLogger(jid string) *slog.Logger {
	if os.Getenv("JINGLED_TEST_LOG") == "" {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("me", jid)
}
