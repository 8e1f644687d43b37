package conference

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/zaf/g711"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

// g711Sine is an rtp.Source sending a sine as PCMU or PCMA, 20 ms a
// packet: what a SIP gateway or an old desk phone sends.
type g711Sine struct {
	codec webrtc.RTPCodecCapability
	track *webrtc.TrackLocalStaticSample
	freq  float64
	stop  chan struct{}
	once  sync.Once
}

func newG711Sine(t *testing.T, codec webrtc.RTPCodecCapability, freq float64) *g711Sine {
	tr, err := webrtc.NewTrackLocalStaticSample(codec, "audio", "g711")
	if err != nil {
		t.Fatal(err)
	}
	return &g711Sine{codec: codec, track: tr, freq: freq, stop: make(chan struct{})}
}

func (s *g711Sine) Codec() webrtc.RTPCodecCapability { return s.codec }
func (s *g711Sine) Kind() webrtc.RTPCodecType        { return webrtc.RTPCodecTypeAudio }
func (s *g711Sine) Track() webrtc.TrackLocal         { return s.track }
func (s *g711Sine) Close() error {
	s.once.Do(func() { close(s.stop) })
	return nil
}

func (s *g711Sine) Run(ctx context.Context) error {
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	n := 0
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-s.stop:
			return nil
		case <-tick.C:
		}
		frame := make([]byte, 160)
		for i := range frame {
			v := int16(0.3 * 32767 * math.Sin(2*math.Pi*s.freq*float64(n)/8000))
			n++
			if s.codec.MimeType == webrtc.MimeTypePCMA {
				frame[i] = g711.EncodeAlawFrame(v)
			} else {
				frame[i] = g711.EncodeUlawFrame(v)
			}
		}
		_ = s.track.WriteSample(media.Sample{Data: frame, Duration: 20 * time.Millisecond})
	}
}

// TestRoomMixesG711WithOpus: a PCMU and a PCMA participant (offering
// nothing else) share a room with an Opus one; everyone hears the others.
func TestRoomMixesG711WithOpus(t *testing.T) {
	if testing.Short() {
		t.Skip("real calls")
	}
	dir := t.TempDir()
	r, room := newTestRoom(t, RoomConfig{})
	type part struct {
		jid    string
		freq   float64
		src    rtp.Source
		audio  string
		record string
		ext    string
	}
	parts := []*part{
		{jid: "opus@localhost/t", freq: 440, audio: tone(t, dir, 440, 10*time.Second), ext: ".ogg"},
		{jid: "pcmu@localhost/t", freq: 660, src: newG711Sine(t, rtp.CodecPCMU, 660), ext: ".wav"},
		{jid: "pcma@localhost/t", freq: 880, src: newG711Sine(t, rtp.CodecPCMA, 880), ext: ".wav"},
	}
	var calls []*rtp.Call
	for i, p := range parts {
		p.record = filepath.Join(dir, fmt.Sprintf("rec%d", i))
		c := mustDial(t, r, p.jid, rtp.MediaOptions{Audio: p.audio, AudioSource: p.src, Record: p.record, Duration: 7 * time.Second})
		calls = append(calls, c)
	}
	// Wait until all three are in before reading the codecs.
	deadline := time.Now().Add(15 * time.Second)
	for len(room.Participants()) < 3 || !allJoined(room.Participants()) {
		if time.Now().After(deadline) {
			t.Fatalf("participants: %+v", room.Participants())
		}
		time.Sleep(50 * time.Millisecond)
	}
	codecs := map[string]string{}
	for _, p := range room.Participants() {
		codecs[p.JID] = p.Codec
	}
	if codecs["opus@localhost/t"] != "opus" || codecs["pcmu@localhost/t"] != "PCMU" || codecs["pcma@localhost/t"] != "PCMA" {
		t.Errorf("codecs chosen by the room: %v", codecs)
	}
	for _, c := range calls {
		if rr := wait(t, c); rr == nil || rr.Condition != jingle.ReasonSuccess {
			t.Errorf("%s ended with %v", c.Peer(), rr)
		}
	}
	for i, p := range parts {
		s, err := mediatest.PCM(context.Background(), p.record+p.ext)
		if err != nil {
			t.Fatal(err)
		}
		s = s[len(s)/4 : 3*len(s)/4]
		var others []float64
		for _, q := range parts {
			if q != p {
				others = append(others, q.freq)
			}
		}
		self := mediatest.ToneLevel(s, mediatest.AnalysisRate, p.freq)
		for _, f := range others {
			lvl := mediatest.ToneLevel(s, mediatest.AnalysisRate, f)
			t.Logf("participant %d (%s, %v Hz) hears %v Hz at %.1f dB, own at %.1f dB", i, codecs[p.jid], p.freq, f, lvl, self)
			if lvl < -40 || self > lvl-20 {
				t.Errorf("participant %d: %v Hz at %.1f dB, own %v Hz at %.1f dB", i, f, lvl, p.freq, self)
			}
		}
	}
}

func allJoined(ps []Participant) bool {
	for _, p := range ps {
		if p.Joined.IsZero() {
			return false
		}
	}
	return true
}
