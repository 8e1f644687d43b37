package integration_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"io"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/filetransfer/datachannel"
	"github.com/jingled/jingled/filetransfer/ibb"
	"github.com/jingled/jingled/filetransfer/s5b"
	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/turnserver"
	"github.com/jingled/jingled/xmpp"
)

type side struct {
	c   *xmpp.Client
	ibb *ibb.Transport
	m   *jingle.Manager
	app *filetransfer.App
	dir string
	res chan *filetransfer.Result
}

type sideOpts struct {
	s5b      []s5b.Option
	dc       []datachannel.Option
	proxies  bool
	features bool // look the peer's transports up with disco#info
	app      []filetransfer.Option
}

func newSide(t testing.TB, srv *prosodytest.Server, name string, o sideOpts) *side {
	t.Helper()
	acc := srv.NewAccount(t, name)
	c, err := xmpp.New(xmpp.Config{JID: acc.JID, Password: acc.Password, Resource: "ft", Addr: srv.Addr, CAFile: srv.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = c.Close() })
	sd := &side{c: c, dir: t.TempDir(), res: make(chan *filetransfer.Result, 2)}
	log := slog.New(slog.DiscardHandler)
	if os.Getenv("JINGLED_TEST_LOG") != "" {
		log = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug})).With("side", name)
	}
	so := append([]s5b.Option{s5b.WithHosts("127.0.0.1"), s5b.WithLogger(log)}, o.s5b...)
	if o.proxies {
		hosts, err := s5b.DiscoverProxies(ctx, c, c.JID(), c.Domain())
		if err != nil {
			t.Fatalf("proxy discovery: %v", err)
		}
		so = append(so, s5b.WithProxies(hosts...))
	}
	st := s5b.New(c, so...)
	it := ibb.New(c, ibb.WithBlockSize(uint16(*ibbBlock)))
	dc := datachannel.New(append([]datachannel.Option{datachannel.WithLoopbackOnly()}, o.dc...)...)
	dir, err := filetransfer.OpenDir(sd.dir)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = dir.Close() })
	opts := []filetransfer.Option{
		filetransfer.WithReceiveDir(dir),
		filetransfer.WithAutoAccept(filetransfer.AcceptPolicy{MaxSize: -1}),
		filetransfer.WithResults(func(r *filetransfer.Result) { sd.res <- r }),
		filetransfer.WithTransportTimeout(10 * time.Second),
		filetransfer.WithLogger(log),
	}
	if o.features {
		opts = append(opts, filetransfer.WithPeerFeatures(func(ctx context.Context, jid string) ([]string, error) {
			info, err := c.DiscoInfo(ctx, jid)
			return info.Features, err
		}))
	}
	sd.ibb = it
	sd.app = filetransfer.New(append(opts, o.app...)...)
	sd.m = jingle.NewManager(c.JID(), c, jingle.WithApplication(sd.app), jingle.WithTransport(dc),
		jingle.WithTransport(dc.Dialect(ice.NS)), jingle.WithTransport(st), jingle.WithTransport(it))
	c.Serve(sd.m)
	for _, p := range it.Payloads() {
		c.HandleIQ(p[0], p[1], it.HandleIQ)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = sd.m.Close(ctx)
		_ = sd.app.Close()
	})
	return sd
}

func randomFile(t testing.TB, n int) (string, [32]byte) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "random.bin")
	f, err := os.Create(path)
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	if _, err := io.CopyN(io.MultiWriter(f, h), rand.Reader, int64(n)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	var sum [32]byte
	copy(sum[:], h.Sum(nil))
	return path, sum
}

// transfer sends n random bytes from a to b and checks what b stored.
func transfer(t *testing.T, a, b *side, n int, force string) (*filetransfer.Result, *filetransfer.Result) {
	return transferWatch(t, a, b, n, force, nil)
}

func transferWatch(t *testing.T, a, b *side, n int, force string, progress func(done, total int64)) (*filetransfer.Result, *filetransfer.Result) {
	t.Helper()
	path, sum := randomFile(t, n)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	start := time.Now()
	res, err := a.app.Send(ctx, a.m, b.c.JID(), path, filetransfer.SendOptions{Transport: force, Progress: progress})
	if err != nil {
		t.Fatalf("send: %v", err)
	}
	var got *filetransfer.Result
	select {
	case got = <-b.res:
	case <-ctx.Done():
		t.Fatal("receiver reported nothing")
	}
	if got.Err != nil {
		t.Fatalf("receiver: %v", got.Err)
	}
	if !bytes.Equal(got.Hash.Value, sum[:]) || got.Hash.Algo != "sha-256" {
		t.Fatalf("receiver verified %s, want sha-256 %x", got.Hash, sum)
	}
	f, err := os.Open(got.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(h.Sum(nil), sum[:]) {
		t.Fatal("stored file differs from the sent one")
	}
	d := time.Since(start)
	t.Logf("%d bytes over %s in %v (%.1f MB/s), tried first: %v", n, res.Transport, d.Round(time.Millisecond),
		float64(n)/d.Seconds()/1e6, res.Tried)
	return res, got
}

func TestEachTransportThroughProsody(t *testing.T) {
	srv := prosodytest.Shared(t)
	for _, tc := range []struct {
		name, force, want string
		a, b              sideOpts
		n                 int
	}{
		{"datachannel", "datachannel", ice.NSDataChannel1, sideOpts{}, sideOpts{}, *size},
		{"s5b-direct", "s5b", s5b.NS, sideOpts{}, sideOpts{}, *size},
		// No direct candidates at all: the proxy's are the only ones.
		{"s5b-proxy", "s5b", s5b.NS, sideOpts{s5b: []s5b.Option{s5b.WithHosts()}, proxies: true}, sideOpts{s5b: []s5b.Option{s5b.WithHosts()}, proxies: true}, *size},
		{"ibb", "ibb", ibb.NS, sideOpts{}, sideOpts{}, *ibbSize},
	} {
		t.Run(tc.name, func(t *testing.T) {
			a := newSide(t, srv, "a"+strings.ReplaceAll(tc.name, "-", ""), tc.a)
			b := newSide(t, srv, "b"+strings.ReplaceAll(tc.name, "-", ""), tc.b)
			res, got := transfer(t, a, b, tc.n, tc.force)
			if res.Transport != tc.want || got.Transport != tc.want {
				t.Fatalf("carried by %s/%s, want %s", res.Transport, got.Transport, tc.want)
			}
		})
	}
}

// TestDataChannelRelay sends through our TURN server with ICE transport
// policy relay on both sides: no host candidate is ever offered.
func TestDataChannelRelay(t *testing.T) {
	srv := prosodytest.Shared(t)
	ts, err := turnserver.New(turnserver.Config{
		Address: "127.0.0.1", Realm: "ft.test", Users: map[string]string{"ft": "secret"},
		RelayBindAddress: "127.0.0.1", AllowPeers: []string{"127.0.0.1/32"}, RelayPortMin: 40000, RelayPortMax: 49999,
	}, turnserver.WithEphemeralPorts())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = ts.Close() })
	_, port, _ := net.SplitHostPort(ts.Addrs().UDP.String())
	relay := []datachannel.Option{
		datachannel.WithICEServers(webrtc.ICEServer{URLs: []string{"turn:127.0.0.1:" + port + "?transport=udp"}, Username: "ft", Credential: "secret"}),
		datachannel.WithRelayOnly(true),
	}
	a := newSide(t, srv, "arelay", sideOpts{dc: relay})
	b := newSide(t, srv, "brelay", sideOpts{dc: relay})
	var during atomic.Int64
	res, _ := transferWatch(t, a, b, *size, "datachannel", func(done, total int64) {
		if done > total/2 && during.Load() == 0 {
			during.Store(int64(ts.AllocationCount()))
		}
	})
	if res.Transport != ice.NSDataChannel1 {
		t.Fatalf("carried by %s", res.Transport)
	}
	// One allocation per side while the data flowed.
	if n := during.Load(); n < 2 {
		t.Fatalf("%d TURN allocations mid-transfer: the data did not go through the relay", n)
	}
}

// TestFallbackThroughProsody blocks the direct paths (no TURN under
// policy relay, SOCKS5 connections refused, no proxy): the transfer
// completes over IBB after transport-replace, picked from the peer's
// disco#info.
func TestFallbackThroughProsody(t *testing.T) {
	srv := prosodytest.Shared(t)
	blocked := sideOpts{
		s5b:      []s5b.Option{s5b.WithDialContext(func(context.Context, string, string) (net.Conn, error) { return nil, errors.New("blocked") })},
		dc:       []datachannel.Option{datachannel.WithRelayOnly(true), datachannel.WithGatherTimeout(time.Second)},
		features: true,
	}
	a := newSide(t, srv, "afallback", blocked)
	b := newSide(t, srv, "bfallback", blocked)
	res, got := transfer(t, a, b, 1<<20, "auto")
	if res.Transport != ibb.NS || got.Transport != ibb.NS || len(res.Tried) != 2 {
		t.Fatalf("carried by %s after %v", res.Transport, res.Tried)
	}
	t.Logf("fallback note: %s failed, then %s; the file went over %s", res.Tried[0], res.Tried[1], res.Transport)
}

func sendOpts(force string) filetransfer.SendOptions {
	return filetransfer.SendOptions{Transport: force}
}

// TestResumeThroughProsody kills a push half-way (after half the IBB
// blocks were acked), then the receiver requests the file (pull) with
// <range offset=”/> and gets only the rest, over SOCKS5.
func TestResumeThroughProsody(t *testing.T) {
	srv := prosodytest.Shared(t)
	const n = 1 << 20
	path, sum := randomFile(t, n)
	a := newSide(t, srv, "aresume", sideOpts{app: []filetransfer.Option{filetransfer.WithServeDir(filepath.Dir(path))}})
	b := newSide(t, srv, "bresume", sideOpts{})
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	kctx, kill := context.WithCancel(ctx)
	_, err := a.app.Send(kctx, a.m, b.c.JID(), path, filetransfer.SendOptions{Transport: "ibb", Progress: func(done, _ int64) {
		if done >= n/2 {
			kill()
		}
	}})
	kill()
	if err == nil {
		t.Fatal("the killed transfer reported success")
	}
	select {
	case r := <-b.res:
		if r.Err == nil {
			t.Fatal("the receiver completed a killed transfer")
		}
	case <-ctx.Done():
		t.Fatal("no result for the killed transfer")
	}
	want := filetransfer.File{Name: filepath.Base(path), Size: n, Hashes: []filetransfer.Hash{{Algo: "sha-256", Value: sum[:]}}}
	res, err := b.app.Request(ctx, b.m, a.c.JID(), want, filetransfer.RequestOptions{Transport: "s5b"})
	if err != nil {
		t.Fatal(err)
	}
	if res.Offset < n/2 || res.Transferred != n-res.Offset || !bytes.Equal(res.Hash.Value, sum[:]) {
		t.Fatalf("resumed at %d, %d bytes, hash %s", res.Offset, res.Transferred, res.Hash)
	}
	t.Logf("resumed from offset %d of %d over %s", res.Offset, n, res.Transport)
}
