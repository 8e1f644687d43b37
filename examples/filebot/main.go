// Filebot logs in to an XMPP account and receives the files sent to it
// (Jingle File Transfer, XEP-0234) into a directory; with -send it sends
// one file to a JID instead and exits. The bytes go over a WebRTC
// datachannel, SOCKS5 or in-band, whichever both sides can use.
//
//	JINGLE_PASSWORD=secret go run ./examples/filebot -jid files@example.org -dir inbox
//	JINGLE_PASSWORD=secret go run ./examples/filebot -jid files@example.org -send report.pdf -to juliet@example.org
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

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/filetransfer/stack"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/xmpp"
)

func main() {
	jid := flag.String("jid", "", "the bot's account, user@domain (password in $JINGLE_PASSWORD)")
	server := flag.String("server", "", "the XMPP server's host:port (default: the JID's domain, port 5222)")
	ca := flag.String("ca", "", "PEM file of the CA that signed the server's certificate (a private server)")
	resource := flag.String("resource", "filebot", "the XMPP resource to bind")
	dir := flag.String("dir", "received", "where received files are written")
	maxSize := flag.Int64("max-size", 1<<30, "the largest file accepted, in bytes")
	allow := flag.String("allow", "", "comma-separated JIDs whose files are accepted (default: anyone's)")
	send := flag.String("send", "", "send this file (to -to) and exit")
	to := flag.String("to", "", "with -send: the recipient, a full JID or a bare JID we see online")
	local := flag.Bool("local", false, "every transport on loopback (tests on one machine)")
	flag.Parse()
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, xmpp.Config{
		JID: *jid, Password: os.Getenv("JINGLE_PASSWORD"), Resource: *resource, Addr: *server, CAFile: *ca,
		Identity:  xmpp.Identity{Category: "client", Type: "bot", Name: "filebot"},
		HoldDisco: true, // answer disco#info once the file-transfer features are in
		Logger:    log,
	}, *dir, filetransfer.AcceptPolicy{MaxSize: *maxSize, Senders: senders(*allow)}, *send, *to, *local); err != nil {
		fmt.Fprintln(os.Stderr, "filebot:", err)
		os.Exit(1)
	}
}

// senders is the -allow list; none means anyone.
func senders(allow string) []string {
	if allow == "" {
		return nil
	}
	return strings.Split(allow, ",")
}

func run(ctx context.Context, log *slog.Logger, cfg xmpp.Config, dir string, accept filetransfer.AcceptPolicy, send, to string, local bool) error {
	client, err := xmpp.New(cfg)
	if err != nil {
		return err
	}
	if err := client.Start(ctx); err != nil {
		return fmt.Errorf("connecting: %w", err)
	}
	defer client.Close()

	// Dir (created if missing) confines every write to dir, whatever name a peer offers.
	d, err := filetransfer.OpenDir(dir)
	if err != nil {
		return err
	}
	defer d.Close()
	ft, err := stack.New(ctx, client, stack.Config{
		Loopback: local,
		Logger:   log,
		App: []filetransfer.Option{
			filetransfer.WithReceiveDir(d),
			filetransfer.WithAutoAccept(accept), // other offers are declined
			filetransfer.WithResults(func(r *filetransfer.Result) {
				if r.Err != nil {
					log.Error("receive failed", "from", r.Peer, "name", r.Name, "err", r.Err)
					return
				}
				log.Info("received", "from", r.Peer, "path", r.Path, "size", r.Size, "transport", r.Transport)
			}),
		},
	})
	if err != nil {
		return err
	}
	defer ft.Close()
	mgr := jingle.NewManager(client.JID(), client, ft.Options...)
	client.Serve(mgr)
	ft.Serve()
	client.FeaturesReady()
	defer func() {
		closeCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = mgr.Close(closeCtx)
	}()
	log.Info("ready", "jid", client.JID())

	if send == "" {
		<-ctx.Done()
		return nil
	}
	peer := to
	if !strings.Contains(peer, "/") {
		// A bare JID: the online resource that takes files (presence
		// and disco#info through caps).
		if peer, err = client.FindResource(ctx, to, filetransfer.NS); err != nil {
			return fmt.Errorf("finding a device of %s: %w", to, err)
		}
	}
	res, err := ft.App.Send(ctx, mgr, peer, send, filetransfer.SendOptions{})
	if err != nil {
		return fmt.Errorf("sending %s to %s: %w", send, peer, err)
	}
	log.Info("sent", "to", peer, "name", res.Name, "size", res.Size, "transport", res.Transport)
	return nil
}
