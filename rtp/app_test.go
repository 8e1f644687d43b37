package rtp

import (
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

const mallory = "mallory@example.org/m"

// rawOffer is a session-initiate as a client would write it; codec and
// candidate are spliced in.
func rawOffer(sid, payloadTypes, candidate string) []byte {
	return []byte(`<jingle xmlns='urn:xmpp:jingle:1' action='session-initiate' initiator='` + mallory + `' sid='` + sid + `'>
  <content creator='initiator' name='audio'>
    <description xmlns='urn:xmpp:jingle:apps:rtp:1' media='audio'>` + payloadTypes + `<rtcp-mux/></description>
    <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='8hhy' pwd='asd88fgpdd777uzjYhagZg'>
      <fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>02:1A:CC:54:27:AB:EB:9C:53:3F:3E:4B:65:2E:7D:46:3F:54:42:CD:54:F1:7A:03:A2:7D:F9:B0:7F:46:19:B2</fingerprint>
      ` + candidate + `
    </transport>
  </content>
</jingle>`)
}

func sendRaw(t *testing.T, l *link, from, to string, payload []byte) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, err := (&endpoint{l: l, jid: from}).SendIQ(ctx, &jingle.IQ{ID: "x", To: to, Type: jingle.IQSet, Payload: payload})
	return err
}

// terminateTo waits for bob's session-terminate to jid with sid and
// returns its reason.
func terminateTo(t *testing.T, l *link, to, sid string) *jingle.Reason {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		l.mu.Lock()
		for _, iq := range l.seen {
			if iq.To != to {
				continue
			}
			if j, err := jingle.Parse(iq.Payload); err == nil && j.SID == sid && j.Action == jingle.ActionSessionTerminate {
				l.mu.Unlock()
				return j.Reason
			}
		}
		l.mu.Unlock()
		time.Sleep(20 * time.Millisecond)
	}
	t.Fatalf("no session-terminate to %s for %s", to, sid)
	return nil
}

// TestBadInputDoesNotBreakACall runs a real echo call while a third
// party sends an offer without a common codec (session-terminate
// failed-application), offers and transport-infos with malformed
// candidates (bad-request), and transport-info for the running session
// (unknown-session); the call carries on and its audio is intact.
func TestBadInputDoesNotBreakACall(t *testing.T) {
	const d = 2 * time.Second
	dir := t.TempDir()
	tone := sine(t, 440, d)
	l := newLink()
	bobApp := NewApplication(ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Echo: true}})
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	bobMgr := l.manager(t, bob, bobApp.Options()...)
	l.manager(t, mallory)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{
		MediaOptions: MediaOptions{Audio: tone, Record: filepath.Join(dir, "alice"), Duration: d + time.Second},
		Peer:         loopback(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	sid := call.Session().SID()

	// No payload type in common: acked, then terminated.
	if err := sendRaw(t, l, mallory, bob, rawOffer("nocodec", `<payload-type id='96' name='AMR-WB' clockrate='16000'/>`, "")); err != nil {
		t.Fatalf("offer without common codec: IQ error %v, want result", err)
	}
	if r := terminateTo(t, l, mallory, "nocodec"); r == nil || r.Condition != jingle.ReasonFailedApplication {
		t.Errorf("offer without common codec ended with %v, want failed-application", r)
	}
	// Malformed candidates: bad-request, nothing allocated.
	opus := `<payload-type id='111' name='opus' clockrate='48000' channels='2'/>`
	bad := `<candidate component='1' foundation='1' generation='0' id='c1' ip='192.0.2.1' network='0' port='notaport' priority='1' protocol='udp' type='host'/>`
	err = sendRaw(t, l, mallory, bob, rawOffer("badcand", opus, bad))
	if !errors.Is(err, jingle.ErrBadRequest) {
		t.Errorf("offer with malformed candidate: %v, want bad-request", err)
	}
	noType := strings.Replace(bad, "port='notaport'", "port='9'", 1)
	noType = strings.Replace(noType, "type='host'", "type='bogus'", 1)
	if err := sendRaw(t, l, mallory, bob, rawOffer("badtype", opus, noType)); !errors.Is(err, jingle.ErrBadRequest) {
		t.Errorf("offer with unknown candidate type: %v, want bad-request", err)
	}
	ti := []byte(`<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='` + sid + `'><content creator='initiator' name='audio'>` +
		`<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='u' pwd='p'>` + bad + `</transport></content></jingle>`)
	if err := sendRaw(t, l, mallory, bob, ti); !errors.Is(err, jingle.ErrUnknownSession) {
		t.Errorf("transport-info from a third party: %v, want unknown-session", err)
	}
	if err := sendRaw(t, l, alice, bob, ti); !errors.Is(err, jingle.ErrBadRequest) {
		t.Errorf("malformed transport-info in the call: %v, want bad-request", err)
	}
	if n := len(bobMgr.Sessions()); n != 1 {
		t.Errorf("bob has %d sessions, want only the call", n)
	}
	// A candidate flood from the peer itself: accepted up to the cap, then
	// refused with resource-constraint, and the call goes on. (Loopback
	// addresses on closed ports: any check pion makes stays on lo.)
	var refused, accepted int
	for batch := 0; batch < 6; batch++ {
		var b strings.Builder
		for i := 0; i < 50; i++ {
			n := batch*50 + i
			fmt.Fprintf(&b, `<candidate component='1' foundation='f%d' generation='0' id='flood%d' ip='127.0.0.1' network='0' port='%d' priority='1' protocol='udp' type='host'/>`, n, n, 1000+n)
		}
		flood := []byte(`<jingle xmlns='urn:xmpp:jingle:1' action='transport-info' sid='` + sid + `'><content creator='initiator' name='audio'>` +
			`<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'>` + b.String() + `</transport></content></jingle>`)
		err := sendRaw(t, l, alice, bob, flood)
		switch {
		case err == nil:
			accepted++
		case errors.Is(err, jingle.ErrResourceConstraint):
			refused++
		default:
			t.Errorf("candidate flood batch %d: %v", batch, err)
		}
	}
	if accepted < 4 || refused == 0 {
		t.Errorf("candidate flood: %d batches accepted, %d refused; want the first 200 accepted and the rest refused", accepted, refused)
	}

	if r := waitEnd(t, call, 30*time.Second); r.Condition != jingle.ReasonSuccess {
		t.Fatalf("call ended with %s", r)
	}
	// The echo came back: what alice recorded is her own tone.
	checkTone(t, filepath.Join(dir, "alice.ogg"), 440, d)
}

// TestDeclineBusyCancel checks the reasons of calls that never start.
func TestDeclineBusyCancel(t *testing.T) {
	l := newLink()
	bobOpts := ApplicationOptions{Peer: loopback(t), MaxCalls: 1}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	dial := func() *Call {
		c, err := Dial(ctx, aliceMgr, bob, CallOptions{Peer: loopback(t)})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}

	// Decline.
	c1 := dial()
	bc := <-in
	if err := bc.End(ctx, jingle.NewReason(jingle.ReasonDecline, "")); err != nil {
		t.Fatal(err)
	}
	if r := waitEnd(t, c1, 10*time.Second); r.Condition != jingle.ReasonDecline {
		t.Errorf("declined call ended with %s", r)
	}

	// Busy: bob takes one call at a time.
	c2 := dial()
	<-in
	c3 := dial()
	if r := waitEnd(t, c3, 10*time.Second); r.Condition != jingle.ReasonBusy {
		t.Errorf("second call ended with %s, want busy", r)
	}
	// Cancel: the caller hangs up while it rings.
	if err := c2.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if r := c2.Reason(); r.Condition != jingle.ReasonCancel {
		t.Errorf("caller hang-up before answer: %s, want cancel", r)
	}
	var sawRinging bool
	for e := range c2.Events() {
		sawRinging = sawRinging || e.Type == EventRinging
	}
	if !sawRinging {
		t.Error("no ringing event")
	}
}

// TestTimeout: nobody answers; the manager's initiate timeout ends the
// call with <timeout/>.
func TestTimeout(t *testing.T) {
	l := newLink()
	bobApp := NewApplication(ApplicationOptions{Peer: loopback(t)})
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}), jingle.WithInitiateTimeout(500*time.Millisecond))
	l.manager(t, bob, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, aliceMgr, bob, CallOptions{Peer: loopback(t)})
	if err != nil {
		t.Fatal(err)
	}
	if r := waitEnd(t, c, 10*time.Second); r.Condition != jingle.ReasonTimeout {
		t.Errorf("unanswered call ended with %s, want timeout", r)
	}
}

func TestInfoElement(t *testing.T) {
	e, err := infoElement(EventMute, "audio", false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := xml.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := string(b), `<mute xmlns="urn:xmpp:jingle:apps:rtp:info:1" creator="initiator" name="audio"></mute>`; got != want {
		t.Errorf("mute = %s, want %s", got, want)
	}
	if _, err := infoElement("dance", "", true); err == nil {
		t.Error("unknown info accepted")
	}
}

// TestEarlyCandidatesQueued: the caller's candidates all arrive before
// the callee answers, and the callee's own candidates never reach the
// caller (dropped). The call can only connect if the callee kept the
// early candidates and checks them once it answered.
func TestEarlyCandidatesQueued(t *testing.T) {
	l := newLink()
	gathered := make(chan struct{})
	var once sync.Once
	l.filter = func(from, _ string, iq *jingle.IQ) *jingle.IQ {
		j, err := jingle.Parse(iq.Payload)
		if err != nil || j.Action != jingle.ActionTransportInfo {
			return iq
		}
		if from == bob {
			return nil // never delivered
		}
		if tr, _, err := ice.Decode(j.Contents[0].Transport); err == nil && tr.GatheringComplete {
			once.Do(func() { close(gathered) })
		}
		return iq
	}
	bobOpts := ApplicationOptions{Peer: loopback(t)}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	tone := sine(t, 440, time.Second)
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{MediaOptions: MediaOptions{Audio: tone}, Peer: loopback(t)})
	if err != nil {
		t.Fatal(err)
	}
	bc := <-in
	select {
	case <-gathered: // every caller candidate is now at the callee
	case <-ctx.Done():
		t.Fatal("caller never finished gathering")
	}
	if err := bc.Answer(ctx, MediaOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := &events{ch: bc.Events()}
	ev.wait(t, EventMedia, "audio")
	if err := call.Hangup(ctx); err != nil {
		t.Fatal(err)
	}
	if r := waitEnd(t, bc, 10*time.Second); r.Condition != jingle.ReasonSuccess {
		t.Errorf("callee saw %s", r)
	}
}

// TestMediaError: the callee cannot open what it was told to play; the
// call ends with media-error on both sides.
func TestMediaError(t *testing.T) {
	l := newLink()
	bobApp := NewApplication(ApplicationOptions{Peer: loopback(t), AutoAnswer: &MediaOptions{Audio: filepath.Join(t.TempDir(), "missing.ogg")}})
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	c, err := Dial(ctx, aliceMgr, bob, CallOptions{Peer: loopback(t)})
	if err != nil {
		t.Fatal(err)
	}
	if r := waitEnd(t, c, 10*time.Second); r.Condition != jingle.ReasonMediaError {
		t.Errorf("call ended with %s, want media-error", r)
	}
	if _, err := Dial(ctx, aliceMgr, bob, CallOptions{Peer: loopback(t), MediaOptions: MediaOptions{Audio: "missing.ogg"}}); err == nil {
		t.Error("Dial with a missing file succeeded")
	}
}
