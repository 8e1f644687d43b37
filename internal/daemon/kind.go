package daemon

import (
	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

// Session kinds on the status page.
const (
	kindAudio = "audio"
	kindVideo = "video"
	kindFile  = "file"
	kindOther = "other"
)

// sessionKind names what a Jingle session carries, from its negotiated
// contents: a call with any video content is "video", one with audio only
// "audio", a XEP-0234 transfer "file". Counting by kind needs no peer
// JID, so the page can show it always.
func sessionKind(contents []jingle.Content) string {
	kind := ""
	for i := range contents {
		c := &contents[i]
		switch c.DescriptionNS() {
		case rtp.NS:
			switch c.Description.Attribute("media") {
			case rtp.MediaVideo:
				return kindVideo
			case rtp.MediaAudio:
				kind = kindAudio
			}
		case filetransfer.NS, filetransfer.NS4, filetransfer.NS3:
			if kind == "" {
				kind = kindFile
			}
		}
	}
	if kind == "" {
		return kindOther
	}
	return kind
}
