package rtp

import (
	"bytes"
	"context"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"log/slog"
	"math"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/jingle"
	"github.com/pion/webrtc/v4"
)

// link is a minimal in-memory XMPP for two or more managers: every IQ is
// encoded to XML and decoded again (so tests exercise the wire form),
// then handed to the addressee's manager. filter may rewrite or drop a
// stanza (return nil) before delivery.
type link struct {
	mu   sync.Mutex
	mgrs map[string]*jingle.Manager
	// ackers are JIDs that acknowledge every IQ (a scripted peer).
	ackers map[string]bool
	filter func(from, to string, iq *jingle.IQ) *jingle.IQ
	seen   []*jingle.IQ
}

func newLink() *link { return &link{mgrs: map[string]*jingle.Manager{}, ackers: map[string]bool{}} }

type endpoint struct {
	l   *link
	jid string
}

func (e *endpoint) SendIQ(ctx context.Context, iq *jingle.IQ) (*jingle.IQ, error) {
	iq.From = e.jid
	b, err := xml.Marshal(iq)
	if err != nil {
		return nil, err
	}
	var in jingle.IQ
	if err := xml.Unmarshal(b, &in); err != nil {
		return nil, err
	}
	e.l.mu.Lock()
	m := e.l.mgrs[iq.To]
	ack := e.l.ackers[iq.To]
	f := e.l.filter
	e.l.seen = append(e.l.seen, &in)
	e.l.mu.Unlock()
	if f != nil {
		if x := f(e.jid, iq.To, &in); x == nil {
			<-ctx.Done()
			return nil, ctx.Err()
		}
	}
	if ack {
		return in.Result(), nil
	}
	if m == nil {
		return nil, jingle.ErrServiceUnavailable
	}
	reply := m.HandleIQ(ctx, &in)
	if reply.Type == jingle.IQError {
		return nil, reply.Error
	}
	return reply, nil
}

func (e *endpoint) SendMessage(context.Context, *jingle.Message) error { return nil }

func (l *link) manager(t *testing.T, jid string, opts ...jingle.Option) *jingle.Manager {
	return l.managerVia(t, jid, &endpoint{l: l, jid: jid}, opts...)
}

// managerVia is manager with the sender its stanzas go out through (a
// test that alters them wraps the endpoint).
func (l *link) managerVia(t *testing.T, jid string, via jingle.Sender, opts ...jingle.Option) *jingle.Manager {
	opts = append([]jingle.Option{jingle.WithLogger(testLogger(t).With("me", jid))}, opts...)
	m := jingle.NewManager(jid, via, opts...)
	l.mu.Lock()
	l.mgrs[jid] = m
	l.mu.Unlock()
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.Close(ctx)
	})
	return m
}

// actions returns the Jingle actions seen on the link, in order.
func (l *link) actions() []jingle.Action {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []jingle.Action
	for _, iq := range l.seen {
		if j, err := jingle.Parse(iq.Payload); err == nil {
			out = append(out, j.Action)
		}
	}
	return out
}

func testLogger(t *testing.T) *slog.Logger {
	if os.Getenv("RTP_TEST_LOG") != "" {
		return slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	return slog.New(slog.DiscardHandler)
}

func loopback(t *testing.T) PeerOptions {
	return PeerOptions{Loopback: true, Logger: testLogger(t)}
}

// media makes the test inputs once per test.
func sine(t *testing.T, freq float64, d time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("sine%g.ogg", freq))
	if err := mediatest.SineOpus(ctx, path, freq, d); err != nil {
		t.Fatal(err)
	}
	return path
}

// vp8 makes an IVF file of frames 160x120 VP8 test frames at 15 fps.
func vp8(t *testing.T, frames int) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("testsrc%d.ivf", frames))
	if err := mediatest.TestsrcVP8(ctx, path, frames, 15, 160, 120); err != nil {
		t.Fatal(err)
	}
	return path
}

// echoCall dials bob on l from alice with opts, bob answering with an
// echo, and returns alice's call and bob's.
func echoCall(ctx context.Context, t *testing.T, l *link, opts CallOptions) (*Call, *Call) {
	t.Helper()
	bobOpts := ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Echo: true}}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	call, err := Dial(ctx, aliceMgr, bob, opts)
	if err != nil {
		t.Fatal(err)
	}
	return call, <-in
}

// crossing holds the first of each of two stanzas a link filter sees
// (hold(0), hold(1)) until both are sent, so each reaches its addressee
// while its own sender waits for the answer: requests crossing for
// certain. Later stanzas pass at once.
type crossing struct {
	mu   sync.Mutex
	sent [2]bool
	both chan struct{}
}

func newCrossing() *crossing { return &crossing{both: make(chan struct{})} }

func (x *crossing) hold(i int) {
	x.mu.Lock()
	if !x.sent[0] || !x.sent[1] {
		x.sent[i] = true
		if x.sent[0] && x.sent[1] {
			close(x.both)
		}
	}
	x.mu.Unlock()
	select {
	case <-x.both:
	case <-time.After(10 * time.Second):
		// Not crossed after all: the test fails on what the first of
		// the two could not complete.
	}
}

func waitEnd(t *testing.T, c *Call, d time.Duration) *jingle.Reason {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	r, err := c.Wait(ctx)
	if err != nil {
		t.Fatalf("call did not end: %v", err)
	}
	return r
}

// incoming waits for the application's next incoming call.
func incomingCalls(opts *ApplicationOptions) chan *Call {
	ch := make(chan *Call, 8)
	opts.OnIncoming = func(c *Call) { ch <- c }
	return ch
}

func checkTone(t *testing.T, path string, freq float64, want time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := mediatest.AnalyzeAudio(ctx, path)
	if err != nil {
		t.Fatalf("analysing %s: %v", filepath.Base(path), err)
	}
	t.Logf("%s: %v, %.1f Hz, rms %.3f", filepath.Base(path), a.Duration, a.Frequency, a.RMS)
	if math.Abs(a.Frequency-freq) > 5 {
		t.Errorf("%s: dominant frequency %.1f Hz, want %g +/- 5", filepath.Base(path), a.Frequency, freq)
	}
	if d := math.Abs(float64(a.Duration - want)); d > 0.1*float64(want) {
		t.Errorf("%s: duration %v, want %v +/- 10%%", filepath.Base(path), a.Duration, want)
	}
}

const (
	alice = "alice@example.org/a"
	bob   = "bob@example.org/b"
)

// TestCallAudioBothWays is the acceptance test of issue 3 over the
// in-memory link: a 440 Hz tone one way, an 880 Hz tone the other way,
// at the same time, both recorded and checked by ffmpeg.
func TestCallAudioBothWays(t *testing.T) {
	testAudioBothWays(t, bundled, paths{})
}

// TestCallThroughUDPMux is each of the calls above with the callee on a
// UDP mux (one port for every call, as jingled's [ice] udp_port): the
// same checks, media both ways. In the bundled call the caller is on a
// mux of its own too; a non-BUNDLE call cannot have two muxed ends (see
// UDPMux), and the non-BUNDLE clients (Dino) give each transport a port.
func TestCallThroughUDPMux(t *testing.T) {
	for name, mode := range map[string]bundleMode{"bundled": bundled, "no-bundle offer": noBundleOffer, "no-bundle answer": noBundleAnswer} {
		t.Run(name, func(t *testing.T) { testAudioBothWays(t, mode, paths{mux: true}) })
	}
}

// TestCallDirectAudio is the call with both ends taking received audio
// past pion's read path (PeerOptions.DirectAudio), bundled, and without
// BUNDLE with video beside it (video stays on pion's path), each with
// its own sockets and on a shared UDP port (UDPMux): the same
// tones and video arrive, the stats count every packet, and nearly all
// audio took the direct path.
func TestCallDirectAudio(t *testing.T) {
	for name, tc := range map[string]struct {
		mode bundleMode
		how  paths
	}{
		"bundled":              {bundled, paths{direct: true}},
		"no-bundle":            {noBundleOffer, paths{direct: true}},
		"bundled on UDP mux":   {bundled, paths{direct: true, mux: true}},
		"no-bundle on UDP mux": {noBundleAnswer, paths{direct: true, mux: true}},
	} {
		t.Run(name, func(t *testing.T) { testAudioBothWays(t, tc.mode, tc.how) })
	}
}

// TestCallNoBundle is the same call with a peer that does not bundle
// (Dino): one transport and PeerConnection per content, audio and video.
func TestCallNoBundleAudioVideo(t *testing.T) {
	testAudioBothWays(t, noBundleOffer, paths{})
}

// TestCallToNoBundlePeer is the other way round: our bundled offer is
// answered with one transport per content and no group, as Dino answers
// (its real session-accept to StanzaJS has two ufrags and no group); the
// caller must move each content to a PeerConnection of its own.
func TestCallToNoBundlePeer(t *testing.T) {
	testAudioBothWays(t, noBundleAnswer, paths{})
}

type bundleMode int

const (
	bundled bundleMode = iota
	noBundleOffer
	noBundleAnswer
)

// paths are the receive and socket paths of a test call: mux puts the
// callee (and a bundled caller) on a UDP mux, direct has both ends take
// audio on the direct path (direct.go).
type paths struct{ mux, direct bool }

func testAudioBothWays(t *testing.T, mode bundleMode, how paths) {
	noBundle, mux := mode != bundled, how.mux
	// Registered first, so it runs last: after the managers closed.
	ignore := goleak.IgnoreCurrent()
	t.Cleanup(func() { goleak.VerifyNone(t, ignore) })
	alicePeer, bobPeer := loopback(t), loopback(t)
	alicePeer.DirectAudio, bobPeer.DirectAudio = how.direct, how.direct
	if mux {
		muxed := []*PeerOptions{&bobPeer}
		if mode == bundled {
			muxed = append(muxed, &alicePeer)
		}
		for _, p := range muxed {
			m, err := ListenUDPMux(0, true, testLogger(t))
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { m.Close() })
			p.UDPMux = m
		}
	}
	const d = 3 * time.Second
	dir := t.TempDir()
	a440, a880 := sine(t, 440, d), sine(t, 880, d)
	var video string
	if noBundle {
		video = filepath.Join(dir, "in.ivf")
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		if err := mediatest.TestsrcVP8(ctx, video, 45, 15, 160, 120); err != nil {
			t.Fatal(err)
		}
		cancel()
	}
	l := newLink()
	bobOpts := ApplicationOptions{Peer: bobPeer, AutoAnswer: &MediaOptions{Audio: a880, Video: video, Record: filepath.Join(dir, "bob")},
		NoBundle: mode == noBundleAnswer}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{
		MediaOptions: MediaOptions{Audio: a440, Video: video, Record: filepath.Join(dir, "alice"), Duration: d + 1500*time.Millisecond},
		Peer:         alicePeer,
		NoBundle:     mode == noBundleOffer,
		ReceiveVideo: noBundle,
	})
	if err != nil {
		t.Fatal(err)
	}
	var bobCall *Call
	select {
	case bobCall = <-in:
	case <-ctx.Done():
		t.Fatal("no incoming call")
	}
	r := waitEnd(t, call, 30*time.Second)
	if r.Condition != jingle.ReasonSuccess {
		t.Fatalf("call ended with %s, want success", r)
	}
	if br := waitEnd(t, bobCall, 10*time.Second); br.Condition != jingle.ReasonSuccess {
		t.Errorf("callee saw %s, want success", br)
	}
	var types []EventType
	for e := range call.Events() {
		types = append(types, e.Type)
	}
	for _, want := range []EventType{EventRinging, EventAccepted, EventConnected, EventMedia, EventEnded} {
		found := false
		for _, e := range types {
			found = found || e == want
		}
		if !found {
			t.Errorf("caller events %v lack %s", types, want)
		}
	}
	st := call.Stats()
	t.Logf("caller stats: %s", st)
	for _, s := range st.Streams {
		t.Logf("  %+v", s)
	}
	if st.PacketsSent == 0 || st.PacketsReceived == 0 || st.BytesSent == 0 || st.BytesReceived == 0 {
		t.Errorf("stats show no media: %+v", st)
	}
	if st.RTT <= 0 {
		t.Errorf("stats: rtt %v", st.RTT)
	}
	checkDelivered(t, st, bobCall.Stats())
	if how.direct {
		checkDirect(t, "caller", call)
		checkDirect(t, "callee", bobCall)
	}
	if b, err := json.Marshal(st); err != nil || !bytes.Contains(b, []byte(`"candidate_pair":{"local_type":"host"`)) {
		t.Errorf("stats JSON %s, %v", b, err)
	}
	if st.Pair.LocalType != "host" {
		t.Errorf("candidate pair %+v, want host on loopback", st.Pair)
	}
	checkTone(t, filepath.Join(dir, "bob.ogg"), 440, d)
	checkTone(t, filepath.Join(dir, "alice.ogg"), 880, d)
	if noBundle {
		if len(call.peers) != 2 {
			t.Errorf("caller used %d PeerConnections, want 2 (one per content)", len(call.peers))
		}
		for _, who := range []string{"alice", "bob"} {
			checkVideo(t, filepath.Join(dir, who+".ivf"), 45)
		}
		// The non-bundled side sent no BUNDLE group and one ufrag per
		// content.
		action := jingle.ActionSessionInitiate
		if mode == noBundleAnswer {
			action = jingle.ActionSessionAccept
		}
		for _, iq := range l.seen {
			j, err := jingle.Parse(iq.Payload)
			if err != nil || j.Action != action {
				continue
			}
			if len(Bundle(j)) != 0 {
				t.Errorf("no-bundle %s has a group: %v", action, Bundle(j))
			}
			ufrags := map[string]bool{}
			for _, c := range j.Contents {
				tr, _, _ := ice.Decode(c.Transport)
				ufrags[tr.Ufrag] = true
			}
			if len(ufrags) != 2 {
				t.Errorf("no-bundle %s has %d distinct ufrags, want 2", action, len(ufrags))
			}
		}
	}
}

// checkDelivered fails unless each side received at least 95% of the
// packets the other says it sent, and counted no more than 5% lost: on
// loopback nothing should be lost, and a call whose media stalled or
// was dropped (a stream never bound, a sink that fell behind) would
// fail it. 5% leaves room for the packets in flight when the call ends.
func checkDelivered(t *testing.T, caller, callee Stats) {
	t.Helper()
	for _, d := range []struct {
		dir      string
		sent     uint64
		received Stats
	}{{"caller to callee", caller.PacketsSent, callee}, {"callee to caller", callee.PacketsSent, caller}} {
		r := d.received
		if r.PacketsReceived*100 < d.sent*95 {
			t.Errorf("%s: %d packets received of %d sent, want >= 95%%", d.dir, r.PacketsReceived, d.sent)
		}
		if r.PacketsLost*100 > int64(r.PacketsReceived)*5 {
			t.Errorf("%s: %d packets lost for %d received, want <= 5%%", d.dir, r.PacketsLost, r.PacketsReceived)
		}
	}
}

func checkVideo(t *testing.T, path string, sent int) {
	t.Helper()
	info, err := mediatest.CountIVF(path)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	n, err := mediatest.DecodeVideo(ctx, path)
	if err != nil {
		t.Errorf("%s does not decode cleanly: %v", filepath.Base(path), err)
	}
	t.Logf("%s: %d frames in file, %d decoded, %d sent", filepath.Base(path), info.Frames, n, sent)
	if info.Frames*10 < sent*9 {
		t.Errorf("%s: %d frames of %d sent, want >= 90%%", filepath.Base(path), info.Frames, sent)
	}
}

// checkDirect fails unless most of the audio c received took the direct
// path (direct.go): a stream never armed, or armed but still fed by pion,
// would pass every other check of the call.
func checkDirect(t *testing.T, who string, c *Call) {
	t.Helper()
	var direct, audio, directSent, audioSent uint64
	for _, p := range c.peers {
		for _, n := range p.contents {
			direct += p.stats.direct.counts(n).packets
		}
		for _, tr := range p.pc.GetTransceivers() {
			if s := tr.Sender(); s != nil && tr.Kind() == webrtc.RTPCodecTypeAudio {
				for _, e := range s.GetParameters().Encodings {
					n, _ := p.stats.directTx.counts(uint32(e.SSRC))
					directSent += n
				}
			}
		}
	}
	for _, s := range c.Stats().Streams {
		if s.Kind == "audio" {
			audio += s.PacketsReceived
			audioSent += s.PacketsSent
		}
	}
	t.Logf("%s: %d of %d audio packets received directly, %d of %d sent directly", who, direct, audio, directSent, audioSent)
	if audio == 0 || direct*10 < audio*9 {
		t.Errorf("%s: %d of %d audio packets received took the direct path, want >= 90%%", who, direct, audio)
	}
	if audioSent == 0 || directSent*10 < audioSent*9 {
		t.Errorf("%s: %d of %d audio packets sent took the direct path, want >= 90%%", who, directSent, audioSent)
	}
}
