package mixer

import (
	"fmt"

	"github.com/zaf/g711"
	"gopkg.in/hraban/opus.v2"
)

// decoder turns one input's payloads into 48 kHz PCM and makes up audio
// for packets that never came.
type decoder interface {
	// decode decodes payload into dst (at least maxPacketSamples long)
	// and returns the samples written.
	decode(payload []byte, dst []float32) (int, error)
	// conceal fills dst with a guess at missing audio. next is the packet
	// after the gap, if already here, for codecs that carry redundancy.
	conceal(next []byte, dst []float32) error
	// samples returns the duration of payload in 48 kHz samples without
	// decoding it.
	samples(payload []byte) (int, error)
}

// newDecoder returns a decoder for c.
func newDecoder(c Codec) (decoder, error) {
	if c == Opus {
		d, err := opus.NewDecoder(sampleRate, 1)
		if err != nil {
			return nil, fmt.Errorf("mixer: opus decoder: %w", err)
		}
		return &opusDecoder{dec: d}, nil
	}
	return &g711Decoder{alaw: c == PCMA}, nil
}

// opusDecoder decodes Opus (RFC 6716) at 48 kHz mono; libopus downmixes
// stereo senders.
type opusDecoder struct {
	dec *opus.Decoder
}

func (d *opusDecoder) decode(payload []byte, dst []float32) (int, error) {
	n, err := d.dec.DecodeFloat32(payload, dst[:maxPacketSamples:maxPacketSamples])
	if err != nil {
		return 0, fmt.Errorf("mixer: opus decode: %w", err)
	}
	return n, nil
}

// conceal uses the in-band FEC (LBRR) of the next packet when there is
// one; libopus falls back to its PLC when that packet carries none.
// Without a next packet it is PLC alone.
func (d *opusDecoder) conceal(next []byte, dst []float32) error {
	// libopus takes the duration from the buffer's capacity.
	dst = dst[:len(dst):len(dst)]
	var err error
	if len(next) > 0 {
		err = d.dec.DecodeFECFloat32(next, dst)
	} else {
		err = d.dec.DecodePLCFloat32(dst)
	}
	if err != nil {
		return fmt.Errorf("mixer: opus conceal: %w", err)
	}
	return nil
}

func (d *opusDecoder) samples(payload []byte) (int, error) {
	return opusPacketSamples(payload)
}

// g711Decoder decodes PCMU or PCMA and upsamples to 48 kHz.
type g711Decoder struct {
	alaw bool
	up   upsampler
	// last is the last decoded 8 kHz audio, repeated with a fade to
	// conceal losses (the simple G.711 Appendix I idea, without its
	// pitch search).
	last  []float32
	fade  float32
	pcm8k []float32
}

// g711Fade is the attenuation per concealed stretch: a long loss fades
// to silence within a few frames instead of buzzing.
const g711Fade = 0.5

func (d *g711Decoder) decode(payload []byte, dst []float32) (int, error) {
	if len(payload)*resampleFactor > len(dst) {
		return 0, errTooLong
	}
	d.pcm8k = d.pcm8k[:0]
	for _, b := range payload {
		var s int16
		if d.alaw {
			s = g711.DecodeAlawFrame(b)
		} else {
			s = g711.DecodeUlawFrame(b)
		}
		d.pcm8k = append(d.pcm8k, float32(s)/32768)
	}
	d.last = append(d.last[:0], d.pcm8k...)
	d.fade = 1
	n := len(payload) * resampleFactor
	d.up.process(d.pcm8k, dst[:n])
	return n, nil
}

func (d *g711Decoder) conceal(_ []byte, dst []float32) error {
	n := len(dst) / resampleFactor
	d.pcm8k = d.pcm8k[:0]
	d.fade *= g711Fade
	for i := range n {
		var s float32
		if len(d.last) > 0 {
			s = d.last[i%len(d.last)] * d.fade
		}
		d.pcm8k = append(d.pcm8k, s)
	}
	d.up.process(d.pcm8k, dst[:n*resampleFactor])
	clear(dst[n*resampleFactor:])
	return nil
}

func (d *g711Decoder) samples(payload []byte) (int, error) {
	if len(payload) == 0 {
		return 0, errEmptyPayload
	}
	n := len(payload) * resampleFactor
	if n > maxPacketSamples {
		return 0, errTooLong
	}
	return n, nil
}
