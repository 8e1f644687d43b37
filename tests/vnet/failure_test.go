package vnet

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
	"github.com/jingled/jingled/rtp"
)

// TestCallFailsWithoutRelayVNet is the negative scenario in-process:
// behind symmetric NATs with the relay gone, the call ends with
// connectivity-error and the reason names the gathered candidates, the
// pairs tried and the cause (the unreachable TURN server).
func TestCallFailsWithoutRelayVNet(t *testing.T) {
	w := buildWorld(t, symmetric)
	if err := w.relay.Close(); err != nil {
		t.Fatal(err)
	}
	r := jingletest.NewRouter()
	t.Cleanup(r.Close)
	peer := func(i int, user string) rtp.PeerOptions {
		conf := w.configure(i)
		return rtp.PeerOptions{ICEServers: iceServers(user), Logger: testLogger(t), Configure: func(s *webrtc.SettingEngine) {
			conf(s)
			// Short ICE timeouts keep the test fast; the outcome is the
			// same with pion's defaults.
			s.SetICETimeouts(2*time.Second, 4*time.Second, 500*time.Millisecond)
		}}
	}
	bobApp := rtp.NewApplication(rtp.ApplicationOptions{Peer: peer(1, "bob"), AutoAnswer: &rtp.MediaOptions{Echo: true}})
	alice := manager(t, r, aliceJID, jingle.WithTransport(rtp.ICEUDP{}))
	manager(t, r, bobJID, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	call, err := rtp.Dial(ctx, alice, bobJID, rtp.CallOptions{Peer: peer(0, "alice")})
	if err != nil {
		t.Fatal(err)
	}
	wctx, wcancel := context.WithTimeout(context.Background(), time.Minute)
	defer wcancel()
	reason, err := call.Wait(wctx)
	if err != nil {
		t.Fatalf("call did not end: %v", err)
	}
	t.Logf("ended: %s", reason)
	if reason.Condition != jingle.ReasonConnectivityError {
		t.Fatalf("call ended with %s, want connectivity-error", reason)
	}
	for _, want := range []string{"ICE failed", "gathered local host×", "pairs tried", "no relay candidate: the TURN server is unreachable"} {
		if !strings.Contains(reason.Text, want) {
			t.Errorf("reason %q lacks %q", reason.Text, want)
		}
	}
}
