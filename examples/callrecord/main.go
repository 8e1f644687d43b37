// Callrecord calls a JID (XEP-0167 over XEP-0166), plays an Ogg/Opus file
// into the call if given one, and records what the callee sends to an
// Ogg/Opus file until the callee hangs up, -for has passed or Ctrl-C.
//
//	JINGLE_PASSWORD=secret go run ./examples/callrecord -jid alice@example.org -to echo@example.org -out call.ogg -for 30s
package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
	"github.com/jingled/jingled/xmpp/extdisco"
)

func main() {
	jid := flag.String("jid", "", "the calling account, user@domain (password in $JINGLE_PASSWORD)")
	server := flag.String("server", "", "the XMPP server's host:port (default: the JID's domain, port 5222)")
	ca := flag.String("ca", "", "PEM file of the CA that signed the server's certificate (a private server)")
	to := flag.String("to", "", "whom to call: a full JID, or a bare JID we see online")
	out := flag.String("out", "call.ogg", "the recording of the callee's audio (Ogg/Opus)")
	play := flag.String("play", "", "an Ogg/Opus file to send into the call (default: send nothing)")
	length := flag.Duration("for", 0, "hang up after this long (0: when the callee hangs up)")
	local := flag.Bool("local", false, "ICE on loopback only and no STUN/TURN discovery (tests on one machine)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	cfg := xmpp.Config{JID: *jid, Password: os.Getenv("JINGLE_PASSWORD"), Addr: *server, CAFile: *ca, Logger: log}
	media := rtp.MediaOptions{Audio: *play, Record: strings.TrimSuffix(*out, ".ogg"), Duration: *length}
	if err := run(ctx, log, cfg, *to, media, *local); err != nil {
		fmt.Fprintln(os.Stderr, "callrecord:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, log *slog.Logger, cfg xmpp.Config, to string, media rtp.MediaOptions, local bool) error {
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
		// XEP-0215: the server's STUN/TURN servers, once (a short call
		// outlives no credential). Without them, host candidates only.
		res, err := extdisco.Discover(ctx, client, client.Domain(), nil)
		if err != nil {
			log.Warn("no STUN/TURN servers from the XMPP server", "err", err)
		}
		peer.ICEServers = extdisco.ToWebRTC(res.Servers)
	}
	app := rtp.NewApplication(rtp.ApplicationOptions{Peer: peer}) // no AutoAnswer: incoming calls are declined
	mgr := jingle.NewManager(client.JID(), client, app.Options()...)
	client.Serve(mgr)
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = mgr.Close(closeCtx)
	}()

	callee := to
	if !strings.Contains(callee, "/") {
		if callee, err = client.FindResource(ctx, to, rtp.NS); err != nil {
			return fmt.Errorf("finding a device of %s that takes calls: %w", to, err)
		}
	}
	call, err := app.Dial(ctx, mgr, callee, rtp.CallOptions{MediaOptions: media})
	if err != nil {
		return fmt.Errorf("calling %s: %w", callee, err)
	}
	// Ctrl-C hangs up; the events end when the call does.
	stopHangup := context.AfterFunc(ctx, func() { _ = call.Hangup(context.Background()) })
	defer stopHangup()
	for ev := range call.Events() { // ringing, connected, media, ended...
		log.Info("call", "event", ev.Type, "content", ev.Content, "reason", ev.Reason)
	}
	<-call.Done() // the recording is complete and closed
	r := call.Reason()
	log.Info("call ended", "reason", r, "stats", call.Stats())
	if r != nil && r.Condition != jingle.ReasonSuccess {
		return fmt.Errorf("the call ended with %s", r.Condition)
	}
	return nil
}
