package rtp

import (
	"encoding/xml"
	"os"
	"path/filepath"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/internal/xmltree"
	"github.com/jingled/jingled/jingle"
)

func fuzzOpts(mode uint8) Options {
	o := Options{Author: jingle.CreatorInitiator}
	if mode&1 != 0 {
		o.Author = jingle.CreatorResponder
	}
	if mode&2 != 0 {
		o.Type = webrtc.SDPTypeAnswer
	}
	if mode&4 != 0 {
		o.DataChannel = DialectWebRTCDataChannel
	}
	return o
}

// FuzzSDPToJingle: whatever SDP is accepted translates back to SDP, and
// that SDP translates to the same Jingle (a fixed point).
//
//	go test -run XXX -fuzz FuzzSDPToJingle ./rtp/
func FuzzSDPToJingle(f *testing.F) {
	files, _ := filepath.Glob(filepath.Join("testdata", "sdp", "*.sdp"))
	for _, p := range files {
		b, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(string(b), uint8(0))
	}
	f.Add(rtxSDP, uint8(3))
	f.Fuzz(func(t *testing.T, s string, mode uint8) {
		opts := fuzzOpts(mode)
		cs, payloads, err := SDPToJingle(s, opts)
		if err != nil {
			return
		}
		j := &jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: "fuzz", Contents: cs, Payloads: payloads}
		for i := range j.Contents {
			if j.Contents[i].Description == nil {
				// A data channel: give it an application, as the caller would.
				j.Contents[i].Description = &jingle.Element{XMLName: xml.Name{Space: "urn:xmpp:jingle:apps:file-transfer:5", Local: "description"}}
			}
		}
		s2, err := JingleToSDP(j, opts)
		if err != nil {
			t.Fatalf("accepted SDP does not translate back: %v\n%q", err, s)
		}
		cs2, payloads2, err := SDPToJingle(s2, opts)
		if err != nil {
			t.Fatalf("our own SDP is refused: %v\n%s", err, s2)
		}
		for i := range cs2 {
			if cs2[i].Description == nil {
				cs2[i].Description = j.Contents[i].Description
			}
		}
		b1, err1 := xml.Marshal(j)
		b2, err2 := xml.Marshal(&jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: "fuzz", Contents: cs2, Payloads: payloads2})
		if err1 != nil || err2 != nil || string(b1) != string(b2) {
			t.Fatalf("not a fixed point (%v, %v):\n%s\n%s", err1, err2, b1, b2)
		}
	})
}

// FuzzJingleToSDP: whatever Jingle translates to SDP yields SDP that
// translates back without error.
//
//	go test -run XXX -fuzz FuzzJingleToSDP ./rtp/
func FuzzJingleToSDP(f *testing.F) {
	for _, name := range []string{"stanzajs.xml", "dino.xml"} {
		root, err := xmltree.Parse(mustRead(f, name))
		if err != nil {
			f.Fatal(err)
		}
		for _, js := range root.Find(jingle.NS, "jingle") {
			f.Add(string(js.XMLBytes()), uint8(0))
		}
	}
	f.Fuzz(func(t *testing.T, in string, mode uint8) {
		j, err := jingle.Parse([]byte(in))
		if err != nil {
			return
		}
		opts := fuzzOpts(mode)
		if s, err := JingleToSDP(j, opts); err == nil {
			if _, _, err := SDPToJingle(s, opts); err != nil {
				t.Fatalf("our SDP is refused: %v\n%s", err, s)
			}
		}
		for i := range j.Contents {
			if s, err := ContentToSDP(&j.Contents[i], "", opts); err == nil {
				if _, err := SDPToContent(s, j.Contents[i].Name, opts); err != nil {
					t.Fatalf("our SDP is refused: %v\n%s", err, s)
				}
			}
		}
		_, _ = TrickleCandidates(j)
	})
}

func mustRead(f *testing.F, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		f.Fatal(err)
	}
	return b
}
