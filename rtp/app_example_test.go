package rtp_test

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

// Answering: an application that records every incoming call and plays a
// file back, registered with the Jingle manager of an XMPP connection.
func ExampleNewApplication() {
	var conn jingle.Sender // an XMPP connection (xmpp.Client)
	app := rtp.NewApplication(rtp.ApplicationOptions{
		Peer: rtp.PeerOptions{
			// From XEP-0215 discovery (xmpp/extdisco) or static.
			ICEServers: []webrtc.ICEServer{{URLs: []string{"turn:turn.example.org:3478"}, Username: "u", Credential: "p"}},
			Logger:     slog.Default(),
		},
		AutoAnswer: &rtp.MediaOptions{Audio: "greeting.ogg", Record: "calls/incoming"},
		OnIncoming: func(c *rtp.Call) { fmt.Println("call from", c.Peer()) },
	})
	mgr := jingle.NewManager("bob@example.org/desk", conn, app.Options()...)
	_ = mgr
}

// Calling: send a tone and a test pattern for a minute, record what comes
// back, and print the events and the final statistics.
func ExampleDial() {
	var mgr *jingle.Manager // with rtp.ICEUDP{} registered as transport
	ctx := context.Background()
	call, err := rtp.Dial(ctx, mgr, "juliet@example.org/balcony", rtp.CallOptions{
		MediaOptions: rtp.MediaOptions{Audio: "tone.ogg", Video: "pattern.ivf", Record: "out/call", Duration: time.Minute},
	})
	if err != nil {
		fmt.Println(err)
		return
	}
	for ev := range call.Events() {
		fmt.Println(ev.Type, ev.Content, ev.Reason)
	}
	fmt.Println(call.Reason(), call.Stats())
}
