package rtp

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/internal/xmltree"
	"github.com/jingled/jingled/jingle"
)

// benchJingle is StanzaJS's audio+video session-initiate as Dino received
// it (BUNDLE, 26 payload types, RTX groups).
func benchJingle(b *testing.B) *jingle.Jingle {
	b.Helper()
	raw, err := os.ReadFile(filepath.Join("testdata", "dino.xml"))
	if err != nil {
		b.Fatal(err)
	}
	root, err := xmltree.Parse(raw)
	if err != nil {
		b.Fatal(err)
	}
	for _, c := range root.Children {
		if c.AttrValue("name") != "dino-0.4.2 line 103 session-initiate" {
			continue
		}
		j, err := jingle.Parse(c.Children[0].Find(jingle.NS, "jingle")[0].XMLBytes())
		if err != nil {
			b.Fatal(err)
		}
		return j
	}
	b.Fatal("benchmark input not found")
	return nil
}

// BenchmarkJingleToSDP measures translating an audio+video offer.
//
//	go test -run XXX -bench . -benchmem ./rtp/
func BenchmarkJingleToSDP(b *testing.B) {
	j := benchJingle(b)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := JingleToSDP(j, Options{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkSDPToJingle measures translating the same offer back.
func BenchmarkSDPToJingle(b *testing.B) {
	s, err := JingleToSDP(benchJingle(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, _, err := SDPToJingle(s, Options{Type: webrtc.SDPTypeOffer}); err != nil {
			b.Fatal(err)
		}
	}
}
