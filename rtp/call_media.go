// A call's media: sources started once their PeerConnection connects, remote
// tracks read into sinks and echo tracks, key frame requests (PLI) both
// ways, and the first-RTP event.

package rtp

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jingled/jingled/jingle"
	"github.com/pion/rtcp"
	pionrtp "github.com/pion/rtp"
	"github.com/pion/webrtc/v4"
)

// startSources starts the sources whose track is on p.
func (c *Call) startSources(p *peer) {
	for _, t := range p.pc.GetTransceivers() {
		s := t.Sender()
		if s == nil || s.Track() == nil || c.started[s] {
			continue
		}
		if _, held := s.Track().(silentTrack); held {
			// A content-add held across a restart: its source starts
			// with its own track, once accepted (acceptReadd).
			continue
		}
		c.started[s] = true
		for _, src := range c.sources {
			if src.Track() != s.Track() {
				continue
			}
			c.workers.Add(1)
			go func() {
				defer c.workers.Done()
				if err := src.Run(c.ctx); err != nil {
					c.q.post(func() { c.fail(jingle.ReasonMediaError, err) })
				}
			}()
		}
		// Read RTCP so the interceptors (reports, NACK) run.
		echo := c.media.Echo
		var kfr KeyFrameRequestHandler
		for _, src := range c.sources {
			if h, ok := src.(KeyFrameRequestHandler); ok && src.Track() == s.Track() {
				kfr = h
			}
		}
		// An echo looks at its sender's RTCP for the peer's key-frame
		// requests, which only video has.
		forwards := echo && s.Track().Kind() == webrtc.RTPCodecTypeVideo
		c.workers.Add(1)
		go func() {
			defer c.workers.Done()
			if !forwards && kfr == nil {
				// Nobody looks at the packets (an audio track, an
				// audio echo, a conference's mix): drain into one
				// buffer instead of ReadRTCP's fresh buffer and parse
				// per packet.
				buf := make([]byte, readMTU)
				for {
					if _, _, err := s.Read(buf); err != nil {
						return
					}
				}
			}
			for {
				pkts, _, err := s.ReadRTCP()
				if err != nil {
					return
				}
				if forwards {
					c.forwardPLI(p, s, pkts)
				}
				if kfr != nil && wantsKeyFrame(pkts) {
					kfr.OnKeyFrameRequest()
				}
			}
		}()
	}
}

// forwardPLI asks the original sender for a key frame when the peer asks
// our echo track for one.
func (c *Call) forwardPLI(p *peer, s *webrtc.RTPSender, pkts []rtcp.Packet) {
	for _, pk := range pkts {
		switch pk.(type) {
		case *rtcp.PictureLossIndication, *rtcp.FullIntraRequest:
			for _, t := range p.pc.GetTransceivers() {
				if t.Sender() == s && t.Receiver() != nil {
					for _, tr := range t.Receiver().Tracks() {
						_ = p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(tr.SSRC())}})
					}
				}
			}
		}
	}
}

// onTrack starts reading a remote track into its sink and/or echo track.
func (c *Call) onTrack(p *peer, t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
	content := ""
	for _, tr := range p.pc.GetTransceivers() {
		if tr.Receiver() == r {
			content = tr.Mid()
		}
	}
	if content == "" && len(p.contents) == 1 {
		// An undeclared SSRC gets a transceiver of its own, without mid.
		content = p.contents[0]
	}
	codec := t.Codec()
	c.log.Debug("rtp: remote track", "content", content, "codec", codec.MimeType)
	factory := c.media.Sinks
	if factory == nil && c.media.Record != "" {
		factory = Recorder(c.media.Record)
		c.media.Sinks = factory
	}
	sink, err := c.acquireSink(content, func() (Sink, error) {
		if factory == nil {
			return nil, nil
		}
		return factory(content, codec)
	})
	if err != nil {
		c.fail(jingle.ReasonMediaError, err)
		return
	}
	if hs, ok := sink.(HeaderExtensionSink); ok {
		hs.SetHeaderExtensions(r.GetParameters().HeaderExtensions)
	}
	echo := p.echo[content]
	paused := p.echoPaused[content]
	if echo != nil && paused == nil {
		paused = &atomic.Bool{}
		paused.Store(!c.sendState.sending(content))
		p.echoPaused[content] = paused
	}
	video := t.Kind() == webrtc.RTPCodecTypeVideo
	echoSend, echoStop := c.echoSender(echo, c.media.EchoDelay)
	// When nothing keeps a packet after deliver returns, the direct
	// receive may reuse its memory (direct.go). The echo never keeps it:
	// at once it is written through before echoSend returns (pion's
	// track, the interceptors and the direct send copy what they keep),
	// and a delayed echo queues a clone. So only a sink that keeps it
	// decides.
	_, copying := sink.(CopyingSink)
	reuse := sink == nil || copying
	c.workers.Add(1)
	go func() {
		defer c.workers.Done()
		defer echoStop()
		if sink != nil {
			// Once the loop has stopped, afterEnd closes the sink.
			defer c.q.post(func() { c.releaseSink(content) })
		}
		var stopPLI func() bool
		if video {
			// Ask for a key frame at once and then every 2 s until the
			// recording has one: a receiver that missed the first key
			// frame would otherwise wait for the sender's next one.
			stopPLI = c.pliLoop(p, t, sink)
			defer stopPLI()
		}
		// deliver hands one packet to the sink and the echo. The track's
		// reader below calls it, and, once the stream is armed for
		// direct receive, the socket's read goroutine (direct.go); mu
		// keeps them one at a time, stopped ends both.
		var (
			mu      sync.Mutex
			first   = true
			stopped bool
		)
		deliver := func(pkt *pionrtp.Packet) {
			mu.Lock()
			defer mu.Unlock()
			if stopped {
				return
			}
			if first {
				first = false
				c.q.post(func() { c.onFirstRTP(content) })
			}
			if sink != nil {
				if err := sink.WriteRTP(pkt); err != nil {
					stopped = true
					c.q.post(func() { c.fail(jingle.ReasonMediaError, fmt.Errorf("recording %s: %w", content, err)) })
					return
				}
			}
			if echo != nil && !paused.Load() {
				if err := echoSend(pkt); err != nil && !errors.Is(err, errClosedPipe) {
					c.log.Debug("rtp: echo write", "err", err)
				}
			}
		}
		direct := p.stats.direct
		if video {
			direct = nil // video keeps pion's NACK and PLI handling
		}
		armed := false
		var rerouted time.Time
		defer func() {
			if armed {
				direct.disarm(uint32(t.SSRC()))
			}
			mu.Lock()
			stopped = true
			mu.Unlock()
		}()
		buf := make([]byte, readMTU)
		for {
			pkt, err := readPacket(t, buf)
			if errors.Is(err, errBadPacket) {
				continue
			}
			if err != nil {
				return
			}
			deliver(pkt)
			mu.Lock()
			done := stopped
			mu.Unlock()
			if done {
				return
			}
			switch {
			case direct != nil && !armed:
				// The first packet went the normal way: pion has bound
				// the stream and the sink has it. The rest go direct.
				armed = true
				if err := c.armDirect(p, r, t, pkt.SequenceNumber, content, deliver, reuse); err != nil {
					armed = false
					direct = nil
					c.log.Debug("rtp: direct receive unavailable, staying on pion's path", "content", content, "err", err)
				}
			case armed && time.Since(rerouted) > time.Second:
				// Armed, yet pion delivered: on a shared UDP port
				// the selected pair may have moved to a new address
				// (a relayed pair never goes direct; then this is
				// cheap and changes nothing).
				rerouted = time.Now()
				direct.route(r.Transport())
			}
		}
	}()
}

// armTx gives p's direct send (direct_send.go) the session's keys once
// DTLS is up; without them audio stays on pion's write path.
func (c *Call) armTx(p *peer) {
	tx := p.stats.directTx
	if tx == nil {
		return
	}
	err := func() error {
		weClient, err := weAreDTLSClient(p.pc)
		if err != nil {
			return err
		}
		return tx.arm(p.pc.SCTP().Transport(), weClient)
	}()
	if err != nil {
		c.log.Debug("rtp: direct send unavailable, staying on pion's path", "contents", p.contents, "err", err)
	}
}

// armDirect makes t's packets take p's direct receive path (direct.go).
func (c *Call) armDirect(p *peer, r *webrtc.RTPReceiver, t *webrtc.TrackRemote, seq uint16, content string, deliver func(*pionrtp.Packet), reuse bool) error {
	weClient, err := weAreDTLSClient(p.pc)
	if err != nil {
		return err
	}
	return p.stats.direct.arm(r.Transport(), weClient, uint32(t.SSRC()), seq, content, deliver, reuse)
}

func (c *Call) pliLoop(p *peer, t *webrtc.TrackRemote, sink Sink) func() bool {
	need := func() bool {
		k, ok := sink.(interface{ NeedKeyFrame() bool })
		return !ok || k.NeedKeyFrame()
	}
	ctx, cancel := context.WithCancel(c.ctx)
	c.workers.Add(1)
	go func() {
		defer c.workers.Done()
		tick := time.NewTicker(2 * time.Second)
		defer tick.Stop()
		for {
			if sink == nil || need() {
				_ = p.pc.WriteRTCP([]rtcp.Packet{&rtcp.PictureLossIndication{MediaSSRC: uint32(t.SSRC())}})
			}
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
		}
	}()
	return func() bool { cancel(); return true }
}

func (c *Call) onFirstRTP(content string) {
	if c.mediaSeen[content] {
		return
	}
	c.mediaSeen[content] = true
	c.mu.Lock()
	if c.firstRTP.IsZero() {
		c.firstRTP = time.Now()
	}
	c.mu.Unlock()
	c.emit(Event{Type: EventMedia, Content: content})
}

// openSources opens the media files/sources of m.
func (c *Call) openSources() (audio, video Source, err error) {
	audio, video = c.media.AudioSource, c.media.VideoSource
	if audio == nil && c.media.Audio != "" {
		if audio, err = OpenFile(c.media.Audio, "audio", 0); err != nil {
			return nil, nil, err
		}
	}
	if video == nil && c.media.Video != "" {
		if video, err = OpenFile(c.media.Video, "video", 0); err != nil {
			if audio != nil && c.media.AudioSource == nil {
				audio.Close()
			}
			return nil, nil, err
		}
	}
	for _, s := range []Source{audio, video} {
		if s != nil {
			c.sources = append(c.sources, s)
		}
	}
	for _, s := range []Source{audio, video} {
		if err := preferSource(s, c.media.Codecs); err != nil {
			return nil, nil, err
		}
	}
	return audio, video, nil
}
