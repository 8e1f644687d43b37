// A source that encodes: a WAV file sent as G.722, PCMU or PCMA,
// whichever the call negotiates, through a track that binds to any of
// them.

package rtp

import (
	"fmt"
	"os"
	"strings"
	"sync"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/zaf/g711"
)

// pcmCodecs are the codecs a WAV file is encoded to, in our preference
// order: G.722 (wideband) before G.711. Opus is not among them: there is
// no Opus encoder in Go, and a call with a WAV file does not offer what
// it cannot send (send an Ogg/Opus file to an Opus-only peer).
// frameDuration is the audio a PCM source sends per packet, as WebRTC
// peers do.
const frameDuration = 20 * time.Millisecond

var pcmCodecs = []webrtc.RTPCodecCapability{CodecG722, CodecPCMU, CodecPCMA}

// OpenWAV opens a WAV file (16-bit PCM, A-law or mu-law; any rate that
// is a multiple of 50 Hz, any channels, mixed to mono) as an audio
// Source that encodes to the codec the call negotiates: G.722, PCMU or
// PCMA, whichever of them comes first in the peer's list. The audio is
// resampled to the codec's rate (16 kHz for G.722, 8 kHz for G.711)
// without an anti-aliasing filter, so files at those rates are best.
func OpenWAV(path, id string) (Source, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("rtp: %w", err)
	}
	w, err := newWAVReader(f)
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("rtp: %s: %w", path, err)
	}
	t, err := newCodecTrack(pcmCodecs, id, "jingled-audio")
	if err != nil {
		f.Close()
		return nil, err
	}
	enc := &pcmEncoder{w: w, track: t}
	s := &sampleSource{codec: pcmCodecs[0], codecs: pcmCodecs, track: t, file: f, next: enc.next}
	return s, nil
}

// pcmEncoder turns the WAV's 20 ms frames into samples of the codec
// the track is bound to.
type pcmEncoder struct {
	w     *wavReader
	track *codecTrack

	codec string // the codec the state below belongs to
	rs    resampler
	g722  *G722Encoder
	in    []int16
	pcm   []int16
}

func (e *pcmEncoder) next() (media.Sample, error) {
	var err error
	if e.in, err = e.w.read(e.in); err != nil {
		return media.Sample{}, err
	}
	codec := e.track.boundCodec().MimeType
	if codec == "" {
		codec = e.track.tracks[0].Codec().MimeType
	}
	if codec != e.codec {
		// A new codec (the first bind, or a renegotiation) starts
		// from clean state.
		e.codec, e.rs, e.g722 = codec, resampler{}, NewG722Encoder()
	}
	var out []byte
	switch strings.ToLower(codec) {
	case strings.ToLower(webrtc.MimeTypeG722):
		e.pcm = e.rs.frame(e.pcm, e.in, 320)
		out = e.g722.Encode(make([]byte, 0, 160), e.pcm)
	case strings.ToLower(webrtc.MimeTypePCMU), strings.ToLower(webrtc.MimeTypePCMA):
		e.pcm = e.rs.frame(e.pcm, e.in, 160)
		out = make([]byte, len(e.pcm))
		enc := g711.EncodeUlawFrame
		if strings.EqualFold(codec, webrtc.MimeTypePCMA) {
			enc = g711.EncodeAlawFrame
		}
		for i, v := range e.pcm {
			out[i] = enc(v)
		}
	default:
		return media.Sample{}, fmt.Errorf("rtp: cannot encode PCM to %s", codec)
	}
	return media.Sample{Data: out, Duration: frameDuration}, nil
}

// codecTrack is a local track that can send in any of several codecs:
// one pion sample track per codec, and Bind picks the first codec of
// the negotiated list (the peer's order: pion keeps the remote
// description's) that one of them carries. A source whose media is
// encoded at send time uses it, so the peer's preference decides.
type codecTrack struct {
	id, streamID string
	tracks       []*webrtc.TrackLocalStaticSample

	mu    sync.Mutex
	bound *webrtc.TrackLocalStaticSample
}

func newCodecTrack(codecs []webrtc.RTPCodecCapability, id, streamID string) (*codecTrack, error) {
	t := &codecTrack{id: id, streamID: streamID}
	for _, c := range codecs {
		s, err := webrtc.NewTrackLocalStaticSample(c, id, streamID)
		if err != nil {
			return nil, fmt.Errorf("rtp: new %s track: %w", c.MimeType, err)
		}
		t.tracks = append(t.tracks, s)
	}
	return t, nil
}

// Bind implements webrtc.TrackLocal.
func (t *codecTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var offered []string
	for _, p := range ctx.CodecParameters() {
		offered = append(offered, p.MimeType)
		for _, s := range t.tracks {
			if !codecMatch(s.Codec(), p.RTPCodecCapability) {
				continue
			}
			got, err := s.Bind(ctx)
			if err != nil {
				return got, err
			}
			t.mu.Lock()
			t.bound = s
			t.mu.Unlock()
			return got, nil
		}
	}
	var ours []string
	for _, s := range t.tracks {
		ours = append(ours, s.Codec().MimeType)
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("%w: the source encodes to %s, the call negotiated %s",
		ErrNoCommonCodec, strings.Join(ours, ", "), strings.Join(offered, ", "))
}

// Unbind implements webrtc.TrackLocal.
func (t *codecTrack) Unbind(ctx webrtc.TrackLocalContext) error {
	t.mu.Lock()
	b := t.bound
	t.bound = nil
	t.mu.Unlock()
	if b == nil {
		return nil
	}
	return b.Unbind(ctx)
}

// boundCodec is the codec the track sends in (zero before Bind).
func (t *codecTrack) boundCodec() webrtc.RTPCodecCapability {
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.bound == nil {
		return webrtc.RTPCodecCapability{}
	}
	return t.bound.Codec()
}

// WriteSample sends through the bound track; before Bind it drops the
// sample, as pion's sample track does.
func (t *codecTrack) WriteSample(s media.Sample) error {
	t.mu.Lock()
	b := t.bound
	t.mu.Unlock()
	if b == nil {
		return nil
	}
	return b.WriteSample(s)
}

func (t *codecTrack) ID() string                { return t.id }
func (t *codecTrack) RID() string               { return "" }
func (t *codecTrack) StreamID() string          { return t.streamID }
func (t *codecTrack) Kind() webrtc.RTPCodecType { return t.tracks[0].Kind() }
