package mixer

import (
	"fmt"

	"github.com/zaf/g711"
	"gopkg.in/hraban/opus.v2"
)

// Opus encoder settings for what we send.
const (
	// encodeBitrate: 32 kbit/s is transparent for wideband speech and
	// leaves room for the in-band FEC.
	encodeBitrate = 32000
	// encodeComplexity trades CPU for quality (0..10). Measured with
	// BenchmarkOpusEncode (speech-like audio, 32 kbit/s, VoIP, 2-core dev
	// VM): a 20 ms frame costs about 70 us at 0, 78 at 1, 100 at 2,
	// 150 at 5 and 500 at 10. Encoding is most of a tick (MaxSpeakers+1
	// encodes; decodes are 3-4x cheaper), and a room of 10 pays the same
	// four encodes as a room of 100, so the per-participant cost of small
	// rooms is set here: 2 keeps SILK's voice quality at this bitrate
	// (the big steps are above 5, in the analysis) at two thirds of 5's
	// cost (make bench-conference).
	encodeComplexity = 2
	// encodeLossPerc is the loss the in-band FEC is sized for.
	encodeLossPerc = 5
	// maxOpusPayload is the largest Opus packet (RFC 6716 section 3.2.1).
	maxOpusPayload = 1275
)

// encoder encodes one output stream. Streams have state (codec history,
// filter history), so each stream has its own encoder.
type encoder interface {
	// encode returns a fresh payload for one 48 kHz frame; it does not
	// modify pcm.
	encode(pcm []float32) ([]byte, error)
}

// newEncoder returns an encoder for c.
func newEncoder(c Codec) (encoder, error) {
	if c != Opus {
		return &g711Encoder{alaw: c == PCMA}, nil
	}
	e, err := opus.NewEncoder(sampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, fmt.Errorf("mixer: opus encoder: %w", err)
	}
	for _, set := range []func() error{
		func() error { return e.SetBitrate(encodeBitrate) },
		func() error { return e.SetComplexity(encodeComplexity) },
		func() error { return e.SetInBandFEC(true) },
		func() error { return e.SetPacketLossPerc(encodeLossPerc) },
		func() error { return e.SetDTX(false) },
	} {
		if err := set(); err != nil {
			return nil, fmt.Errorf("mixer: opus encoder settings: %w", err)
		}
	}
	return &opusEncoder{enc: e}, nil
}

// opusEncoder encodes Opus at 48 kHz mono.
type opusEncoder struct {
	enc *opus.Encoder
	buf [maxOpusPayload]byte
}

func (e *opusEncoder) encode(pcm []float32) ([]byte, error) {
	n, err := e.enc.EncodeFloat32(pcm, e.buf[:])
	if err != nil {
		return nil, fmt.Errorf("mixer: opus encode: %w", err)
	}
	return append([]byte(nil), e.buf[:n]...), nil
}

// g711Encoder downsamples to 8 kHz and encodes PCMU or PCMA.
type g711Encoder struct {
	alaw  bool
	down  downsampler
	pcm8k []float32
}

func (e *g711Encoder) encode(pcm []float32) ([]byte, error) {
	n := len(pcm) / resampleFactor
	if cap(e.pcm8k) < n {
		e.pcm8k = make([]float32, n)
	}
	e.pcm8k = e.pcm8k[:n]
	e.down.process(pcm, e.pcm8k)
	out := make([]byte, n)
	for i, v := range e.pcm8k {
		if e.alaw {
			out[i] = g711.EncodeAlawFrame(toInt16(v))
		} else {
			out[i] = g711.EncodeUlawFrame(toInt16(v))
		}
	}
	return out, nil
}
