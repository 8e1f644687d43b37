package rtp

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/turnserver"
)

// startTURN runs our relay on loopback. Loopback peers are denied by
// default (they are how relays get abused); the test allows them.
func startTURN(t *testing.T) []webrtc.ICEServer {
	t.Helper()
	s, err := turnserver.New(turnserver.Config{
		Address:          "127.0.0.1",
		RelayBindAddress: "127.0.0.1",
		Realm:            "jingled.test",
		Users:            map[string]string{"caller": "relay-pass"},
		UDPSockets:       1,
		DisableTCP:       true,
		AllowPeers:       []string{"127.0.0.0/8"},
	}, turnserver.WithEphemeralPorts(), turnserver.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return []webrtc.ICEServer{{
		URLs:       []string{fmt.Sprintf("turn:%s?transport=udp", s.Addrs().UDP)},
		Username:   "caller",
		Credential: "relay-pass",
	}}
}

// TestCallThroughRelay is the audio acceptance test with ICE policy
// relay on both sides: media can only flow through the TURN server, and
// the stats must show a relay pair.
func TestCallThroughRelay(t *testing.T) {
	const d = 2 * time.Second
	dir := t.TempDir()
	a440, a880 := sine(t, 440, d), sine(t, 880, d)
	servers := startTURN(t)
	relay := func() PeerOptions {
		o := loopback(t)
		o.ICEServers, o.RelayOnly = servers, true
		return o
	}
	l := newLink()
	bobOpts := ApplicationOptions{Peer: relay(), AutoAnswer: &MediaOptions{Audio: a880, Record: filepath.Join(dir, "bob")}}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{
		MediaOptions: MediaOptions{Audio: a440, Record: filepath.Join(dir, "alice"), Duration: d + 1500*time.Millisecond},
		Peer:         relay(),
	})
	if err != nil {
		t.Fatal(err)
	}
	bobCall := <-in
	var live Stats
	for e := range call.Events() {
		if e.Type == EventMedia {
			live = call.Stats()
		}
	}
	if r := call.Reason(); r.Condition != jingle.ReasonSuccess {
		t.Fatalf("call ended with %s", r)
	}
	waitEnd(t, bobCall, 10*time.Second)
	st := call.Stats()
	t.Logf("caller stats: %s (pair %+v)", st, st.Pair)
	if !st.Pair.Relayed() || st.Pair.LocalType != "relay" {
		t.Errorf("selected pair %+v, want a relay pair", st.Pair)
	}
	if !live.Pair.Relayed() {
		t.Errorf("live stats pair %+v, want relay", live.Pair)
	}
	if bs := bobCall.Stats(); bs.Pair.LocalType != "relay" {
		t.Errorf("callee pair %+v, want relay", bs.Pair)
	}
	checkTone(t, filepath.Join(dir, "bob.ogg"), 440, d)
	checkTone(t, filepath.Join(dir, "alice.ogg"), 880, d)
}
