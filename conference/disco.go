package conference

import (
	"slices"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
)

// roomFeatures is what every room advertises: Jingle RTP audio and video,
// ICE-UDP, DTLS-SRTP and JMI, which is what Conversations, Dino and Monal
// look for in a contact's caps before they show a call button.
var roomFeatures = func() []string {
	app := rtp.NewApplication(rtp.ApplicationOptions{})
	fs := append([]string{jingle.NS, jingle.NSMessage, jingle.NSReceipts, xmpp.NSDiscoInfo, xmpp.NSCaps, xmpp.NSPing}, app.Features()...)
	slices.Sort(fs)
	return slices.Compact(fs)
}()

// discoInfo is what a room JID (bare or full) or the domain answers to
// disco#info. The domain is a service, not a contact: it lists no call
// features. A room presents itself as a client so that clients treat it
// as a contact they can call, not as a multi-user chat.
func (h *Host) discoInfo(room string) xmpp.DiscoInfo {
	if room == "" {
		return xmpp.DiscoInfo{
			Identities: []xmpp.Identity{{Category: "component", Type: "generic", Name: "jingled conference rooms"}},
			Features:   []string{xmpp.NSDiscoInfo, xmpp.NSPing},
		}
	}
	return xmpp.DiscoInfo{
		Identities: []xmpp.Identity{{Category: "client", Type: "pc", Name: "jingled conference room"}},
		Features:   roomFeatures,
	}
}
