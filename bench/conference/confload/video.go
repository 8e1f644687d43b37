package main

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
	"github.com/pion/webrtc/v4/pkg/media/ivfreader"

	"github.com/jingled/jingled/bench/conference/internal/loadwire"
	"github.com/jingled/jingled/rtp"
)

// Video of the -video runs: every participant sends the same pre-encoded
// VP8 clip (ffmpeg's testsrc2, 640x360, 25 fps, 300 kbit/s, a key frame
// each second), looped, packetized once at start. A frame is sent every
// second pacer tick (40 ms): participants of even index on even ticks,
// odd on odd, so the load spreads its bursts.
//
// Every packet carries an 8-byte trailer after the VP8 data: the sender's
// number and the packet's number in its stream. The focus forwards the
// payload as it is (it rewrites only the picture ID in the descriptor), so
// the receiver knows exactly which packet of which sender arrived, and
// when that packet was handed to pion: the added latency is measured per
// packet, with no guessing from rewritten timestamps. Nobody decodes the
// video in the benchmark, so the trailer (inside the last partition as a
// decoder would see it) does no harm.
const (
	videoFPS     = 25
	videoTicks   = 2 // pacer ticks (20 ms) per frame
	videoTSStep  = 90000 / videoFPS
	videoFrames  = 250 // 10 s clip
	videoChunk   = 1100
	videoDescLen = 4 // X, I, 15-bit picture ID
	trailerLen   = 8
	sendRingSize = 4096 // per sender: 80 s of packets at 50/s
	videoGrace   = time.Second
)

// clip is the pre-encoded video, packetized: frames[i] is the VP8 data
// chunks of frame i (without descriptor), key[i] whether it is a key frame.
type clip struct {
	frames [][][]byte
	key    []bool
	bytes  int
}

func encodeVideo(ctx context.Context) (*clip, error) {
	dir, err := os.MkdirTemp("", "confload-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "testsrc.ivf")
	// testsrc2 (moving, coloured) at 640x360 fills 300 kbit/s where the
	// plainer testsrc undershoots; the settings of a real-time encoder,
	// without alt-ref frames (invisible frames a WebRTC receiver would
	// not count).
	cmd := exec.CommandContext(ctx, "ffmpeg", "-v", "error", "-y",
		"-f", "lavfi", "-i", fmt.Sprintf("testsrc2=size=640x360:rate=%d", videoFPS),
		"-frames:v", strconv.Itoa(videoFrames), "-c:v", "libvpx",
		"-b:v", "300k", "-minrate", "300k", "-maxrate", "300k", "-g", strconv.Itoa(videoFPS),
		"-deadline", "realtime", "-cpu-used", "8", "-auto-alt-ref", "0", "-f", "ivf", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		return nil, fmt.Errorf("encoding the video with ffmpeg: %w: %s", err, out)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r, _, err := ivfreader.NewWith(f)
	if err != nil {
		return nil, err
	}
	c := &clip{}
	for {
		fr, _, err := r.ParseNextFrame()
		if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		var chunks [][]byte
		for len(fr) > 0 {
			n := min(len(fr), videoChunk)
			chunks = append(chunks, slices.Clone(fr[:n]))
			fr = fr[n:]
		}
		c.frames = append(c.frames, chunks)
		// VP8 frame tag: bit 0 of the first byte is 0 for a key frame.
		c.key = append(c.key, len(chunks) > 0 && chunks[0][0]&0x01 == 0)
		for _, ch := range chunks {
			c.bytes += len(ch)
		}
	}
	if len(c.frames) == 0 || !c.key[0] {
		return nil, errors.New("encoded video has no frames or does not start with a key frame")
	}
	return c, nil
}

// kbps is the clip's mean bitrate.
func (c *clip) kbps() float64 {
	return float64(c.bytes) * 8 / 1000 / (float64(len(c.frames)) / videoFPS)
}

// videoSource is a participant's camera. The pacer shard writes its
// frames; a key frame request (the focus's PLI when it switches a
// receiver to this participant) makes the next frame the clip's next key
// frame, as an encoder would send one.
type videoSource struct {
	id    uint32
	room  *room // the sender's room: a receiver in another gets none of it
	track *webrtc.TrackLocalStaticRTP
	clip  *clip
	phase int64 // tick parity it sends on

	// Owned by the shard's goroutine.
	seq   uint16
	ts    uint32
	pic   uint16
	pos   int
	pktNo uint32

	keyWanted atomic.Bool
	sent      uint64 // packets, read atomically
	// next is the number of the next packet (pktNo, readable outside the
	// shard); [winLo, winHi) the packet numbers sent in the window, once
	// winOn (winHi is the largest number until the window ends).
	next         atomic.Uint32
	winLo, winHi atomic.Uint32
	winOn        atomic.Bool
	// ring of send times by packet number (UnixNano), with the number it
	// holds, so a late lookup never takes another packet's time.
	ringNo [sendRingSize]atomic.Uint32
	ringAt [sendRingSize]atomic.Int64

	once sync.Once
	done chan struct{}
	sh   *shard
}

var _ rtp.KeyFrameRequestHandler = (*videoSource)(nil)

func newVideoSource(id int, rm *room, c *clip, sh *shard) (*videoSource, error) {
	t, err := webrtc.NewTrackLocalStaticRTP(rtp.CodecVP8, "video", "confload")
	if err != nil {
		return nil, err
	}
	return &videoSource{id: uint32(id), room: rm, track: t, clip: c, phase: int64(id % videoTicks), sh: sh,
		seq: uint16(rand.Uint32()), ts: rand.Uint32(), pic: uint16(rand.Uint32()), done: make(chan struct{})}, nil
}

func (s *videoSource) Codec() webrtc.RTPCodecCapability { return rtp.CodecVP8 }
func (s *videoSource) Kind() webrtc.RTPCodecType        { return webrtc.RTPCodecTypeVideo }
func (s *videoSource) Track() webrtc.TrackLocal         { return s.track }
func (s *videoSource) OnKeyFrameRequest()               { s.keyWanted.Store(true) }

func (s *videoSource) Run(ctx context.Context) error {
	s.sh.addVideo(s)
	defer s.sh.removeVideo(s)
	select {
	case <-ctx.Done():
	case <-s.done:
	}
	return nil
}

func (s *videoSource) Close() error {
	s.once.Do(func() { close(s.done) })
	return nil
}

// write sends the next frame, on pacer tick f when it is this source's.
func (s *videoSource) write(f int64) {
	if f%videoTicks != s.phase {
		return
	}
	if s.keyWanted.Swap(false) && !s.clip.key[s.pos] {
		for s.pos = (s.pos + 1) % len(s.clip.frames); !s.clip.key[s.pos]; s.pos = (s.pos + 1) % len(s.clip.frames) {
		}
	}
	chunks := s.clip.frames[s.pos]
	s.pos = (s.pos + 1) % len(s.clip.frames)
	for i, ch := range chunks {
		payload := make([]byte, videoDescLen+len(ch)+trailerLen)
		payload[0] = 0x80 // X
		if i == 0 {
			payload[0] |= 0x10 // S: start of partition 0
		}
		payload[1] = 0x80 // I: picture ID present
		payload[2] = 0x80 | byte(s.pic>>8&0x7f)
		payload[3] = byte(s.pic)
		copy(payload[videoDescLen:], ch)
		binary.BigEndian.PutUint32(payload[len(payload)-8:], s.id)
		binary.BigEndian.PutUint32(payload[len(payload)-4:], s.pktNo)
		p := &pionrtp.Packet{Header: pionrtp.Header{Version: 2, Marker: i == len(chunks)-1, SequenceNumber: s.seq, Timestamp: s.ts}, Payload: payload}
		k := s.pktNo % sendRingSize
		s.ringAt[k].Store(time.Now().UnixNano())
		s.ringNo[k].Store(s.pktNo)
		s.pktNo++
		s.next.Store(s.pktNo)
		if err := s.track.WriteRTP(p); err == nil {
			atomic.AddUint64(&s.sent, 1)
		}
		// A packet not written (track not bound yet) still used its
		// sequence number: the receiver sees it as lost, which it is.
		s.seq++
	}
	s.pic = (s.pic + 1) & 0x7fff
	s.ts += videoTSStep
}

// openWindow and closeWindow mark the packets sent in the window.
func (s *videoSource) openWindow() {
	s.winHi.Store(^uint32(0))
	s.winLo.Store(s.next.Load())
	s.winOn.Store(true)
}

func (s *videoSource) closeWindow() { s.winHi.Store(s.next.Load()) }

// inWindow reports whether packet no was sent in the window.
func (s *videoSource) inWindow(no uint32) bool {
	return s.winOn.Load() && no >= s.winLo.Load() && no < s.winHi.Load()
}

// sentAt is when packet no of this source was handed to pion.
func (s *videoSource) sentAt(no uint32) (time.Time, bool) {
	k := no % sendRingSize
	at := s.ringAt[k].Load()
	if s.ringNo[k].Load() != no || at == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, at), true
}

// videoSink counts the forwarded video of one content a participant
// receives and, while measuring, the latency of each packet from its
// sender: the active-speaker view, or (-all-video) one of the contents
// the room added, each meant to carry one other participant's video.
type videoSink struct {
	p *participant
	// fixed marks a content of the multi-stream mode: it carries one
	// sender for its whole life, so a change of sender is misrouting.
	fixed bool

	mu       sync.Mutex
	count    uint64
	firstSeq uint64 // the first sequence number received
	maxSeq   uint64 // extended
	started  bool
	shown    uint32 // sender of the last packet
	hasShown bool
	switches int
	self     int // packets of its own video (a focus bug if ever > 0)
	unknown  int // packets without a valid trailer
	lat      []float64
	gotKey   bool
	// inWin counts, by sender, the packets received that were sent in
	// the window, whenever they arrive.
	inWin map[uint32]uint64
}

func (s *videoSink) WriteRTP(pk *pionrtp.Packet) error {
	now := time.Now()
	l := s.p.load
	measuring := l.measuring.Load()
	var sender uint32
	var no uint32
	valid := len(pk.Payload) >= videoDescLen+trailerLen
	if valid {
		b := pk.Payload[len(pk.Payload)-trailerLen:]
		sender, no = binary.BigEndian.Uint32(b), binary.BigEndian.Uint32(b[4:])
		valid = int(sender) < len(l.vsrc)
	}
	var src *videoSource
	if valid {
		src = l.vsrc[sender].Load()
	}
	inWin := src != nil && src.inWindow(no)
	var d float64
	timed := false
	if src != nil && measuring {
		if at, ok := src.sentAt(no); ok {
			d, timed = float64(now.Sub(at).Microseconds())/1000, true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	ext := uint64(pk.SequenceNumber)
	if !s.started {
		s.started = true
		s.maxSeq, s.firstSeq = ext, ext
	} else {
		cur := s.maxSeq
		dd := int64(int16(uint16(ext) - uint16(cur)))
		if n := int64(cur) + dd; n > int64(cur) {
			s.maxSeq = uint64(n)
		}
	}
	s.count++
	// Our descriptor is 4 bytes (X, I, 15-bit picture ID): S set, PID 0
	// and the VP8 frame tag's P bit clear start a key frame.
	if p := pk.Payload; !s.gotKey && len(p) > videoDescLen && p[0]&0x17 == 0x10 && p[videoDescLen]&0x01 == 0 {
		s.gotKey = true
	}
	switch {
	case src == nil:
		s.unknown++
	case src == s.p.video:
		s.self++
	default:
		if s.hasShown && sender != s.shown {
			s.switches++
		}
		s.shown, s.hasShown = sender, true
		if inWin {
			if s.inWin == nil {
				s.inWin = map[uint32]uint64{}
			}
			s.inWin[sender]++
		}
		if timed {
			s.lat = append(s.lat, d)
		}
	}
	return nil
}

func (s *videoSink) Close() error { return nil }

// NeedKeyFrame tells the call's PLI loop whether to keep asking for a key
// frame (every 2 s): only until the first one came, as a browser's
// receiver asks only when it cannot decode.
func (s *videoSink) NeedKeyFrame() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return !s.gotKey
}

type videoCounts struct {
	count, maxSeq           uint64
	switches, self, unknown int
	shown                   uint32
	hasShown                bool
}

func (s *videoSink) snapshot() videoCounts {
	s.mu.Lock()
	defer s.mu.Unlock()
	return videoCounts{count: s.count, maxSeq: s.maxSeq, switches: s.switches, self: s.self, unknown: s.unknown, shown: s.shown, hasShown: s.hasShown}
}

// before is what the sink held at the window's start, c0's entry when it
// had one; a sink whose first packet came later starts from nothing (its
// span from the sequence number before its first packet).
func (s *videoSink) before(c0 map[*videoSink]videoCounts) videoCounts {
	if a, ok := c0[s]; ok {
		return a
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return videoCounts{maxSeq: s.firstSeq - 1}
}

// inWindow is how many packets of sender sent in the window arrived.
func (s *videoSink) inWindow(sender uint32) uint64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.inWin[sender]
}

func (s *videoSink) takeLatency() []float64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lat
	s.lat = nil
	return l
}

// videoCounts snapshots every video sink of every participant.
func (l *load) videoCounts() map[*videoSink]videoCounts {
	l.mu.Lock()
	parts := slices.Clone(l.parts)
	l.mu.Unlock()
	out := map[*videoSink]videoCounts{}
	for _, p := range parts {
		for _, s := range p.videoSinks() {
			out[s] = s.snapshot()
		}
	}
	return out
}

// videoResult fills res.Video from the counts at the window's ends:
// every camera's packets sent (sent0, sent1) and every sink's (c0, c1),
// and, after the grace time, the packets sent in the window that arrived.
// A stream is one (receiver, content) pair that got packets in the
// window.
func (l *load) videoResult(res *loadwire.Result, sent0, sent1 []uint64, c0, c1 map[*videoSink]videoCounts) {
	v := &loadwire.VideoResult{ClipKbps: l.clip.kbps()}
	var lat []float64
	for _, p := range l.parts {
		if p.call == nil || p.vsink == nil {
			continue
		}
		if p.video != nil {
			v.Sent += sent1[p.video.id] - sent0[p.video.id]
		}
		for _, s := range p.videoSinks() {
			lat = append(lat, s.takeLatency()...)
			a, b := s.before(c0), c1[s]
			got := b.count - a.count
			if got == 0 {
				continue
			}
			v.Streams++
			if s.fixed {
				v.Extra++
			}
			v.Received += got
			span := b.maxSeq - a.maxSeq
			v.ExpectedSeq += span
			if span > 0 {
				if loss := 1 - float64(got)/float64(span); loss > v.WorstLoss {
					v.WorstLoss = loss
				}
			}
			if b.hasShown {
				if src := l.vsrc[b.shown].Load(); src != nil && src.winOn.Load() {
					v.ExpectedSent += uint64(src.winHi.Load() - src.winLo.Load())
					v.ReceivedSent += s.inWindow(b.shown)
				}
			}
			if !s.fixed {
				v.Switches += b.switches - a.switches
			}
			v.Self += b.self - a.self
			v.Unknown += b.unknown - a.unknown
		}
	}
	if l.opts.allVideo {
		l.checkRouting(v, c0, c1)
	}
	if len(lat) > 0 {
		slices.Sort(lat)
		q := func(p int) float64 { return lat[max((len(lat)*p+99)/100, 1)-1] }
		v.Timed, v.LatencyP50, v.LatencyP95, v.LatencyP99, v.LatencyMax = len(lat), q(50), q(95), q(99), lat[len(lat)-1]
	}
	res.Video = v
}

// videoSent is every camera's count of packets sent, by number.
func (l *load) videoSent() []uint64 {
	out := make([]uint64, len(l.vsrc))
	for i := range l.vsrc {
		if s := l.vsrc[i].Load(); s != nil {
			out[i] = atomic.LoadUint64(&s.sent)
		}
	}
	return out
}
