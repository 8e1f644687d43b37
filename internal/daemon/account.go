package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/internal/config"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
	"github.com/jingled/jingled/xmpp/extdisco"
)

// account is one XMPP account with its role. It owns its client, manager
// and applications, and every goroutine it starts.
type account struct {
	cfg config.Account
	ice config.ICE
	// udpMux is the daemon's shared call port ([ice] udp_port), or nil.
	udpMux *rtp.UDPMux
	log    *slog.Logger
	m      *metrics

	allow atomic.Pointer[allowPolicy]

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu        sync.Mutex
	client    *xmpp.Client
	mgr       *jingle.Manager
	refresher *extdisco.Refresher
	status    error // nil when serving
	roles     []roleHandler
}

// roleHandler is what a role adds to an account's manager.
type roleHandler interface {
	options() []jingle.Option
	close(ctx context.Context)
}

type allowPolicy struct {
	allow []string
	subs  string
	jid   string
}

func (p *allowPolicy) allowed(peer string) bool {
	a := config.Account{JID: p.jid, Allow: p.allow}
	return a.Allowed(peer)
}

var errConnecting = errors.New("connecting")

func newAccount(cfg config.Account, ice config.ICE, mux *rtp.UDPMux, log *slog.Logger, m *metrics) (*account, error) {
	a := &account{cfg: cfg, ice: ice, udpMux: mux, log: log, m: m, status: errConnecting}
	a.SetAllow(cfg.Allow, cfg.Subscriptions)
	if _, err := cfg.Secret(); err != nil {
		return nil, err
	}
	return a, nil
}

// SetAllow replaces who may call and subscribe (SIGHUP).
func (a *account) SetAllow(allow []string, subs string) {
	if subs == "" {
		subs = "allowed"
	}
	a.allow.Store(&allowPolicy{allow: append([]string(nil), allow...), subs: subs, jid: a.cfg.JID})
}

func (a *account) allowed(peer string) bool { return a.allow.Load().allowed(peer) }

// Healthy is nil while the account is connected and serving.
func (a *account) Healthy() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.status != nil {
		return a.status
	}
	if a.client != nil && !a.client.Connected() {
		return errors.New("disconnected, reconnecting")
	}
	return nil
}

// Start connects in the background, retrying with backoff.
func (a *account) Start(ctx context.Context) {
	a.ctx, a.cancel = context.WithCancel(context.WithoutCancel(ctx))
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		if err := a.run(); err != nil {
			a.mu.Lock()
			a.status = err
			a.mu.Unlock()
			if !errors.Is(err, context.Canceled) {
				a.log.Error("account stopped", "err", err)
			}
		}
	}()
}

func (a *account) run() error {
	password, err := a.cfg.Secret()
	if err != nil {
		return err
	}
	client, err := xmpp.New(xmpp.Config{
		JID:                a.cfg.JID,
		Password:           password,
		Resource:           a.cfg.Resource,
		Addr:               a.cfg.Server,
		CAFile:             a.cfg.CAFile,
		AllowPlainLoopback: a.cfg.AllowPlain,
		Identity:           xmpp.Identity{Category: "client", Type: "bot", Name: "jingled " + a.cfg.Role},
		SubscriptionPolicy: a.approveSubscription,
		OnPresence:         a.onPresence,
		// disco#info waits until the role's features are registered.
		HoldDisco: true,
		// Carbons let a call answered on another device of the same
		// account stop ringing here (XEP-0353 with XEP-0280).
		Carbons: true,
		OnEvent: a.onEvent,
		Logger:  a.log,
	})
	if err != nil {
		return fmt.Errorf("xmpp: %w", err)
	}
	a.mu.Lock()
	a.client = client
	a.mu.Unlock()
	if err := client.Start(a.ctx); err != nil {
		if errors.Is(err, xmpp.ErrAuth) {
			return fmt.Errorf("the server refused the password of %s: %w", a.cfg.JID, err)
		}
		return fmt.Errorf("connecting: %w", err)
	}
	a.m.connected.WithLabelValues(a.cfg.Role).Inc()
	source, err := a.iceSource(client)
	if err != nil {
		return err
	}
	servers := source()
	peer := rtp.PeerOptions{ICEServerSource: source, RelayOnly: a.ice.Policy == "relay", Loopback: a.ice.LoopbackOnly, UDPMux: a.udpMux, Logger: a.log}
	if err := peer.CheckAddresses(); err != nil {
		// Each call fails at once with this reason; say it once here too,
		// with the setting that helps.
		a.log.Error("calls cannot connect: no usable network address", "err", err,
			"fix", "on a host with only loopback addresses set [ice] loopback_only = true, else connect a network")
	}
	role, err := a.newRole(peer, client)
	if err != nil {
		return err
	}
	opts := append(role.options(), jingle.WithLogger(a.log))
	if takesCalls(role) {
		opts = append(opts, jingle.WithProposalHandler(a.onProposal))
	}
	mgr := jingle.NewManager(client.JID(), client, opts...)
	client.Serve(mgr)
	// The same handler, counting what it refuses.
	client.HandleIQ(jingle.NS, "jingle", a.m.refused.countIQ(a.cfg.Role, mgr.HandleIQ))
	client.FeaturesReady()
	if s, ok := role.(interface{ served() }); ok {
		s.served()
	}
	a.m.addManager(mgr, a.cfg.Role)
	a.mu.Lock()
	a.mgr = mgr
	a.roles = append(a.roles, role)
	a.status = nil
	a.mu.Unlock()
	a.log.Info("serving", "jid", client.JID(), "ice_servers", len(servers))
	<-a.ctx.Done()
	return nil
}

func (a *account) onEvent(e xmpp.Event) {
	switch e.Kind {
	case xmpp.EventConnectFailed:
		a.mu.Lock()
		a.status = fmt.Errorf("connect attempt %d failed: %w", e.Attempt, e.Err)
		a.mu.Unlock()
		if e.Permanent {
			a.log.Error("cannot log in", "attempt", e.Attempt, "err", e.Err)
		} else {
			a.log.Warn("cannot reach the XMPP server", "attempt", e.Attempt, "err", e.Err)
		}
	case xmpp.EventRetry:
		a.log.Info("retrying", "attempt", e.Attempt, "in", e.Delay.Round(time.Millisecond))
	case xmpp.EventDisconnected:
		a.m.connected.WithLabelValues(a.cfg.Role).Dec()
		a.log.Warn("disconnected", "err", e.Err)
	case xmpp.EventConnected:
		a.mu.Lock()
		if a.mgr != nil {
			a.status = nil
			a.m.connected.WithLabelValues(a.cfg.Role).Inc()
		}
		a.mu.Unlock()
	}
}

// onPresence tells the roles that follow presence (a conference room
// ends the calls of a participant that went offline).
func (a *account) onPresence(p xmpp.Presence) {
	a.mu.Lock()
	roles := a.roles
	a.mu.Unlock()
	for _, r := range roles {
		if pr, ok := r.(interface{ presence(xmpp.Presence) }); ok {
			pr.presence(p)
		}
	}
}

func (a *account) approveSubscription(from string) bool {
	p := a.allow.Load()
	switch p.subs {
	case "all":
		return true
	case "none":
		return false
	}
	return p.allowed(from)
}

// iceSource returns the account's ICE servers for each new
// PeerConnection: the static list, then what the account's server hands
// out through XEP-0215, kept fresh by a refresher that re-queries before
// the credentials expire (Prosody's default lifetime is one day; a daemon
// runs longer). It waits briefly for the first answer so the first call
// already has the relay.
func (a *account) iceSource(c *xmpp.Client) (func() []webrtc.ICEServer, error) {
	static := staticICE(a.ice)
	if a.ice.Discover != nil && !*a.ice.Discover {
		return func() []webrtc.ICEServer { return static }, nil
	}
	r, err := extdisco.StartRefresher(a.ctx, extdisco.RefresherConfig{
		Sender: c, Server: c.Domain(), Logger: a.log,
		OnError: func(err error) { a.log.Info("STUN/TURN discovery (XEP-0215) failed; retrying", "err", err) },
	})
	if err != nil {
		return nil, fmt.Errorf("XEP-0215: %w", err)
	}
	a.mu.Lock()
	a.refresher = r
	a.mu.Unlock()
	select {
	case <-r.Ready():
	case <-time.After(5 * time.Second):
		a.log.Info("no STUN/TURN servers from the XMPP server yet (XEP-0215); calls start with host candidates")
	case <-a.ctx.Done():
	}
	return func() []webrtc.ICEServer {
		return append(append([]webrtc.ICEServer(nil), static...), extdisco.ToWebRTC(r.Current().Servers)...)
	}, nil
}

// onProposal answers a JMI ring: proceed for allowed callers, reject the
// others, so Conversations, Dino and Monal can call the service.
func (a *account) onProposal(p *jingle.Proposal) {
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		ctx, cancel := context.WithTimeout(a.ctx, 10*time.Second)
		defer cancel()
		if !a.allowed(p.Peer()) {
			a.log.Info("rejected a ring", "peer", p.Peer(), "why", "not allowed")
			_ = p.Reject(ctx, jingle.NewReason(jingle.ReasonDecline, "not allowed"))
			return
		}
		_ = p.Ring(ctx)
		if err := p.Proceed(ctx); err != nil {
			a.log.Warn("proceed failed", "peer", p.Peer(), "err", err)
		}
	}()
}

// newRole builds the applications of the account's role.
func (a *account) newRole(peer rtp.PeerOptions, c *xmpp.Client) (roleHandler, error) {
	switch a.cfg.Role {
	case config.RoleEcho, config.RoleRecord, config.RolePlay:
		return newCallRole(a, peer)
	case config.RoleFiledrop:
		return newFiledropRole(a, peer, c)
	case config.RoleConference:
		return newConferenceRole(a, peer, c), nil
	}
	return nil, fmt.Errorf("role %q", a.cfg.Role)
}

// takesCalls reports whether a role answers calls: only such a role
// answers JMI proposals and so advertises JMI. The others (filedrop)
// leave a call to the account's other devices instead of rejecting it,
// which would decline it on all of them (XEP-0353).
func takesCalls(r roleHandler) bool {
	_, ok := r.(*callRole)
	return ok
}

// callRole answers calls: echo, record or play.
type callRole struct {
	a   *account
	app *rtp.Application
}

func newCallRole(a *account, peer rtp.PeerOptions) (*callRole, error) {
	if a.cfg.Role == config.RoleRecord {
		if err := ensureDir(a.cfg.Dir); err != nil {
			return nil, fmt.Errorf("record dir: %w", err)
		}
	}
	r := &callRole{a: a}
	if a.cfg.Role == config.RoleEcho {
		// An echo turns each packet straight round: on the direct path
		// that is a decrypt and an encrypt on the socket's goroutine,
		// and on a shared UDP port a batch read's echoes leave in one
		// sendmmsg. A recording's sink writes a file, which must not
		// hold up the socket's reads: it stays on pion's path.
		peer.DirectAudio = true
	}
	maxCalls := a.cfg.MaxCalls
	if (a.cfg.Role == config.RolePlay && a.cfg.RTPListen != "") || a.cfg.RTPSend != "" {
		// One RTP input feeds one call, and one RTP output port carries
		// one call: a second caller gets <busy/>.
		maxCalls = 1
	}
	r.app = rtp.NewApplication(rtp.ApplicationOptions{Peer: peer, OnIncoming: r.incoming, MaxCalls: maxCalls})
	return r, nil
}

// options are the Jingle manager's: the application's, and room for
// max_calls sessions when it is above jingle's default total.
func (r *callRole) options() []jingle.Option {
	opts := r.app.Options()
	if n := r.a.cfg.MaxCalls; n > jingle.DefaultSessionsTotal {
		opts = append(opts, jingle.WithSessionLimits(0, n))
	}
	return opts
}

func (r *callRole) close(ctx context.Context) { _ = r.app.Close(ctx) }

// incoming runs on the call's goroutine: decide quickly, answer on ours.
func (r *callRole) incoming(c *rtp.Call) {
	a := r.a
	start := time.Now() // the session-initiate: set-up time counts from here
	if !a.allowed(c.Peer()) {
		a.log.Info("declined a call", "peer", c.Peer(), "why", "not allowed")
		go func() { _ = c.End(context.Background(), jingle.NewReason(jingle.ReasonDecline, "not allowed")) }()
		a.m.calls.WithLabelValues(a.cfg.Role, string(jingle.ReasonDecline)).Inc()
		return
	}
	a.wg.Add(1)
	go func() {
		defer a.wg.Done()
		m := rtp.MediaOptions{Duration: a.cfg.MaxDuration.Value()}
		switch a.cfg.Role {
		case config.RoleEcho:
			m.Echo = true
			m.EchoDelay = a.cfg.EchoDelayValue()
		case config.RoleRecord:
			m.Audio = a.cfg.Greeting
			m.Record = recordingPrefix(a.cfg.Dir, c.Peer(), time.Now())
		case config.RolePlay:
			if a.cfg.RTPListen != "" {
				codec := rtp.CodecOpus
				if a.cfg.RTPCodec != "" {
					var err error
					if codec, err = rtp.CodecByName(webrtc.RTPCodecTypeAudio, a.cfg.RTPCodec); err != nil {
						a.log.Error("play: rtp_codec", "err", err)
						_ = c.End(a.ctx, jingle.NewReason(jingle.ReasonMediaError, "no media input"))
						return
					}
				}
				src, err := rtp.ListenUDP(a.cfg.RTPListen, codec, "play")
				if err != nil {
					a.log.Error("play: rtp input", "err", err)
					_ = c.End(a.ctx, jingle.NewReason(jingle.ReasonMediaError, "no media input"))
					return
				}
				m.AudioSource = src
			} else if isAudioFile(a.cfg.File) {
				m.Audio = a.cfg.File
			} else {
				m.Video = a.cfg.File
			}
		}
		if err := a.rtpSend(&m, c.Peer()); err != nil {
			a.log.Error("cannot forward the call's media", "err", err)
			_ = c.End(a.ctx, jingle.NewReason(jingle.ReasonMediaError, "no media output"))
			return
		}
		a.log.Info("answering", "peer", c.Peer(), "record", m.Record)
		if err := c.Answer(a.ctx, m); err != nil {
			a.log.Warn("answer failed", "peer", c.Peer(), "err", err)
		}
		// The RTP counters move while the call runs, not only at its end,
		// so a dashboard sees live traffic (read at each scrape).
		a.m.callRTP.started(c)
		<-c.Done()
		st := c.Stats()
		a.m.callRTP.ended(c, st)
		reason, why := "unknown", ""
		if rr := c.Reason(); rr != nil {
			// The text carries the ICE diagnosis on connectivity-error
			// (candidate types gathered, pairs tried, likely cause).
			reason, why = string(rr.Condition), rr.Text
		}
		a.m.calls.WithLabelValues(a.cfg.Role, reason).Inc()
		q := newCallQuality(start, c.FirstMedia(), time.Now(), st)
		q.Account, q.Role, q.Peer, q.Outcome = a.cfg.JID, a.cfg.Role, c.Peer(), reason
		if s := c.Session(); s != nil {
			q.Kind = sessionKind(s.Contents())
		}
		a.m.callEnded(q)
		a.log.Info("call ended", "peer", c.Peer(), "reason", reason, "why", why, "packets_in", st.PacketsReceived, "packets_out", st.PacketsSent, "pair", st.Pair.LocalType+"/"+st.Pair.RemoteType)
	}()
}

var unsafeChars = regexp.MustCompile(`[^A-Za-z0-9@._-]+`)

// recordingPrefix names a recording by caller and time, confined to dir:
// dir/alice@example.org-20261122T134501Z (the caller's bare JID with
// anything but [A-Za-z0-9@._-] replaced, so no path can be injected).
func recordingPrefix(dir, peer string, t time.Time) string {
	bare, _, _ := strings.Cut(peer, "/")
	name := strings.Trim(unsafeChars.ReplaceAllString(bare, "_"), ".")
	if name == "" {
		name = "unknown"
	}
	return filepath.Join(dir, name+"-"+t.UTC().Format("20060102T150405.000Z"))
}

// Stop ends every session with session-terminate and disconnects.
func (a *account) Stop(ctx context.Context) error {
	if a.cancel == nil {
		return nil
	}
	a.mu.Lock()
	mgr, client, roles := a.mgr, a.client, a.roles
	a.mu.Unlock()
	var errs []error
	for _, r := range roles {
		r.close(ctx)
	}
	if mgr != nil {
		if err := mgr.Close(ctx); err != nil {
			errs = append(errs, fmt.Errorf("jingle: %w", err))
		}
		a.m.removeManager(mgr)
	}
	a.cancel()
	a.mu.Lock()
	r := a.refresher
	a.mu.Unlock()
	if r != nil {
		r.Close()
	}
	if client != nil {
		if err := client.Close(); err != nil && !errors.Is(err, xmpp.ErrClosed) {
			errs = append(errs, fmt.Errorf("xmpp: %w", err))
		}
	}
	a.wg.Wait()
	return errors.Join(errs...)
}

// ensureDir makes a role's directory.
func ensureDir(dir string) error {
	if dir == "" {
		return nil
	}
	return os.MkdirAll(dir, 0o750)
}

// isAudioFile reports whether the play role's file is audio (Ogg/Opus or
// WAV, which rtp.OpenFile sends as audio) rather than video.
func isAudioFile(path string) bool {
	switch strings.ToLower(filepath.Ext(path)) {
	case ".ogg", ".opus", ".oga", ".wav":
		return true
	}
	return false
}
