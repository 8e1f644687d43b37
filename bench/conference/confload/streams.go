package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/jingled/jingled/bench/conference/internal/loadwire"
)

// The multi-stream mode (-all-video): every participant advertises
// rtp.FeatureAllVideo in its disco#info, so the room adds, beside the
// active-speaker view, one video content per other participant who sends
// video (conference/streams.go: one content-add at a time per receiver,
// every 300 ms). Each added content gets a sink of its own, a videoSink
// marked fixed: it counts and times packets exactly as the view's sink
// does, by the trailer's sender and packet number, and nothing decodes
// them. Every (sender, receiver) pair of a room is then forwarded, which
// is what an SFU's "consumers" or "down-tracks" count.

// streamSink makes the sink of a content the room added; the call asks
// for it when the content's first track arrives.
func (p *participant) streamSink() *videoSink {
	s := &videoSink{p: p, fixed: true}
	p.smu.Lock()
	defer p.smu.Unlock()
	p.streams = append(p.streams, s)
	return s
}

// videoSinks is every video sink of p: the view's, then the added
// contents' in the order their media came.
func (p *participant) videoSinks() []*videoSink {
	if p.vsink == nil {
		return nil
	}
	p.smu.Lock()
	defer p.smu.Unlock()
	return append([]*videoSink{p.vsink}, p.streams...)
}

// contentsWithMedia counts p's added contents that received a packet.
func (p *participant) contentsWithMedia() int {
	n := 0
	for _, s := range p.videoSinks() {
		if s.fixed && s.snapshot().count > 0 {
			n++
		}
	}
	return n
}

// receivers are the joined participants that receive video.
func (l *load) receivers() []*participant {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []*participant
	for _, p := range l.parts {
		if p.call != nil && p.vsink != nil {
			out = append(out, p)
		}
	}
	return out
}

// joinedSenders counts, per room, the joined participants who send video.
func (l *load) joinedSenders() map[*room]int {
	l.mu.Lock()
	defer l.mu.Unlock()
	n := map[*room]int{}
	for _, p := range l.parts {
		if p.call != nil && p.video != nil {
			n[p.room]++
		}
	}
	return n
}

// contents counts the added contents with media (at most the expected
// number per participant, so one receiver's surplus cannot hide another's
// shortfall) and the expected ones: for each joined participant, one per
// other joined sender of its room.
func (l *load) contents() (present, expected int) {
	senders := l.joinedSenders()
	for _, p := range l.receivers() {
		want := senders[p.room]
		if p.video != nil {
			want-- // not its own
		}
		expected += want
		present += min(p.contentsWithMedia(), want)
	}
	return present, expected
}

// waitContents waits until every participant has media on all its added
// contents, or limit passed; it reports progress every 5 s on stderr, so
// a slow room is visible while it fills.
func (l *load) waitContents(ctx context.Context, limit time.Duration) (present, expected int, waited time.Duration) {
	t0 := time.Now()
	tick := time.NewTicker(200 * time.Millisecond)
	defer tick.Stop()
	last := t0
	for {
		present, expected = l.contents()
		waited = time.Since(t0)
		if present >= expected || waited >= limit {
			return present, expected, waited
		}
		if time.Since(last) >= 5*time.Second {
			last = time.Now()
			fmt.Fprintf(os.Stderr, "confload: %d of %d added video contents have media after %v\n", present, expected, waited.Round(time.Second))
		}
		select {
		case <-ctx.Done():
			return present, expected, waited
		case <-tick.C:
		}
	}
}

// checkRouting fills the multi-stream counts of v over the window (c0 at
// its start, c1 at its end): the added contents that carried a wrong
// sender (changed, of another room, or the same as another content of
// the receiver) and the (receiver, sender) pairs of a room that none
// carried.
func (l *load) checkRouting(v *loadwire.VideoResult, c0, c1 map[*videoSink]videoCounts) {
	v.AllVideo = true
	parts := l.receivers()
	for _, p := range parts {
		carried := map[uint32]int{}
		for _, s := range p.videoSinks() {
			a, b := s.before(c0), c1[s]
			if !s.fixed || b.count == a.count || !b.hasShown {
				continue
			}
			if b.switches != a.switches {
				v.Misrouted++ // a second sender on the content
				v.Switched++
			}
			if src := l.vsrc[b.shown].Load(); src == nil || src.room != p.room {
				v.Misrouted++
				v.Foreign++
			}
			if carried[b.shown]++; carried[b.shown] == 2 {
				v.Misrouted++
				v.Duplicate++
			}
		}
		for _, q := range parts {
			if q != p && q.room == p.room && q.video != nil && carried[q.video.id] == 0 {
				v.Missing++
			}
		}
	}
}
