package filetransfer_test

import (
	"context"
	"encoding/xml"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/filetransfer/s5b"
	"github.com/jingled/jingled/jingle"
)

// TestDinoOfferGolden replays Dino 0.4.2's SOCKS5 file offer, byte for
// byte from testdata/dino-0.4.2-session.xml, into our receiver (named
// bob@localhost/dino as in the capture) and checks our answers: a
// session-accept echoing the file with the transport sid Dino chose and
// the DST.ADDR Dino itself computed for bob's candidates, then a
// transport-info with candidate-error (Dino's 127.0.0.2 candidate is not
// listening here).
func TestDinoOfferGolden(t *testing.T) {
	const carol, bob = "carol@localhost/dino", "bob@localhost/dino"
	src, err := os.ReadFile("testdata/dino-0.4.2-session.xml")
	if err != nil {
		t.Fatal(err)
	}
	raw := regexp.MustCompile(`<stanza dir='in' account='bob@localhost'[^>]*>(<iq [^>]*type="set"[^>]*><jingle [^>]*action="session-initiate".*?</iq>)</stanza>`).FindSubmatch(src)
	if raw == nil {
		t.Fatal("Dino's offer not found in the capture")
	}
	var offer jingle.IQ
	if err := xml.Unmarshal(raw[1], &offer); err != nil {
		t.Fatal(err)
	}
	r := newRouter(t)
	newPeer(t, r, bob, peerOpts{s5b: []s5b.Option{s5b.WithDialTimeout(time.Second)}})
	dino := r.Endpoint(carol)
	got := make(chan *jingle.Jingle, 8)
	dino.HandleIQ(jingle.NS, "jingle", func(_ context.Context, iq *jingle.IQ) *jingle.IQ {
		j, err := jingle.Parse(iq.Payload)
		if err == nil {
			got <- j
		}
		return iq.Result()
	})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	offer.From, offer.ID = "", ""
	if _, err := dino.SendIQ(ctx, &offer); err != nil {
		t.Fatalf("our reply to Dino's session-initiate: %v", err)
	}
	// Our stanzas in order: session-accept first, then the transport's
	// report (it must not overtake the accept).
	next := func(a jingle.Action) *jingle.Jingle {
		t.Helper()
		select {
		case j := <-got:
			if j.Action != a {
				t.Fatalf("got %s, want %s", j.Action, a)
			}
			return j
		case <-ctx.Done():
			t.Fatalf("no %s from us", a)
			return nil
		}
	}
	acc := next(jingle.ActionSessionAccept)
	c := acc.Content("a-file-offer")
	if acc.SID != "7334100d-3163-4743-9a4e-bcf4157811fe" || c == nil || c.Senders.Normalize() != jingle.SendersInitiator {
		t.Fatalf("session-accept = %+v", acc)
	}
	d, err := filetransfer.DecodeDescription(c.Description)
	if err != nil || d.File.Name != "ft-300k.bin" || d.File.Size != 300000 {
		t.Fatalf("accepted file %+v (%v)", d, err)
	}
	w, err := s5b.Decode(c.Transport)
	if err != nil {
		t.Fatal(err)
	}
	// The value Dino's bob sent in the capture for the same sid and JIDs.
	if w.SID != "34801e93-4944-49f9-9328-373e3b034049" || w.DstAddr != "52cc3630395134f02b99d0d2e620f3a9fe150554" || w.Mode != "tcp" {
		t.Fatalf("transport sid %s dstaddr %s mode %s", w.SID, w.DstAddr, w.Mode)
	}
	for _, cand := range w.Candidates {
		if cand.JID != bob || !strings.HasPrefix(cand.Host, "127.") || cand.Type != s5b.TypeDirect {
			t.Fatalf("candidate %+v", cand)
		}
	}
	info := next(jingle.ActionTransportInfo)
	wi, err := s5b.Decode(info.Contents[0].Transport)
	if err != nil || wi.CandidateError == nil || wi.SID != w.SID {
		t.Fatalf("transport-info = %+v (%v)", wi, err)
	}
}
