package rtp

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/internal/xmpp"
	"github.com/jingled/jingled/jingle"
)

// xmppPeer is one account logged into Prosody with a Jingle manager.
type xmppPeer struct {
	client *xmpp.Client
	mgr    *jingle.Manager
}

func login(t *testing.T, srv *prosodytest.Server, name string, opts ...jingle.Option) *xmppPeer {
	t.Helper()
	acct := srv.NewAccount(t, name)
	c, err := xmpp.New(xmpp.Config{JID: acct.JID, Password: acct.Password, Resource: name, Addr: srv.Addr, CAFile: srv.CAFile})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := c.Start(ctx); err != nil {
		t.Fatalf("logging in %s: %v", acct.JID, err)
	}
	opts = append([]jingle.Option{jingle.WithLogger(testLogger(t).With("me", c.JID()))}, opts...)
	m := jingle.NewManager(c.JID(), c, opts...)
	c.Serve(m)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = m.Close(ctx)
		_ = c.Close()
	})
	return &xmppPeer{client: c, mgr: m}
}

// TestCallThroughProsody is issue 3's acceptance test through a real
// Prosody: a 440 Hz Opus tone from the caller and an 880 Hz tone from
// the callee at the same time, plus VP8 video from the caller; both
// recordings are decoded by ffmpeg and checked.
func TestCallThroughProsody(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Prosody; make test-unit (-short) runs without it")
	}
	const d = 3 * time.Second
	srv := prosodytest.New(t)
	dir := t.TempDir()
	a440, a880 := sine(t, 440, d), sine(t, 880, d)
	video := filepath.Join(dir, "in.ivf")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := mediatest.TestsrcVP8(ctx, video, 45, 15, 160, 120); err != nil {
		t.Fatal(err)
	}
	bobOpts := ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Audio: a880, Record: filepath.Join(dir, "bob")}}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	alice := login(t, srv, "alice", jingle.WithTransport(ICEUDP{}))
	bob := login(t, srv, "bob", bobApp.Options()...)

	call, err := Dial(ctx, alice.mgr, bob.client.JID(), CallOptions{
		MediaOptions: MediaOptions{Audio: a440, Video: video, Record: filepath.Join(dir, "alice"), Duration: d + 1500*time.Millisecond},
		Peer:         loopback(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	bobCall := <-in
	if r := waitEnd(t, call, 60*time.Second); r.Condition != jingle.ReasonSuccess {
		t.Fatalf("call ended with %s", r)
	}
	if r := waitEnd(t, bobCall, 10*time.Second); r.Condition != jingle.ReasonSuccess {
		t.Errorf("callee saw %s", r)
	}
	t.Logf("caller: %s", call.Stats())
	t.Logf("callee: %s", bobCall.Stats())
	checkTone(t, filepath.Join(dir, "bob.ogg"), 440, d)
	checkTone(t, filepath.Join(dir, "alice.ogg"), 880, d)
	checkVideo(t, filepath.Join(dir, "bob.ivf"), 45)
}
