package main

import (
	"context"
	"math/rand/v2"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"gopkg.in/hraban/opus.v2"

	"github.com/jingled/jingled/rtp"
)

// levelTrack is an RTP track that learns, when bound, the id the call
// negotiated for the RFC 6464 audio level extension.
type levelTrack struct {
	*webrtc.TrackLocalStaticRTP
	extID atomic.Uint32
}

func (t *levelTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	for _, e := range ctx.HeaderExtensions() {
		if e.URI == rtp.AudioLevelURI {
			t.extID.Store(uint32(e.ID))
		}
	}
	return t.TrackLocalStaticRTP.Bind(ctx)
}

// source is a participant's microphone: an rtp.Source whose packets the
// pacer writes from the pre-encoded payloads. Run only registers it with
// its pacer shard, so a thousand participants cost a few goroutines.
type source struct {
	p     *participant
	track *levelTrack
	shard *shard

	// Owned by the shard's goroutine.
	seq  uint16
	ts   uint32
	sent uint64 // read atomically by the window snapshot

	once sync.Once
	done chan struct{}
}

func newSource(p *participant, sh *shard) (*source, error) {
	t, err := webrtc.NewTrackLocalStaticRTP(rtp.CodecOpus, "audio", "confload")
	if err != nil {
		return nil, err
	}
	return &source{p: p, track: &levelTrack{TrackLocalStaticRTP: t}, shard: sh, seq: uint16(rand.Uint32()), ts: rand.Uint32(), done: make(chan struct{})}, nil
}

func (s *source) Codec() webrtc.RTPCodecCapability { return rtp.CodecOpus }
func (s *source) Kind() webrtc.RTPCodecType        { return webrtc.RTPCodecTypeAudio }
func (s *source) Track() webrtc.TrackLocal         { return s.track }

func (s *source) Run(ctx context.Context) error {
	s.shard.add(s)
	defer s.shard.remove(s)
	select {
	case <-ctx.Done():
	case <-s.done:
	}
	return nil
}

func (s *source) Close() error {
	s.once.Do(func() { close(s.done) })
	return nil
}

// write sends frame f.
func (s *source) write(f int64, pk *packets) {
	var payload []byte
	var level uint8
	start := false
	if s.p.talker {
		payload, level, start = pk.talkerFrame(f)
	} else {
		payload, level = pk.silentFrame(f)
	}
	h := pionrtp.Header{Version: 2, SequenceNumber: s.seq, Timestamp: s.ts + uint32(f)*frameLen}
	if id := s.track.extID.Load(); id != 0 {
		ext, _ := pionrtp.AudioLevelExtension{Level: level, Voice: level < silenceLevel}.Marshal()
		_ = h.SetExtension(uint8(id), ext)
	}
	if start {
		s.p.room.noteSend(f/burstPeriod, time.Now())
	}
	if err := s.track.WriteRTP(&pionrtp.Packet{Header: h, Payload: payload}); err == nil {
		s.seq++
		atomic.AddUint64(&s.sent, 1)
	}
}

// shard writes one frame for each of its sources every 20 ms, on a
// schedule fixed from the load's start (frame f at epoch + f*20ms), so the
// burst times are the same for every talker of a room. Rooms are
// sharded whole, talkers first, so a room's talkers send within
// microseconds of each other.
type shard struct {
	pk    *packets
	epoch time.Time

	mu      sync.Mutex
	sources []*source
	videos  []*videoSource

	late, ticks atomic.Int64
}

func (sh *shard) add(s *source) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	// Talkers first: they set the burst times.
	if s.p.talker {
		sh.sources = append([]*source{s}, sh.sources...)
		return
	}
	sh.sources = append(sh.sources, s)
}

func (sh *shard) remove(s *source) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	for i, x := range sh.sources {
		if x == s {
			sh.sources = append(sh.sources[:i], sh.sources[i+1:]...)
			return
		}
	}
}

func (sh *shard) addVideo(s *videoSource) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	sh.videos = append(sh.videos, s)
}

func (sh *shard) removeVideo(s *videoSource) {
	sh.mu.Lock()
	defer sh.mu.Unlock()
	if i := slices.Index(sh.videos, s); i >= 0 {
		sh.videos = slices.Delete(sh.videos, i, i+1)
	}
}

func (sh *shard) run(ctx context.Context) {
	f := int64(time.Since(sh.epoch)/frameDur) + 1
	timer := time.NewTimer(0)
	<-timer.C
	var batch []*source
	var vbatch []*videoSource
	for {
		at := sh.epoch.Add(time.Duration(f) * frameDur)
		if wait := time.Until(at); wait > 0 {
			timer.Reset(wait)
			select {
			case <-ctx.Done():
				return
			case <-timer.C:
			}
		} else if ctx.Err() != nil {
			return
		}
		if time.Since(at) > 5*time.Millisecond {
			sh.late.Add(1)
		}
		sh.ticks.Add(1)
		sh.mu.Lock()
		batch = append(batch[:0], sh.sources...)
		vbatch = append(vbatch[:0], sh.videos...)
		sh.mu.Unlock()
		for _, s := range batch {
			s.write(f, sh.pk)
		}
		// Video after audio: the audio schedule (burst times) stays as in
		// the audio runs; each camera sends on every second tick.
		for _, s := range vbatch {
			s.write(f)
		}
		f++
	}
}

// sink counts the mix a participant receives; a probe also decodes it and
// times the burst onsets.
type sink struct {
	p *participant

	mu      sync.Mutex
	count   uint64
	maxSeq  uint64 // extended
	started bool

	// probes only, on the receive goroutine
	dec *opus.Decoder
	det detector
	pcm []float32
	at  time.Time // onset time while its code is being measured
}

func (s *sink) WriteRTP(pk *pionrtp.Packet) error {
	now := time.Now()
	s.mu.Lock()
	ext := uint64(pk.SequenceNumber)
	if !s.started {
		s.started = true
		s.maxSeq = ext
	} else {
		// extend relative to the highest seen
		cur := s.maxSeq
		d := int64(int16(uint16(ext) - uint16(cur)))
		if n := int64(cur) + d; n > int64(cur) {
			s.maxSeq = uint64(n)
		}
	}
	s.count++
	s.mu.Unlock()
	if s.dec != nil {
		s.probe(pk.Payload, now)
	}
	return nil
}

func (s *sink) Close() error { return nil }

func (s *sink) snapshot() (count, maxSeq uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.count, s.maxSeq
}

func (s *sink) probe(payload []byte, now time.Time) {
	n, err := s.dec.DecodeFloat32(payload, s.pcm[:cap(s.pcm)])
	if err != nil {
		return
	}
	fr := s.pcm[:n]
	if s.det.measure {
		s.det.collect(fr)
	} else if k, ok := s.det.onset(fr); ok {
		s.at = now.Add(time.Duration(k) * time.Second / sampleRate)
		s.det.start(fr, k)
	}
	if c, ok := s.det.code(); ok {
		s.p.room.noteOnset(s.at, c, s.p.load.measuring.Load())
	}
}

// room is one conference room as the load sees it: when each burst was
// sent, and the latencies its probes measured.
type room struct {
	jid  string
	load *load

	mu        sync.Mutex
	sends     map[int64]time.Time // burst -> earliest talker send
	latencies []time.Duration
	unmatched int
}

func (r *room) noteSend(b int64, t time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if old, ok := r.sends[b]; !ok || t.Before(old) {
		r.sends[b] = t
	}
	delete(r.sends, b-40) // 8 s back is far enough
}

// noteOnset matches an onset at t with code c to the latest burst of that
// code sent before t.
func (r *room) noteOnset(t time.Time, c int, record bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	best := int64(-1)
	for b, st := range r.sends {
		if b%int64(len(codeFreqs)) == int64(c) && !st.After(t) && b > best {
			best = b
		}
	}
	if !record {
		return
	}
	if best < 0 {
		r.unmatched++
		return
	}
	r.latencies = append(r.latencies, t.Sub(r.sends[best].Add(r.load.pk.onsetOffset)))
}

func (r *room) take() ([]time.Duration, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	l, u := r.latencies, r.unmatched
	r.latencies, r.unmatched = nil, 0
	return l, u
}
