package mixer

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/pion/rtp"
)

// warmup is how many frames the tone tests skip before analysing: jitter
// delay, level smoothing and codec start-up.
const warmup = 15

// TestTones mixes three (or four) Opus participants sending different
// tones, with packets of each allowed duration, and checks by spectrum
// that everyone hears the others and not themselves.
func TestTones(t *testing.T) {
	tests := []struct {
		name string
		ms   []int // packet duration of each participant
	}{
		{"20ms", []int{20, 20, 20}},
		{"10-20-40-60ms", []int{10, 20, 40, 60}},
		{"60ms", []int{60, 60, 60}},
	}
	freqs := []float64{440, 660, 880, 1100}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := newConf(t, Options{MaxSpeakers: len(tt.ms)})
			for i, ms := range tt.ms {
				c.join(Opus, newSource(t, Opus, freqs[i], ms))
			}
			c.run(warmup + 50)
			for _, p := range c.parties {
				c.hears(p, Opus, warmup, c.others(p), []float64{p.src.freq})
				if !p.in.Stats().Speaking {
					t.Errorf("%v Hz: not speaking", p.src.freq)
				}
			}
		})
	}
}

// TestJoinLeave: a participant who joins late is heard by the others;
// one who is removed is not, and gets nothing more.
func TestJoinLeave(t *testing.T) {
	c := newConf(t, Options{MaxSpeakers: 4})
	a := c.join(Opus, newSource(t, Opus, 440, 20))
	b := c.join(Opus, newSource(t, Opus, 660, 20))
	d := c.join(Opus, newSource(t, Opus, 880, 20))
	c.run(warmup + 30)

	late := c.join(Opus, newSource(t, Opus, 1100, 20))
	mark := a.sink.count()
	c.run(warmup + 40)
	for _, p := range []*party{a, b, d} {
		c.hears(p, Opus, mark+warmup, c.others(p), []float64{p.src.freq})
	}
	c.hears(late, Opus, warmup, c.others(late), []float64{1100})

	b.in.Remove()
	c.parties = append(c.parties[:1], c.parties[2:]...)
	gotB := b.sink.count()
	if err := b.in.WriteRTP(b.src.packet(t)); err == nil {
		t.Error("WriteRTP after Remove: no error")
	}
	marks := map[*party]int{}
	for _, p := range c.parties {
		marks[p] = p.sink.count()
	}
	c.run(warmup + 40)
	if n := b.sink.count(); n != gotB {
		t.Errorf("removed participant got %d more payloads", n-gotB)
	}
	for _, p := range c.parties {
		c.hears(p, Opus, marks[p]+warmup, c.others(p), []float64{p.src.freq, 660})
	}
	if s := c.m.Stats(); s.Participants != 3 {
		t.Errorf("Participants = %d, want 3", s.Participants)
	}
}

// TestG711 mixes PCMU and PCMA participants with Opus ones.
func TestG711(t *testing.T) {
	c := newConf(t, Options{MaxSpeakers: 4})
	parts := []struct {
		codec Codec
		freq  float64
	}{{Opus, 440}, {PCMU, 620}, {PCMA, 820}, {Opus, 1040}}
	for _, p := range parts {
		c.join(p.codec, newSource(t, p.codec, p.freq, 20))
	}
	c.run(warmup + 50)
	for i, p := range c.parties {
		c.hears(p, parts[i].codec, warmup, c.others(p), []float64{p.src.freq})
	}
}

// TestLoss drops 5% of one participant's packets: the others still hear
// it, concealed.
func TestLoss(t *testing.T) {
	c := newConf(t, Options{})
	a := c.join(Opus, newSource(t, Opus, 440, 20))
	b := c.join(Opus, newSource(t, Opus, 660, 20))
	lossy := c.join(Opus, newSource(t, Opus, 880, 20))
	rng := rand.New(rand.NewPCG(1, 2))
	dropped := 0
	lossy.drop = func(*rtp.Packet) bool {
		if rng.IntN(20) == 0 {
			dropped++
			return true
		}
		return false
	}
	c.run(warmup + 150)
	for _, p := range []*party{a, b} {
		c.hears(p, Opus, warmup, c.others(p), []float64{p.src.freq})
	}
	st := lossy.in.Stats()
	if dropped == 0 || st.Lost == 0 || st.Concealed < st.Lost {
		t.Errorf("dropped %d packets; stats %+v, want Lost > 0 and Concealed >= Lost", dropped, st)
	}
	if s := c.m.Stats(); s.Lost != st.Lost || s.Concealed < s.Lost {
		t.Errorf("mixer stats %+v do not add up with input stats %+v", s, st)
	}
}

// TestGarbage: one participant sends junk of every kind; the others'
// outputs are unharmed and nothing panics.
func TestGarbage(t *testing.T) {
	c := newConf(t, Options{MaxSpeakers: 4})
	for _, f := range []float64{440, 660, 880} {
		c.join(Opus, newSource(t, Opus, f, 20))
	}
	for _, codec := range []Codec{Opus, PCMU} {
		junk := c.join(codec, nil)
		rng := rand.New(rand.NewPCG(3, uint64(codec)))
		seq := uint16(0)
		send := func() {
			for range 3 {
				var p rtp.Packet
				p.SequenceNumber, p.SSRC, p.PayloadType = seq, 42, uint8(rng.IntN(128))
				switch rng.IntN(6) {
				case 0: // huge jump
					seq += uint16(rng.IntN(65536))
				case 1: // duplicate and backwards
					seq -= uint16(rng.IntN(5))
				case 2: // new SSRC
					p.SSRC = rng.Uint32()
				default:
					seq++
				}
				p.Payload = make([]byte, rng.IntN(300))
				for i := range p.Payload {
					p.Payload[i] = byte(rng.Uint32())
				}
				if rng.IntN(10) == 0 {
					p.Payload = nil
				}
				_ = junk.in.WriteRTP(&p)
				_ = junk.in.WriteRTP(&p) // and again
			}
		}
		for range warmup + 60 {
			send()
			c.run(1)
		}
		_ = junk.in.WriteRTP(nil)
		junk.in.SetPayloadType(111)
		send()
		c.run(1)
		if st := junk.in.Stats(); st.Received == 0 || st.Invalid == 0 {
			t.Errorf("%v junk stats %+v: want received and invalid counted", codec, st)
		}
	}
	for _, p := range c.parties {
		if p.src != nil {
			c.hears(p, Opus, warmup, c.others(p), []float64{p.src.freq})
		}
	}
}

// TestAudioLevels: with RFC 6464 levels, of 10 participants the 8 silent
// ones are never decoded; per frame there are exactly 2 decodes and 3
// encodes (one per speaker and one common mix). This is the scale design.
func TestAudioLevels(t *testing.T) {
	c := newConf(t, Options{})
	for i := range 10 {
		src := newSource(t, Opus, 0, 20)
		src.levelExt, src.level = 1, 127
		if i < 2 {
			src.freq, src.level = []float64{440, 660}[i], 20
		}
		c.join(Opus, src)
	}
	c.run(warmup)
	before := c.m.Stats()
	const n = 50
	c.run(n)
	after := c.m.Stats()
	if d := after.Decodes - before.Decodes; d != 2*n {
		t.Errorf("decodes per frame = %v, want 2", float64(d)/n)
	}
	if e := after.Encodes - before.Encodes; e != 3*n {
		t.Errorf("encodes per frame = %v, want 3 (2 speakers + common)", float64(e)/n)
	}
	if after.Speakers != 2 {
		t.Errorf("speakers = %d, want 2", after.Speakers)
	}
	// Listeners all get the very same common payload; each talker hears
	// the other.
	last := func(p *party) []byte { s := p.sink.since(0); return s[len(s)-1] }
	for _, p := range c.parties[3:] {
		if !bytes.Equal(last(p), last(c.parties[2])) {
			t.Fatal("listeners got different payloads")
		}
	}
	c.hears(c.parties[0], Opus, warmup, []float64{660}, []float64{440})
	c.hears(c.parties[1], Opus, warmup, []float64{440}, []float64{660})
	c.hears(c.parties[5], Opus, warmup, []float64{440, 660}, nil)
}

// TestStopSending: a participant who stops sending drops out of the mix
// (no stale audio) and still receives.
func TestStopSending(t *testing.T) {
	for _, levels := range []bool{false, true} {
		t.Run(fmt.Sprintf("levels=%v", levels), func(t *testing.T) {
			c := newConf(t, Options{})
			for _, f := range []float64{440, 660, 880} {
				src := newSource(t, Opus, f, 20)
				if levels {
					src.levelExt, src.level = 3, 25
				}
				c.join(Opus, src)
			}
			c.run(warmup + 20)
			quit := c.parties[2]
			src := quit.src
			quit.src = nil
			c.run(10) // concealment, then it leaves the mix
			mark := c.parties[0].sink.count()
			got := quit.sink.count()
			c.run(warmup + 30)
			if st := quit.in.Stats(); st.Speaking || st.Level > -100 {
				t.Errorf("silent participant: %+v, want not speaking and silent", st)
			}
			c.hears(c.parties[0], Opus, mark, []float64{660}, []float64{440, 880})
			c.hears(c.parties[1], Opus, mark, []float64{440}, []float64{660, 880})
			if quit.sink.count()-got != warmup+30 {
				t.Errorf("silent participant got %d frames, want %d", quit.sink.count()-got, warmup+30)
			}
			c.hears(quit, Opus, got, []float64{440, 660}, []float64{880})

			// It comes back.
			quit.src = src
			src.produced = c.ticks * samples(defaultFrameDuration)
			mark = c.parties[0].sink.count()
			c.run(warmup + 30)
			c.hears(c.parties[0], Opus, mark+warmup, []float64{660, 880}, []float64{440})
		})
	}
}

// TestSilence: with nobody talking everyone still gets one (shared)
// frame per tick.
func TestSilence(t *testing.T) {
	c := newConf(t, Options{})
	for _, codec := range []Codec{Opus, Opus, PCMU, PCMA} {
		c.join(codec, nil)
	}
	c.run(5)
	for i, p := range c.parties {
		if n := p.sink.count(); n != 5 {
			t.Errorf("participant %d got %d frames, want 5", i, n)
		}
	}
	if s := c.m.Stats(); s.Encodes != 5*3 || s.Decodes != 0 || s.Speakers != 0 {
		t.Errorf("stats %+v: want 3 encodes per frame (one per codec), no decodes", s)
	}
	a, b := c.parties[0].sink.since(4)[0], c.parties[1].sink.since(4)[0]
	if &a[0] != &b[0] {
		t.Error("opus listeners did not share the payload")
	}
}

// TestBatch: with Options.Batch set, every participant's payload of a
// tick is handed out inside one Batch call (a shared UDP port then sends
// them in one sendmmsg), and the tones still mix right.
func TestBatch(t *testing.T) {
	var batches, outside int
	inBatch := false
	c := newConf(t, Options{MaxSpeakers: 3, Batch: func(f func()) {
		batches++
		inBatch = true
		f()
		inBatch = false
	}})
	for _, f := range []float64{440, 660, 880} {
		p := &party{src: newSource(t, Opus, f, 20), sink: &sink{}}
		k := p.sink
		p.in = c.m.Add(Opus, func(b []byte, d time.Duration) {
			if !inBatch {
				outside++
			}
			k.out(b, d)
		})
		c.parties = append(c.parties, p)
	}
	c.run(warmup + 30)
	if outside != 0 {
		t.Errorf("%d payloads handed out outside a batch", outside)
	}
	if batches == 0 || batches > c.ticks {
		t.Errorf("%d batches in %d ticks, want one per tick with deliveries", batches, c.ticks)
	}
	for _, p := range c.parties {
		c.hears(p, Opus, warmup, c.others(p), []float64{p.src.freq})
	}
}

// TestAdvance: a mixer on time or a few frames late keeps every point of
// its schedule (the late ones are ticked at once); one stalled longer
// skips to the first point after now, keeping its phase.
func TestAdvance(t *testing.T) {
	const frame = 20 * time.Millisecond
	base := time.Unix(1000, 3_000_000) // a phase of 3 ms
	for _, tc := range []struct {
		name string
		now  time.Duration // since base, the point just ticked
		want time.Duration // the next point, since base
	}{
		{"on time", 1 * time.Millisecond, frame},
		{"ticked late, next still ahead", 15 * time.Millisecond, frame},
		{"one frame late: catch up", frame + 2*time.Millisecond, frame},
		{"five frames late: catch up", 5*frame + 4*time.Millisecond, frame},
		{"stalled: skip, same phase", 6*frame + 10*time.Millisecond, 7 * frame},
		{"stalled a second", time.Second + time.Millisecond, time.Second + frame},
	} {
		got := advance(base, base.Add(tc.now), frame).Sub(base)
		if got != tc.want {
			t.Errorf("%s: next point at +%v, want +%v", tc.name, got, tc.want)
		}
	}
}
