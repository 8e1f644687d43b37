package mixer

import (
	"fmt"

	"github.com/zaf/g711"
	"gopkg.in/hraban/opus.v2"
)

// Opus encoder settings for what we send.
//
// Encoding is most of a tick's cost: MaxSpeakers+1 encodes per room and
// frame (one "all but me" mix per speaker, one common mix), and a room of
// 10 pays the same four as a room of 100, while decodes are few (the
// speakers only) and cheaper. BenchmarkOpusEncode measures a 20 ms frame
// of speech-like audio at these settings on the 2-core dev VM (µs per
// frame, 2026-12-06; lookahead = the lag of the decoded output, which
// hraban/opus cannot ask OPUS_GET_LOOKAHEAD for):
//
//	complexity        0    1    2    5    10   lookahead
//	VoIP (SILK)      72   83  113  155  378   6.5 ms
//	audio (CELT)     18   27   28   46  364   6.5 ms
//	restricted-LD    18   26   27   40   65   2.5 ms
//
// At 32 kbit/s mono the audio mode picks CELT too but keeps the 4 ms of
// extra lookahead that lets it switch to SILK; restricted-lowdelay is
// CELT only, so it encodes speech at a quarter to a third of SILK's cost
// and with 4 ms less delay, 2.5 ms (the MDCT overlap). What it gives up
// is SILK's speech model and its in-band FEC (LBRR, a SILK feature: a
// receiver losing our packets has CELT's PLC only; the loss percentage
// still makes CELT's pitch pre-filter more conservative). Every Opus
// decoder decodes CELT-only streams (RFC 6716 requires all modes), so
// receivers need nothing new. The waveform SNR of the speech-like test
// signal (snr-dB in the benchmark) is 11.4 dB for VoIP at 2 and 12.2 dB for
// restricted-lowdelay at 2-10: no worse by that crude measure, and the
// mixer's tone tests (each recording holds the others' tones 20 dB above
// its own) pass unchanged.
//
// Decoding has no such lever: the inputs' mode is the senders' choice,
// and libopus 1.3's decoder has no complexity setting.
const (
	// encodeApplication is the libopus application mode: CELT only, see
	// above.
	encodeApplication = opus.AppRestrictedLowdelay
	// encodeComplexity trades CPU for quality (0..10). 5 is the lowest
	// at which CELT runs its pitch pre-filter (celt_encoder.c:
	// "st->complexity >= 5"), the tool that carries voiced speech at low
	// bitrates; at 40 µs a frame it is still under half of the 113 µs
	// of the SILK encoder at 2 that it replaces.
	encodeComplexity = 5
	// encodeBitrate: 32 kbit/s is transparent for wideband speech with
	// SILK and good fullband speech with CELT.
	encodeBitrate = 32000
	// encodeLossPerc is the loss the encoder is made robust for: the size
	// of SILK's in-band FEC, CELT's pre-filter strength.
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
	// setComplexity changes the encoder's CPU/quality trade from the
	// next frame on, where the codec has one (overload.go).
	setComplexity(c int) error
}

// newEncoder returns an encoder for c at the given complexity.
func newEncoder(c Codec, complexity int) (encoder, error) {
	if c != Opus {
		return &g711Encoder{alaw: c == PCMA}, nil
	}
	return newOpusEncoder(encodeApplication, complexity)
}

// newOpusEncoder returns an Opus encoder with the mixer's settings but
// the application and complexity given (BenchmarkOpusEncode compares
// them).
func newOpusEncoder(app opus.Application, complexity int) (*opusEncoder, error) {
	e, err := opus.NewEncoder(sampleRate, 1, app)
	if err != nil {
		return nil, fmt.Errorf("mixer: opus encoder: %w", err)
	}
	for _, set := range []func() error{
		func() error { return e.SetBitrate(encodeBitrate) },
		func() error { return e.SetComplexity(complexity) },
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

func (e *opusEncoder) setComplexity(c int) error { return e.enc.SetComplexity(c) }

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

func (e *g711Encoder) setComplexity(int) error { return nil }

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
