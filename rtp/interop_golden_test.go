package rtp

import (
	"bytes"
	"os"
	"testing"
	"time"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// answerTo feeds a real client's session-initiate (from testdata) to our
// auto-answering application and returns our session-accept and the
// transport-infos that followed.
func answerTo(t *testing.T, file, from string) (*jingle.Jingle, []*jingle.Jingle) {
	t.Helper()
	raw, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	raw = raw[bytes.Index(raw, []byte("<jingle")):]
	l := newLink()
	bobApp := NewApplication(ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Echo: true}})
	l.manager(t, bob, bobApp.Options()...)
	l.mu.Lock()
	l.ackers[from] = true
	l.mu.Unlock()
	if err := sendRaw(t, l, from, bob, raw); err != nil {
		t.Fatalf("session-initiate refused: %v", err)
	}
	var accept *jingle.Jingle
	var infos []*jingle.Jingle
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		accept, infos = nil, nil
		l.mu.Lock()
		for _, iq := range l.seen {
			j, err := jingle.Parse(iq.Payload)
			if err != nil || iq.To != from {
				continue
			}
			switch j.Action {
			case jingle.ActionSessionAccept:
				accept = j
			case jingle.ActionTransportInfo:
				infos = append(infos, j)
			}
		}
		l.mu.Unlock()
		names := map[string]bool{}
		for _, j := range infos {
			for _, c := range j.Contents {
				names[c.Name] = true
			}
		}
		// Wait for candidates on every transport of the answer.
		transports := map[string]bool{}
		if accept != nil {
			for i := range accept.Contents {
				if tr, _, err := ice.Decode(accept.Contents[i].Transport); err == nil {
					transports[tr.Ufrag] = true
				}
			}
		}
		if accept != nil && len(names) >= len(transports) {
			break
		}
	}
	if accept == nil {
		t.Fatal("no session-accept")
	}
	return accept, infos
}

func transportOf(t *testing.T, c *jingle.Content) *ice.Transport {
	t.Helper()
	tr, _, err := ice.Decode(c.Transport)
	if err != nil {
		t.Fatalf("content %s: %v", c.Name, err)
	}
	return tr
}

func firstPT(t *testing.T, c *jingle.Content) PayloadType {
	t.Helper()
	d, err := Decode(c.Description)
	if err != nil {
		t.Fatal(err)
	}
	if len(d.PayloadTypes) == 0 {
		t.Fatalf("content %s: no payload type", c.Name)
	}
	return d.PayloadTypes[0]
}

// TestAnswerDino answers Dino 0.4.2's real offer: no BUNDLE, one
// transport per content, SDES offered beside DTLS, rtcp-mux with
// candidates for component 2, VP8 on payload type 98. Our answer must
// keep one transport per content (our own ufrag for each), no group,
// setup active, no <crypto>, Dino's payload type numbers, and trickle
// candidates for both contents.
func TestAnswerDino(t *testing.T) {
	const dino = "carol@localhost/dino"
	acc, infos := answerTo(t, "testdata/calls/dino-0.4.2-initiate.xml", dino)
	if len(acc.Contents) != 2 {
		t.Fatalf("session-accept has %d contents, want 2", len(acc.Contents))
	}
	if g := Bundle(acc); g != nil {
		t.Errorf("answer to a non-BUNDLE offer has a group %v", g)
	}
	ufrags := map[string]bool{}
	for i := range acc.Contents {
		c := &acc.Contents[i]
		tr := transportOf(t, c)
		ufrags[tr.Ufrag] = true
		if tr.Setup() != ice.SetupActive {
			t.Errorf("content %s: setup %q, want active", c.Name, tr.Setup())
		}
		if bytes.Contains(c.Description.Inner, []byte("crypto")) {
			t.Errorf("content %s: answer carries SDES crypto", c.Name)
		}
		if c.Creator != jingle.CreatorInitiator {
			t.Errorf("content %s: creator %q", c.Name, c.Creator)
		}
	}
	if len(ufrags) != 2 {
		t.Errorf("contents share ICE credentials (%d ufrags), want one transport each", len(ufrags))
	}
	if pt := firstPT(t, acc.Content("audio")); pt.Name != "opus" || pt.ID != 111 {
		t.Errorf("audio answered with %s/%d, want opus/111", pt.Name, pt.ID)
	}
	if pt := firstPT(t, acc.Content("video")); pt.Name != "VP8" || pt.ID != 98 {
		t.Errorf("video answered with %s/%d, want Dino's VP8/98", pt.Name, pt.ID)
	}
	trickled := map[string]bool{}
	for _, j := range infos {
		for _, c := range j.Contents {
			trickled[c.Name] = true
			tr := transportOf(t, &c)
			for _, cand := range tr.Candidates {
				if cand.Protocol != "udp" {
					t.Errorf("sent a %s candidate", cand.Protocol)
				}
			}
		}
	}
	if !trickled["audio"] || !trickled["video"] {
		t.Errorf("candidates trickled for %v, want audio and video", trickled)
	}
}

// TestAnswerStanzaJS answers StanzaJS's (libwebrtc's) bundled offer:
// one transport for both contents, the BUNDLE group echoed back.
func TestAnswerStanzaJS(t *testing.T) {
	acc, _ := answerTo(t, "testdata/calls/stanzajs-12.22.1-initiate.xml", "alice@localhost/stanzajs")
	if g := Bundle(acc); len(g) != 2 {
		t.Errorf("answer group %v, want BUNDLE of both contents", g)
	}
	ufrags := map[string]bool{}
	for i := range acc.Contents {
		ufrags[transportOf(t, &acc.Contents[i]).Ufrag] = true
	}
	if len(ufrags) != 1 {
		t.Errorf("bundled answer has %d ufrags, want 1", len(ufrags))
	}
	if pt := firstPT(t, acc.Content("0")); pt.Name != "opus" {
		t.Errorf("audio answered with %s", pt.Name)
	}
	if pt := firstPT(t, acc.Content("1")); pt.Name != "VP8" || pt.ID != 96 {
		t.Errorf("video answered with %s/%d, want VP8/96", pt.Name, pt.ID)
	}
}

// TestAnswerLeavesOutUnusableContent: an offer whose video has no codec
// we support (Dino's offer with VP8 renamed) is answered with audio only.
func TestAnswerLeavesOutUnusableContent(t *testing.T) {
	raw, err := os.ReadFile("testdata/calls/dino-0.4.2-initiate.xml")
	if err != nil {
		t.Fatal(err)
	}
	path := t.TempDir() + "/offer.xml"
	if err := os.WriteFile(path, bytes.ReplaceAll(raw, []byte(`name="VP8"`), []byte(`name="X-UNKNOWN"`)), 0o600); err != nil {
		t.Fatal(err)
	}
	acc, _ := answerTo(t, path, "carol@localhost/dino")
	if len(acc.Contents) != 1 || acc.Contents[0].Name != "audio" {
		var names []string
		for _, c := range acc.Contents {
			names = append(names, c.Name)
		}
		t.Errorf("session-accept contents %v, want only audio", names)
	}
}
