package conference

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/conference/mixer"
	"github.com/jingled/jingled/rtp"
)

// participant is one caller in a room: the call, the mixer input its
// audio feeds and the source that carries the mix it hears.
type participant struct {
	call   *rtp.Call
	peer   string // full JID
	codec  mixer.Codec
	input  *mixer.Input
	source *mixSource
	// video is what the participant is shown (nil: it takes no VP8).
	video *forwardSource
	// lastVideo is when its last video packet came (UnixNano).
	lastVideo atomic.Int64
	joined    time.Time // zero until ICE connected
}

// Participant describes a participant for status pages and tests.
type Participant struct {
	// JID is the participant's full JID.
	JID string `json:"jid"`
	// Codec is the audio codec it sends and receives.
	Codec string `json:"codec"`
	// Joined is when its media path came up (zero while connecting).
	Joined time.Time `json:"joined"`
	// Mixer is the mixer's view of its input: packets, loss, level.
	Mixer mixer.InputStats `json:"mixer"`
}

// mixCodecs are the codecs the mixer encodes and decodes, in the order
// the room prefers when a caller offers several: Opus first (wideband,
// FEC), then G.711 for SIP gateways and old clients.
var mixCodecs = []struct {
	codec mixer.Codec
	cap   webrtc.RTPCodecCapability
}{
	{mixer.Opus, rtp.CodecOpus},
	{mixer.PCMU, rtp.CodecPCMU},
	{mixer.PCMA, rtp.CodecPCMA},
}

// pickCodec chooses the mixer codec for an offer: the first codec of the
// peer's audio contents, in the peer's order of preference, that the
// mixer speaks. G.722 and anything else is never chosen.
func pickCodec(call *rtp.Call) (mixer.Codec, webrtc.RTPCodecCapability, error) {
	s := call.Session()
	if s == nil {
		return 0, webrtc.RTPCodecCapability{}, ErrNoMixableCodec
	}
	for _, ct := range s.Contents() {
		if ct.Description == nil {
			continue
		}
		kind, codecs, err := rtp.PeerCodecs(&ct)
		if err != nil || kind != webrtc.RTPCodecTypeAudio {
			continue
		}
		for _, offered := range codecs {
			for _, m := range mixCodecs {
				if strings.EqualFold(offered.MimeType, m.cap.MimeType) && offered.ClockRate == m.cap.ClockRate {
					return m.codec, m.cap, nil
				}
			}
		}
	}
	return 0, webrtc.RTPCodecCapability{}, ErrNoMixableCodec
}

// pushed is the lifetime of a Source whose media is pushed into its
// track by someone else (the mixer, the video router): Run only waits
// until the call ends or Close.
type pushed struct {
	once sync.Once
	done chan struct{}
}

func newPushed() pushed { return pushed{done: make(chan struct{})} }

// Run waits until the call ends or the source is closed.
func (p *pushed) Run(ctx context.Context) error {
	select {
	case <-ctx.Done():
	case <-p.done:
	}
	return nil
}

// Close ends Run.
func (p *pushed) Close() error {
	p.once.Do(func() { close(p.done) })
	return nil
}

// mixSource is the rtp.Source of what a participant hears: the mixer
// writes one encoded frame per tick into its track, one packet each
// (rtp.PayloadTrack: no packetizer between the mixer and the call).
type mixSource struct {
	pushed
	codec webrtc.RTPCodecCapability
	track *rtp.PayloadTrack
}

func newMixSource(c webrtc.RTPCodecCapability, id string) (*mixSource, error) {
	t, err := rtp.NewPayloadTrack(c, "audio", "jingled-room-"+id)
	if err != nil {
		return nil, fmt.Errorf("conference: mix track: %w", err)
	}
	return &mixSource{pushed: newPushed(), codec: c, track: t}, nil
}

func (s *mixSource) Codec() webrtc.RTPCodecCapability { return s.codec }
func (s *mixSource) Kind() webrtc.RTPCodecType        { return webrtc.RTPCodecTypeAudio }
func (s *mixSource) Track() webrtc.TrackLocal         { return s.track }

// write is the mixer's output callback. A track not yet bound (ICE still
// connecting) drops the frame, which is what a live mix should do.
func (s *mixSource) write(payload []byte, d time.Duration) {
	_ = s.track.WritePayload(payload, d)
}

// mixSink feeds a participant's received audio into its mixer input and
// tells the input which header extension id carries RFC 6464 levels.
type mixSink struct{ in *mixer.Input }

var (
	_ rtp.HeaderExtensionSink = mixSink{}
	_ rtp.CopyingSink         = mixSink{}
)

// WriteRTP hands a packet to the mixer. A packet the mixer drops (empty
// padding, which libwebrtc sends for bandwidth probing, a wrong payload
// type, garbage) is counted in its statistics and is no reason to end the
// call, so no error is returned for it.
func (s mixSink) WriteRTP(p *pionrtp.Packet) error {
	_ = s.in.WriteRTP(p)
	return nil
}
func (s mixSink) Close() error { return nil }

// CopiesRTP implements rtp.CopyingSink: the mixer's input copies the
// payload into its jitter buffer (mixer.Input.WriteRTP).
func (s mixSink) CopiesRTP() {}

func (s mixSink) SetHeaderExtensions(exts []webrtc.RTPHeaderExtensionParameter) {
	for _, e := range exts {
		if e.URI == rtp.AudioLevelURI && e.ID > 0 && e.ID < 256 {
			s.in.SetAudioLevelExtension(uint8(e.ID))
		}
	}
}

// sinks routes a participant's audio to the mixer and its VP8 video to
// the video router; other video codecs are not forwarded.
func (p *participant) sinks(v *videoRouter) rtp.SinkFactory {
	return func(_ string, c webrtc.RTPCodecParameters) (rtp.Sink, error) {
		switch {
		case strings.HasPrefix(strings.ToLower(c.MimeType), "audio/"):
			p.input.SetPayloadType(uint8(c.PayloadType))
			return mixSink{in: p.input}, nil
		case strings.EqualFold(c.MimeType, webrtc.MimeTypeVP8):
			return videoSink{v: v, p: p}, nil
		}
		return nil, nil
	}
}
