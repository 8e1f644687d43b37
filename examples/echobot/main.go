// Echobot logs in to an XMPP account, answers every Jingle call (XEP-0167)
// and sends back what it hears, a little later so that the caller's echo
// canceller does not remove it: a line to test a microphone, a network or
// a TURN server with any Jingle client (Conversations, Dino, Movim, the
// jingle CLI).
//
//	JINGLE_PASSWORD=secret go run ./examples/echobot -jid echo@example.org
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
	"github.com/jingled/jingled/xmpp/extdisco"
)

func main() {
	jid := flag.String("jid", "", "the bot's account, user@domain (password in $JINGLE_PASSWORD)")
	server := flag.String("server", "", "the XMPP server's host:port (default: the JID's domain, port 5222)")
	ca := flag.String("ca", "", "PEM file of the CA that signed the server's certificate (a private server)")
	resource := flag.String("resource", "echobot", "the XMPP resource to bind")
	delay := flag.Duration("delay", time.Second, "how long to hold the echo back")
	local := flag.Bool("local", false, "ICE on loopback only and no STUN/TURN discovery (tests on one machine)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := xmpp.Config{
		JID: *jid, Password: os.Getenv("JINGLE_PASSWORD"), Resource: *resource, Addr: *server, CAFile: *ca,
		Identity: xmpp.Identity{Category: "client", Type: "bot", Name: "echobot"},
		// Anyone may see the bot online (and so call it from a roster).
		SubscriptionPolicy: func(string) bool { return true },
		// Answer disco#info only once the call features are registered.
		HoldDisco: true,
		Logger:    log,
	}
	if err := run(ctx, log, cfg, *delay, *local); err != nil {
		fmt.Fprintln(os.Stderr, "echobot:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, cfg xmpp.Config, delay time.Duration, local bool) error {
	client, err := xmpp.New(cfg)
	if err != nil {
		return err
	}
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer client.Close()

	peer := rtp.PeerOptions{Loopback: local, Logger: log}
	if !local {
		// XEP-0215: the server's STUN/TURN servers, their credentials
		// renewed before they expire, for every new call.
		r, err := extdisco.StartRefresher(ctx, extdisco.RefresherConfig{Sender: client, Server: client.Domain(), Logger: log})
		if err != nil {
			return fmt.Errorf("STUN/TURN discovery: %w", err)
		}
		defer r.Close()
		peer.ICEServerSource = func() []webrtc.ICEServer { return extdisco.ToWebRTC(r.Current().Servers) }
	}
	app := rtp.NewApplication(rtp.ApplicationOptions{
		Peer:       peer,
		AutoAnswer: &rtp.MediaOptions{Echo: true, EchoDelay: delay, Duration: 10 * time.Minute},
		OnIncoming: func(c *rtp.Call) { log.Info("call", "from", c.Peer()) },
		MaxCalls:   10,
	})
	// The manager routes Jingle IQs by session; the client feeds it and
	// announces its features (disco#info, caps).
	mgr := jingle.NewManager(client.JID(), client, app.Options()...)
	client.Serve(mgr)
	client.FeaturesReady()
	log.Info("ready", "jid", client.JID())

	select {
	case <-ctx.Done():
	case <-client.Done(): // gave up reconnecting
		err = fmt.Errorf("connection lost: %w", client.Err())
	}
	// Hang up the calls in progress with <success/> before logging out.
	closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = app.Close(closeCtx)
	_ = mgr.Close(closeCtx)
	return err
}
