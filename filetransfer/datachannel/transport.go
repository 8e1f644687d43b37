// Package datachannel implements file-transfer streams over a WebRTC data
// channel (ICE + DTLS + SCTP, RFC 8831) with pion, signalled in Jingle in
// the three dialects found in the wild:
//
//   - XEP-0343's ICE-UDP transport (urn:xmpp:jingle:transports:ice-udp:1)
//     carrying <sctpmap xmlns='urn:xmpp:jingle:transports:dtls-sctp:1'/>,
//     as StanzaJS and Jitsi send it;
//   - urn:xmpp:jingle:transports:webrtc-datachannel:1, newer
//     Conversations' wrapper with sctp-port and max-message-size around an
//     ICE-UDP transport;
//   - the same wrapper in XEP-0343's :0 namespace.
//
// The Jingle initiator is the SDP offerer and opens a channel labelled
// "filetransfer" (StanzaJS's label); the stream is that channel, detached
// with blocking writes so SCTP flow control paces the sender.
package datachannel

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	pionice "github.com/pion/ice/v4"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// Label is the data channel label StanzaJS uses for files.
const Label = "filetransfer"

// DefaultPriority makes the datachannel the first choice.
const DefaultPriority = 30

// DefaultGatherTimeout bounds ICE gathering (TURN allocation included)
// before our transport is sent with what was gathered.
const DefaultGatherTimeout = 10 * time.Second

// defaultChunk is the message size we send when the peer announces no
// max-message-size: pion then enforces 65535 bytes.
const defaultChunk = 65535

// maxPending bounds the peer's candidates queued until a description is
// applied: a flood of transport-info cannot grow memory.
const maxPending = 256

// Errors callers branch on.
var (
	// ErrFailed is ICE or DTLS giving up: the application falls back.
	ErrFailed = errors.New("datachannel: connection failed")
	// ErrBadTransport is a transport element we cannot use.
	ErrBadTransport = errors.New("datachannel: unusable transport")
	// ErrClosed is an operation on a closed handle.
	ErrClosed = errors.New("datachannel: closed")
)

type config struct {
	iceServers    []webrtc.ICEServer
	iceSource     func() []webrtc.ICEServer
	relayOnly     bool
	loopbackOnly  bool
	configure     func(*webrtc.SettingEngine)
	log           *slog.Logger
	gatherTimeout time.Duration
}

// Option configures a Transport.
type Option func(*config)

// WithICEServers sets the STUN/TURN servers (none by default: no public
// server is ever contacted unless configured).
func WithICEServers(s ...webrtc.ICEServer) Option {
	return func(c *config) { c.iceServers = append(c.iceServers, s...) }
}

// WithICEServerSource asks f for the STUN/TURN servers of each new
// PeerConnection, after the WithICEServers ones, so credentials that
// expire (XEP-0215) are renewed for a long-running service.
func WithICEServerSource(f func() []webrtc.ICEServer) Option {
	return func(c *config) { c.iceSource = f }
}

// WithRelayOnly sets ICE transport policy "relay": only TURN candidates,
// so the peer never learns our addresses.
func WithRelayOnly(on bool) Option { return func(c *config) { c.relayOnly = on } }

// WithLoopbackOnly restricts gathering to loopback addresses, for tests
// and demos that must not touch the network (ice.LoopbackOnly, as calls
// do with rtp.PeerOptions.Loopback).
func WithLoopbackOnly() Option { return func(c *config) { c.loopbackOnly = true } }

// WithSettingEngine lets the caller adjust pion's SettingEngine (vnet,
// port ranges, interface filters) after our defaults.
func WithSettingEngine(f func(*webrtc.SettingEngine)) Option {
	return func(c *config) { c.configure = f }
}

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) {
		if l != nil {
			c.log = l
		}
	}
}

// WithGatherTimeout overrides DefaultGatherTimeout.
func WithGatherTimeout(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.gatherTimeout = d
		}
	}
}

// Transport is the datachannel transport registered under one namespace.
// New returns the webrtc-datachannel:1 one; Dialect returns the same
// transport under XEP-0343's namespaces.
type Transport struct {
	ns  string
	cfg *config
	api *webrtc.API
}

// receiveWindow is the SCTP receive buffer, the most a peer may have in
// flight towards us. Beyond pion's 1 MB datagram buffers (the ICE agent's,
// webrtc's mux) only with internal/pionbuf's floor, which the binaries
// set: without it a full window overflows them now and then, and each
// overflow halves SCTP's congestion window.
const receiveWindow = 4 << 20

// New returns the transport for urn:xmpp:jingle:transports:webrtc-datachannel:1.
func New(opts ...Option) *Transport {
	c := &config{log: slog.New(slog.DiscardHandler), gatherTimeout: DefaultGatherTimeout}
	for _, o := range opts {
		o(c)
	}
	var se webrtc.SettingEngine
	se.DetachDataChannels()
	// Larger socket buffers (socketbuf.go); WithSettingEngine may replace
	// the network (vnet).
	if n, err := stdnet.NewNet(); err == nil {
		se.SetNet(bufferedNet{Net: n, size: socketBuffer})
	} else {
		c.log.Warn("datachannel: host network for socket buffers", "err", err)
	}
	// RFC 9653: no CRC32c in SCTP packets that DTLS already protects,
	// where the peer announces it too (pion, newer libwebrtc); others
	// keep the checksum.
	se.EnableSCTPZeroChecksum(true)
	// SCTP's receive window bounds a transfer at rwnd per round trip:
	// pion's 1 MiB is 168 Mbit/s at 50 ms at best. 4 MiB with pion's
	// buffers raised (internal/pionbuf) carried 128 MiB at 50 ms RTT
	// without a loss (BenchmarkRTT; docs/BENCHMARKS.md has the runs).
	se.SetSCTPMaxReceiveBufferSize(receiveWindow)
	// mDNS candidates cannot travel in Jingle, and the queries would leave
	// the host: off.
	se.SetICEMulticastDNSMode(pionice.MulticastDNSModeDisabled)
	if c.loopbackOnly {
		ice.LoopbackOnly(&se)
	}
	if c.configure != nil {
		c.configure(&se)
	}
	return &Transport{ns: ice.NSDataChannel1, cfg: c, api: webrtc.NewAPI(webrtc.WithSettingEngine(se))}
}

// Dialect returns the transport registered under ns: ice.NSDataChannel0,
// ice.NSDataChannel1, or ice.NS for XEP-0343's ICE-UDP + sctpmap (only
// register that one with a Manager where no call transport owns ICE-UDP;
// the file-transfer application maps it either way).
func (t *Transport) Dialect(ns string) *Transport {
	return &Transport{ns: ns, cfg: t.cfg, api: t.api}
}

// Namespace implements jingle.Transport.
func (t *Transport) Namespace() string { return t.ns }

// Features implements jingle.Transport: every dialect we read.
func (t *Transport) Features() []string {
	return []string{ice.NSDataChannel1, ice.NSDataChannel0, ice.NSDTLSSCTP, ice.NS, ice.NSDTLS}
}

// Kind implements jingle.Transport.
func (t *Transport) Kind() jingle.TransportKind { return jingle.Stream }

// Priority implements jingle.Transport.
func (t *Transport) Priority() int { return DefaultPriority }

// NewHandle implements jingle.StreamTransport. This transport sends no
// transport-info, so it never calls s.Send.
func (t *Transport) NewHandle(_ context.Context, s jingle.TransportSession, content string) (jingle.TransportHandle, error) {
	return t.newHandle(s, content), nil
}

func (t *Transport) newHandle(s jingle.TransportSession, content string) *handle {
	return &handle{t: t, s: s, content: content, dialect: t.ns, ready: make(chan struct{}),
		log: t.cfg.log.With("transport", "datachannel", "content", content, "peer", s.Peer())}
}

// handle is one content's data channel.
type handle struct {
	t       *Transport
	s       jingle.TransportSession
	content string
	log     *slog.Logger

	mu            sync.Mutex
	dialect       string
	pc            *webrtc.PeerConnection
	mid           string
	local         *jingle.Element
	remote        *params
	remoteSetup   ice.Setup
	remoteApplied bool
	pending       []ice.Candidate
	closed        bool

	ready chan struct{}
	once  sync.Once
	conn  *conn
	err   error
}

func (h *handle) finish(c *conn, err error) {
	h.once.Do(func() {
		h.conn, h.err = c, err
		close(h.ready)
	})
}

func (h *handle) newPC() (*webrtc.PeerConnection, error) {
	servers := h.t.cfg.iceServers
	if h.t.cfg.iceSource != nil {
		servers = append(append([]webrtc.ICEServer(nil), servers...), h.t.cfg.iceSource()...)
	}
	cfg := webrtc.Configuration{ICEServers: servers}
	if h.t.cfg.relayOnly {
		cfg.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	pc, err := h.t.api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("datachannel: new peer connection: %w", err)
	}
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		h.log.Debug("datachannel: connection state", "state", st.String())
		if st == webrtc.PeerConnectionStateFailed {
			h.finish(nil, fmt.Errorf("%w: ICE/DTLS state %s", ErrFailed, st))
		}
	})
	return pc, nil
}

// attach detaches an open channel into the stream.
func (h *handle) attach(dc *webrtc.DataChannel) {
	dc.OnOpen(func() {
		var maxMsg uint64
		h.mu.Lock()
		if h.remote != nil {
			maxMsg = h.remote.maxMessageSize
		}
		h.mu.Unlock()
		rwc, err := dc.Detach()
		if err != nil {
			h.finish(nil, fmt.Errorf("datachannel: detach: %w", err))
			return
		}
		c := newConn(rwc, dc, maxMsg)
		c.pair = h.selectedPair()
		h.mu.Lock()
		if h.pc != nil {
			c.setPathRTT(pathRTT(h.pc))
			c.sctp = h.pc.SCTP()
		}
		h.mu.Unlock()
		h.finish(c, nil)
	})
}

// selectedPath reads the candidate pair ICE selected, once the channel is
// open (ICE and DTLS are up by then).
func (h *handle) selectedPair() ice.Pair {
	h.mu.Lock()
	pc := h.pc
	h.mu.Unlock()
	if pc == nil || pc.SCTP() == nil || pc.SCTP().Transport() == nil {
		return ice.Pair{}
	}
	return ice.SelectedPair(pc.SCTP().Transport().ICETransport())
}

// Local implements jingle.TransportHandle: it creates the offer (as
// initiator) or the answer (as responder), waits for gathering, and
// returns the transport in the handle's dialect.
func (h *handle) Local(ctx context.Context) (jingle.Element, error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.local != nil {
		return *h.local, nil
	}
	if h.closed {
		return jingle.Element{}, ErrClosed
	}
	pc, err := h.newPC()
	if err != nil {
		return jingle.Element{}, err
	}
	h.pc = pc
	var desc webrtc.SessionDescription
	if h.s.IsInitiator() {
		ordered := true
		dc, err := pc.CreateDataChannel(Label, &webrtc.DataChannelInit{Ordered: &ordered})
		if err != nil {
			return jingle.Element{}, fmt.Errorf("datachannel: create channel: %w", err)
		}
		h.attach(dc)
		if desc, err = pc.CreateOffer(nil); err != nil {
			return jingle.Element{}, fmt.Errorf("datachannel: create offer: %w", err)
		}
	} else {
		if h.remote == nil {
			return jingle.Element{}, fmt.Errorf("%w: answer before offer", ErrBadTransport)
		}
		pc.OnDataChannel(func(dc *webrtc.DataChannel) { h.attach(dc) })
		h.mid = h.content
		setup := h.remoteSetup
		if setup == "" {
			setup = ice.SetupActPass
		}
		if err := pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: h.remote.toSDP(h.mid, setup)}); err != nil {
			return jingle.Element{}, fmt.Errorf("datachannel: applying offer: %w", err)
		}
		h.remoteApplied = true
		h.applyPendingLocked()
		if desc, err = pc.CreateAnswer(nil); err != nil {
			return jingle.Element{}, fmt.Errorf("datachannel: create answer: %w", err)
		}
	}
	gathered := webrtc.GatheringCompletePromise(pc)
	if err := pc.SetLocalDescription(desc); err != nil {
		return jingle.Element{}, fmt.Errorf("datachannel: set local description: %w", err)
	}
	tctx, cancel := context.WithTimeout(ctx, h.t.cfg.gatherTimeout)
	select {
	case <-gathered:
	case <-tctx.Done():
		h.log.Debug("datachannel: gathering incomplete, sending what we have")
	}
	cancel()
	p, err := fromSDP(pc.LocalDescription().SDP)
	if err != nil {
		return jingle.Element{}, err
	}
	if h.s.IsInitiator() {
		h.mid = midOf(pc.LocalDescription().SDP)
	} else {
		for i := range p.fingerprints {
			p.fingerprints[i].Setup = p.fingerprints[i].Setup.ForAnswer()
		}
	}
	h.applyPendingLocked()
	el, err := h.element(p)
	if err != nil {
		return jingle.Element{}, err
	}
	h.local = &el
	return el, nil
}

func midOf(raw string) string {
	const key = "a=mid:"
	for _, line := range splitLines(raw) {
		if len(line) > len(key) && line[:len(key)] == key {
			return line[len(key):]
		}
	}
	return "0"
}

func splitLines(s string) []string {
	var out []string
	start := 0
	for i := 0; i < len(s); i++ {
		if s[i] == '\n' {
			out = append(out, trimCR(s[start:i]))
			start = i + 1
		}
	}
	if start < len(s) {
		out = append(out, trimCR(s[start:]))
	}
	return out
}

func trimCR(s string) string {
	if len(s) > 0 && s[len(s)-1] == '\r' {
		return s[:len(s)-1]
	}
	return s
}

// element writes our parameters in the handle's dialect.
func (h *handle) element(p *params) (jingle.Element, error) {
	t := &ice.Transport{Ufrag: p.ufrag, Pwd: p.pwd, Fingerprints: p.fingerprints, Candidates: p.candidates}
	switch h.dialect {
	case ice.NS:
		t.SCTPMap = &ice.SCTPMap{Number: p.sctpPort, Protocol: ice.SCTPProtocol}
		return t.Element()
	case ice.NSDataChannel0, ice.NSDataChannel1:
		mms := p.maxMessageSize
		if mms == 0 {
			mms = DefaultMaxMessageSize
		}
		dc := ice.DataChannelTransport{SCTPPort: p.sctpPort, MaxMessageSize: mms, ICE: t}
		dc.XMLName.Space, dc.XMLName.Local = h.dialect, "transport"
		return jingle.NewElement(dc)
	}
	return jingle.Element{}, fmt.Errorf("%w: dialect %q", ErrBadTransport, h.dialect)
}

// HandleRemote implements jingle.TransportHandle.
func (h *handle) HandleRemote(_ context.Context, a jingle.Action, e jingle.Element) error {
	t, dc, err := ice.Decode(&e)
	if err != nil {
		return fmt.Errorf("%w: %w", ErrBadTransport, err)
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return ErrClosed
	}
	p := fromTransport(t, dc)
	if a == jingle.ActionTransportInfo {
		if h.remote != nil && t.Ufrag != "" && t.Ufrag != h.remote.ufrag {
			return nil // a candidate of another ICE generation
		}
		if len(h.pending)+len(p.candidates) > maxPending {
			return fmt.Errorf("%w: more than %d candidates before the description", ErrBadTransport, maxPending)
		}
		h.pending = append(h.pending, p.candidates...)
		h.applyPendingLocked()
		return nil
	}
	if h.remote != nil {
		return nil
	}
	if t.SCTPMap == nil && dc == nil {
		return fmt.Errorf("%w: ICE-UDP transport without sctpmap", ErrBadTransport)
	}
	if p.ufrag == "" || p.pwd == "" || len(p.fingerprints) == 0 {
		return fmt.Errorf("%w: no ICE credentials or DTLS fingerprint", ErrBadTransport)
	}
	h.remote, h.remoteSetup = p, t.Setup()
	h.dialect = e.XMLName.Space
	h.pending = append(h.pending, p.candidates...)
	h.remote.candidates = nil // applied through pending, once a description is set
	if !h.s.IsInitiator() {
		return nil // the offer is applied in Local
	}
	if h.pc == nil {
		return fmt.Errorf("%w: answer before offer", ErrBadTransport)
	}
	setup := h.remoteSetup
	if setup == "" || setup == ice.SetupActPass {
		// RFC 5763 §5 forbids actpass in an answer; take it as active,
		// the libwebrtc default, so DTLS still starts.
		setup = ice.SetupActive
	}
	if err := h.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: h.remote.toSDP(h.mid, setup)}); err != nil {
		return fmt.Errorf("datachannel: applying answer: %w", err)
	}
	h.remoteApplied = true
	h.applyPendingLocked()
	return nil
}

func (h *handle) applyPendingLocked() {
	if !h.remoteApplied || h.pc == nil {
		return
	}
	for _, c := range h.pending {
		init, err := c.ICECandidateInit(h.mid, "")
		if err != nil {
			continue
		}
		if err := h.pc.AddICECandidate(init); err != nil {
			h.log.Debug("datachannel: remote candidate refused", "err", err)
		}
	}
	h.pending = nil
}

// Conn implements jingle.TransportHandle.
func (h *handle) Conn(ctx context.Context) (io.ReadWriteCloser, error) {
	select {
	case <-h.ready:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	if h.err != nil {
		return nil, h.err
	}
	return h.conn, nil
}

// Close implements jingle.TransportHandle: it closes the channel and the
// peer connection.
func (h *handle) Close() error {
	h.mu.Lock()
	h.closed = true
	pc := h.pc
	h.mu.Unlock()
	h.finish(nil, ErrClosed)
	var err error
	if h.conn != nil {
		err = h.conn.Close()
	}
	if pc != nil {
		if cerr := pc.Close(); cerr != nil && err == nil {
			err = cerr
		}
	}
	return err
}
