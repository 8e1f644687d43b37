// Embedder is a program outside the jingled module that uses only its
// exported packages, as a project that imports it would: two accounts
// log in, one calls the other (who answers with an echo) while playing a
// tone and recording, then sends it a file over the same connection.
// tests/examples builds it in a module of its own and checks what it
// recorded and received.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/filetransfer/stack"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
)

// account is one logged-in account that takes calls and files.
type account struct {
	client *xmpp.Client
	mgr    *jingle.Manager
	calls  *rtp.Application
	files  *stack.Stack
}

func login(ctx context.Context, jid, password, server, ca, inbox string, answer *rtp.MediaOptions) (*account, error) {
	c, err := xmpp.New(xmpp.Config{JID: jid, Password: password, Resource: "embedder", Addr: server, CAFile: ca})
	if err != nil {
		return nil, err
	}
	if err := c.Start(ctx); err != nil {
		return nil, fmt.Errorf("%s: %w", jid, err)
	}
	d, err := filetransfer.OpenDir(inbox)
	if err != nil {
		return nil, err
	}
	calls := rtp.NewApplication(rtp.ApplicationOptions{Peer: rtp.PeerOptions{Loopback: true}, AutoAnswer: answer})
	files, err := stack.New(ctx, c, stack.Config{Loopback: true, Calls: true, App: []filetransfer.Option{
		filetransfer.WithReceiveDir(d), filetransfer.WithAutoAccept(filetransfer.AcceptPolicy{MaxSize: -1}),
	}})
	if err != nil {
		return nil, err
	}
	a := &account{client: c, calls: calls, files: files}
	a.mgr = jingle.NewManager(c.JID(), c, append(calls.Options(), files.Options...)...)
	c.Serve(a.mgr)
	files.Serve()
	return a, nil
}

func (a *account) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = a.calls.Close(ctx)
	_ = a.mgr.Close(ctx)
	_ = a.files.Close()
	_ = a.client.Close()
}

func run(ctx context.Context) error {
	server := flag.String("server", "", "XMPP server host:port")
	ca := flag.String("ca", "", "the server's CA file")
	caller := flag.String("caller", "", "the calling account (password in $CALLER_PASSWORD)")
	callee := flag.String("callee", "", "the called account (password in $CALLEE_PASSWORD)")
	tone := flag.String("tone", "", "Ogg/Opus file the caller plays")
	record := flag.String("record", "", "prefix of the caller's recording (PREFIX.ogg)")
	file := flag.String("file", "", "the file the caller sends")
	dir := flag.String("dir", "", "a directory for the two inboxes")
	flag.Parse()

	a, err := login(ctx, *caller, os.Getenv("CALLER_PASSWORD"), *server, *ca, *dir+"/caller", nil)
	if err != nil {
		return err
	}
	defer a.close()
	b, err := login(ctx, *callee, os.Getenv("CALLEE_PASSWORD"), *server, *ca, *dir+"/callee", &rtp.MediaOptions{Echo: true})
	if err != nil {
		return err
	}
	defer b.close()

	call, err := a.calls.Dial(ctx, a.mgr, b.client.JID(), rtp.CallOptions{
		MediaOptions: rtp.MediaOptions{Audio: *tone, Record: *record, Duration: 3 * time.Second},
	})
	if err != nil {
		return fmt.Errorf("dial: %w", err)
	}
	reason, err := call.Wait(ctx)
	if err != nil {
		return fmt.Errorf("call: %w", err)
	}
	<-call.Done()
	fmt.Printf("call ended: %s, %d packets received\n", reason.Condition, call.Stats().PacketsReceived)

	res, err := a.files.App.Send(ctx, a.mgr, b.client.JID(), *file, filetransfer.SendOptions{})
	if err != nil {
		return fmt.Errorf("send: %w", err)
	}
	fmt.Printf("file sent: %s over %s\n", res.Name, res.Transport)
	return nil
}

func main() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	if err := run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, "embedder:", err)
		os.Exit(1)
	}
}
