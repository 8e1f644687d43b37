package conference

import (
	"context"
	"math"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"gopkg.in/hraban/opus.v2"

	"github.com/jingled/jingled/rtp"
)

// switchTone is an Opus sine whose loudness the test switches at a moment
// of its choosing (SetLoud), so "the loud tone moves" happens at one
// known time for everybody, whenever each call happened to start.
type switchTone struct {
	track       *webrtc.TrackLocalStaticSample
	loud, quiet [][]byte // one second of 20 ms packets each
	isLoud      atomic.Bool
	stop        chan struct{}
	once        sync.Once
}

func newSwitchTone(t *testing.T, freq, loudAmp, quietAmp float64, loud bool) *switchTone {
	t.Helper()
	tr, err := webrtc.NewTrackLocalStaticSample(rtp.CodecOpus, "audio", "tone")
	if err != nil {
		t.Fatal(err)
	}
	s := &switchTone{track: tr, stop: make(chan struct{})}
	s.loud, s.quiet = opusSine(t, freq, loudAmp), opusSine(t, freq, quietAmp)
	s.isLoud.Store(loud)
	return s
}

// opusSine encodes one second of a sine, 50 packets, whose phase wraps
// cleanly so the second can loop.
func opusSine(t *testing.T, freq, amp float64) [][]byte {
	enc, err := opus.NewEncoder(48000, 1, opus.AppVoIP)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	n := 0
	for range 50 {
		pcm := make([]int16, 960)
		for i := range pcm {
			pcm[i] = int16(amp * 32767 * math.Sin(2*math.Pi*freq*float64(n)/48000))
			n++
		}
		buf := make([]byte, 1000)
		m, err := enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, buf[:m])
	}
	return out
}

func (s *switchTone) SetLoud(l bool)                   { s.isLoud.Store(l) }
func (s *switchTone) Codec() webrtc.RTPCodecCapability { return rtp.CodecOpus }
func (s *switchTone) Kind() webrtc.RTPCodecType        { return webrtc.RTPCodecTypeAudio }
func (s *switchTone) Track() webrtc.TrackLocal         { return s.track }
func (s *switchTone) Close() error {
	s.once.Do(func() { close(s.stop) })
	return nil
}

func (s *switchTone) Run(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for i := 0; ; i++ {
		select {
		case <-ctx.Done():
			return nil
		case <-s.stop:
			return nil
		case <-tick.C:
		}
		pkts := s.quiet
		if s.isLoud.Load() {
			pkts = s.loud
		}
		_ = s.track.WriteSample(media.Sample{Data: pkts[i%len(pkts)], Duration: 20 * time.Millisecond})
	}
}
