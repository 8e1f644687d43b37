package conference

import (
	"context"
	"fmt"
	"slices"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
)

// FeatureAllVideo is advertised (XEP-0030) by a participant that can take
// several incoming video streams: the room then adds one content per other
// participant who sends video (content-add), each carrying that person's
// video, and removes it when they leave or stop sending, beside the
// active-speaker stream. The project's CLI (jingle call --all-video) and
// library can; most clients show one remote video, so it is opt-in.
const FeatureAllVideo = rtp.FeatureAllVideo

// streamsTick is how often a multi-stream participant's contents are
// brought in line with who sends video.
const streamsTick = 300 * time.Millisecond

// addContentWait bounds the wait for one content-add: longer than the
// call's own bound on the peer's ack (15 s, rtp's send), so that a slow
// ack (a loaded peer or server) is waited for rather than abandoned while
// the call goes on adding the content.
const addContentWait = 20 * time.Second

// wantsAllVideo asks a participant's disco#info whether it takes every
// video (FeatureAllVideo).
func (r *Room) wantsAllVideo(ctx context.Context, p *participant) bool {
	if r.cfg.IQ == nil {
		return false
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := r.cfg.IQ.SendIQ(ctx, &jingle.IQ{To: p.peer, Type: jingle.IQGet, Payload: []byte(`<query xmlns="` + xmpp.NSDiscoInfo + `"/>`)})
	if err != nil {
		r.log.Debug("disco#info of a participant", "peer", p.peer, "err", err)
		return false
	}
	info, err := xmpp.ParseDiscoInfo(res.Payload)
	return err == nil && slices.Contains(info.Features, FeatureAllVideo)
}

// stream is one other participant's video as a content of its own.
type stream struct {
	content string
	out     *videoOut
}

// runStreams keeps a multi-stream participant's video contents in line
// with who sends video, until its call ends. One content is negotiated at
// a time (a content-add waits for the previous one's answer), so changes
// are retried on the next tick. Every attempt takes a new content name:
// an attempt whose wait ended may still have added its content to the
// call, and retrying under that name would fail for the rest of the call.
func (r *Room) runStreams(p *participant) {
	defer r.wg.Done()
	streams := map[*participant]*stream{}
	defer func() {
		for _, s := range streams {
			r.video.removeStream(s.out)
		}
	}()
	t := time.NewTicker(streamsTick)
	defer t.Stop()
	n := 0
	for {
		select {
		case <-p.call.Done():
			return
		case <-r.ctx.Done():
			return
		case <-t.C:
		}
		now := time.Now()
		r.mu.Lock()
		var senders []*participant
		for _, q := range r.parts {
			if q != p && now.Sub(time.Unix(0, q.lastVideo.Load())) <= videoActive {
				senders = append(senders, q)
			}
		}
		r.mu.Unlock()
		for src, s := range streams {
			if slices.Contains(senders, src) {
				continue
			}
			ctx, cancel := context.WithTimeout(r.ctx, 5*time.Second)
			err := p.call.RemoveContent(ctx, s.content)
			cancel()
			if err != nil {
				r.log.Debug("content-remove of a stream", "peer", p.peer, "content", s.content, "err", err)
				continue
			}
			r.video.removeStream(s.out)
			delete(streams, src)
		}
		for _, src := range senders {
			if streams[src] != nil {
				continue
			}
			fs, err := newForwardSource(fmt.Sprint(r.seq.Add(1)), src.call.RequestKeyFrame)
			if err != nil {
				continue
			}
			n++
			name := fmt.Sprintf("video-%d", n)
			out := &videoOut{recv: p, track: fs.track, fixed: src, pending: src}
			r.video.addStream(out)
			if err := r.addContent(p, name, fs); err != nil {
				// Another negotiation is in flight: next tick.
				r.log.Debug("content-add of a stream", "peer", p.peer, "content", name, "err", err)
				r.video.removeStream(out)
				_ = fs.Close()
				continue
			}
			streams[src] = &stream{content: name, out: out}
			src.call.RequestKeyFrame()
			break // one negotiation at a time
		}
	}
}

// addContent adds a video content carrying fs to p's call, waiting at
// most addContentWait, less if the call ends.
func (r *Room) addContent(p *participant, name string, fs *forwardSource) error {
	ctx, cancel := context.WithTimeout(r.ctx, addContentWait)
	defer cancel()
	done := make(chan struct{})
	defer close(done)
	go func() {
		select {
		case <-p.call.Done():
			cancel()
		case <-done:
		}
	}()
	return p.call.AddContent(ctx, name, webrtc.RTPCodecTypeVideo, fs)
}
