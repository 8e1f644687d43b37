package conference

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/rtp"
)

// Video in a room: every participant who joins with VP8 video is shown
// the video of the loudest other participant who sends video, forwarded
// without decoding (one stream per receiver, which every 1:1 client can
// take). A switch waits for a key frame of the new speaker, asked for with
// a PLI, so the receiver never decodes a broken picture; the rewriter
// makes the switch invisible to its jitter buffer.

const (
	// videoTick is how often the speaker choice is revisited.
	videoTick = 200 * time.Millisecond
	// videoActive is how recent a participant's last video packet must be
	// for it to be shown.
	videoActive = 2 * time.Second
	// pliInterval spaces the key-frame requests to one sender while a
	// switch waits for its key frame, or for a receiver's PLI.
	pliInterval = 500 * time.Millisecond
)

// videoOut is the video one receiver is shown.
type videoOut struct {
	recv  *participant
	track *webrtc.TrackLocalStaticRTP
	// fixed, for a multi-stream content, is the one participant it
	// carries; nil for the active-speaker view.
	fixed *participant

	mu      sync.Mutex
	choice  speakerChoice
	shown   *participant // forwarded now
	pending *participant // switching to, waiting for its key frame
	lastPLI time.Time
	rw      rewriter
}

// offer forwards pkt of src if src is what the receiver is shown, or
// completes a pending switch to src at its key frame.
func (o *videoOut) offer(src *participant, p *pionrtp.Packet, d vp8Desc, now time.Time) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.pending == src && d.keyStart {
		o.rw.switchTo(p, d, now)
		o.shown, o.pending = src, nil
	}
	if o.shown != src {
		return
	}
	_ = o.track.WriteRTP(o.rw.rewrite(p, d, now))
}

// videoRouter is a room's video: who receives (outs) and the forwarding.
type videoRouter struct {
	mu   sync.RWMutex
	outs map[*participant]*videoOut
	// streams are the multi-stream contents (streams.go).
	streams []*videoOut
}

func (v *videoRouter) addStream(o *videoOut) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.streams = append(v.streams, o)
}

func (v *videoRouter) removeStream(o *videoOut) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.streams = slices.DeleteFunc(v.streams, func(x *videoOut) bool { return x == o })
}

func newVideoRouter() *videoRouter {
	return &videoRouter{outs: map[*participant]*videoOut{}}
}

func (v *videoRouter) add(o *videoOut) {
	v.mu.Lock()
	defer v.mu.Unlock()
	v.outs[o.recv] = o
}

// remove forgets p as a receiver and as a source.
func (v *videoRouter) remove(p *participant) {
	v.mu.Lock()
	delete(v.outs, p)
	outs := v.snapshotLocked()
	v.mu.Unlock()
	for _, o := range outs {
		o.mu.Lock()
		if o.shown == p {
			o.shown = nil
		}
		if o.pending == p {
			o.pending = nil
		}
		o.mu.Unlock()
	}
}

func (v *videoRouter) snapshotLocked() []*videoOut {
	out := make([]*videoOut, 0, len(v.outs))
	for _, o := range v.outs {
		out = append(out, o)
	}
	return out
}

// packet is one video packet from src, on src's track-reading goroutine.
func (v *videoRouter) packet(src *participant, p *pionrtp.Packet) {
	if len(p.Payload) == 0 {
		return // padding
	}
	d, ok := parseVP8(p.Payload)
	if !ok {
		return
	}
	now := time.Now()
	src.lastVideo.Store(now.UnixNano())
	v.mu.RLock()
	defer v.mu.RUnlock()
	for _, o := range v.outs {
		if o.recv != src {
			o.offer(src, p, d, now)
		}
	}
	for _, o := range v.streams {
		if o.fixed == src {
			o.offer(src, p, d, now)
		}
	}
}

// choose revisits every receiver's speaker choice from the audio levels
// and asks the new speakers for key frames.
func (v *videoRouter) choose(parts []*participant, now time.Time) {
	var cands []candidate
	byPeer := map[string]*participant{}
	for _, p := range parts {
		if now.Sub(time.Unix(0, p.lastVideo.Load())) > videoActive {
			continue
		}
		cands = append(cands, candidate{peer: p.peer, level: p.input.Stats().Level})
		byPeer[p.peer] = p
	}
	v.mu.RLock()
	outs := v.snapshotLocked()
	v.mu.RUnlock()
	var ask []*participant
	for _, o := range outs {
		others := make([]candidate, 0, len(cands))
		for _, c := range cands {
			if c.peer != o.recv.peer {
				others = append(others, c)
			}
		}
		o.mu.Lock()
		o.choice = o.choice.next(others, now)
		target := byPeer[o.choice.current]
		switch {
		case target == nil:
			o.pending = nil
		case target == o.shown:
			o.pending = nil
		case o.pending != target || now.Sub(o.lastPLI) >= pliInterval:
			o.pending, o.lastPLI = target, now
			ask = append(ask, target)
		}
		o.mu.Unlock()
	}
	for _, p := range ask {
		p.call.RequestKeyFrame()
	}
}

// keyFrameFor passes a receiver's PLI on to the participant it is shown.
func (v *videoRouter) keyFrameFor(recv *participant) {
	v.mu.RLock()
	o := v.outs[recv]
	v.mu.RUnlock()
	if o == nil {
		return
	}
	o.mu.Lock()
	src := o.shown
	now := time.Now()
	if src == nil || now.Sub(o.lastPLI) < pliInterval/2 {
		o.mu.Unlock()
		return
	}
	o.lastPLI = now
	o.mu.Unlock()
	src.call.RequestKeyFrame()
}

// run revisits the choices every videoTick until ctx ends.
func (r *Room) runVideo(ctx context.Context) {
	defer r.wg.Done()
	t := time.NewTicker(videoTick)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-t.C:
			r.mu.Lock()
			parts := make([]*participant, 0, len(r.parts))
			for _, p := range r.parts {
				parts = append(parts, p)
			}
			r.mu.Unlock()
			r.video.choose(parts, now)
		}
	}
}

// forwardSource is the rtp.Source of the video a participant is shown.
type forwardSource struct {
	pushed
	track *webrtc.TrackLocalStaticRTP
	onKFR func()
}

var _ rtp.KeyFrameRequestHandler = (*forwardSource)(nil)

func newForwardSource(id string, onKFR func()) (*forwardSource, error) {
	t, err := webrtc.NewTrackLocalStaticRTP(rtp.CodecVP8, "video", "jingled-room-"+id)
	if err != nil {
		return nil, fmt.Errorf("conference: video track: %w", err)
	}
	return &forwardSource{pushed: newPushed(), track: t, onKFR: onKFR}, nil
}

func (s *forwardSource) Codec() webrtc.RTPCodecCapability { return rtp.CodecVP8 }
func (s *forwardSource) Kind() webrtc.RTPCodecType        { return webrtc.RTPCodecTypeVideo }
func (s *forwardSource) Track() webrtc.TrackLocal         { return s.track }
func (s *forwardSource) OnKeyFrameRequest()               { s.onKFR() }

// offersVP8 reports whether the caller offered a video content with VP8.
func offersVP8(c *rtp.Call) bool {
	s := c.Session()
	if s == nil {
		return false
	}
	for _, ct := range s.Contents() {
		if ct.Description == nil {
			continue
		}
		kind, codecs, err := rtp.PeerCodecs(&ct)
		if err == nil && kind == webrtc.RTPCodecTypeVideo && hasVP8(codecs) {
			return true
		}
	}
	return false
}

func hasVP8(codecs []webrtc.RTPCodecParameters) bool {
	for _, cp := range codecs {
		if strings.EqualFold(cp.MimeType, webrtc.MimeTypeVP8) {
			return true
		}
	}
	return false
}

// videoSink feeds a participant's received video to the router.
type videoSink struct {
	v *videoRouter
	p *participant
}

func (s videoSink) WriteRTP(p *pionrtp.Packet) error {
	s.v.packet(s.p, p)
	return nil
}

// NeedKeyFrame tells the call not to ask the sender for key frames on a
// timer (rtp's PLI loop for recordings): the room asks for one exactly
// when a receiver needs it (a switch, a receiver's PLI), and a real
// encoder answers each request with a large frame.
func (s videoSink) NeedKeyFrame() bool { return false }

// Close: the participant's video ended (it removed the content, or the
// call ended), so it is no longer shown to anyone from the next choice.
func (s videoSink) Close() error {
	s.p.lastVideo.Store(0)
	return nil
}
