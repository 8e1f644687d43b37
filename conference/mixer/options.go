package mixer

import (
	"log/slog"
	"time"
)

// sampleRate is the internal rate: Opus's native rate, so Opus inputs
// need no resampling and G.711 is a whole factor (6) away.
const sampleRate = 48000

// Defaults of Options.
const (
	defaultMaxSpeakers   = 3
	defaultFrameDuration = 20 * time.Millisecond
	// 20 ms, one frame, is the floor of the adaptive playout delay
	// (adapt.go): the frame a tick takes, with the time since the newest
	// packet arrived (the wait for the tick) as the margin; jitter raises
	// the delay of the input that has it. On a clean link a packet waits
	// 0-20 ms for its tick (adapt.go, "Latency budget").
	defaultJitterDelay = 20 * time.Millisecond
	// defaultOverloadComplexity: the encoder complexity under overload
	// (overload.go).
	defaultOverloadComplexity = 2
)

// Options configure a Mixer. Zero fields take the default stated on each.
type Options struct {
	// MaxSpeakers is how many of the loudest inputs are mixed. Default 3.
	MaxSpeakers int
	// FrameDuration is the mix period and the duration of each output
	// payload. Default 20 ms; 10, 40 and 60 ms are accepted too, anything
	// else falls back to 20 ms.
	FrameDuration time.Duration
	// JitterDelay is the floor of each input's adaptive playout delay:
	// an input starts playing once the audio it has buffered plus the
	// time since its newest packet arrived reach this plus three times
	// its measured jitter. Default 20 ms.
	JitterDelay time.Duration
	// Logger receives the few things worth logging (decoder and encoder
	// failures). Default: discard.
	Logger *slog.Logger
	// Batch, when set, wraps each tick's deliveries (the outs of every
	// participant), so that the send path can send them together: on a
	// shared UDP port, rtp.UDPMux.Batch sends a tick's packets in one
	// sendmmsg. Nil: each out sends on its own.
	Batch func(func())
	// OverloadComplexity is the libopus encoder complexity (0..10) used
	// while the mixer's ticks keep starting late (overload.go). Default
	// 2; 5 or more (the normal complexity) turns the fallback off.
	OverloadComplexity int
}

// withDefaults returns o with defaults filled in and bad values fixed.
func (o Options) withDefaults() Options {
	if o.MaxSpeakers <= 0 {
		o.MaxSpeakers = defaultMaxSpeakers
	}
	if o.Logger == nil {
		o.Logger = slog.New(slog.DiscardHandler)
	}
	switch o.FrameDuration {
	case 10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond, 60 * time.Millisecond:
	case 0:
		o.FrameDuration = defaultFrameDuration
	default:
		o.Logger.Warn("unsupported frame duration, using 20ms", "frame", o.FrameDuration)
		o.FrameDuration = defaultFrameDuration
	}
	if o.JitterDelay <= 0 {
		o.JitterDelay = defaultJitterDelay
	}
	switch {
	case o.OverloadComplexity <= 0:
		o.OverloadComplexity = defaultOverloadComplexity
	case o.OverloadComplexity > encodeComplexity:
		o.OverloadComplexity = encodeComplexity
	}
	return o
}

// samples converts a duration to a count of 48 kHz samples.
func samples(d time.Duration) int {
	return int(d * sampleRate / time.Second)
}
