package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media"
	"github.com/pion/webrtc/v4/pkg/media/oggreader"

	"github.com/jingled/jingled/rtp"
)

// frames reads the Opus packets of an Ogg/Opus file (one 20 ms frame per
// packet, as mediatest.SineOpus makes them) into memory, so the load
// sends them over and over without touching the disk.
func frames(path string) ([][]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, _, err := oggreader.NewWith(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	var out [][]byte
	for {
		page, hdr, err := r.ParseNextPage()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		if hdr.GranulePosition == 0 {
			continue // OpusHead, OpusTags
		}
		out = append(out, page)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("%s: no Opus packets", path)
	}
	return out, nil
}

// pacer sends a frame to every registered track each 20 ms from one
// goroutine per shard. A client sends from its own timer; a load of a
// thousand callers in one process would spend its CPU on a thousand
// timers instead, and fall behind the answering side it measures.
type pacer struct {
	frames [][]byte
	shards []*pacerShard
	// paused skips the ticks: the measurement stops the load to let the
	// echoes in flight come back (quiesce).
	paused atomic.Bool
	wg     sync.WaitGroup
	cancel context.CancelFunc
}

type pacerShard struct {
	mu     sync.Mutex
	tracks map[*loopSource]struct{}
}

func newPacer(frames [][]byte, shards int) *pacer {
	ctx, cancel := context.WithCancel(context.Background())
	p := &pacer{frames: frames, cancel: cancel}
	for range shards {
		s := &pacerShard{tracks: map[*loopSource]struct{}{}}
		p.shards = append(p.shards, s)
		p.wg.Add(1)
		go func() { defer p.wg.Done(); p.run(ctx, s) }()
	}
	return p
}

func (p *pacer) run(ctx context.Context, s *pacerShard) {
	t := time.NewTicker(20 * time.Millisecond)
	defer t.Stop()
	var batch []*loopSource
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if p.paused.Load() {
			continue
		}
		s.mu.Lock()
		batch = batch[:0]
		for ls := range s.tracks {
			batch = append(batch, ls)
		}
		s.mu.Unlock()
		for _, ls := range batch {
			f := p.frames[ls.next%len(p.frames)]
			ls.next++
			_ = ls.track.WriteSample(media.Sample{Data: f, Duration: 20 * time.Millisecond})
		}
	}
}

func (p *pacer) close() { p.cancel(); p.wg.Wait() }

// loopSource is an rtp.Source that the pacer feeds: the tone, looped.
type loopSource struct {
	p     *pacer
	shard *pacerShard
	track *webrtc.TrackLocalStaticSample
	next  int // frame index; only the shard's goroutine touches it
	done  chan struct{}
	once  sync.Once
}

var _ rtp.Source = (*loopSource)(nil)

func (p *pacer) source(n int) (*loopSource, error) {
	t, err := webrtc.NewTrackLocalStaticSample(rtp.CodecOpus, "audio", "bench")
	if err != nil {
		return nil, err
	}
	return &loopSource{p: p, shard: p.shards[n%len(p.shards)], track: t, next: n, done: make(chan struct{})}, nil
}

func (s *loopSource) Codec() webrtc.RTPCodecCapability { return rtp.CodecOpus }
func (s *loopSource) Kind() webrtc.RTPCodecType        { return webrtc.RTPCodecTypeAudio }
func (s *loopSource) Track() webrtc.TrackLocal         { return s.track }

// Run registers the track with the pacer until ctx ends or Close.
func (s *loopSource) Run(ctx context.Context) error {
	s.shard.mu.Lock()
	s.shard.tracks[s] = struct{}{}
	s.shard.mu.Unlock()
	defer func() {
		s.shard.mu.Lock()
		delete(s.shard.tracks, s)
		s.shard.mu.Unlock()
	}()
	select {
	case <-ctx.Done():
	case <-s.done:
	}
	return nil
}

func (s *loopSource) Close() error {
	s.once.Do(func() { close(s.done) })
	return nil
}
