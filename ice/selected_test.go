package ice

import (
	"context"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
)

// TestSelectedWhileStarting reads the selected pair and its RTT (as a
// call's stats do when it ends) while pion starts the ICE transport on an
// answer in its operations goroutine. pion's getters read the transport's
// gatherer without the lock Start writes it under; under -race this test
// fails in some of its rounds if SelectedPair or SelectedRTT ask before
// the transport started (as rtp's stats did, failing conference's
// TestRoomRefuses in two fresh-clone CI runs). Once ICE connected, both
// must describe the loopback pair.
func TestSelectedWhileStarting(t *testing.T) {
	var se webrtc.SettingEngine
	LoopbackOnly(&se)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	api := webrtc.NewAPI(webrtc.WithSettingEngine(se))
	newPC := func() *webrtc.PeerConnection {
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = pc.Close() })
		return pc
	}
	for round := range 20 {
		offerer, answerer := newPC(), newPC()
		if _, err := offerer.CreateDataChannel("x", nil); err != nil {
			t.Fatal(err)
		}
		connected := make(chan struct{})
		offerer.OnICEConnectionStateChange(func(s webrtc.ICEConnectionState) {
			if s == webrtc.ICEConnectionStateConnected {
				close(connected)
			}
		})
		offer, err := offerer.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		gathered := webrtc.GatheringCompletePromise(offerer)
		if err := offerer.SetLocalDescription(offer); err != nil {
			t.Fatal(err)
		}
		<-gathered
		if err := answerer.SetRemoteDescription(*offerer.LocalDescription()); err != nil {
			t.Fatal(err)
		}
		ans, err := answerer.CreateAnswer(nil)
		if err != nil {
			t.Fatal(err)
		}
		gathered = webrtc.GatheringCompletePromise(answerer)
		if err := answerer.SetLocalDescription(ans); err != nil {
			t.Fatal(err)
		}
		<-gathered
		it := offerer.SCTP().Transport().ICETransport()
		if p := SelectedPair(it); p != (Pair{}) {
			t.Fatalf("round %d: a pair before ICE started: %+v", round, p)
		}
		stop := make(chan struct{})
		done := make(chan struct{})
		go func() {
			defer close(done)
			for {
				select {
				case <-stop:
					return
				default:
					_ = SelectedPair(it)
					_ = SelectedRTT(it)
				}
			}
		}()
		// Starts the offerer's transports in pion's operations goroutine.
		if err := offerer.SetRemoteDescription(*answerer.LocalDescription()); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		select {
		case <-connected:
		case <-ctx.Done():
			t.Fatalf("round %d: ICE did not connect on loopback", round)
		}
		cancel()
		close(stop)
		<-done
		p := SelectedPair(it)
		if p.Protocol != "udp" || p.LocalType != "host" || p.Local == "" || p.Remote == "" {
			t.Fatalf("round %d: selected pair once connected: %+v", round, p)
		}
		if SelectedRTT(it) < 0 {
			t.Fatalf("round %d: negative RTT", round)
		}
	}
}

// TestSelectedNil: no transport, no pair and no RTT.
func TestSelectedNil(t *testing.T) {
	if Started(nil) || SelectedPair(nil) != (Pair{}) || SelectedRTT(nil) != 0 {
		t.Fatal("a nil transport reads as started or selected")
	}
}
