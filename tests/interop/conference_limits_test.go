package interop

import (
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/rtp"
)

// garbageSource floods a call with RTP whose payload is random bytes, a
// thousand packets a second: a broken or hostile client.
type garbageSource struct {
	track *webrtc.TrackLocalStaticRTP
	stop  chan struct{}
	once  sync.Once
}

func newGarbageSource(t *testing.T) *garbageSource {
	tr, err := webrtc.NewTrackLocalStaticRTP(rtp.CodecOpus, "audio", "garbage")
	if err != nil {
		t.Fatal(err)
	}
	return &garbageSource{track: tr, stop: make(chan struct{})}
}

func (g *garbageSource) Codec() webrtc.RTPCodecCapability { return rtp.CodecOpus }
func (g *garbageSource) Kind() webrtc.RTPCodecType        { return webrtc.RTPCodecTypeAudio }
func (g *garbageSource) Track() webrtc.TrackLocal         { return g.track }
func (g *garbageSource) Close() error {
	g.once.Do(func() { close(g.stop) })
	return nil
}

func (g *garbageSource) Run(ctx context.Context) error {
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	var seq uint16
	var ts uint32
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-g.stop:
			return nil
		case <-tick.C:
		}
		payload := make([]byte, 20+int(seq%200))
		_, _ = rand.Read(payload)
		seq++
		ts += 960
		if seq%50 == 0 {
			seq += 1000 // jumps, as a broken sender makes them
		}
		_ = g.track.WriteRTP(&pionrtp.Packet{Header: pionrtp.Header{Version: 2, SequenceNumber: seq, Timestamp: ts}, Payload: payload})
	}
}

// TestConferenceLimitsAndHostileParticipants: in a room of at most four,
// two CLI participants keep hearing each other's tone while a third
// floods garbage RTP and a fourth never completes ICE; a fifth gets
// <busy/> and a caller not on the join list <decline/>, each with a text
// and the CLI's exit code 5. The never-connecting participant is dropped
// with connectivity-error; the room is reclaimed and jingled's goroutines
// return to their level before the calls.
func TestConferenceLimitsAndHostileParticipants(t *testing.T) {
	srv := sharedServer(t)
	a, b := srv.NewAccount(t, "lim-a"), srv.NewAccount(t, "lim-b")
	g, n, busy, stranger := srv.NewAccount(t, "lim-g"), srv.NewAccount(t, "lim-n"), srv.NewAccount(t, "lim-busy"), srv.NewAccount(t, "lim-stranger")
	list := fmt.Sprintf("[%q, %q, %q, %q, %q]", a.JID, b.JID, g.JID, n.JID, busy.JID)
	d := startJingled(t, componentConfig(srv, fmt.Sprintf("max_participants = 4\ncreate = %s\njoin = %s\n", list, list)))
	baseline := proctest.MetricValue(d.Scrape(t), "go_goroutines")
	room := "limits@" + confDomain
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	const talk = 14 * time.Second
	group := newCLIGroup(t, ctx, srv)
	call := group.start
	call("a", a, "call", room, "--audio", sineFile(t, 440, talk+4*time.Second), "--record", filepath.Join(dir, "a"), "--duration", talk.String())
	call("b", b, "call", room, "--audio", sineFile(t, 660, talk+4*time.Second), "--record", filepath.Join(dir, "b"), "--duration", talk.String())
	time.Sleep(2 * time.Second)

	// The flooder and the one that never connects, with the library.
	flood := loginAs(t, srv, g)
	garbage := newGarbageSource(t)
	gcall, err := rtp.Dial(ctx, flood.mgr, room+"/focus", rtp.CallOptions{
		MediaOptions: rtp.MediaOptions{AudioSource: garbage, Duration: talk - 4*time.Second},
		Peer:         rtp.PeerOptions{Loopback: true, Logger: testLogger()},
	})
	if err != nil {
		t.Fatalf("flooder: %v", err)
	}
	silent := loginAs(t, srv, n)
	ncall, err := rtp.Dial(ctx, silent.mgr, room+"/focus", rtp.CallOptions{
		MediaOptions: rtp.MediaOptions{Audio: sineFile(t, 1100, talk)},
		Peer: rtp.PeerOptions{Logger: testLogger(), Configure: func(s *webrtc.SettingEngine) {
			// No address passes: no candidate, so ICE never completes.
			s.SetIPFilter(func(net.IP) bool { return false })
		}},
	})
	if err != nil {
		t.Fatalf("never-connecting participant: %v", err)
	}
	time.Sleep(time.Second)

	// The room holds four: the fifth is busy, the stranger declined.
	refusals := []struct {
		name string
		acc  prosodytest.Account
		want string
	}{{"busy", busy, "busy"}, {"stranger", stranger, "decline"}}
	for _, r := range refusals {
		run := runCLI(t, ctx, srv, r.acc, "call", room, "--audio", sineFile(t, 880, 3*time.Second), "--duration", "3s")
		if run.code != 5 || !strings.Contains(run.String(), r.want) {
			t.Errorf("%s: want exit 5 with %q, got %s", r.name, r.want, run)
		}
	}
	runs := group.wait()
	for _, name := range []string{"a", "b"} {
		if r := runs[name]; r.code != 0 || r.summary()["reason"] != "success" {
			t.Fatalf("participant %s: %s", name, r)
		}
	}
	ra := loadRecording(t, "a (440 Hz)", 440, filepath.Join(dir, "a.ogg"), runs["a"].event("media"))
	rb := loadRecording(t, "b (660 Hz)", 660, filepath.Join(dir, "b.ogg"), runs["b"].event("media"))
	mid := runs["b"].event("ice-connected").Add(2 * time.Second)
	checkMix(t, ra.who, ra.between(mid, mid.Add(8*time.Second)), 440, []float64{660})
	checkMix(t, rb.who, rb.between(mid, mid.Add(8*time.Second)), 660, []float64{440})

	if r, err := gcall.Wait(ctx); err != nil || r == nil {
		t.Errorf("flooder's call: %v %v", r, err)
	}
	r, err := ncall.Wait(ctx)
	if err != nil || r == nil || r.Condition != "connectivity-error" {
		t.Errorf("the never-connecting participant ended with %v (%v), want connectivity-error", r, err)
	}

	// Reclaimed, and nothing left running.
	deadline := time.Now().Add(40 * time.Second)
	var m string
	for time.Now().Before(deadline) {
		m = d.Scrape(t)
		if proctest.MetricValue(m, "jingled_conference_rooms") == 0 && proctest.MetricValue(m, "go_goroutines") <= baseline+2 {
			break
		}
		time.Sleep(250 * time.Millisecond)
	}
	if v := proctest.MetricValue(m, "jingled_conference_rooms"); v != 0 {
		t.Errorf("jingled_conference_rooms = %v, want 0", v)
	}
	if v := proctest.MetricValue(m, "go_goroutines"); v > baseline+2 {
		t.Errorf("jingled has %v goroutines after the room was reclaimed, %v before the calls", v, baseline)
	}
	if v := proctest.MetricValue(m, "jingled_conference_participants_total", `event="refused"`); v != 2 {
		t.Errorf("refusals counted: %v, want 2", v)
	}
}
