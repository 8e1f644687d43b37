package rtp

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/turnserver"
	"github.com/jingled/jingled/xmpp"
	"github.com/jingled/jingled/xmpp/extdisco"
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
	checkDelivered(t, call.Stats(), bobCall.Stats())
	checkTone(t, filepath.Join(dir, "bob.ogg"), 440, d)
	checkTone(t, filepath.Join(dir, "alice.ogg"), 880, d)
	checkVideo(t, filepath.Join(dir, "bob.ivf"), 45)
}

// TestCallThroughProsodyRelay is the audio acceptance test with ICE
// policy relay, end to end as a deployment runs it: our TURN server
// shares a secret with Prosody's mod_turn_external, both clients
// discover it with XEP-0215 and get time-limited credentials, and media
// can only flow through the relay.
func TestCallThroughProsodyRelay(t *testing.T) {
	if testing.Short() {
		t.Skip("needs Prosody; make test-unit (-short) runs without it")
	}
	const d = 2 * time.Second
	const secret = "relay-test-secret"
	turn, err := turnserver.New(turnserver.Config{
		Address: "127.0.0.1", RelayBindAddress: "127.0.0.1", Realm: "jingled.test",
		Secrets: []string{secret}, UDPSockets: 1, DisableTCP: true, AllowPeers: []string{"127.0.0.0/8"},
	}, turnserver.WithEphemeralPorts(), turnserver.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = turn.Close() })
	port := turn.Addrs().UDP.(*net.UDPAddr).Port
	srv := prosodytest.New(t, prosodytest.WithTURNExternal(prosodytest.TURNExternal{Secret: secret, Host: "127.0.0.1", Port: port}))
	dir := t.TempDir()
	a440, a880 := sine(t, 440, d), sine(t, 880, d)

	relay := func(p *xmppPeer) PeerOptions {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		res, err := extdisco.Discover(ctx, p.client, srv.Domain, nil)
		if err != nil {
			t.Fatalf("XEP-0215 discovery: %v", err)
		}
		o := loopback(t)
		o.ICEServers, o.RelayOnly = extdisco.ToWebRTC(res.Servers), true
		if len(o.ICEServers) == 0 {
			t.Fatalf("no ICE servers discovered (skipped %+v)", res.Skipped)
		}
		return o
	}
	// Bob's application needs its ICE servers before it logs in; the
	// discovery result is the same for every account of the domain.
	bobOpts := ApplicationOptions{AutoAnswer: &MediaOptions{Audio: a880, Record: filepath.Join(dir, "bob")}}
	in := incomingCalls(&bobOpts)
	alice := login(t, srv, "alice", jingle.WithTransport(ICEUDP{}))
	bobOpts.Peer = relay(alice)
	bobApp := NewApplication(bobOpts)
	bob := login(t, srv, "bob", bobApp.Options()...)
	if got := relay(bob).ICEServers; len(got) == 0 {
		t.Fatal("bob discovered no ICE servers")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	call, err := Dial(ctx, alice.mgr, bob.client.JID(), CallOptions{
		MediaOptions: MediaOptions{Audio: a440, Record: filepath.Join(dir, "alice"), Duration: d + 1500*time.Millisecond},
		Peer:         relay(alice),
	})
	if err != nil {
		t.Fatal(err)
	}
	bobCall := <-in
	if r := waitEnd(t, call, 60*time.Second); r.Condition != jingle.ReasonSuccess {
		t.Fatalf("call ended with %s", r)
	}
	waitEnd(t, bobCall, 10*time.Second)
	st := call.Stats()
	t.Logf("caller: %s (%+v)", st, st.Pair)
	if st.Pair.LocalType != "relay" || bobCall.Stats().Pair.LocalType != "relay" {
		t.Errorf("pairs %+v / %+v, want relay on both sides", st.Pair, bobCall.Stats().Pair)
	}
	checkTone(t, filepath.Join(dir, "bob.ogg"), 440, d)
	checkTone(t, filepath.Join(dir, "alice.ogg"), 880, d)
}
