package mixer

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/pion/rtp"
	"gopkg.in/hraban/opus.v2"
)

// BenchmarkMix100 mixes a conference of 100 Opus participants with
// RFC 6464 levels, 3 of them talking (speech-like audio): the receive
// side (WriteRTP) and one
// tick per iteration. ns/frame is the whole cost of one 20 ms frame;
// mix-ns/frame the tick alone.
func BenchmarkMix100(b *testing.B) {
	const n, talkers, loop = 100, 3, 50
	m := newMixer(Options{})
	defer m.Close()

	silent := newSource(b, Opus, 0, 20)
	var silence [][]byte
	for range loop {
		silence = append(silence, silent.packet(b).Payload)
	}
	type member struct {
		in       *Input
		pkt      rtp.Packet
		payloads [][]byte
	}
	members := make([]*member, n)
	for i := range members {
		mb := &member{payloads: silence}
		level := uint8(127)
		if i < talkers {
			mb.payloads = encodeAll(b, speechLike(loop + i)[i:])
			level = 20
		}
		mb.pkt.Header = rtp.Header{Version: 2, PayloadType: 111, SSRC: uint32(i + 1)}
		if err := mb.pkt.Header.SetExtension(1, []byte{level}); err != nil {
			b.Fatal(err)
		}
		mb.in = m.Add(Opus, func([]byte, time.Duration) {})
		mb.in.SetAudioLevelExtension(1)
		members[i] = mb
	}
	frame := func(f int) {
		for _, mb := range members {
			mb.pkt.SequenceNumber = uint16(f)
			mb.pkt.Timestamp = uint32(f * 960)
			mb.pkt.Payload = mb.payloads[f%loop]
			if err := mb.in.WriteRTP(&mb.pkt); err != nil {
				b.Fatal(err)
			}
		}
		m.tick(0)
	}
	for f := range 20 { // past jitter delay and speaker selection
		frame(f)
	}
	before := m.Stats()
	b.ReportAllocs()
	b.ResetTimer()
	f := 20
	for b.Loop() {
		frame(f)
		f++
	}
	b.StopTimer()
	after := m.Stats()
	frames := float64(after.FramesMixed - before.FramesMixed)
	ns := float64(b.Elapsed().Nanoseconds()) / frames
	b.ReportMetric(ns, "ns/frame")
	b.ReportMetric(ns/n, "ns/participant")
	b.ReportMetric(float64(after.MixCPU-before.MixCPU)/frames, "mix-ns/frame")
	b.ReportMetric(float64(after.Decodes-before.Decodes)/frames, "decodes/frame")
	b.ReportMetric(float64(after.Encodes-before.Encodes)/frames, "encodes/frame")
	if after.Speakers != talkers {
		b.Errorf("speakers = %d, want %d", after.Speakers, talkers)
	}
}

// BenchmarkOpusEncode measures one 20 ms frame (ns/op) of the output
// encoder for each libopus application mode and complexity, at the
// mixer's bitrate, FEC and loss settings, behind the choice of
// encodeApplication and encodeComplexity. lookahead-ms is the mode's
// algorithmic delay beyond the frame and snr-dB a crude quality figure,
// both as codecDelay finds them.
func BenchmarkOpusEncode(b *testing.B) {
	apps := []struct {
		name string
		app  opus.Application
	}{
		{"voip", opus.AppVoIP},
		{"audio", opus.AppAudio},
		{"lowdelay", opus.AppRestrictedLowdelay},
	}
	frames := speechLike(50)
	for _, a := range apps {
		for _, complexity := range []int{0, 1, 2, 5, 10} {
			b.Run(fmt.Sprintf("%s/complexity=%d", a.name, complexity), func(b *testing.B) {
				enc, err := newOpusEncoder(a.app, complexity)
				if err != nil {
					b.Fatal(err)
				}
				i := 0
				for b.Loop() {
					if _, err := enc.encode(frames[i%len(frames)]); err != nil {
						b.Fatal(err)
					}
					i++
				}
				b.StopTimer()
				delay, snr := codecDelay(b, a.app, complexity)
				b.ReportMetric(float64(delay)*1000/sampleRate, "lookahead-ms")
				b.ReportMetric(snr, "snr-dB")
			})
		}
	}
}

// encodeAll encodes frames as a sender would.
func encodeAll(b *testing.B, frames [][]float32) [][]byte {
	e, err := newEncoder(Opus, encodeComplexity)
	if err != nil {
		b.Fatal(err)
	}
	var ps [][]byte
	for _, f := range frames {
		p, err := e.encode(f)
		if err != nil {
			b.Fatal(err)
		}
		ps = append(ps, p)
	}
	return ps
}

// speechLike returns frames of a crude voice: a glottal pulse train with
// vibrato through three formant resonators, with a syllable envelope.
// Pure tones would mislead: libopus's analysis (complexity >= 7) takes
// them for music and switches to CELT, which costs differently.
func speechLike(n int) [][]float32 {
	formants := []struct{ f, bw float64 }{{700, 130}, {1220, 70}, {2600, 160}}
	type res struct{ a1, a2, y1, y2 float64 }
	rs := make([]res, len(formants))
	for i, f := range formants {
		r := math.Exp(-math.Pi * f.bw / sampleRate)
		rs[i] = res{a1: 2 * r * math.Cos(2*math.Pi*f.f/sampleRate), a2: -r * r}
	}
	frames := make([][]float32, n)
	phase := 0.0
	for f := range frames {
		x := make([]float32, 960)
		for i := range x {
			t := float64(f*960+i) / sampleRate
			phase += (120 + 15*math.Sin(2*math.Pi*5*t)) / sampleRate
			src := 0.0
			if phase >= 1 {
				phase--
				src = 1
			}
			v := 0.0
			for k := range rs {
				y := src + rs[k].a1*rs[k].y1 + rs[k].a2*rs[k].y2
				rs[k].y2, rs[k].y1 = rs[k].y1, y
				v += y
			}
			env := 0.5 + 0.5*math.Sin(2*math.Pi*4*t)
			x[i] = float32(0.002 * v * env)
		}
		frames[f] = x
	}
	return frames
}
