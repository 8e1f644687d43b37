package rtp

import (
	"errors"
	"log/slog"
	"strings"
	"testing"

	"github.com/pion/webrtc/v4"
)

// localUfrag is the a=ice-ufrag of pc's local description.
func localUfrag(t *testing.T, pc *webrtc.PeerConnection) string {
	t.Helper()
	for _, l := range strings.Split(pc.LocalDescription().SDP, "\r\n") {
		if u, ok := strings.CutPrefix(l, "a=ice-ufrag:"); ok {
			return u
		}
	}
	t.Fatal("no a=ice-ufrag in the local description")
	return ""
}

// TestReleaseFixedCredentials: a PeerConnection made with fixed ICE
// credentials (a transport split off a bundle) starts with them, and
// after releaseFixedCredentials an ICE restart offer carries new ones. It
// also guards the pion internals releaseFixedCredentials reaches into:
// after a pion upgrade that moved them, it fails here first.
func TestReleaseFixedCredentials(t *testing.T) {
	const ufrag, pwd = "splitufragsplit1", "splitpasswordsplitpassword123456"
	for _, release := range []bool{false, true} {
		api, _, err := newAPI(&PeerOptions{Loopback: true}, slog.New(slog.DiscardHandler), ufrag, pwd)
		if err != nil {
			t.Fatal(err)
		}
		pc, err := api.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		rapi, _, err := newAPI(&PeerOptions{Loopback: true}, slog.New(slog.DiscardHandler), "", "")
		if err != nil {
			t.Fatal(err)
		}
		remote, err := rapi.NewPeerConnection(webrtc.Configuration{})
		if err != nil {
			t.Fatal(err)
		}
		// offer is one offer/answer round; it returns the offer's ufrag.
		offer := func(restart bool) string {
			t.Helper()
			o, err := pc.CreateOffer(&webrtc.OfferOptions{ICERestart: restart})
			if err == nil {
				err = pc.SetLocalDescription(o)
			}
			if err == nil {
				err = remote.SetRemoteDescription(*pc.LocalDescription())
			}
			var a webrtc.SessionDescription
			if err == nil {
				a, err = remote.CreateAnswer(nil)
			}
			if err == nil {
				err = remote.SetLocalDescription(a)
			}
			if err == nil {
				err = pc.SetRemoteDescription(*remote.LocalDescription())
			}
			if err != nil {
				t.Fatal(err)
			}
			return localUfrag(t, pc)
		}
		if _, err := pc.AddTransceiverFromKind(webrtc.RTPCodecTypeAudio); err != nil {
			t.Fatal(err)
		}
		if got := offer(false); got != ufrag {
			t.Fatalf("first offer has ufrag %q, want the fixed %q", got, ufrag)
		}
		if release {
			if err := releaseFixedCredentials(pc); err != nil {
				t.Fatal(err)
			}
		}
		got := offer(true)
		switch {
		case release && got == ufrag:
			t.Errorf("released: the restart offer kept ufrag %q", got)
		case !release && got != ufrag:
			// pion changed: it no longer reuses fixed credentials at a
			// restart, and releaseFixedCredentials may be dropped.
			t.Errorf("not released: the restart offer has ufrag %q, want pion to keep %q", got, ufrag)
		}
		if err := errors.Join(pc.Close(), remote.Close()); err != nil {
			t.Fatal(err)
		}
	}
}
