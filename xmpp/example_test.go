package xmpp_test

import (
	"context"
	"log"
	"os"
	"time"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
	"github.com/jingled/jingled/xmpp/extdisco"
)

// Logging in and answering calls: the XMPP side of examples/echobot. It
// needs a server and an account, so it is compiled but not run; the
// calls themselves run in rtp's examples on the in-memory router.
func ExampleClient_Serve() {
	ctx := context.Background()
	client, err := xmpp.New(xmpp.Config{
		JID:      "echo@example.org",
		Password: os.Getenv("JINGLE_PASSWORD"),
		// The features are registered after connecting (XEP-0215 comes
		// first): hold disco#info answers until FeaturesReady.
		HoldDisco: true,
	})
	if err != nil {
		log.Fatal(err)
	}
	if err := client.Start(ctx); err != nil {
		log.Fatal(err) // xmpp.ErrAuth: wrong password; a net.Error: unreachable
	}
	defer client.Close()

	// XEP-0215: the server's STUN/TURN servers with their credentials.
	services, err := extdisco.Discover(ctx, client, client.Domain(), nil)
	if err != nil {
		log.Print("no STUN/TURN from the server: ", err)
	}
	calls := rtp.NewApplication(rtp.ApplicationOptions{
		Peer:       rtp.PeerOptions{ICEServers: extdisco.ToWebRTC(services.Servers)},
		AutoAnswer: &rtp.MediaOptions{Echo: true, EchoDelay: time.Second},
	})
	mgr := jingle.NewManager(client.JID(), client, calls.Options()...)
	client.Serve(mgr)
	client.FeaturesReady()
	<-client.Done() // until Close, or the reconnection gave up (client.Err)
}
