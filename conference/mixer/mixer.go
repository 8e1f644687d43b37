package mixer

import (
	"log/slog"
	"slices"
	"sync"
	"time"
)

// Mixer mixes the audio of a conference; see the package doc.
type Mixer struct {
	opts     Options
	log      *slog.Logger
	frameLen int     // samples per frame
	gainStep float64 // dB per frame, from gainRateDB
	params   selectParams

	// mu is held for a whole tick: it guards inputs and all mixing
	// state, and makes Remove wait for a tick in progress, so out is
	// never called after Remove returns.
	mu         sync.Mutex
	inputs     []*Input
	nextID     int
	cands      []candidate
	order      []int
	scratch    []float32 // decode output
	common     []float32 // sum of speakers
	commonOut  []float32 // common, limited
	commonLim  limiter
	commonEnc  [numCodecs]encoder
	deliveries []delivery
	// ov is the overload verdict the ticks' lateness feeds
	// (overload.go); under mu.
	ov overload

	stats counters

	done      chan struct{}
	closeOnce sync.Once
	wg        sync.WaitGroup
}

// delivery is one payload waiting to be handed to an out.
type delivery struct {
	in      *Input
	payload []byte
}

// New returns a Mixer and starts its goroutine, which mixes one frame per
// FrameDuration until Close.
func New(opts Options) *Mixer {
	m := newMixer(opts)
	m.wg.Add(1)
	go m.run()
	return m
}

// newMixer returns a Mixer without starting its goroutine; tests tick it
// by hand.
func newMixer(opts Options) *Mixer {
	opts = opts.withDefaults()
	n := samples(opts.FrameDuration)
	return &Mixer{
		opts:     opts,
		log:      opts.Logger,
		frameLen: n,
		gainStep: gainRateDB * opts.FrameDuration.Seconds(),
		params: selectParams{
			max: opts.MaxSpeakers, enterDB: enterDB, leaveDB: leaveDB, marginDB: marginDB,
		},
		ov:        overload{after: opts.FrameDuration / 2},
		scratch:   make([]float32, maxPacketSamples),
		common:    make([]float32, n),
		commonOut: make([]float32, n),
		done:      make(chan struct{}),
	}
}

// run ticks once per frame until Close.
func (m *Mixer) run() {
	defer m.wg.Done()
	// A schedule rather than a time.Ticker: a ticker drops the ticks a
	// busy mixer missed, and every dropped tick would leave one more frame
	// in every input's buffer, i.e. latency for good. Late ticks run back
	// to back instead (advance).
	frame := m.opts.FrameDuration
	t := time.NewTimer(frame)
	defer t.Stop()
	next := time.Now().Add(frame)
	for {
		select {
		case <-m.done:
			return
		case <-t.C:
		}
		for {
			m.tick(time.Since(next))
			now := time.Now()
			next = advance(next, now, frame)
			if next.After(now) {
				break
			}
			select {
			case <-m.done:
				return
			default:
			}
		}
		t.Reset(time.Until(next))
	}
}

// maxCatchUp is how many frames behind its schedule a mixer catches up
// back to back; further behind, it skips to its next point.
const maxCatchUp = 5

// advance returns the tick after next, the schedule point just ticked,
// with now the time: the point one frame on, to be ticked at once if it
// is past (a late mixer catches up, so no frame is lost and no input's
// buffer grows); but after a stall of more than maxCatchUp frames the
// missed points are skipped, to the first one after now on the same
// phase. Restarting the schedule from now instead, as the mixer did
// before, gave every room that a pause of the whole process (a GC, the
// machine swapping) had stalled the same phase: their ticks then came
// due together for the rest of their lives, and each waited for the
// others'.
func advance(next, now time.Time, frame time.Duration) time.Time {
	next = next.Add(frame)
	if late := now.Sub(next); late > maxCatchUp*frame {
		next = next.Add((late/frame + 1) * frame)
	}
	return next
}

// Close stops mixing and waits for the mixer goroutine to end. Inputs
// may still be present; their outs are not called again. Close is
// idempotent.
func (m *Mixer) Close() {
	m.closeOnce.Do(func() { close(m.done) })
	m.wg.Wait()
}

// Add adds a participant sending and receiving codec. out is called on
// the mixer goroutine once per frame with the encoded payload for this
// participant (for Opus one packet of FrameDuration) and the frame
// duration. out must not block, nor call into the Mixer or its Inputs
// other than Stats. The payload may be shared by several participants:
// do not modify it. It is not reused by the mixer, so it may be kept.
//
// An unknown codec is taken as Opus.
func (m *Mixer) Add(codec Codec, out func(payload []byte, d time.Duration)) *Input {
	if !codec.valid() {
		m.log.Warn("unknown codec, using opus", "codec", codec)
		codec = Opus
	}
	dec, err := newDecoder(codec)
	if err != nil {
		// Only allocation failures get here; mix the input as silence.
		m.log.Error("decoder", "err", err)
		dec = &g711Decoder{}
	}
	in := &Input{m: m, codec: codec, out: out, pt: -1, dec: dec}
	in.jb.delay = samples(m.opts.JitterDelay)
	in.jb.minDelay = in.jb.delay
	in.st.frame = make([]float32, m.frameLen)
	in.st.mix = make([]float32, m.frameLen)
	in.st.raw, in.st.level = silenceDB, silenceDB
	in.stats.level.store(silenceDB)

	m.mu.Lock()
	defer m.mu.Unlock()
	in.id = m.nextID
	m.nextID++
	m.inputs = append(m.inputs, in)
	m.stats.participants.Store(int64(len(m.inputs)))
	return in
}

// remove takes in out of the mix; it waits for a tick in progress.
func (m *Mixer) remove(in *Input) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if i := slices.Index(m.inputs, in); i >= 0 {
		m.inputs = slices.Delete(m.inputs, i, i+1)
	}
	m.stats.participants.Store(int64(len(m.inputs)))
}

// Stats returns the mixer's statistics. It takes no lock the mix loop
// holds, so it is cheap and may be called from out.
func (m *Mixer) Stats() Stats {
	s := &m.stats
	return Stats{
		Participants:   int(s.participants.Load()),
		Speakers:       int(s.speakers.Load()),
		FramesMixed:    s.frames.Load(),
		Decodes:        s.decodes.Load(),
		Encodes:        s.encodes.Load(),
		MixCPU:         time.Duration(s.mixNanos.Load()),
		LastMixCPU:     time.Duration(s.lastMixNanos.Load()),
		SendCPU:        time.Duration(s.sendNanos.Load()),
		Received:       s.received.Load(),
		Late:           s.late.Load(),
		Lost:           s.lost.Load(),
		Concealed:      s.concealed.Load(),
		OverloadFrames: s.overloadFrames.Load(),
		Overloaded:     s.overloaded.Load(),
	}
}
