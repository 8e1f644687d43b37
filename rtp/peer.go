// PeerConnections: the pion API behind each one (codecs, interceptors,
// settings, certificate), a PeerConnection created with the call's
// callbacks, and its ICE and DTLS states.

package rtp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/internal/pionlog"
	"github.com/jingled/jingled/jingle"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/sdp/v3"
	"github.com/pion/transport/v4/stdnet"
	"github.com/pion/webrtc/v4"
)

// PeerOptions configure the PeerConnections behind calls.
type PeerOptions struct {
	// ICEServers are the STUN/TURN servers, from XEP-0215 discovery or a
	// static list. Empty means host candidates only: there is no public
	// default, ever.
	ICEServers []webrtc.ICEServer
	// ICEServerSource, when set, is asked for the servers of each new
	// PeerConnection instead of ICEServers, so credentials that expire
	// (XEP-0215, Prosody's default is a day) are renewed for a
	// long-running service without restarting it.
	ICEServerSource func() []webrtc.ICEServer
	// RelayOnly sets the ICE transport policy to relay: only TURN
	// candidates are used (privacy, or proving the relay works).
	RelayOnly bool
	// Loopback restricts ICE gathering to loopback addresses (on any
	// interface) and includes loopback candidates, which pion otherwise
	// skips. Tests use it so that no packet leaves the machine.
	Loopback bool
	// UDPPortMin and UDPPortMax restrict the local UDP ports ICE gathers
	// on (both set, inclusive), for a firewall that opens a range.
	UDPPortMin, UDPPortMax uint16
	// UDPMux, when set, carries every call's host candidates on its one
	// port (see ListenUDPMux); UDPPortMin/Max then bound only the other
	// sockets. The owner closes it after the calls.
	UDPMux *UDPMux
	// AudioLevels accepts RFC 6464 audio levels (AudioLevelURI) on audio
	// when the peer offers them, so sinks can read them (see
	// HeaderExtensionSink). A conference focus wants them; a plain call
	// has no use for them, so they are off by default.
	AudioLevels bool
	// DirectAudio takes audio past pion's per-packet paths once it
	// flows: each received packet is decrypted on the goroutine that
	// read its datagram and handed to the sink there (direct.go), each
	// sent one encrypted and written to the selected pair's socket by
	// the writer (direct_send.go). It costs a fraction of pion's paths
	// per packet, which a conference focus with hundreds of streams
	// needs; the price is that no RTCP receiver reports are sent for
	// those streams and the sender reports' counts stop. On a UDPMux
	// the port's read loop does it, for the datagrams from each call's
	// selected pair. The sink then runs on the socket's read goroutine,
	// on a UDPMux the one of every call: it must not block (a mixer's
	// input, an echo; not a file). Without effect when Configure
	// installs its own Net (a vnet).
	DirectAudio bool
	// Restart bounds the automatic ICE restarts of a call whose path
	// broke (autorestart.go); the zero value restarts with the defaults.
	Restart RestartPolicy
	// Configure, when set, adjusts the SettingEngine after the options
	// above were applied (timeouts, port ranges, a vnet).
	Configure func(*webrtc.SettingEngine)
	// Logger receives pion's logs (ICE, DTLS, SRTP) at debug level and
	// the call's own logs. Nil discards.
	Logger *slog.Logger
}

func (o *PeerOptions) logger() *slog.Logger {
	if o.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return o.Logger
}

// The codecs we offer and accept, in our preference order. The payload
// type numbers are libwebrtc's, so offers look familiar to every peer;
// in answers pion uses the peer's numbers.
var (
	videoFeedback = []webrtc.RTCPFeedback{
		{Type: "goog-remb"}, {Type: "ccm", Parameter: "fir"}, {Type: "nack"}, {Type: "nack", Parameter: "pli"},
	}
	audioCodecs = []webrtc.RTPCodecParameters{
		{RTPCodecCapability: CodecOpus, PayloadType: 111},
		{RTPCodecCapability: CodecG722, PayloadType: 9},
		{RTPCodecCapability: CodecPCMU, PayloadType: 0},
		{RTPCodecCapability: CodecPCMA, PayloadType: 8},
	}
	videoCodecs = []webrtc.RTPCodecParameters{
		{RTPCodecCapability: withFeedback(CodecVP8), PayloadType: 96},
		{RTPCodecCapability: withFeedback(CodecVP9), PayloadType: 98},
		{RTPCodecCapability: withFeedback(CodecH264), PayloadType: 102},
		{RTPCodecCapability: withFeedback(CodecH264Main), PayloadType: 104},
		{RTPCodecCapability: withFeedback(CodecH264High), PayloadType: 106},
	}
)

func withFeedback(c webrtc.RTPCodecCapability) webrtc.RTPCodecCapability {
	c.RTCPFeedback = videoFeedback
	return c
}

// SupportedCodecs returns the codecs calls offer and accept for kind.
func SupportedCodecs(kind webrtc.RTPCodecType) []webrtc.RTPCodecParameters {
	if kind == webrtc.RTPCodecTypeVideo {
		return append([]webrtc.RTPCodecParameters(nil), videoCodecs...)
	}
	return append([]webrtc.RTPCodecParameters(nil), audioCodecs...)
}

// newAPI builds a pion API: our codecs, the default interceptors (NACK,
// RTCP reports, stats, TWCC) and the setting engine of opts. Each
// PeerConnection gets its own API, since the MediaEngine records what
// was negotiated.
func newAPI(opts *PeerOptions, log *slog.Logger, ufrag, pwd string) (*webrtc.API, *statsHolder, error) {
	m := &webrtc.MediaEngine{}
	for _, c := range audioCodecs {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeAudio); err != nil {
			return nil, nil, fmt.Errorf("rtp: registering %s: %w", c.MimeType, err)
		}
	}
	for _, c := range videoCodecs {
		if err := m.RegisterCodec(c, webrtc.RTPCodecTypeVideo); err != nil {
			return nil, nil, fmt.Errorf("rtp: registering %s: %w", c.MimeType, err)
		}
	}
	if opts.AudioLevels {
		if err := registerAudioLevel(m); err != nil {
			return nil, nil, err
		}
	}
	// pion's defaults minus its global stats interceptor: pion's GetStats
	// reports no outbound streams, so we keep our own stats getter per
	// PeerConnection and read every counter from it.
	ir := &interceptor.Registry{}
	if err := configureNack(m, ir); err != nil {
		return nil, nil, fmt.Errorf("rtp: registering NACK: %w", err)
	}
	// Before pion's report interceptors, whose writes it paces
	// (reports.go).
	ir.Add(reportPacer{})
	if err := webrtc.ConfigureRTCPReports(ir); err != nil {
		return nil, nil, fmt.Errorf("rtp: registering RTCP reports: %w", err)
	}
	if err := configureTWCC(m, ir); err != nil {
		return nil, nil, fmt.Errorf("rtp: registering TWCC: %w", err)
	}
	holder := &statsHolder{jitter: newJitterMeter()}
	ir.Add(holder.jitter)
	sf, err := stats.NewInterceptor()
	if err != nil {
		return nil, nil, fmt.Errorf("rtp: stats interceptor: %w", err)
	}
	sf.OnNewPeerConnection(func(_ string, g stats.Getter) { holder.set(g) })
	ir.Add(sf)
	s := webrtc.SettingEngine{LoggerFactory: pionlog.Factory{Log: log, Args: pionArgs}}
	// The call decides when a PeerConnection closes (after reading its
	// final stats); pion would otherwise close it from a goroutine of its
	// own on DTLS close_notify.
	s.DisableCloseByDTLS(true)
	// A PeerConnection of one content takes an RTP stream whose SSRC was
	// never signalled (see withoutSources), also when we were the
	// offerer; pion otherwise does that only for answerers.
	s.SetHandleUndeclaredSSRCWithoutAnswer(true)
	if opts.Loopback {
		LoopbackOnly(&s)
	}
	switch {
	case opts.UDPMux != nil:
		s.SetICEUDPMux(opts.UDPMux.mux)
		if opts.DirectAudio {
			holder.direct = newDirectRx(holder.jitter, opts.UDPMux.routes)
			holder.directTx = newDirectTx(opts.UDPMux.socket)
		}
	case opts.DirectAudio:
		n, err := stdnet.NewNet()
		if err != nil {
			return nil, nil, fmt.Errorf("rtp: network for direct media: %w", err)
		}
		sockets := &directSockets{}
		holder.direct = newDirectRx(holder.jitter, nil)
		holder.directTx = newDirectTx(sockets.find)
		s.SetNet(directNet{Net: n, rx: holder.direct, sockets: sockets})
	}
	if holder.directTx != nil {
		// Last, so that it is the outermost: a track writes to it
		// first (direct_send.go).
		ir.Add(holder.directTx)
	}
	if opts.UDPPortMin > 0 && opts.UDPPortMax >= opts.UDPPortMin {
		if err := s.SetEphemeralUDPPortRange(opts.UDPPortMin, opts.UDPPortMax); err != nil {
			return nil, nil, fmt.Errorf("rtp: UDP port range: %w", err)
		}
	}
	opts.Restart.configureICE(&s)
	if opts.RelayOnly {
		// Every pair is relay/relay: pion's 2 s wait for a better kind
		// of pair only delays the set-up and each ICE restart.
		s.SetRelayAcceptanceMinWait(0)
	}
	if opts.Configure != nil {
		opts.Configure(&s)
	}
	if ufrag != "" {
		// A transport split off a bundle keeps the credentials the
		// peer already has (see Call.unbundle).
		s.SetICECredentials(ufrag, pwd)
	}
	return webrtc.NewAPI(webrtc.WithMediaEngine(m), webrtc.WithInterceptorRegistry(ir), webrtc.WithSettingEngine(s)), holder, nil
}

// configureTWCC is webrtc.ConfigureTWCCSender for video only. Transport-
// wide feedback steers a sender's bandwidth estimate, which matters for
// video; on audio (a fixed 20-50 kbit/s) it cost a header-extension parse
// and a feedback record per packet of every call, a tenth of an echo
// call's CPU in bench/calls.
func configureTWCC(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: webrtc.TypeRTCPFBTransportCC}, webrtc.RTPCodecTypeVideo)
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: sdp.TransportCCURI}, webrtc.RTPCodecTypeVideo); err != nil {
		return err
	}
	g, err := lazyTWCCSender()
	if err != nil {
		return err
	}
	ir.Add(g)
	return nil
}

// nackHistory is how many sent packets each outgoing video stream keeps
// to answer NACKs. pion's default, 1024, holds 22 s of a 46 packets/s
// VP8 stream, about 1.3 MB per stream, when a retransmission is of use
// for a few round trips only: a receiver's jitter buffer has given the
// frame up within a second or so. 256 packets are still over a second at
// 250 packets/s (about 2.5 Mbit/s), and took a conference focus
// forwarding 500 streams from 17.4 to 10.3 MiB per participant
// (docs/BENCHMARKS.md, multi-stream video). It must be a power of two
// (pion's rtpbuffer).
const nackHistory = 256

// configureNack is webrtc.ConfigureNack with the generator started by
// the first stream that negotiated NACK (see lazyFactory) and a shorter
// history (nackHistory).
func configureNack(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	responder, err := nack.NewResponderInterceptor(nack.ResponderSize(nackHistory))
	if err != nil {
		return err
	}
	generator, err := lazyNackGenerator()
	if err != nil {
		return err
	}
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack"}, webrtc.RTPCodecTypeVideo)
	m.RegisterFeedback(webrtc.RTCPFeedback{Type: "nack", Parameter: "pli"}, webrtc.RTPCodecTypeVideo)
	ir.Add(responder)
	ir.Add(generator)
	return nil
}

// LoopbackOnly is ice.LoopbackOnly, the setting PeerOptions.Loopback
// applies: only loopback addresses, on any interface, gather candidates.
func LoopbackOnly(s *webrtc.SettingEngine) { ice.LoopbackOnly(s) }

// iceServers returns the servers for a new PeerConnection.
func (o *PeerOptions) iceServers() []webrtc.ICEServer {
	if o.ICEServerSource != nil {
		return o.ICEServerSource()
	}
	return o.ICEServers
}

func (o *PeerOptions) configuration() webrtc.Configuration {
	c := webrtc.Configuration{
		ICEServers:    o.iceServers(),
		BundlePolicy:  webrtc.BundlePolicyMaxBundle,
		RTCPMuxPolicy: webrtc.RTCPMuxPolicyRequire,
	}
	if o.RelayOnly {
		c.ICETransportPolicy = webrtc.ICETransportPolicyRelay
	}
	return c
}

// pionArgs describes pion's remote tracks by their locking accessors
// before pion's own "%+v" would read their fields unlocked (a data race
// with pion's receiver set-up, seen under -race when content-add arrives
// while a track starts).
func pionArgs(args []any) []any {
	for i, a := range args {
		if t, ok := a.(*webrtc.TrackRemote); ok && t != nil {
			args[i] = fmt.Sprintf("track{id:%s kind:%s ssrc:%d rid:%s}", t.ID(), t.Kind(), t.SSRC(), t.RID())
		}
	}
	return args
}

// statsHolder keeps the stats getter the interceptor hands over when the
// PeerConnection is built.
type statsHolder struct {
	mu sync.Mutex
	g  stats.Getter
	// jitter is the receive jitter as RFC 3550 defines it (jitter.go).
	jitter *jitterMeter
	// direct and directTx are the direct receive and send paths
	// (PeerOptions.DirectAudio), whose packets pion's stats never see;
	// nil when off.
	direct   *directRx
	directTx *directTx
}

func (h *statsHolder) set(g stats.Getter) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.g = g
}

func (h *statsHolder) get(ssrc webrtc.SSRC) *stats.Stats {
	h.mu.Lock()
	g := h.g
	h.mu.Unlock()
	if g == nil {
		return nil
	}
	return g.Get(uint32(ssrc))
}

// newCertificate makes a call's DTLS certificate (ECDSA P-256, as pion
// and libwebrtc do by default).
func newCertificate() (*webrtc.Certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("rtp: DTLS key: %w", err)
	}
	cert, err := webrtc.GenerateCertificate(key)
	if err != nil {
		return nil, fmt.Errorf("rtp: DTLS certificate: %w", err)
	}
	return cert, nil
}

// peer is one PeerConnection and the contents it carries.
type peer struct {
	pc       *webrtc.PeerConnection
	stats    *statsHolder
	contents []string
	// remoteSet: the remote description is applied; until then trickled
	// candidates wait in pending.
	remoteSet bool
	pending   []webrtc.ICECandidateInit
	// Local ICE credentials and generation, for transport-info.
	ufrag, pwd string
	fps        []ice.Fingerprint
	generation uint32
	// remoteUfrag detects a peer's ICE restart; pastUfrags are the
	// generations before, whose late candidates are dropped.
	remoteUfrag string
	pastUfrags  map[string]bool
	iceDone     bool
	connected   bool
	// watch keeps stats snapshots while ICE checks, for the diagnostics
	// of a failure.
	watch      *iceWatch
	echo       map[string]*PayloadTrack // content -> echo track
	echoPaused map[string]*atomic.Bool
	// restarting: we sent an ICE restart offer and wait for the answer;
	// answering: we answer the peer's restart once gathering is done.
	restarting bool
	answering  *restartAnswer
	// readd: our content-adds that a restart offer of the peer crossed
	// (restart.go, settleAdds): pion holds them as inactive until the
	// peer's content-accept, which is then applied to a new local offer;
	// by content, the track their sender sends once accepted (nil when
	// receiving only).
	readd map[string]webrtc.TrackLocal
	// deferredAdds: the peer's content-adds that crossed our restart
	// offer, handled once its answer is applied (pion cannot take an
	// offer while ours is pending).
	deferredAdds []*jingle.Jingle
	// withdrawn is the ICE generation (never 0, the session's own) whose
	// restart offer failed to reach the peer (abandonRestart). Set by the
	// trickle goroutine the moment the offer fails, so that the
	// candidates queued behind it are not sent: they carry credentials
	// the peer never got, which it would take for a restart offer of
	// ours and answer, and every answer after would look like a new
	// offer to the other side.
	withdrawn atomic.Uint32
	// heldCreds are the ICE credentials the peer knows while pion's are
	// those of a restart offer it never got (abandonRestart); our
	// descriptions (a content-accept, a content-add) carry these until
	// the next restart. nil otherwise.
	heldCreds *iceCreds
}

// iceCreds are a set of local ICE credentials.
type iceCreds struct{ ufrag, pwd string }

// newPeer creates a PeerConnection for contents with our callbacks.
func (c *Call) newPeer(contents []string) (*peer, error) {
	return c.newPeerCreds(contents, "", "")
}

// newPeerCreds is newPeer with fixed local ICE credentials. Every
// PeerConnection of a call uses the call's one DTLS certificate, so the
// fingerprint the peer got stays valid whichever PeerConnection a content
// ends up on.
func (c *Call) newPeerCreds(contents []string, ufrag, pwd string) (*peer, error) {
	if c.cert == nil {
		cert, err := newCertificate()
		if err != nil {
			return nil, err
		}
		c.cert = cert
	}
	api, holder, err := newAPI(c.peerOpts, c.log, ufrag, pwd)
	if err != nil {
		return nil, err
	}
	cfg := c.peerOpts.configuration()
	cfg.Certificates = []webrtc.Certificate{*c.cert}
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("rtp: new PeerConnection: %w", err)
	}
	p := &peer{pc: pc, stats: holder, contents: contents, echo: map[string]*PayloadTrack{}, pastUfrags: map[string]bool{},
		echoPaused: map[string]*atomic.Bool{}}
	c.peers = append(c.peers, p)
	for _, n := range contents {
		c.byContent[n] = p
	}
	p.watch = c.watchICE(p)
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		c.q.post(func() { c.sendCandidate(p, ic) })
	})
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		c.q.post(func() { c.iceState(p, st) })
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		c.q.post(func() { c.pcState(p, st) })
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		c.q.post(func() { c.onTrack(p, t, r) })
	})
	return p, nil
}

// iceState ends the call with connectivity-error when ICE fails.
func (c *Call) iceState(p *peer, st webrtc.ICEConnectionState) {
	c.log.Debug("rtp: ICE state", "contents", p.contents, "state", st)
	if !c.current(p) || c.restartICEState(p, st) {
		return
	}
	if st == webrtc.ICEConnectionStateFailed {
		// The reason text names the likely cause (firewall, TURN
		// unreachable or refusing), from the last stats before pion
		// dropped its candidates (see diagnostics.go).
		c.fail(jingle.ReasonConnectivityError, c.iceFailure(p, p.watch))
	}
	if st == webrtc.ICEConnectionStateConnected || st == webrtc.ICEConnectionStateCompleted {
		p.iceDone = true
	}
}

// pcState tracks DTLS on top of ICE: a PeerConnection that fails while
// ICE worked failed its DTLS handshake (wrong fingerprint, bad role):
// security-error.
func (c *Call) pcState(p *peer, st webrtc.PeerConnectionState) {
	c.log.Debug("rtp: PeerConnection state", "contents", p.contents, "state", st)
	if !c.current(p) {
		return
	}
	switch st {
	case webrtc.PeerConnectionStateConnected:
		if p.connected {
			return
		}
		p.connected = true
		c.armTx(p)
		c.connected++
		if c.connected == len(c.peers) {
			c.emit(Event{Type: EventConnected})
		}
		c.startTimer()
		c.startSources(p)
	case webrtc.PeerConnectionStateFailed:
		if c.restartOwnsFailure(p) {
			return
		}
		if p.iceDone && p.pc.ICEConnectionState() != webrtc.ICEConnectionStateFailed {
			c.fail(jingle.ReasonSecurityError, fmt.Errorf("DTLS failed for %s", strings.Join(p.contents, ",")))
			return
		}
		c.fail(jingle.ReasonConnectivityError, fmt.Errorf("connection failed for %s", strings.Join(p.contents, ",")))
	}
}

// current reports whether p is still one of the call's PeerConnections
// (not one replaced by unbundle or removed with its content).
func (c *Call) current(p *peer) bool {
	for _, q := range c.peers {
		if q == p {
			return true
		}
	}
	return false
}
