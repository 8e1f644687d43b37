package main

import (
	"fmt"
	"math"
	"math/rand/v2"
	"time"

	"gopkg.in/hraban/opus.v2"
)

// The talkers' pattern: every burstPeriod frames (200 ms), toneFrames of a
// tone (100 ms) then silence. The tone's frequency encodes the burst
// number modulo len(codeFreqs), so a receiver can tell which burst an
// onset belongs to up to 800 ms late. 100 ms of silence is short enough
// for a talker to keep its speaker slot (the mixer's level release needs
// about 200 ms to fall under its leave threshold), so the same three talk
// all the time, as in a discussion.
const (
	sampleRate  = 48000
	frameLen    = 960 // 20 ms
	frameDur    = 20 * time.Millisecond
	burstPeriod = 10 // frames
	toneFrames  = 5
	// toneAmp is the tone's peak: RMS 0.1, -20 dBov, sent with level 20.
	toneAmp   = 0.1414
	toneLevel = 20
	// The silent participants send faint noise, -65 dBov, with level 65,
	// like an open microphone in a quiet room (packets of a realistic
	// size; below the mixer's -50 dBov speaker threshold).
	noiseRMS   = 0.000562
	noiseLevel = 65
	// A talker's pauses are digital silence, level 127.
	silenceLevel = 127
	noiseFrames  = 50 // one second of noise, looped
)

// codeFreqs are the burst frequencies, Hz.
var codeFreqs = [...]float64{500, 800, 1100, 1400}

// Onset detection on decoded audio: a frame is quiet under quietDB; after
// armFrames quiet frames, the first sample above onsetAmp is an onset.
const (
	quietDB   = -45.0
	armFrames = 3
	onsetAmp  = 0.02
	// codeSkip is where, after the onset, the frequency is measured over
	// one frame (inside the 100 ms burst).
	codeSkip = 240
)

// packets are the pre-encoded Opus payloads, shared by all participants.
type packets struct {
	// burst[c] is one period for code c: toneFrames of tone then silence.
	burst [len(codeFreqs)][burstPeriod][]byte
	noise [noiseFrames][]byte
	// onsetOffset is where the detector finds the onset in the decoded
	// burst, from the start of its first tone packet: the codec's own
	// delay and the detector's threshold, which a direct call would show
	// too. Latencies are measured against it, so what remains is what the
	// path through the mixer adds.
	onsetOffset time.Duration
}

func newEncoder() (*opus.Encoder, error) {
	e, err := opus.NewEncoder(sampleRate, 1, opus.AppVoIP)
	if err != nil {
		return nil, err
	}
	for _, set := range []error{e.SetBitrate(32000), e.SetComplexity(5), e.SetInBandFEC(true), e.SetPacketLossPerc(5), e.SetDTX(false)} {
		if set != nil {
			return nil, set
		}
	}
	return e, nil
}

func encodeFrame(e *opus.Encoder, pcm []float32) ([]byte, error) {
	buf := make([]byte, 1275)
	n, err := e.EncodeFloat32(pcm, buf)
	if err != nil {
		return nil, err
	}
	return buf[:n:n], nil
}

// encodePackets encodes the bursts and the noise once; everything the
// participants send is one of these payloads.
func encodePackets() (*packets, error) {
	p := &packets{}
	var offsets []int
	for c, f := range codeFreqs {
		e, err := newEncoder()
		if err != nil {
			return nil, err
		}
		// silence, then the period: the encoder's state at the start of
		// the loop is the state after silence, as it is when it loops.
		var pcm [][]float32
		for range burstPeriod - toneFrames {
			pcm = append(pcm, make([]float32, frameLen))
		}
		for i := range burstPeriod {
			fr := make([]float32, frameLen)
			if i < toneFrames {
				for j := range fr {
					t := float64(i*frameLen+j) / sampleRate
					fr[j] = float32(toneAmp * math.Sin(2*math.Pi*f*t))
				}
			}
			pcm = append(pcm, fr)
		}
		var enc [][]byte
		for _, fr := range pcm {
			b, err := encodeFrame(e, fr)
			if err != nil {
				return nil, fmt.Errorf("encoding burst: %w", err)
			}
			enc = append(enc, b)
		}
		copy(p.burst[c][:], enc[burstPeriod-toneFrames:])
		// Calibrate: decode it all and find the onset.
		d, err := opus.NewDecoder(sampleRate, 1)
		if err != nil {
			return nil, err
		}
		det := &detector{}
		out := make([]float32, frameLen)
		for i, b := range enc {
			if _, err := d.DecodeFloat32(b, out); err != nil {
				return nil, err
			}
			if k, ok := det.onset(out); ok {
				offsets = append(offsets, (i-(burstPeriod-toneFrames))*frameLen+k)
				break
			}
		}
	}
	if len(offsets) != len(codeFreqs) {
		return nil, fmt.Errorf("calibration: onset found in %d of %d bursts", len(offsets), len(codeFreqs))
	}
	sum := 0
	for _, o := range offsets {
		sum += o
	}
	p.onsetOffset = time.Duration(sum) * time.Second / time.Duration(len(offsets)*sampleRate)

	e, err := newEncoder()
	if err != nil {
		return nil, err
	}
	rng := rand.New(rand.NewPCG(1, 2))
	a := noiseRMS * math.Sqrt(3)
	for i := range noiseFrames {
		fr := make([]float32, frameLen)
		for j := range fr {
			fr[j] = float32(a * (2*rng.Float64() - 1))
		}
		if p.noise[i], err = encodeFrame(e, fr); err != nil {
			return nil, fmt.Errorf("encoding noise: %w", err)
		}
	}
	return p, nil
}

// talkerFrame returns the payload and RFC 6464 level of frame f of a
// talker, and whether it starts a burst.
func (p *packets) talkerFrame(f int64) (payload []byte, level uint8, burstStart bool) {
	b, i := f/burstPeriod, f%burstPeriod
	payload = p.burst[b%int64(len(codeFreqs))][i]
	if i < toneFrames {
		return payload, toneLevel, i == 0
	}
	return payload, silenceLevel, false
}

// silentFrame returns frame f of a participant who listens.
func (p *packets) silentFrame(f int64) ([]byte, uint8) {
	return p.noise[f%noiseFrames], noiseLevel
}

// detector finds tone-burst onsets in decoded audio.
type detector struct {
	quiet int
	// after an onset: samples collected to tell the burst's frequency
	post    []float32
	skip    int
	measure bool
}

// onset feeds one decoded frame and returns the offset of an onset in it.
func (d *detector) onset(fr []float32) (int, bool) {
	armed := d.quiet >= armFrames
	var sum float64
	for _, v := range fr {
		sum += float64(v) * float64(v)
	}
	db := 10 * math.Log10(sum/float64(len(fr))+1e-20)
	if db < quietDB {
		d.quiet++
	} else {
		d.quiet = 0
	}
	if !armed {
		return 0, false
	}
	for k, v := range fr {
		if v > onsetAmp || v < -onsetAmp {
			d.quiet = 0
			return k, true
		}
	}
	return 0, false
}

// code collects samples after an onset (call start first) and returns the
// burst code once it has a frame of them.
func (d *detector) start(fr []float32, k int) {
	d.post, d.skip, d.measure = d.post[:0], codeSkip, true
	d.collect(fr[k:])
}

func (d *detector) collect(s []float32) {
	if d.skip > 0 {
		n := min(d.skip, len(s))
		d.skip -= n
		s = s[n:]
	}
	need := frameLen - len(d.post)
	d.post = append(d.post, s[:min(need, len(s))]...)
}

// code returns the code of the burst being collected, once complete.
func (d *detector) code() (int, bool) {
	if !d.measure || len(d.post) < frameLen {
		return 0, false
	}
	d.measure = false
	best, bestP := 0, -1.0
	for c, f := range codeFreqs {
		if pw := goertzel(d.post, f); pw > bestP {
			best, bestP = c, pw
		}
	}
	return best, true
}

// goertzel returns the power of x at frequency f.
func goertzel(x []float32, f float64) float64 {
	w := 2 * math.Pi * f / sampleRate
	coef := 2 * math.Cos(w)
	var s1, s2 float64
	for _, v := range x {
		s := float64(v) + coef*s1 - s2
		s2, s1 = s1, s
	}
	return s1*s1 + s2*s2 - coef*s1*s2
}
