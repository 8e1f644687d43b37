package cli

import (
	"context"
	"os"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/spf13/cobra"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/filetransfer/stack"
)

// serveFiles builds the account's XEP-0234 stack (filetransfer/stack, as
// jingled builds it) with app's options and serves Jingle with it, for
// send, receive and fetch; the caller closes it.
func (g *globals) serveFiles(ctx context.Context, ep *endpoint, f *iceFlags, servers []webrtc.ICEServer, app ...filetransfer.Option) (*stack.Stack, error) {
	ft, err := stack.New(ctx, ep.client, stack.Config{
		ICEServers: servers, RelayOnly: f.relay, Loopback: f.loopback, Logger: g.logger(), App: app,
	})
	if err != nil {
		return nil, exitf(ExitFailure, "%v", err)
	}
	ep.serve(ft.Options...)
	ft.Serve()
	return ft, nil
}

// peerFlags say how send and fetch reach the peer.
type peerFlags struct {
	transport string
	presence  time.Duration
}

func (f *peerFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringVar(&f.transport, "transport", "auto", "auto, datachannel, s5b or ibb")
	fl.DurationVar(&f.presence, "presence-timeout", 10*time.Second, "how long to wait for the peer's presence when given a bare JID")
}

// only is the transport family to force, "" for any (auto).
func (f *peerFlags) only() (string, error) {
	if !transportFamilies[f.transport] {
		return "", exitf(ExitUsage, "--transport %q: want auto, datachannel, s5b or ibb", f.transport)
	}
	if f.transport == "auto" {
		return "", nil
	}
	return f.transport, nil
}

// openReceiveDir opens the directory receive and fetch save files in
// (created if missing; flag names it in errors) and removes its stale
// partial files (cleanPartials); report says what went, once the
// command's first event is out.
func openReceiveDir(flag, dir string, partialMaxAge time.Duration) (d *filetransfer.Dir, report func(*output), err error) {
	if err := os.MkdirAll(dir, 0o750); err != nil {
		return nil, nil, exitf(ExitUsage, "%s: %v", flag, err)
	}
	d, err = filetransfer.OpenDir(dir)
	if err != nil {
		return nil, nil, exitf(ExitUsage, "%s: %v", flag, err)
	}
	report, err = cleanPartials(d, partialMaxAge)
	if err != nil {
		_ = d.Close()
		return nil, nil, err
	}
	return d, report, nil
}
