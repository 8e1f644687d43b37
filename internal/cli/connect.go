package cli

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/spf13/cobra"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
)

// iceFlags choose the STUN/TURN servers and ICE policy of calls and
// datachannel transfers.
type iceFlags struct {
	servers      []string
	username     string
	passwordFile string
	relay        bool
	loopback     bool
	noDiscover   bool
	ports        string // MIN-MAX, calls only
	restarts     int    // calls only: automatic ICE restarts (0: none)
}

// peerOptions are the PeerConnection options of a call from the flags.
func (f *iceFlags) peerOptions(servers []webrtc.ICEServer, log *slog.Logger) (rtp.PeerOptions, error) {
	o := rtp.PeerOptions{ICEServers: servers, Loopback: f.loopback, RelayOnly: f.relay, Logger: log}
	if f.restarts <= 0 {
		o.Restart.Disabled = true
	}
	o.Restart.Attempts = f.restarts
	if f.ports != "" {
		lo, hi, ok := strings.Cut(f.ports, "-")
		a, err1 := strconv.ParseUint(lo, 10, 16)
		b, err2 := strconv.ParseUint(hi, 10, 16)
		if !ok || err1 != nil || err2 != nil || a == 0 || b < a {
			return o, exitf(ExitUsage, "--ice-ports %q: want MIN-MAX, e.g. 50000-50100", f.ports)
		}
		o.UDPPortMin, o.UDPPortMax = uint16(a), uint16(b)
	}
	return o, nil
}

func (f *iceFlags) register(cmd *cobra.Command) {
	fl := cmd.Flags()
	fl.StringArrayVar(&f.servers, "ice-server", nil, "STUN/TURN server URL (repeatable), e.g. turn:turn.example.org:3478?transport=udp")
	fl.StringVar(&f.username, "ice-username", "", "username for the --ice-server TURN servers")
	fl.StringVar(&f.passwordFile, "ice-password-file", "", "file with the password for the --ice-server TURN servers (else $JINGLE_ICE_PASSWORD)")
	fl.BoolVar(&f.relay, "relay", false, "use only relayed (TURN) candidates")
	fl.BoolVar(&f.loopback, "loopback", false, "gather ICE candidates on loopback only (tests, demo)")
	fl.BoolVar(&f.noDiscover, "no-discover", false, "do not ask the XMPP server for STUN/TURN servers (XEP-0215)")
	if cmd.Name() == "call" || cmd.Name() == "answer" {
		fl.StringVar(&f.ports, "ice-ports", "", "local UDP ports for ICE, MIN-MAX (a firewall's open range)")
		fl.IntVar(&f.restarts, "ice-restarts", 3, "ICE restarts when a call's path breaks, before it ends with connectivity-error (0: none)")
	}
}

// endpoint is a logged-in account, with a Jingle manager once serve ran.
type endpoint struct {
	client *xmpp.Client
	mgr    *jingle.Manager
	log    *slog.Logger
}

// login connects the account. The password comes from --password-file or
// $JINGLE_PASSWORD. Jingle is served only after serve, so the ICE servers
// the account's server offers (XEP-0215) can configure the applications
// first.
func (g *globals) login(ctx context.Context, acct *accountFlags) (*endpoint, error) {
	jid := acct.jid
	if jid == "" {
		jid = os.Getenv("JINGLE_JID")
	}
	if jid == "" {
		return nil, exitf(ExitUsage, "no account: pass --jid or set JINGLE_JID")
	}
	if strings.Contains(jid, "/") || !strings.Contains(jid, "@") {
		return nil, exitf(ExitUsage, "--jid %q: want a bare JID, user@domain", jid)
	}
	if acct.reconnectFor < 0 {
		return nil, exitf(ExitUsage, "--reconnect-for %v: want 0 (never give up) or more", acct.reconnectFor)
	}
	password, err := readSecret(acct.passwordFile, "JINGLE_PASSWORD", "password")
	if err != nil {
		return nil, err
	}
	resource := acct.resource
	if resource == "" {
		var b [4]byte
		_, _ = rand.Read(b[:])
		resource = "jingle-" + hex.EncodeToString(b[:])
	}
	log := g.logger()
	client, err := xmpp.New(xmpp.Config{
		JID:                jid,
		Password:           password,
		Resource:           resource,
		Addr:               acct.server,
		CAFile:             acct.caFile,
		AllowPlainLoopback: acct.plain,
		Identity:           xmpp.Identity{Category: "client", Type: "pc", Name: "jingle"},
		// A wrong address fails the start quickly; a connection lost
		// later is retried for --reconnect-for.
		MaxAttempts:  3,
		ReconnectFor: acct.reconnectFor,
		Carbons:      true,
		// disco#info waits for the Jingle features (serve).
		HoldDisco: true,
		OnEvent:   g.onReconnect(acct),
		Logger:    log,
	})
	if err != nil {
		return nil, exitf(ExitUsage, "%v", err)
	}
	if err := client.Start(ctx); err != nil {
		return nil, connectError(acct.server, jid, err)
	}
	return &endpoint{client: client, log: log}, nil
}

// serve starts the Jingle manager with opts (applications, transports,
// handlers) and announces its features.
func (e *endpoint) serve(opts ...jingle.Option) {
	e.mgr = jingle.NewManager(e.client.JID(), e.client, append([]jingle.Option{jingle.WithLogger(e.log)}, opts...)...)
	e.client.Serve(e.mgr)
	e.client.FeaturesReady()
}

// connectError turns a login failure into a message and exit code a
// person can act on.
func connectError(server, jid string, err error) error {
	switch {
	case errors.Is(err, xmpp.ErrAuth):
		return exitf(ExitAuth, "the server refused the credentials of %s (wrong password or unknown account)", jid)
	case errors.Is(err, xmpp.ErrPlainNotLoopback):
		return exitf(ExitUsage, "%v", err)
	case errors.Is(err, context.Canceled):
		return &ExitError{Code: ExitInterrupted, Err: errors.New("interrupted while connecting")}
	}
	var ne net.Error
	if errors.As(err, &ne) || errors.Is(err, xmpp.ErrGaveUp) {
		where := server
		if where == "" {
			where = "the server of " + jid
		}
		return exitf(ExitConnect, "cannot reach %s: %v", where, err)
	}
	return exitf(ExitConnect, "connecting as %s: %v", jid, err)
}

// close ends every session with session-terminate, then logs out.
func (e *endpoint) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if e.mgr != nil {
		_ = e.mgr.Close(ctx)
	}
	_ = e.client.Close()
}

// resolvePeer turns what the user typed into a full JID to initiate to,
// or a proposal. A full JID is used as is. A bare JID is reached the way
// a person expects (jingle.ChooseRoute on the presence we see): its
// devices that advertise Jingle Message Initiation (XEP-0353) are rung
// through a <propose/> to the bare JID, and the one that proceeds gets
// the session-initiate; when none advertises JMI but one takes feature
// (StanzaJS), the session-initiate goes straight to the best such
// resource; with no presence at all (no subscription) the <propose/> goes
// out anyway, as it reaches devices we cannot see. "Ringing" is reported
// only for <ringing/> or the receipt of the <propose/> from a JMI device.
// descs are the JMI <description/> elements.
func (e *endpoint) resolvePeer(ctx context.Context, peer, feature string, descs []jingle.Element, out *output) (full, sid string, err error) {
	if strings.Contains(peer, "/") {
		return peer, "", nil
	}
	if !strings.Contains(peer, "@") {
		return "", "", exitf(ExitUsage, "peer %q is not a JID", peer)
	}
	waitPresence(ctx, e.client, peer, time.Second)
	rctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	route := e.client.Route(rctx, peer, feature)
	cancel()
	switch route.Kind {
	case jingle.RouteInitiate:
		out.Event("resolved", fmt.Sprintf("No device of %s rings through JMI (XEP-0353); calling %s directly.", peer, route.To),
			map[string]any{"peer": route.To, "route": route.Kind.String()})
		return route.To, "", nil
	case jingle.RouteNone:
		return "", "", exitf(ExitNoAnswer, "no online device of %s takes calls (none advertises %s)", peer, feature)
	}
	p, err := e.mgr.Propose(ctx, peer, descs, jingle.RingingReceipts(e.client.RingsThroughJMI(route.Ringers)))
	if err != nil {
		return "", "", exitf(ExitFailure, "ringing %s: %v", peer, err)
	}
	out.Event("proposed", fmt.Sprintf("Proposing the call to %s (session %s)…", peer, p.ID()), map[string]any{"peer": peer, "sid": p.ID(), "route": route.Kind.String(), "jmi_devices": route.Ringers})
	go func() {
		// A device that answers at once sends <ringing/> and <proceed/>
		// back to back: when both have come, ringing still is reported
		// (select alone would pick either).
		select {
		case <-p.Ringing():
		case <-p.Done():
			select {
			case <-p.Ringing():
			default:
				return
			}
		}
		out.Event("ringing", "The peer's device is ringing.", map[string]any{"sid": p.ID()})
	}()
	full, err = p.Wait(ctx)
	if err != nil {
		if ctx.Err() != nil {
			rctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
			_ = p.Retract(rctx)
			cancel()
			if len(route.Ringers) == 0 {
				return "", "", exitf(ExitNoAnswer, "no answer from %s (we see no presence of it: a client without JMI, such as StanzaJS, is reached only with its full JID or once it shares its presence)", peer)
			}
			return "", "", exitf(ExitNoAnswer, "no answer from %s", peer)
		}
		if r := p.Reason(); r != nil {
			return "", "", reasonError(peer, r)
		}
		return "", "", exitf(ExitNoAnswer, "%s did not proceed: %v", peer, err)
	}
	out.Event("proceed", "Answered by "+full+".", map[string]any{"peer": full, "sid": p.ID()})
	return full, p.ID(), nil
}

// waitPresence gives the presence of a contact a moment to arrive after
// login (the server sends it right after our initial presence): until
// wait passes or a resource shows up, then briefly for its other
// resources.
func waitPresence(ctx context.Context, c *xmpp.Client, peer string, wait time.Duration) {
	deadline := time.Now().Add(wait)
	for len(c.Resources(peer)) == 0 && time.Now().Before(deadline) && ctx.Err() == nil {
		sleepCtx(ctx, 50*time.Millisecond)
	}
	if len(c.Resources(peer)) > 0 {
		sleepCtx(ctx, 200*time.Millisecond)
	}
}

// noAddressError is the exit error when ICE could gather nothing: it
// names what is missing and the flag that helps on a machine alone.
func noAddressError(err error) error {
	return exitf(ExitMedia, "%v; on a host with only loopback addresses, pass --loopback (both sides on this machine), else connect a network", err)
}

// reasonError maps how the peer ended a session to an exit code.
func reasonError(peer string, r *jingle.Reason) error {
	switch r.Condition {
	case jingle.ReasonSuccess:
		return nil
	case jingle.ReasonDecline, jingle.ReasonBusy:
		return exitf(ExitDeclined, "%s: %s", peer, r)
	case jingle.ReasonTimeout, jingle.ReasonCancel, jingle.ReasonGone, jingle.ReasonExpired:
		return exitf(ExitNoAnswer, "%s: %s", peer, r)
	case jingle.ReasonConnectivityError, jingle.ReasonMediaError, jingle.ReasonSecurityError,
		jingle.ReasonFailedTransport, jingle.ReasonFailedApplication:
		return exitf(ExitMedia, "%s: %s", peer, r)
	}
	return exitf(ExitFailure, "%s: %s", peer, r)
}

// loginICE logs in and builds the ICE server list (see iceServers); on
// error nothing is left connected.
func (g *globals) loginICE(ctx context.Context, acct *accountFlags, f *iceFlags) (*endpoint, []webrtc.ICEServer, error) {
	ep, err := g.login(ctx, acct)
	if err != nil {
		return nil, nil, err
	}
	servers, err := ep.iceServers(ctx, f)
	if err != nil {
		ep.close()
		return nil, nil, err
	}
	return ep, servers, nil
}

// iceServers builds the ICE server list: --ice-server entries, plus what
// the account's server offers through XEP-0215 unless --no-discover.
func (e *endpoint) iceServers(ctx context.Context, f *iceFlags) ([]webrtc.ICEServer, error) {
	var out []webrtc.ICEServer
	if len(f.servers) > 0 {
		s := webrtc.ICEServer{URLs: f.servers, Username: f.username}
		if f.username != "" {
			pw, err := readSecret(f.passwordFile, "JINGLE_ICE_PASSWORD", "ice password")
			if err != nil {
				return nil, err
			}
			s.Credential = pw
		}
		out = append(out, s)
	}
	if !f.noDiscover {
		found, err := discoverICE(ctx, e.client)
		if err != nil {
			e.log.Info("no STUN/TURN servers from the XMPP server", "err", err)
		}
		out = append(out, found...)
	}
	if f.relay && len(out) == 0 {
		return nil, exitf(ExitUsage, "--relay needs a TURN server: none configured (--ice-server) and none discovered (XEP-0215)")
	}
	return out, nil
}

// iceSource is a call's ICEServerSource: the servers found at login for
// the first PeerConnection, then the --ice-server entries and a fresh
// XEP-0215 discovery for every later one and every ICE restart, since
// the credentials the server hands out expire and a relay that restarted
// has forgotten our allocation. A failed discovery keeps the last set.
func (e *endpoint) iceSource(f *iceFlags, first []webrtc.ICEServer) func() []webrtc.ICEServer {
	var (
		mu   sync.Mutex
		last = first
		used bool
	)
	return func() []webrtc.ICEServer {
		mu.Lock()
		defer mu.Unlock()
		if !used || f.noDiscover {
			used = true
			return last
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		servers, err := e.iceServers(ctx, f)
		if err != nil || len(servers) == 0 {
			e.log.Info("renewing the STUN/TURN servers failed; keeping the last ones", "err", err)
			return last
		}
		last = servers
		return last
	}
}

// logger is where library logs go: stderr, errors only unless
// $JINGLE_DEBUG is set (pion warns about routine teardown races that
// would only confuse), so they never mix with --json output.
func (g *globals) logger() *slog.Logger {
	level := slog.LevelError
	if os.Getenv("JINGLE_DEBUG") != "" {
		level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(g.errw, &slog.HandlerOptions{Level: level}))
}
