// Package stack builds a complete XEP-0234 file-transfer stack on an XMPP
// connection: the filetransfer application with its three transports,
// WebRTC datachannel (XEP-0343 and its two other dialects), SOCKS5
// Bytestreams (XEP-0260, direct and through the server's XEP-0065 proxy)
// and In-Band Bytestreams (XEP-0261), in that order of preference with
// transport-replace fallback. The jingle and jingled programs build their
// file transfers with it, so an embedder gets the same stack:
//
//	ft, err := stack.New(ctx, client, stack.Config{
//		App: []filetransfer.Option{filetransfer.WithReceiveDir(dir)},
//	})
//	mgr := jingle.NewManager(client.JID(), client, ft.Options...)
//	client.Serve(mgr)
//	ft.Serve()
//	res, err := ft.App.Send(ctx, mgr, "juliet@example.org/balcony", "notes.txt", filetransfer.SendOptions{})
//
// examples/filebot is a complete program.
package stack

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/filetransfer"
	"github.com/jingled/jingled/filetransfer/datachannel"
	"github.com/jingled/jingled/filetransfer/ibb"
	"github.com/jingled/jingled/filetransfer/s5b"
	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/xmpp"
)

// Config says how to build the stack. The zero value is a usable
// default: host candidates only, the server's SOCKS5 proxy if it has
// one, offers declined unless an App option accepts them.
type Config struct {
	// ICEServers and RelayOnly configure the datachannel's ICE;
	// ICEServerSource, when set, adds fresh servers to each new
	// PeerConnection (refreshed XEP-0215 credentials).
	ICEServers      []webrtc.ICEServer
	ICEServerSource func() []webrtc.ICEServer
	RelayOnly       bool
	// Loopback keeps every transport on loopback: datachannel gathering
	// and SOCKS5 direct candidates (tests, the demo).
	Loopback bool
	// NoProxies skips discovering the server's XEP-0065 proxy.
	NoProxies bool
	// Calls says the same Manager also carries calls (rtp.Application's
	// Options register the ICE-UDP transport). The datachannel dialect
	// that StanzaJS and Jitsi put inside an ICE-UDP transport is then
	// left out, as one namespace has one transport: transfers with them
	// use XEP-0343's namespace, SOCKS5 or IBB instead.
	Calls bool
	// App are further filetransfer options: receive dir, accept policy,
	// results, progress.
	App    []filetransfer.Option
	Logger *slog.Logger
	// Allowed, when set, decides who may start a file session with us
	// (push or pull): others are acked, then declined, before the
	// application sees their offer.
	Allowed func(peer string) bool
}

// Stack is an account's file-transfer application with its three
// transports: WebRTC datachannel (every dialect), SOCKS5 (direct and via
// the server's proxy) and IBB.
type Stack struct {
	// App sends (App.Send), requests (App.Request) and receives files.
	App *filetransfer.App
	// Options register the application and transports on the Manager
	// the connection serves (jingle.NewManager).
	Options []jingle.Option
	ibb     *ibb.Transport
	client  *xmpp.Client
}

// New builds the stack on c, which must be connected: SOCKS5 proxy
// discovery asks the server (ctx bounds it). Register Options on a
// Manager, serve it on c, then call Serve.
func New(ctx context.Context, c *xmpp.Client, cfg Config) (*Stack, error) {
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	dcOpts := []datachannel.Option{datachannel.WithICEServers(cfg.ICEServers...), datachannel.WithRelayOnly(cfg.RelayOnly), datachannel.WithLogger(log)}
	if cfg.ICEServerSource != nil {
		dcOpts = append(dcOpts, datachannel.WithICEServerSource(cfg.ICEServerSource))
	}
	s5bOpts := []s5b.Option{s5b.WithLogger(log)}
	if cfg.Loopback {
		dcOpts = append(dcOpts, datachannel.WithLoopbackOnly())
		s5bOpts = append(s5bOpts, s5b.WithHosts("127.0.0.1"))
	}
	if !cfg.NoProxies {
		hosts, err := s5b.DiscoverProxies(ctx, c, c.JID(), c.Domain())
		if err != nil {
			log.Info("no SOCKS5 proxy on the server (XEP-0065)", "err", err)
		} else {
			s5bOpts = append(s5bOpts, s5b.WithProxies(hosts...))
		}
	}
	dc := datachannel.New(dcOpts...)
	// XEP-0343's own namespace, as the spec's examples write it.
	dc0 := dc.Dialect(ice.NSDataChannel0)
	st := s5b.New(c, s5bOpts...)
	it := ibb.New(c, ibb.WithLogger(log))
	transports := []jingle.StreamTransport{dc, dc0, st, it}
	if !cfg.Calls {
		// StanzaJS and Jitsi put their sctpmap inside an ICE-UDP
		// transport: that dialect is registered under ice-udp's
		// namespace, which is ours to take when the manager carries no
		// calls.
		transports = append(transports, dc.Dialect(ice.NS))
	}
	app := filetransfer.New(append([]filetransfer.Option{
		filetransfer.WithLogger(log),
		filetransfer.WithPeerFeatures(func(ctx context.Context, jid string) ([]string, error) {
			info, err := c.DiscoInfo(ctx, jid)
			if err != nil {
				return nil, fmt.Errorf("disco#info of %s: %w", jid, err)
			}
			return info.Features, nil
		}),
	}, cfg.App...)...)
	apps := []jingle.Application{app}
	for _, v := range app.Versions() {
		if v.Namespace() != app.Namespace() {
			apps = append(apps, v)
		}
	}
	var opts []jingle.Option
	for _, a := range apps {
		if cfg.Allowed != nil {
			a = guarded{Application: a, allowed: cfg.Allowed}
		}
		opts = append(opts, jingle.WithApplication(a))
	}
	for _, t := range transports {
		opts = append(opts, jingle.WithTransport(t))
	}
	return &Stack{App: app, Options: opts, ibb: it, client: c}, nil
}

// Serve registers the IBB data handlers on the connection: XEP-0047's
// <open/>, <data/> and <close/> IQs are not Jingle, so the Manager does
// not see them.
func (f *Stack) Serve() {
	for _, p := range f.ibb.Payloads() {
		f.client.HandleIQ(p[0], p[1], f.ibb.HandleIQ)
	}
}

// Close stops the application's transfers.
func (f *Stack) Close() error { return f.App.Close() }

// guarded declines sessions from peers a policy does not allow.
type guarded struct {
	jingle.Application
	allowed func(string) bool
}

func (g guarded) HandleInitiate(ctx context.Context, s *jingle.Session, j *jingle.Jingle) (jingle.SessionHandler, error) {
	if !g.allowed(s.Peer()) {
		return nil, &jingle.TerminateError{Reason: jingle.NewReason(jingle.ReasonDecline, "not allowed")}
	}
	return g.Application.HandleInitiate(ctx, s, j)
}
