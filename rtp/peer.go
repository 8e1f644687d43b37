package rtp

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"fmt"
	"log/slog"
	"sync"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/internal/pionlog"
	"github.com/pion/interceptor"
	"github.com/pion/interceptor/pkg/nack"
	"github.com/pion/interceptor/pkg/stats"
	"github.com/pion/sdp/v3"
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
	if opts.UDPMux != nil {
		s.SetICEUDPMux(opts.UDPMux.mux)
	}
	if opts.UDPPortMin > 0 && opts.UDPPortMax >= opts.UDPPortMin {
		if err := s.SetEphemeralUDPPortRange(opts.UDPPortMin, opts.UDPPortMax); err != nil {
			return nil, nil, fmt.Errorf("rtp: UDP port range: %w", err)
		}
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

// configureNack is webrtc.ConfigureNack with the generator started by
// the first stream that negotiated NACK (see lazyFactory).
func configureNack(m *webrtc.MediaEngine, ir *interceptor.Registry) error {
	responder, err := nack.NewResponderInterceptor()
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
