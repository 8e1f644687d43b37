package rtp

// Tests against the real consumer of our SDP: pion/webrtc. ICE is
// restricted to loopback (no mDNS), so nothing leaves the machine.

import (
	"context"
	"encoding/xml"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	pionice "github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
	"go.uber.org/goleak"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// noLeaks fails the test if goroutines started during it outlive it; it
// must be called first so its cleanup runs after the PeerConnections close.
func noLeaks(t *testing.T) {
	t.Helper()
	before := goleak.IgnoreCurrent()
	t.Cleanup(func() {
		if err := goleak.Find(before); err != nil {
			t.Errorf("goroutines left behind: %v", err)
		}
	})
}

func loopbackAPI(t *testing.T) *webrtc.API {
	t.Helper()
	var se webrtc.SettingEngine
	se.SetInterfaceFilter(func(name string) bool { return name == "lo" })
	se.SetIPFilter(func(ip net.IP) bool { return ip.IsLoopback() })
	se.SetIncludeLoopbackCandidate(true)
	se.SetICEMulticastDNSMode(pionice.MulticastDNSModeDisabled)
	se.SetNetworkTypes([]webrtc.NetworkType{webrtc.NetworkTypeUDP4})
	var m webrtc.MediaEngine
	if err := m.RegisterDefaultCodecs(); err != nil {
		t.Fatal(err)
	}
	return webrtc.NewAPI(webrtc.WithSettingEngine(se), webrtc.WithMediaEngine(&m))
}

func newPC(t *testing.T, api *webrtc.API) *webrtc.PeerConnection {
	t.Helper()
	pc, err := api.NewPeerConnection(webrtc.Configuration{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := pc.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return pc
}

// answer has pion answer the offer and translates the answer back.
func answer(t *testing.T, api *webrtc.API, offer string) string {
	t.Helper()
	pc := newPC(t, api)
	if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
		t.Fatalf("pion rejects our offer: %v\n%s", err, offer)
	}
	a, err := pc.CreateAnswer(nil)
	if err != nil {
		t.Fatalf("pion cannot answer our offer: %v\n%s", err, offer)
	}
	return a.SDP
}

// TestPionAnswersInteropOffers hands every captured offer (StanzaJS and
// Dino calls, StanzaJS file offers) to pion, through JingleToSDP for
// bundled sessions and ContentToSDP per content for Dino's, and
// translates pion's answers back to Jingle.
func TestPionAnswersInteropOffers(t *testing.T) {
	noLeaks(t)
	api := loopbackAPI(t)
	n := 0
	for name, j := range interopJingles(t) {
		if j.Action != jingle.ActionSessionInitiate {
			continue
		}
		n++
		ans := Options{Author: jingle.CreatorResponder, Type: webrtc.SDPTypeAnswer}
		var got []jingle.Content
		if Bundle(j) != nil {
			offer, err := JingleToSDP(j, Options{})
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			cs, payloads, err := SDPToJingle(answer(t, api, offer), ans)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if g := groupsOf(t, payloads); len(g) != 1 || g[0].Semantics != "BUNDLE" {
				t.Errorf("%s: answer groups %+v", name, g)
			}
			got = cs
		} else {
			for i := range j.Contents {
				offer, err := ContentToSDP(&j.Contents[i], "", Options{})
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				c, err := SDPToContent(answer(t, api, offer), j.Contents[i].Name, ans)
				if err != nil {
					t.Fatalf("%s: %v", name, err)
				}
				got = append(got, c)
			}
		}
		if len(got) != len(j.Contents) {
			t.Fatalf("%s: %d answered contents, want %d", name, len(got), len(j.Contents))
		}
		for i := range got {
			checkAnswerContent(t, name, &j.Contents[i], &got[i])
		}
	}
	if n < 8 {
		t.Fatalf("only %d offers", n)
	}
}

func checkAnswerContent(t *testing.T, name string, offer, ans *jingle.Content) {
	t.Helper()
	if ans.Name != offer.Name {
		t.Errorf("%s: answered content %q for %q", name, ans.Name, offer.Name)
	}
	tr, _, err := ice.Decode(ans.Transport)
	if err != nil {
		t.Fatal(err)
	}
	if tr.Ufrag == "" || tr.Pwd == "" || len(tr.Fingerprints) == 0 {
		t.Errorf("%s: answer transport %+v", name, tr)
	}
	if s := tr.Setup(); s != ice.SetupActive && s != ice.SetupPassive {
		t.Errorf("%s: answer setup %q", name, s)
	}
	if offer.DescriptionNS() != NS {
		if tr.SCTPMap == nil {
			t.Errorf("%s: data channel answer without sctpmap", name)
		}
		return
	}
	od, err := Decode(offer.Description)
	if err != nil {
		t.Fatal(err)
	}
	ad, err := Decode(ans.Description)
	if err != nil {
		t.Fatal(err)
	}
	if ad.Media != od.Media || len(ad.PayloadTypes) == 0 {
		t.Fatalf("%s: answer description %+v", name, ad)
	}
	offered := map[uint8]string{}
	for _, p := range od.PayloadTypes {
		offered[p.ID] = strings.ToLower(p.Name)
	}
	for _, p := range ad.PayloadTypes {
		if offered[p.ID] != strings.ToLower(p.Name) {
			t.Errorf("%s: answer payload type %d %s not offered as such", name, p.ID, p.Name)
		}
	}
}

// TestPionCallThroughJingle negotiates a call with an audio track and a
// data channel between two pion PeerConnections on loopback, with every
// description and candidate going through Jingle XML: the offer with its
// candidates inside session-initiate, the answer in session-accept, the
// answerer's candidates trickled one per transport-info. The data channel
// must open and carry a message both ways.
func TestPionCallThroughJingle(t *testing.T) {
	noLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	api := loopbackAPI(t)
	a, b := newPC(t, api), newPC(t, api)

	track, err := webrtc.NewTrackLocalStaticSample(webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeOpus, ClockRate: 48000, Channels: 2}, "audio", "s1")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := a.AddTrack(track); err != nil {
		t.Fatal(err)
	}
	dcA, err := a.CreateDataChannel("filetransfer", nil)
	if err != nil {
		t.Fatal(err)
	}
	gotA := make(chan string, 1)
	dcA.OnMessage(func(m webrtc.DataChannelMessage) { gotA <- string(m.Data) })
	dcA.OnOpen(func() {
		if err := dcA.SendText("ping"); err != nil {
			t.Errorf("send: %v", err)
		}
	})
	b.OnDataChannel(func(dc *webrtc.DataChannel) {
		dc.OnMessage(func(m webrtc.DataChannelMessage) {
			if err := dc.SendText("pong:" + string(m.Data)); err != nil {
				t.Errorf("send: %v", err)
			}
		})
	})

	// Initiator: offer with all candidates (gathered first).
	offer, err := a.CreateOffer(nil)
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(a)
	if err := a.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	select {
	case <-gathered:
	case <-ctx.Done():
		t.Fatal("initiator gathering did not complete")
	}
	contents, payloads, err := SDPToJingle(a.LocalDescription().SDP, Options{})
	if err != nil {
		t.Fatal(err)
	}
	initiate := wire(t, &jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: "sid1", Contents: contents, Payloads: payloads})
	ncand := 0
	for _, c := range initiate.Contents {
		tr, _, err := ice.Decode(c.Transport)
		if err != nil {
			t.Fatal(err)
		}
		ncand += len(tr.Candidates)
	}
	if ncand == 0 {
		t.Fatal("no candidate in session-initiate")
	}

	// Responder.
	remoteOffer, err := JingleToSDP(initiate, Options{Author: jingle.CreatorInitiator})
	if err != nil {
		t.Fatal(err)
	}
	if err := b.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: remoteOffer}); err != nil {
		t.Fatalf("%v\n%s", err, remoteOffer)
	}
	ans, err := b.CreateAnswer(nil)
	if err != nil {
		t.Fatal(err)
	}
	aopts := Options{Author: jingle.CreatorResponder, Type: webrtc.SDPTypeAnswer}
	contents, payloads, err = SDPToJingle(ans.SDP, aopts)
	if err != nil {
		t.Fatal(err)
	}
	accept := wire(t, &jingle.Jingle{Action: jingle.ActionSessionAccept, SID: "sid1", Contents: contents, Payloads: payloads})
	ufrag := ""
	if tr, _, err := ice.Decode(accept.Contents[0].Transport); err == nil {
		ufrag = tr.Ufrag
	}
	remoteAnswer, err := JingleToSDP(accept, aopts)
	if err != nil {
		t.Fatal(err)
	}
	if err := a.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: remoteAnswer}); err != nil {
		t.Fatalf("%v\n%s", err, remoteAnswer)
	}

	// The responder trickles, one candidate per transport-info.
	var mu sync.Mutex
	trickled := 0
	b.OnICECandidate(func(ic *webrtc.ICECandidate) {
		if ic == nil {
			return
		}
		c, err := ice.FromICECandidate(*ic)
		if errors.Is(err, ice.ErrNotUDP) {
			return
		}
		if err != nil {
			t.Errorf("candidate %v: %v", ic, err)
			return
		}
		tr := ice.Transport{Ufrag: ufrag, Candidates: []ice.Candidate{c}}
		e, err := tr.Element()
		if err != nil {
			t.Error(err)
			return
		}
		info := wire(t, &jingle.Jingle{Action: jingle.ActionTransportInfo, SID: "sid1",
			Contents: []jingle.Content{{Creator: jingle.CreatorInitiator, Name: accept.Contents[0].Name, Transport: &e}}})
		inits, err := TrickleCandidates(info)
		if err != nil {
			t.Error(err)
			return
		}
		for _, in := range inits {
			if err := a.AddICECandidate(in); err != nil {
				t.Errorf("AddICECandidate(%+v): %v", in, err)
			}
		}
		mu.Lock()
		trickled++
		mu.Unlock()
	})
	if err := b.SetLocalDescription(ans); err != nil {
		t.Fatal(err)
	}

	select {
	case m := <-gotA:
		if m != "pong:ping" {
			t.Fatalf("got %q", m)
		}
	case <-ctx.Done():
		t.Fatalf("data channel did not carry a message through the Jingle-negotiated session (ICE %s / %s)",
			a.ICEConnectionState(), b.ICEConnectionState())
	}
	mu.Lock()
	defer mu.Unlock()
	if trickled == 0 {
		t.Error("no candidate trickled")
	}
}

// wire sends a Jingle element through XML and back, as the XMPP stream
// would.
func wire(t *testing.T, j *jingle.Jingle) *jingle.Jingle {
	t.Helper()
	b, err := xml.Marshal(j)
	if err != nil {
		t.Fatal(err)
	}
	back, err := jingle.Parse(b)
	if err != nil {
		t.Fatalf("%v\n%s", err, b)
	}
	return back
}

// TestPionPerContentThroughJingle is the non-BUNDLE (Dino) case: each
// side runs one PeerConnection per content. The initiator's pion names its
// single m-line "0", so SDPToContent renames it to the content name and
// ContentToSDP puts the mid back when the answer comes in; the responder's
// PeerConnections see the content names as mids. Both contents' DTLS
// transports must come up.
func TestPionPerContentThroughJingle(t *testing.T) {
	noLeaks(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	api := loopbackAPI(t)
	kinds := map[string]webrtc.RTPCodecType{"audio": webrtc.RTPCodecTypeAudio, "video": webrtc.RTPCodecTypeVideo}
	var offers []jingle.Content
	initPC := map[string]*webrtc.PeerConnection{}
	for _, name := range []string{"audio", "video"} {
		pc := newPC(t, api)
		initPC[name] = pc
		if _, err := pc.AddTransceiverFromKind(kinds[name]); err != nil {
			t.Fatal(err)
		}
		o, err := pc.CreateOffer(nil)
		if err != nil {
			t.Fatal(err)
		}
		done := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(o); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatal("gathering did not complete")
		}
		c, err := SDPToContent(pc.LocalDescription().SDP, name, Options{})
		if err != nil {
			t.Fatal(err)
		}
		offers = append(offers, c)
	}
	initiate := wire(t, &jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: "dino", Contents: offers})
	if Bundle(initiate) != nil {
		t.Fatal("per-content offer carries a BUNDLE group")
	}

	aopts := Options{Author: jingle.CreatorResponder, Type: webrtc.SDPTypeAnswer}
	var answers []jingle.Content
	var all []*webrtc.PeerConnection
	for i := range initiate.Contents {
		c := &initiate.Contents[i]
		pc := newPC(t, api)
		all = append(all, pc)
		offer, err := ContentToSDP(c, "", Options{})
		if err != nil {
			t.Fatal(err)
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: offer}); err != nil {
			t.Fatalf("%v\n%s", err, offer)
		}
		ans, err := pc.CreateAnswer(nil)
		if err != nil {
			t.Fatal(err)
		}
		done := webrtc.GatheringCompletePromise(pc)
		if err := pc.SetLocalDescription(ans); err != nil {
			t.Fatal(err)
		}
		select {
		case <-done:
		case <-ctx.Done():
			t.Fatal("gathering did not complete")
		}
		a, err := SDPToContent(pc.LocalDescription().SDP, c.Name, aopts)
		if err != nil {
			t.Fatal(err)
		}
		answers = append(answers, a)
	}
	accept := wire(t, &jingle.Jingle{Action: jingle.ActionSessionAccept, SID: "dino", Contents: answers})
	for i := range accept.Contents {
		c := &accept.Contents[i]
		pc := initPC[c.Name]
		mid := midOf(t, pc.LocalDescription().SDP)
		if mid == c.Name {
			t.Fatalf("pion used the content name %q as mid: the rename is not exercised", mid)
		}
		s, err := ContentToSDP(c, mid, aopts)
		if err != nil {
			t.Fatal(err)
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: s}); err != nil {
			t.Fatalf("%s: %v\n%s", c.Name, err, s)
		}
		all = append(all, pc)
	}
	for _, pc := range all {
		connected := make(chan struct{})
		var once sync.Once
		pc.OnConnectionStateChange(func(s webrtc.PeerConnectionState) {
			if s == webrtc.PeerConnectionStateConnected {
				once.Do(func() { close(connected) })
			}
		})
		if pc.ConnectionState() == webrtc.PeerConnectionStateConnected {
			once.Do(func() { close(connected) })
		}
		select {
		case <-connected:
		case <-ctx.Done():
			t.Fatalf("a per-content PeerConnection did not connect (ICE %s)", pc.ICEConnectionState())
		}
	}
}

// midOf returns the a=mid of the first m-line.
func midOf(t *testing.T, s string) string {
	t.Helper()
	for _, l := range strings.Split(s, "\r\n") {
		if m, ok := strings.CutPrefix(l, "a=mid:"); ok {
			return m
		}
	}
	t.Fatal("no a=mid")
	return ""
}
