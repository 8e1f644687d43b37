package interop

import (
	"context"
	"fmt"
	"path/filepath"
	"slices"
	"testing"
	"time"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
)

// TestConferenceRoomIsACallableContact: what a client needs to show a
// call button. A subscription to the room is approved and followed by
// the focus's presence with caps that verify (XEP-0115); disco#info on
// the bare and the full room JID lists Jingle RTP audio and video,
// ICE-UDP, DTLS-SRTP and JMI.
func TestConferenceRoomIsACallableContact(t *testing.T) {
	srv := sharedServer(t)
	startJingled(t, componentConfig(srv, ""))
	room := "lobby@" + confDomain
	p := loginGo(t, srv, "contact")
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := p.client.Subscribe(ctx, room); err != nil {
		t.Fatal(err)
	}
	focus := room + "/focus"
	deadline := time.Now().Add(10 * time.Second)
	for !slices.Contains(p.client.Resources(room), focus) {
		if time.Now().After(deadline) {
			t.Fatalf("no presence from %s after subscribing (resources: %v)", focus, p.client.Resources(room))
		}
		time.Sleep(50 * time.Millisecond)
	}
	pr, _ := p.client.PresenceOf(focus)
	if pr.Caps == nil {
		t.Fatalf("the room's presence has no entity caps: %+v", pr)
	}
	info, err := p.client.VerifyPeerCaps(ctx, focus)
	if err != nil {
		t.Fatalf("caps do not verify: %v", err)
	}
	want := []string{rtp.NS, rtp.FeatureAudio, rtp.FeatureVideo, "urn:xmpp:jingle:transports:ice-udp:1", "urn:xmpp:jingle:apps:dtls:0", jingle.NSMessage, jingle.NS}
	for _, jid := range []string{room, focus} {
		di, err := p.client.DiscoInfo(ctx, jid)
		if err != nil {
			t.Fatalf("disco#info %s: %v", jid, err)
		}
		for _, f := range want {
			if !slices.Contains(di.Features, f) {
				t.Errorf("disco#info %s lacks %s: %v", jid, f, di.Features)
			}
		}
		if xmpp.CapsVer(di) != xmpp.CapsVer(info) {
			t.Errorf("disco#info %s differs from the caps' disco#info", jid)
		}
	}
}

// TestConferenceAccountMode: an [[account]] with role conference is one
// room. One CLI participant rings its bare JID (JMI), another calls its
// full JID directly, StanzaJS calls the full JID too; 440, 660 and
// 880 Hz, each hearing the two others and its own tone 20 dB below.
func TestConferenceAccountMode(t *testing.T) {
	srv := sharedServer(t)
	acct := srv.NewAccount(t, "team")
	pw := filepath.Join(t.TempDir(), "team.pw")
	writePassword(t, pw, acct.Password)
	startJingled(t, fmt.Sprintf(`
[ice]
loopback_only = true
discover = false
[[account]]
jid = %q
password_file = %q
server = %q
ca_file = %q
resource = "room"
role = "conference"
allow = ["*"]
`, acct.JID, pw, srv.Addr, srv.CAFile))
	a, b, c := srv.NewAccount(t, "am-a"), srv.NewAccount(t, "am-b"), srv.NewAccount(t, "am-c")
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	const talk = 12 * time.Second
	group := newCLIGroup(t, ctx, srv)
	call := group.start
	call("a", a, "call", acct.JID, "--audio", sineFile(t, 440, talk+4*time.Second), "--record", filepath.Join(dir, "a"), "--duration", talk.String())
	call("b", b, "call", acct.JID+"/room", "--audio", sineFile(t, 660, talk+4*time.Second), "--record", filepath.Join(dir, "b"), "--duration", talk.String())
	recC := filepath.Join(dir, "c.wav")
	sj := startPeer(t, srv, c, "call", acct.JID+"/room", "--freq", "880", "--hangup-after", fmt.Sprint(int(talk.Seconds())), "--record", recC)
	sj.waitFor(30*time.Second, "ice-connected", nil)
	runs := group.wait()
	if err := sj.wait(30 * time.Second); err != nil {
		t.Errorf("StanzaJS exited with %v", err)
	}
	for name, r := range runs {
		if r.code != 0 || r.summary()["reason"] != "success" {
			t.Fatalf("participant %s: %s", name, r)
		}
	}
	ra := loadRecording(t, "jingle call via JMI (440 Hz)", 440, filepath.Join(dir, "a.ogg"), runs["a"].event("media"))
	rb := loadRecording(t, "jingle call direct (660 Hz)", 660, filepath.Join(dir, "b.ogg"), runs["b"].event("media"))
	rc := loadRecording(t, "StanzaJS (880 Hz)", 880, recC, recordStart(t, sj))
	from := maxTime(runs["a"].event("ice-connected"), runs["b"].event("ice-connected"), rc.start).Add(time.Second)
	to := from.Add(6 * time.Second)
	checkMix(t, ra.who, ra.between(from, to), 440, []float64{660, 880})
	checkMix(t, rb.who, rb.between(from, to), 660, []float64{440, 880})
	checkMix(t, rc.who, rc.between(from, to), 880, []float64{440, 660})
}
