package datachannel

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/xml"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

type sess struct {
	local, peer string
	init        bool
}

func (s sess) Local() string     { return s.local }
func (s sess) Peer() string      { return s.peer }
func (s sess) IsInitiator() bool { return s.init }
func (s sess) Send(context.Context, *jingle.Jingle) error {
	return nil // the datachannel sends no transport-info
}

const (
	romeo  = "romeo@montague.lit/orchard"
	juliet = "juliet@capulet.lit/balcony"
)

func pair(t *testing.T, ns string) (*handle, *handle) { return pairB(t, ns) }

func pairB(t testing.TB, ns string) (*handle, *handle) {
	t.Helper()
	return pairVia(t, New(WithLoopbackOnly()).Dialect(ns), nil)
}

// pairVia connects two handles of tr, the offer and the answer passing
// through via (nil: unchanged) on their way to the other side.
func pairVia(t testing.TB, tr *Transport, via func(e jingle.Element, offer bool) jingle.Element) (*handle, *handle) {
	t.Helper()
	if via == nil {
		via = func(e jingle.Element, _ bool) jingle.Element { return e }
	}
	ns := tr.Namespace()
	a := tr.newHandle(sess{romeo, juliet, true}, "a-file-offer")
	b := tr.newHandle(sess{juliet, romeo, false}, "a-file-offer")
	t.Cleanup(func() { _ = a.Close(); _ = b.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	offer, err := a.Local(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if offer.XMLName.Space != ns {
		t.Fatalf("offer in %q, want %q", offer.XMLName.Space, ns)
	}
	if err := b.HandleRemote(ctx, jingle.ActionSessionInitiate, via(offer, true)); err != nil {
		t.Fatal(err)
	}
	answer, err := b.Local(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if answer.XMLName.Space != ns {
		t.Fatalf("answer in %q, want %q", answer.XMLName.Space, ns)
	}
	at, _, err := ice.Decode(&answer)
	if err != nil {
		t.Fatal(err)
	}
	if at.Setup() != ice.SetupActive && at.Setup() != ice.SetupPassive {
		t.Fatalf("answer setup %q", at.Setup())
	}
	for _, c := range at.Candidates {
		if !strings.HasPrefix(c.IP, "127.") {
			t.Fatalf("non-loopback candidate %s", c.IP)
		}
	}
	if err := a.HandleRemote(ctx, jingle.ActionSessionAccept, via(answer, false)); err != nil {
		t.Fatal(err)
	}
	return a, b
}

func TestDialects(t *testing.T) {
	for _, ns := range []string{ice.NS, ice.NSDataChannel1, ice.NSDataChannel0} {
		t.Run(ns, func(t *testing.T) {
			a, b := pair(t, ns)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			ca, err := a.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			cb, err := b.Conn(ctx)
			if err != nil {
				t.Fatal(err)
			}
			for _, c := range []io.ReadWriteCloser{ca, cb} {
				p := c.(interface{ Pair() ice.Pair }).Pair()
				if p.LocalType != "host" || p.RemoteType != "host" || p.Protocol != "udp" || !strings.HasPrefix(p.Local, "127.") {
					t.Fatalf("path %+v, want host/host over udp on loopback", p)
				}
			}
			msg := make([]byte, 1<<20)
			_, _ = rand.Read(msg)
			errc := make(chan error, 1)
			go func() {
				_, err := ca.Write(msg)
				if err != nil {
					t.Errorf("write: %v", err)
					_ = cb.Close()
				}
				errc <- err
			}()
			got := make([]byte, len(msg))
			if _, err := io.ReadFull(cb, got); err != nil {
				t.Fatal(err)
			}
			if err := <-errc; err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(got, msg) {
				t.Fatal("data differs")
			}
		})
	}
}

// TestStanzaJSOffer answers StanzaJS 12.22.1's captured file offer: the
// answer must be ICE-UDP with <sctpmap> (else StanzaJS builds no channel)
// and setup active.
func TestStanzaJSOffer(t *testing.T) {
	src, err := os.ReadFile("../testdata/stanzajs-12.22.1-session.xml")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`<iq from='alice@localhost/stanzajs'[^>]*><jingle sid='f82ee671[^>]*action='session-initiate'>.*?</iq>`).Find(src)
	if m == nil {
		t.Fatal("offer not found")
	}
	var iq jingle.IQ
	if err := xml.Unmarshal(m, &iq); err != nil {
		t.Fatal(err)
	}
	j, err := jingle.Parse(iq.Payload)
	if err != nil {
		t.Fatal(err)
	}
	tr := New(WithLoopbackOnly()).Dialect(ice.NS)
	h := tr.newHandle(sess{"bob@localhost/stanzajs", "alice@localhost/stanzajs", false}, j.Contents[0].Name)
	defer h.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if err := h.HandleRemote(ctx, jingle.ActionSessionInitiate, *j.Contents[0].Transport); err != nil {
		t.Fatal(err)
	}
	el, err := h.Local(ctx)
	if err != nil {
		t.Fatal(err)
	}
	at, dc, err := ice.Decode(&el)
	if err != nil {
		t.Fatal(err)
	}
	if dc != nil || at.SCTPMap == nil || at.SCTPMap.Number != 5000 || at.SCTPMap.Protocol != "webrtc-datachannel" {
		t.Fatalf("answer = %+v", at)
	}
	if at.Setup() != ice.SetupActive || at.Ufrag == "" || at.Pwd == "" || len(at.Fingerprints) != 1 {
		t.Fatalf("answer credentials = %+v", at)
	}
}

func TestRejectsPlainICE(t *testing.T) {
	h := New(WithLoopbackOnly()).newHandle(sess{juliet, romeo, false}, "c")
	defer h.Close()
	var e jingle.Element
	_ = xml.Unmarshal([]byte(`<transport xmlns='urn:xmpp:jingle:transports:ice-udp:1' ufrag='a' pwd='b'><fingerprint xmlns='urn:xmpp:jingle:apps:dtls:0' hash='sha-256' setup='actpass'>AB:CD</fingerprint></transport>`), &e)
	if err := h.HandleRemote(context.Background(), jingle.ActionSessionInitiate, e); err == nil {
		t.Fatal("ICE-UDP without sctpmap taken as a data channel")
	}
}
