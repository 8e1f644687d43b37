package daemon

import (
	"encoding/xml"
	"testing"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

func description(ns, media string) *jingle.Element {
	e := &jingle.Element{XMLName: xml.Name{Space: ns, Local: "description"}}
	if media != "" {
		e.Attr = []xml.Attr{{Name: xml.Name{Local: "media"}, Value: media}}
	}
	return e
}

func contents(descs ...*jingle.Element) []jingle.Content {
	var out []jingle.Content
	for _, d := range descs {
		out = append(out, jingle.Content{Name: d.Attribute("media"), Description: d})
	}
	return out
}

func TestSessionKind(t *testing.T) {
	for _, tc := range []struct {
		name     string
		contents []jingle.Content
		want     string
	}{
		{"audio call", contents(description(rtp.NS, "audio")), kindAudio},
		{"video call", contents(description(rtp.NS, "audio"), description(rtp.NS, "video")), kindVideo},
		{"video first", contents(description(rtp.NS, "video"), description(rtp.NS, "audio")), kindVideo},
		{"file transfer", contents(description(filetransfer.NS, "")), kindFile},
		{"old file transfer", contents(description(filetransfer.NS3, "")), kindFile},
		{"unknown media", contents(description(rtp.NS, "text")), kindOther},
		{"unknown application", contents(description("urn:example:app", "audio")), kindOther},
		{"no contents yet", nil, kindOther},
		{"no description", []jingle.Content{{Name: "x"}}, kindOther},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := sessionKind(tc.contents); got != tc.want {
				t.Errorf("sessionKind = %q, want %q", got, tc.want)
			}
		})
	}
}
