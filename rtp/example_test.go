package rtp_test

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

// A session-initiate as StanzaJS sends it becomes the SDP offer pion's
// SetRemoteDescription takes.
func ExampleJingleToSDP() {
	j, err := jingle.Parse([]byte(`<jingle xmlns="urn:xmpp:jingle:1" sid="8a7b2876" action="session-initiate">` +
		`<content creator="initiator" name="0"><description xmlns="urn:xmpp:jingle:apps:rtp:1" media="audio" ssrc="43993227"><rtcp-mux/>` +
		`<payload-type channels="2" clockrate="48000" id="111" name="opus"><parameter name="minptime" value="10"/><parameter name="useinbandfec" value="1"/></payload-type>` +
		`<source xmlns="urn:xmpp:jingle:apps:rtp:ssma:0" ssrc="43993227"><parameter name="cname" value="CBbNNbSDE8GCJRgI"/></source></description>` +
		`<transport xmlns="urn:xmpp:jingle:transports:ice-udp:1" ufrag="pJvR" pwd="tjX06lEsQrZigF9lIUXipcs2">` +
		`<fingerprint xmlns="urn:xmpp:jingle:apps:dtls:0" hash="sha-256" setup="actpass">43:A4:85:6C</fingerprint></transport></content>` +
		`<group xmlns="urn:xmpp:jingle:apps:grouping:0" semantics="BUNDLE"><content name="0"/></group></jingle>`))
	if err != nil {
		fmt.Println(err)
		return
	}
	offer, err := rtp.JingleToSDP(j, rtp.Options{Author: jingle.CreatorInitiator, Type: webrtc.SDPTypeOffer})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Print(strings.ReplaceAll(offer, "\r\n", "\n"))
	// Output:
	// v=0
	// o=- 4505189141459665324 2 IN IP4 127.0.0.1
	// s=-
	// t=0 0
	// a=group:BUNDLE 0
	// m=audio 9 UDP/TLS/RTP/SAVPF 111
	// c=IN IP4 0.0.0.0
	// a=ice-ufrag:pJvR
	// a=ice-pwd:tjX06lEsQrZigF9lIUXipcs2
	// a=ice-options:trickle
	// a=fingerprint:sha-256 43:A4:85:6C
	// a=setup:actpass
	// a=mid:0
	// a=sendrecv
	// a=rtcp-mux
	// a=rtpmap:111 opus/48000/2
	// a=fmtp:111 minptime=10;useinbandfec=1
	// a=ssrc:43993227 cname:CBbNNbSDE8GCJRgI
}
