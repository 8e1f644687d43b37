package mixer

import "time"

// Playout limits, in frames of the mix.
const (
	// maxUnderruns is how many frames in a row an input with an empty
	// buffer is concealed before it counts as gone (muted, vanished): it
	// then leaves the mix, its buffers are emptied, and it rebuffers when
	// packets come again. Concealing longer would loop stale audio.
	maxUnderruns = 3
	// trimFrames is how far past its delay a jitter buffer may grow
	// (bursts, a fast sender clock) before the oldest audio is dropped to
	// bring it back to its delay.
	trimFrames = 3
	// plcQuantum is the granularity of Opus concealment, 2.5 ms.
	plcQuantum = 120
)

// tick mixes one frame: pull, pick speakers, decode, mix, encode, deliver.
//
// The mixing and the delivery are timed apart, in the CPU time of the
// mixer's thread where the OS tells it (cputime_linux.go), so the mixer's
// cost is not inflated by a busy machine preempting it, nor mixed up with
// the cost of sending RTP. late is how late the tick started against its
// schedule (0 for ticks run by hand), for the overload verdict.
func (m *Mixer) tick(late time.Duration) {
	m.mu.Lock()
	if m.ov.observe(late) {
		m.setComplexity()
		m.stats.overloaded.Store(m.ov.on)
	}
	if m.ov.on {
		m.stats.overloadFrames.Add(1)
	}
	t0 := markCPU()
	m.mixLocked()
	t1 := markCPU()
	m.deliver()
	t2 := markCPU()
	m.mu.Unlock()
	mix := cpuSince(t0, t1)
	m.stats.frames.Add(1)
	m.stats.mixNanos.Add(int64(mix))
	m.stats.lastMixNanos.Store(int64(mix))
	m.stats.sendNanos.Add(int64(cpuSince(t1, t2)))
}

// mixLocked is tick's body; m.mu is held.
func (m *Mixer) mixLocked() {
	ins := m.inputs
	now := time.Now()

	// Levels: from RFC 6464 where inputs have it, else by decoding.
	m.cands = m.cands[:0]
	for _, in := range ins {
		st := &in.st
		m.gather(in, now)
		st.decoded = false
		if !st.byLevel {
			m.render(in, true)
			st.raw = st.frameDB
		}
		st.level = smoothLevel(st.level, st.raw, levelAttack, levelRelease)
		m.cands = append(m.cands, candidate{id: in.id, level: st.level, speaking: st.speaking})
	}
	m.order = selectSpeakers(m.cands, m.params, m.order)

	// Mix the speakers; consume everyone else's audio undecoded.
	clear(m.common)
	speakers := 0
	for i, in := range ins {
		st := &in.st
		st.speaking = m.cands[i].speaking
		in.stats.speaking.Store(st.speaking)
		in.stats.level.store(st.level)
		if !st.speaking {
			if !st.decoded {
				m.render(in, false)
			}
			continue
		}
		if !st.decoded {
			m.render(in, true)
		}
		speakers++
		st.gainDB = nextGain(st.gainDB, st.frameDB, m.gainStep)
		in.stats.gain.store(st.gainDB)
		g := dbToGain(st.gainDB)
		for j, v := range st.frame {
			v *= g
			st.frame[j] = v
			m.common[j] += v
		}
	}
	m.stats.speakers.Store(int64(speakers))

	// Encode: one stream per speaker (all but itself), one per codec for
	// the rest (all speakers), shared. A participant who becomes or stops
	// being a speaker switches from one encoder's stream to another's;
	// Opus decoders take that with a barely audible blip at the switch,
	// and the selection hysteresis keeps switches rare.
	m.deliveries = m.deliveries[:0]
	var need [numCodecs]bool
	for _, in := range ins {
		st := &in.st
		if !st.speaking {
			need[in.codec] = true
			continue
		}
		for j := range st.mix {
			st.mix[j] = m.common[j] - st.frame[j]
		}
		st.lim.process(st.mix)
		if p := m.encode(&st.enc, in.codec, st.mix); p != nil {
			m.deliveries = append(m.deliveries, delivery{in, p})
		}
	}
	var shared [numCodecs][]byte
	if need != [numCodecs]bool{} {
		copy(m.commonOut, m.common)
		m.commonLim.process(m.commonOut)
		for c := range numCodecs {
			if need[c] {
				shared[c] = m.encode(&m.commonEnc[c], c, m.commonOut)
			}
		}
	}
	for _, in := range ins {
		if p := shared[in.codec]; !in.st.speaking && p != nil {
			m.deliveries = append(m.deliveries, delivery{in, p})
		}
	}
}

// deliver hands this tick's payloads to the participants' outs (the
// RTP send path, pion's work rather than the mixer's); m.mu is held.
func (m *Mixer) deliver() {
	if m.opts.Batch != nil && len(m.deliveries) > 1 {
		m.opts.Batch(m.deliverEach)
	} else {
		m.deliverEach()
	}
	clear(m.deliveries) // drop payload references
}

func (m *Mixer) deliverEach() {
	for _, d := range m.deliveries {
		d.in.out(d.payload, m.opts.FrameDuration)
	}
}

// encode encodes pcm with *enc, creating it on first use; nil on error.
func (m *Mixer) encode(enc *encoder, c Codec, pcm []float32) []byte {
	if *enc == nil {
		e, err := newEncoder(c, m.complexity())
		if err != nil {
			m.log.Error("encoder", "codec", c, "err", err)
			return nil
		}
		*enc = e
	}
	m.stats.encodes.Add(1)
	p, err := (*enc).encode(pcm)
	if err != nil {
		m.log.Error("encode", "codec", c, "err", err)
		return nil
	}
	return p
}

// complexity is the encoder complexity for the mixer's overload verdict;
// m.mu is held.
func (m *Mixer) complexity() int {
	if m.ov.on {
		return m.opts.OverloadComplexity
	}
	return encodeComplexity
}

// setComplexity moves every encoder of the mixer to complexity(), after
// the overload verdict changed; m.mu is held.
func (m *Mixer) setComplexity() {
	c := m.complexity()
	set := func(e encoder) {
		if e == nil {
			return
		}
		if err := e.setComplexity(c); err != nil {
			m.log.Error("encoder complexity", "complexity", c, "err", err)
		}
	}
	for _, e := range m.commonEnc {
		set(e)
	}
	for _, in := range m.inputs {
		set(in.st.enc)
	}
	// Debug: every room of a busy focus comes to the same verdict at
	// once; the metric (Stats.OverloadFrames) is what to watch.
	m.log.Debug("mixer overload", "overloaded", m.ov.on, "complexity", c)
}

// gather pulls from in's jitter buffer the packets (or gaps) that make up
// this frame, and the RFC 6464 level they carry, with the buffer level
// taken at now, the tick's start. It does not decode.
func (m *Mixer) gather(in *Input, now time.Time) {
	st := &in.st
	st.units, st.arena = st.units[:0], st.arena[:0]
	st.shorten = 0
	level, idle, skip := -1, false, false

	in.mu.Lock()
	if in.jb.playing {
		m.watchLevel(in, now)
	}
	need := m.frameLen - st.fifo.len() + st.shorten
	for need > 0 && in.jb.ready(now, m.frameLen) {
		if n := in.jb.trim(in.jb.delay+trimFrames*m.frameLen, in.jb.delay); n > 0 {
			in.stats.dropped.Add(uint64(n))
		}
		s, kind := in.jb.pop()
		var u unit
		switch kind {
		case popPacket:
			u.kind = unitPacket
			st.underruns = 0
			st.lastLen = s.samples
			st.hadLevel = s.level >= 0
			if s.level >= 0 && (level < 0 || s.level < level) {
				level = s.level // loudest of the frame
			}
			u.samples = s.samples
			u.start = len(st.arena)
			st.arena = append(st.arena, s.payload...)
			u.end = len(st.arena)
		case popLost:
			u.kind = unitLost
			u.samples = max(st.lastLen, plcQuantum)
			u.start = len(st.arena)
			if next := in.jb.peek(); next != nil && in.codec == Opus {
				st.arena = append(st.arena, next.payload...)
			}
			u.end = len(st.arena)
			in.stats.lost.Add(1)
			m.stats.lost.Add(1)
		case popEmpty:
			if st.shorten > 0 {
				// The buffer ran dry: nothing to spare after all.
				need -= st.shorten
				st.shorten = 0
				if need <= 0 {
					skip = true
					break
				}
			}
			st.underruns++
			if st.underruns > maxUnderruns {
				in.jb.reset()
				idle = true
				break
			}
			u.kind = unitConceal
			u.samples = (need + plcQuantum - 1) / plcQuantum * plcQuantum
		}
		if idle || skip {
			break
		}
		if kind != popPacket {
			in.stats.concealed.Add(1)
			m.stats.concealed.Add(1)
		}
		st.units = append(st.units, u)
		need -= u.samples
	}
	playing := in.jb.playing
	st.byLevel = in.extID != 0 && st.hadLevel
	in.mu.Unlock()

	switch {
	case idle:
		// Gone quiet for good: drop out of the mix now, no stale audio.
		st.fifo.reset()
		st.underruns = 0
		st.raw, st.level = silenceDB, silenceDB
	case level >= 0:
		st.raw = -float64(level)
	case !playing:
		st.raw = silenceDB
	}
	// Otherwise (a frame of concealment, or of a long packet pulled
	// earlier) the level stays as it was.
}

// render produces in's frame for this tick. With decode it decodes and
// conceals the gathered units into the fifo and takes a frame from it;
// without, it only counts their duration, keeping the input in step
// without paying for a decode.
func (m *Mixer) render(in *Input, decode bool) {
	st := &in.st
	if !decode {
		for _, u := range st.units {
			st.fifo.count(u.samples)
		}
		st.fifo.drop(m.frameLen + st.shorten)
		in.stats.shortened.Add(uint64(st.shorten))
		return
	}
	for _, u := range st.units {
		buf := m.scratch
		payload := st.arena[u.start:u.end]
		n := u.samples
		var err error
		m.stats.decodes.Add(1)
		if u.kind == unitPacket {
			n, err = in.dec.decode(payload, buf)
			if err != nil {
				in.stats.invalid.Add(1)
				m.log.Debug("decode", "codec", in.codec, "err", err)
				n = u.samples
				err = in.dec.conceal(nil, buf[:n])
			}
		} else {
			err = in.dec.conceal(payload, buf[:n])
		}
		if err != nil {
			clear(buf[:n])
		}
		st.fifo.push(buf[:n])
	}
	if n := min(st.shorten, st.fifo.len()-m.frameLen); n > 0 {
		st.fifo.cut(n, crossfade)
		in.stats.shortened.Add(uint64(n))
	}
	st.fifo.take(st.frame)
	st.decoded = true
	st.frameDB = rmsDB(st.frame)
}
