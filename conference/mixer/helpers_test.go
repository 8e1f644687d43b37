package mixer

import (
	"math"
	"sync"
	"testing"
	"time"

	"github.com/pion/rtp"
	"github.com/zaf/g711"
	"go.uber.org/goleak"
	"gopkg.in/hraban/opus.v2"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// source makes the RTP packets of one participant sending a sine.
type source struct {
	codec    Codec
	freq     float64 // Hz; 0 sends silence
	amp      float64
	frame    int // samples per packet at the codec's rate
	rate     int
	enc      *opus.Encoder
	seq      uint16
	ts       uint32
	ssrc     uint32
	phase    float64
	produced int // 48 kHz samples sent so far
	levelExt uint8
	level    uint8 // RFC 6464 level sent when levelExt != 0
}

// newSource returns a source of codec sending freq with packets of ms
// milliseconds.
func newSource(t testing.TB, codec Codec, freq float64, ms int) *source {
	t.Helper()
	s := &source{codec: codec, freq: freq, amp: 0.3, rate: sampleRate, seq: 1000, ts: 5000, ssrc: uint32(freq*7) + 1}
	if codec.isG711() {
		s.rate = g711Rate
	} else {
		enc, err := opus.NewEncoder(sampleRate, 1, opus.AppVoIP)
		if err != nil {
			t.Fatal(err)
		}
		for _, err := range []error{enc.SetBitrate(32000), enc.SetInBandFEC(true), enc.SetPacketLossPerc(10)} {
			if err != nil {
				t.Fatal(err)
			}
		}
		s.enc = enc
	}
	s.frame = s.rate * ms / 1000
	return s
}

// packet returns the next packet.
func (s *source) packet(t testing.TB) *rtp.Packet {
	t.Helper()
	pcm := make([]int16, s.frame)
	for i := range pcm {
		pcm[i] = int16(s.amp * 32767 * math.Sin(s.phase))
		s.phase += 2 * math.Pi * s.freq / float64(s.rate)
	}
	var payload []byte
	switch s.codec {
	case Opus:
		buf := make([]byte, 1500)
		n, err := s.enc.Encode(pcm, buf)
		if err != nil {
			t.Fatal(err)
		}
		payload = buf[:n]
	case PCMU, PCMA:
		for _, v := range pcm {
			if s.codec == PCMU {
				payload = append(payload, g711.EncodeUlawFrame(v))
			} else {
				payload = append(payload, g711.EncodeAlawFrame(v))
			}
		}
	}
	p := &rtp.Packet{
		Header: rtp.Header{
			Version: 2, PayloadType: 111, SequenceNumber: s.seq, Timestamp: s.ts, SSRC: s.ssrc,
		},
		Payload: payload,
	}
	if s.levelExt != 0 {
		if err := p.Header.SetExtension(s.levelExt, []byte{s.level}); err != nil {
			t.Fatal(err)
		}
	}
	s.seq++
	s.ts += uint32(s.frame)
	s.produced += s.frame * sampleRate / s.rate
	return p
}

// due returns the packets to send before tick number n (0-based).
func (s *source) due(t testing.TB, n int) []*rtp.Packet {
	var ps []*rtp.Packet
	for s.produced < (n+1)*samples(defaultFrameDuration) {
		ps = append(ps, s.packet(t))
	}
	return ps
}

// sink records what the mixer sends one participant.
type sink struct {
	mu       sync.Mutex
	payloads [][]byte
}

func (k *sink) out(p []byte, d time.Duration) {
	k.mu.Lock()
	defer k.mu.Unlock()
	k.payloads = append(k.payloads, p)
}

func (k *sink) count() int {
	k.mu.Lock()
	defer k.mu.Unlock()
	return len(k.payloads)
}

// since returns the payloads from the n-th on.
func (k *sink) since(n int) [][]byte {
	k.mu.Lock()
	defer k.mu.Unlock()
	return append([][]byte(nil), k.payloads[min(n, len(k.payloads)):]...)
}

// decodeAll decodes a participant's received payloads to PCM at the
// codec's rate, the way a receiver would.
func decodeAll(t testing.TB, c Codec, payloads [][]byte) ([]float64, float64) {
	t.Helper()
	var pcm []float64
	if c.isG711() {
		for _, p := range payloads {
			for _, b := range p {
				var v int16
				if c == PCMU {
					v = g711.DecodeUlawFrame(b)
				} else {
					v = g711.DecodeAlawFrame(b)
				}
				pcm = append(pcm, float64(v)/32768)
			}
		}
		return pcm, g711Rate
	}
	dec, err := opus.NewDecoder(sampleRate, 1)
	if err != nil {
		t.Fatal(err)
	}
	buf := make([]int16, maxPacketSamples)
	for _, p := range payloads {
		n, err := dec.Decode(p, buf)
		if err != nil {
			t.Fatalf("output does not decode as Opus: %v", err)
		}
		for _, v := range buf[:n] {
			pcm = append(pcm, float64(v)/32768)
		}
	}
	return pcm, sampleRate
}

// toneDB returns the amplitude of freq in x, in dB relative to full
// scale, by the Goertzel algorithm (generalized to any frequency) over a
// Hann window.
func toneDB(x []float64, freq, rate float64) float64 {
	n := len(x)
	w := 2 * math.Pi * freq / rate
	var re, im, wsum float64
	for i, v := range x {
		h := 0.5 - 0.5*math.Cos(2*math.Pi*float64(i)/float64(n-1))
		wsum += h
		re += h * v * math.Cos(w*float64(i))
		im -= h * v * math.Sin(w*float64(i))
	}
	amp := 2 * math.Hypot(re, im) / wsum
	return 20 * math.Log10(amp+1e-12)
}

// party is one participant in a test conference.
type party struct {
	src  *source // nil: sends nothing
	in   *Input
	sink *sink
	// drop, if set, drops packets it returns true for.
	drop func(p *rtp.Packet) bool
}

// conf drives a manually ticked Mixer.
type conf struct {
	t       testing.TB
	m       *Mixer
	parties []*party
	ticks   int
	late    time.Duration // how late each tick of run starts
}

func newConf(t testing.TB, opts Options) *conf {
	t.Helper()
	m := newMixer(opts)
	t.Cleanup(m.Close)
	return &conf{t: t, m: m}
}

// join adds a participant sending src (nil: nothing).
func (c *conf) join(codec Codec, src *source) *party {
	p := &party{src: src, sink: &sink{}}
	p.in = c.m.Add(codec, p.sink.out)
	if src != nil && src.levelExt != 0 {
		p.in.SetAudioLevelExtension(src.levelExt)
	}
	// Sources start in step with the conference clock.
	if src != nil {
		src.produced = c.ticks * samples(defaultFrameDuration)
	}
	c.parties = append(c.parties, p)
	return p
}

// run sends each party's due packets and ticks, n times.
func (c *conf) run(n int) {
	for range n {
		for _, p := range c.parties {
			if p.src == nil {
				continue
			}
			for _, pkt := range p.src.due(c.t, c.ticks) {
				if p.drop != nil && p.drop(pkt) {
					continue
				}
				_ = p.in.WriteRTP(pkt)
			}
		}
		c.m.tick(c.late)
		c.ticks++
	}
}

// hears checks that what p received since payload from holds each of
// want at a good level and each of notWant at least 20 dB under the
// quietest of want.
func (c *conf) hears(p *party, codec Codec, from int, want, notWant []float64) {
	c.t.Helper()
	pcm, rate := decodeAll(c.t, codec, p.sink.since(from))
	if len(pcm) < int(rate/4) {
		c.t.Fatalf("only %d samples received", len(pcm))
	}
	weakest := 0.0
	for _, f := range want {
		db := toneDB(pcm, f, rate)
		if db < -30 {
			c.t.Errorf("tone %v Hz at %.1f dBFS, want it audible", f, db)
		}
		weakest = min(weakest, db)
	}
	for _, f := range notWant {
		if db := toneDB(pcm, f, rate); db > weakest-20 {
			c.t.Errorf("tone %v Hz at %.1f dBFS, want <= %.1f (20 dB under the others)", f, db, weakest-20)
		}
	}
}

// others returns the tone frequencies of all parties but p that send.
func (c *conf) others(p *party) []float64 {
	var fs []float64
	for _, q := range c.parties {
		if q != p && q.src != nil && q.src.freq != 0 {
			fs = append(fs, q.src.freq)
		}
	}
	return fs
}
