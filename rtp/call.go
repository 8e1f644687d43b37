package rtp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/rtcp"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// MediaOptions say what a call sends and what it does with what it
// receives. Both sides of a call use them (Dial for the caller, the
// Application's auto-answer or Call.Answer for the callee).
type MediaOptions struct {
	// Audio and Video are files to send (.ogg; .ivf or .h264), opened
	// with OpenFile. AudioSource and VideoSource take precedence (RTP
	// over UDP from ffmpeg, for instance); the call closes them.
	Audio, Video             string
	AudioSource, VideoSource Source
	// Record is a file prefix: received audio goes to PREFIX.ogg, video
	// to PREFIX.ivf (see Recorder). Sinks replaces it when set.
	Record string
	Sinks  SinkFactory
	// Echo sends received audio and video back to the peer.
	Echo bool
	// EchoDelay holds the echo back this long (at most MaxEchoDelay), so
	// the caller's echo canceller does not remove it; 0 echoes at once.
	EchoDelay time.Duration
	// Duration hangs up with <success/> this long after the call
	// connected (media can flow); 0 means until Hangup or the peer ends
	// it.
	Duration time.Duration
	// AddedSource, when set, is asked what to send on a content the peer
	// adds during the call (content-add, e.g. a participant turning its
	// camera on): codecs are the peer's offered codecs we support; nil
	// means receive only. A conference forwards video that way.
	AddedSource func(content string, kind webrtc.RTPCodecType, codecs []webrtc.RTPCodecParameters) Source
}

// EventType names what happened to a call.
type EventType string

// Call events, in the order they usually come.
const (
	// EventRinging: the peer's client alerts its user (XEP-0167 <ringing/>).
	EventRinging EventType = "ringing"
	// EventAccepted: session-accept was sent or received.
	EventAccepted EventType = "accepted"
	// EventConnected: ICE and DTLS are up on every transport.
	EventConnected EventType = "ice-connected"
	// EventMedia: the first RTP packet arrived (Content says where).
	EventMedia EventType = "media"
	// EventHold, EventUnhold, EventMute, EventUnmute, EventActive: the
	// peer's session-info (XEP-0167 §7).
	EventHold   EventType = "hold"
	EventUnhold EventType = "unhold"
	EventMute   EventType = "mute"
	EventUnmute EventType = "unmute"
	EventActive EventType = "active"
	// EventRestart: an ICE restart completed (our offer was answered,
	// or we answered the peer's).
	EventRestart EventType = "ice-restart"
	// EventEnded: the session is over; Reason says why.
	EventEnded EventType = "ended"
)

// Event is one thing that happened to a call, JSON-ready for the CLI.
type Event struct {
	Type    EventType `json:"type"`
	Time    time.Time `json:"time"`
	Content string    `json:"content,omitempty"`
	// Reason is the session-terminate condition (EventEnded only).
	Reason string `json:"reason,omitempty"`
	Text   string `json:"text,omitempty"`
}

// Call is one XEP-0167 RTP session driving pion PeerConnections: one for
// the whole session when the peer bundles (XEP-0338), one per content
// when it does not (Dino). All its state is owned by one goroutine, fed
// by the Jingle session's handler calls and by pion's callbacks, so
// nothing blocks the session loop and no callback races another.
type Call struct {
	app       *Application
	peerOpts  *PeerOptions
	log       *slog.Logger
	initiator bool
	bundle    bool
	peerJID   string

	media MediaOptions

	q       taskQueue
	trickle taskQueue
	// remoteCandidates counts the peer's candidates (maxRemoteCandidates).
	remoteCandidates atomic.Int64
	ctx              context.Context
	cancel           context.CancelFunc
	// workers are the media goroutines (sources, track readers).
	workers sync.WaitGroup
	loopEnd chan struct{}
	done    chan struct{}
	events  chan Event

	mu       sync.Mutex
	sess     *jingle.Session
	reason   *jingle.Reason
	stats    Stats
	firstRTP time.Time

	// Loop-owned state.
	peers     []*peer
	byContent map[string]*peer
	remote    map[string]jingle.Content // the peer's view of each content
	ours      map[string]bool           // contents we created (content-add)
	early     map[string][]webrtc.ICECandidateInit
	offer     *jingle.Jingle // incoming session-initiate
	accepted  bool
	ended     bool
	sources   []Source
	cert      *webrtc.Certificate
	started   map[*webrtc.RTPSender]bool
	mediaSeen map[string]bool
	connected int
	timer     *time.Timer
	// sendState: why we do not send on a content (hold, mute).
	sendState sendState
}

// peer is one PeerConnection and the contents it carries.
type peer struct {
	pc       *webrtc.PeerConnection
	stats    *statsHolder
	contents []string
	// remoteSet: the remote description is applied; until then trickled
	// candidates wait in pending.
	remoteSet bool
	pending   []webrtc.ICECandidateInit
	// Local ICE credentials and generation, for transport-info.
	ufrag, pwd string
	fps        []ice.Fingerprint
	generation uint32
	// remoteUfrag detects a peer's ICE restart; pastUfrags are the
	// generations before, whose late candidates are dropped.
	remoteUfrag string
	pastUfrags  map[string]bool
	iceDone     bool
	connected   bool
	// watch keeps stats snapshots while ICE checks, for the diagnostics
	// of a failure.
	watch      *iceWatch
	echo       map[string]*webrtc.TrackLocalStaticRTP // content -> echo track
	echoPaused map[string]*atomic.Bool
	// restarting: we sent an ICE restart offer and wait for the answer;
	// answering: we answer the peer's restart once gathering is done.
	restarting bool
	answering  *restartAnswer
	remoteSDP  string
}

func newCall(app *Application, initiator bool, peerJID string, m MediaOptions) *Call {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Call{
		app: app, peerOpts: &app.opts.Peer, initiator: initiator, peerJID: peerJID, media: m,
		ctx: ctx, cancel: cancel,
		loopEnd: make(chan struct{}), done: make(chan struct{}), events: make(chan Event, 64),
		byContent: map[string]*peer{}, remote: map[string]jingle.Content{}, mediaSeen: map[string]bool{},
		started: map[*webrtc.RTPSender]bool{}, ours: map[string]bool{},
		early: map[string][]webrtc.ICECandidateInit{},
	}
	c.log = app.log.With("peer", peerJID)
	c.q.init()
	c.trickle.init()
	return c
}

// Events returns the call's events. The channel is buffered; events that
// find it full are dropped (logged), except that Done and Reason always
// tell how the call ended. It is closed after EventEnded.
func (c *Call) Events() <-chan Event { return c.events }

// Done is closed when the call has ended and released everything
// (recordings are complete and closed).
func (c *Call) Done() <-chan struct{} { return c.done }

// Reason is why the call ended (nil before Done).
func (c *Call) Reason() *jingle.Reason {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.reason
}

// Stats returns the call's statistics: live while it runs, final after
// Done.
func (c *Call) Stats() Stats {
	select {
	case <-c.loopEnd:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.stats
	default:
	}
	ch := make(chan Stats, 1)
	if !c.q.post(func() { ch <- c.collectStats() }) {
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.stats
	}
	select {
	case s := <-ch:
		return s
	case <-c.loopEnd:
		c.mu.Lock()
		defer c.mu.Unlock()
		return c.stats
	}
}

// Session returns the Jingle session (nil until it exists).
func (c *Call) Session() *jingle.Session {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.sess
}

// Peer is the other party's full JID.
func (c *Call) Peer() string { return c.peerJID }

// Initiator reports whether we placed the call.
func (c *Call) Initiator() bool { return c.initiator }

// FirstMedia is when the first RTP packet arrived (zero if none yet).
func (c *Call) FirstMedia() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.firstRTP
}

// Hangup ends the call: <success/> once accepted, <cancel/> before (a
// caller giving up), <decline/> for an incoming call not yet answered.
// It waits until the call released everything or ctx is done.
func (c *Call) Hangup(ctx context.Context) error {
	return c.End(ctx, nil)
}

// End ends the call with reason r (nil picks as Hangup does).
func (c *Call) End(ctx context.Context, r *jingle.Reason) error {
	c.q.post(func() {
		if r == nil {
			switch {
			case c.accepted:
				r = jingle.NewReason(jingle.ReasonSuccess, "")
			case c.initiator:
				r = jingle.NewReason(jingle.ReasonCancel, "")
			default:
				r = jingle.NewReason(jingle.ReasonDecline, "")
			}
		}
		c.finish(r, true)
	})
	select {
	case <-c.done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("rtp: hanging up: %w", ctx.Err())
	}
}

// Wait blocks until the call ended and returns its reason.
func (c *Call) Wait(ctx context.Context) (*jingle.Reason, error) {
	select {
	case <-c.done:
		return c.Reason(), nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

// Info sends a session-info with an XEP-0167 informational payload
// (active, hold, unhold, mute, unmute, ringing). content names the
// content for mute/unmute ("" = all).
func (c *Call) Info(ctx context.Context, what EventType, content string) error {
	e, err := infoElement(what, content, c.initiator)
	if err != nil {
		return err
	}
	s := c.Session()
	if s == nil {
		return fmt.Errorf("rtp: session-info before the session exists: %w", ErrCallState)
	}
	if err := s.Info(ctx, e); err != nil {
		return fmt.Errorf("rtp: session-info %s: %w", what, err)
	}
	c.q.post(func() {
		c.sendState.info(what, content, true)
		c.applySending()
	})
	return nil
}

// RestartICE starts an ICE restart (XEP-0176 §2.4): new local ICE
// credentials, sent in a transport-info with a higher generation and no
// candidates, which the peer takes as the offer; its transport-info with
// its new credentials (and candidates) is the answer, after which
// EventRestart is emitted. The DTLS association is kept. It fails with
// ErrCallState while another renegotiation is in flight.
func (c *Call) RestartICE(ctx context.Context) error {
	errc := make(chan error, 1)
	if !c.q.post(func() { errc <- c.restartICE() }) {
		return fmt.Errorf("rtp: ICE restart: %w", ErrCallState)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// emit sends an event without ever blocking the loop.
func (c *Call) emit(e Event) {
	if e.Time.IsZero() {
		e.Time = time.Now()
	}
	select {
	case c.events <- e:
	default:
		c.log.Warn("rtp: call event dropped, nobody reads Events", "event", e.Type)
	}
}

// run is the call's loop.
func (c *Call) run() {
	c.workers.Add(1)
	go c.trickleLoop()
	defer close(c.done)
	defer func() {
		close(c.loopEnd)
		c.q.close()
	}()
	for {
		select {
		case <-c.q.signal:
			for _, f := range c.q.take() {
				f()
				if c.ended {
					c.afterEnd()
					return
				}
			}
		case <-c.ctx.Done():
			c.finish(jingle.NewReason(jingle.ReasonGone, "call context ended"), true)
			c.afterEnd()
			return
		}
	}
}

// finish ends the call once: session-terminate (when asked and the
// session still exists), final stats, PeerConnections and media closed.
func (c *Call) finish(r *jingle.Reason, terminate bool) {
	if c.ended {
		return
	}
	c.ended = true
	if c.timer != nil {
		c.timer.Stop()
	}
	s := c.Session()
	if terminate && s != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := s.Terminate(ctx, r); err != nil && !errors.Is(err, jingle.ErrSessionEnded) {
			c.log.Debug("rtp: session-terminate", "err", err)
		}
		cancel()
	}
	st := c.collectStats()
	c.mu.Lock()
	c.reason = r
	c.stats = st
	c.mu.Unlock()
	c.log.Info("rtp: call ended", "reason", r.String(), "stats", st.String())
}

// afterEnd releases media after the loop stopped taking tasks.
func (c *Call) afterEnd() {
	c.cancel()
	for _, src := range c.sources {
		_ = src.Close()
	}
	for _, p := range c.peers {
		if err := p.pc.Close(); err != nil {
			c.log.Debug("rtp: closing PeerConnection", "err", err)
		}
	}
	c.workers.Wait()
	r := c.Reason()
	e := Event{Type: EventEnded}
	if r != nil {
		e.Reason, e.Text = string(r.Condition), r.Text
	}
	c.emit(e)
	close(c.events)
	c.app.forget(c)
}

// fail ends the call with condition cond after an internal error.
func (c *Call) fail(cond jingle.ReasonCondition, err error) {
	c.log.Warn("rtp: call failed", "reason", cond, "err", err)
	c.finish(jingle.NewReason(cond, err.Error()), true)
}

func (c *Call) collectStats() Stats {
	var streams []StreamStats
	for _, p := range c.peers {
		streams = append(streams, peerStats(p.pc, p.stats, p.contents)...)
	}
	return total(streams)
}

// newPeer creates a PeerConnection for contents with our callbacks.
func (c *Call) newPeer(contents []string) (*peer, error) {
	return c.newPeerCreds(contents, "", "")
}

// newPeerCreds is newPeer with fixed local ICE credentials. Every
// PeerConnection of a call uses the call's one DTLS certificate, so the
// fingerprint the peer got stays valid whichever PeerConnection a content
// ends up on.
func (c *Call) newPeerCreds(contents []string, ufrag, pwd string) (*peer, error) {
	if c.cert == nil {
		cert, err := newCertificate()
		if err != nil {
			return nil, err
		}
		c.cert = cert
	}
	api, holder, err := newAPI(c.peerOpts, c.log, ufrag, pwd)
	if err != nil {
		return nil, err
	}
	cfg := c.peerOpts.configuration()
	cfg.Certificates = []webrtc.Certificate{*c.cert}
	pc, err := api.NewPeerConnection(cfg)
	if err != nil {
		return nil, fmt.Errorf("rtp: new PeerConnection: %w", err)
	}
	p := &peer{pc: pc, stats: holder, contents: contents, echo: map[string]*webrtc.TrackLocalStaticRTP{}, pastUfrags: map[string]bool{},
		echoPaused: map[string]*atomic.Bool{}}
	c.peers = append(c.peers, p)
	for _, n := range contents {
		c.byContent[n] = p
	}
	p.watch = c.watchICE(p)
	pc.OnICECandidate(func(ic *webrtc.ICECandidate) {
		c.q.post(func() { c.sendCandidate(p, ic) })
	})
	pc.OnICEConnectionStateChange(func(st webrtc.ICEConnectionState) {
		c.q.post(func() { c.iceState(p, st) })
	})
	pc.OnConnectionStateChange(func(st webrtc.PeerConnectionState) {
		c.q.post(func() { c.pcState(p, st) })
	})
	pc.OnTrack(func(t *webrtc.TrackRemote, r *webrtc.RTPReceiver) {
		c.q.post(func() { c.onTrack(p, t, r) })
	})
	return p, nil
}

// iceState ends the call with connectivity-error when ICE fails.
func (c *Call) iceState(p *peer, st webrtc.ICEConnectionState) {
	c.log.Debug("rtp: ICE state", "contents", p.contents, "state", st)
	if !c.current(p) {
		return
	}
	if st == webrtc.ICEConnectionStateFailed {
		// The reason text names the likely cause (firewall, TURN
		// unreachable or refusing), from the last stats before pion
		// dropped its candidates (see diagnostics.go).
		c.fail(jingle.ReasonConnectivityError, c.iceFailure(p, p.watch))
	}
	if st == webrtc.ICEConnectionStateConnected || st == webrtc.ICEConnectionStateCompleted {
		p.iceDone = true
	}
}

// pcState tracks DTLS on top of ICE: a PeerConnection that fails while
// ICE worked failed its DTLS handshake (wrong fingerprint, bad role):
// security-error.
func (c *Call) pcState(p *peer, st webrtc.PeerConnectionState) {
	c.log.Debug("rtp: PeerConnection state", "contents", p.contents, "state", st)
	if !c.current(p) {
		return
	}
	switch st {
	case webrtc.PeerConnectionStateConnected:
		if p.connected {
			return
		}
		p.connected = true
		c.connected++
		if c.connected == len(c.peers) {
			c.emit(Event{Type: EventConnected})
		}
		c.startTimer()
		c.startSources(p)
	case webrtc.PeerConnectionStateFailed:
		if p.iceDone && p.pc.ICEConnectionState() != webrtc.ICEConnectionStateFailed {
			c.fail(jingle.ReasonSecurityError, fmt.Errorf("DTLS failed for %s", strings.Join(p.contents, ",")))
			return
		}
		c.fail(jingle.ReasonConnectivityError, fmt.Errorf("connection failed for %s", strings.Join(p.contents, ",")))
	}
}

// startSources starts the sources whose track is on p.
func (c *Call) startSources(p *peer) {
	for _, t := range p.pc.GetTransceivers() {
		s := t.Sender()
		if s == nil || s.Track() == nil || c.started[s] {
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
		c.workers.Add(1)
		go func() {
			defer c.workers.Done()
			for {
				pkts, _, err := s.ReadRTCP()
				if err != nil {
					return
				}
				if echo {
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
	var sink Sink
	factory := c.media.Sinks
	if factory == nil && c.media.Record != "" {
		factory = Recorder(c.media.Record)
		c.media.Sinks = factory
	}
	if factory != nil {
		s, err := factory(content, codec)
		if err != nil {
			c.fail(jingle.ReasonMediaError, err)
			return
		}
		sink = s
		if hs, ok := s.(HeaderExtensionSink); ok {
			hs.SetHeaderExtensions(r.GetParameters().HeaderExtensions)
		}
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
	c.workers.Add(1)
	go func() {
		defer c.workers.Done()
		defer echoStop()
		defer func() {
			if sink != nil {
				if err := sink.Close(); err != nil {
					c.log.Warn("rtp: closing recording", "err", err)
				}
			}
		}()
		var stopPLI func() bool
		if video {
			// Ask for a key frame at once and then every 2 s until the
			// recording has one: a receiver that missed the first key
			// frame would otherwise wait for the sender's next one.
			stopPLI = c.pliLoop(p, t, sink)
			defer stopPLI()
		}
		first := true
		buf := make([]byte, readMTU)
		for {
			pkt, err := readPacket(t, buf)
			if errors.Is(err, errBadPacket) {
				continue
			}
			if err != nil {
				return
			}
			if first {
				first = false
				c.q.post(func() { c.onFirstRTP(content) })
			}
			if sink != nil {
				if err := sink.WriteRTP(pkt); err != nil {
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
	}()
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

// sendCandidate trickles one local candidate (nil: gathering is over) in
// a transport-info (XEP-0176 §2.3). With BUNDLE the candidates belong to
// the first content, the bundle's transport.
func (c *Call) sendCandidate(p *peer, ic *webrtc.ICECandidate) {
	s := c.Session()
	if s == nil || c.ended || p.ufrag == "" || !c.current(p) {
		// Not possible by construction (the session exists before the loop
		// runs candidate tasks) except after the end.
		return
	}
	if p.answering != nil {
		if ic == nil {
			c.sendRestartAnswer(p)
			return
		}
		if cand, err := ice.FromICECandidate(*ic); err == nil {
			cand.Generation = p.generation
			p.answering.candidates = append(p.answering.candidates, cand)
		}
		return
	}
	t := ice.Transport{Ufrag: p.ufrag, Pwd: p.pwd}
	if ic == nil {
		t.GatheringComplete = true
	} else {
		cand, err := ice.FromICECandidate(*ic)
		if err != nil {
			c.log.Debug("rtp: not sending candidate", "candidate", ic.String(), "err", err)
			return
		}
		cand.Generation = p.generation
		t.Candidates = []ice.Candidate{cand}
	}
	el, err := t.Element()
	if err != nil {
		c.log.Warn("rtp: encoding candidate", "err", err)
		return
	}
	name := p.contents[0]
	j := &jingle.Jingle{Action: jingle.ActionTransportInfo, Contents: []jingle.Content{{
		Creator: c.creatorOf(name), Name: name, Transport: &el,
	}}}
	// Sent in order by the trickle goroutine, so a peer (or server)
	// slow to acknowledge does not hold up the call's loop.
	c.trickle.post(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		defer cancel()
		if err := s.Send(ctx, j); err != nil {
			c.log.Debug("rtp: transport-info", "err", err)
		}
	})
}

// trickleLoop sends queued transport-infos one after the other until the
// call ends.
func (c *Call) trickleLoop() {
	defer c.workers.Done()
	for {
		select {
		case <-c.trickle.signal:
			for _, f := range c.trickle.take() {
				if c.ctx.Err() != nil {
					return
				}
				f()
			}
		case <-c.ctx.Done():
			return
		}
	}
}

// current reports whether p is still one of the call's PeerConnections
// (not one replaced by unbundle or removed with its content).
func (c *Call) current(p *peer) bool {
	for _, q := range c.peers {
		if q == p {
			return true
		}
	}
	return false
}

// creatorOf returns the creator of a content as the peer knows it.
func (c *Call) creatorOf(name string) jingle.Creator {
	if c.ours[name] {
		return c.ourCreator()
	}
	if rc, ok := c.remote[name]; ok && rc.Creator != "" {
		return rc.Creator
	}
	return jingle.CreatorInitiator
}

// transportInfo queues or applies candidates of a transport-info, and
// detects an ICE restart by the peer (new ufrag).
func (c *Call) transportInfo(j *jingle.Jingle) {
	for i := range j.Contents {
		ct := &j.Contents[i]
		if ct.Transport == nil {
			continue
		}
		p := c.byContent[ct.Name]
		if p == nil {
			// Not answered yet (or being added): keep the candidates
			// until the content has its PeerConnection.
			if _, known := c.remote[ct.Name]; known {
				c.queueCandidates(ct)
			}
			continue
		}
		t, _, err := ice.Decode(ct.Transport)
		if err != nil {
			continue // validated in HandleAction
		}
		if p.pastUfrags[t.Ufrag] {
			continue // a late candidate of an ICE generation that was restarted
		}
		if t.Ufrag != "" && t.Pwd != "" && p.remoteUfrag != "" && t.Ufrag != p.remoteUfrag {
			c.remoteRestart(p, ct, t)
			continue
		}
		inits, _ := TrickleCandidates(&jingle.Jingle{Contents: []jingle.Content{*ct}})
		for _, in := range inits {
			c.addCandidate(p, in)
		}
	}
}

// queueCandidates takes the candidates of a content from any action
// (session-initiate, session-accept, transport-info, content-add):
// applied at once when the content's PeerConnection has its remote
// description, queued until then. Candidates are never put into the
// remote SDP, so every one goes through addCandidate's checks.
func (c *Call) queueCandidates(ct *jingle.Content) {
	inits, err := TrickleCandidates(&jingle.Jingle{Contents: []jingle.Content{*ct}})
	if err != nil {
		c.log.Debug("rtp: skipping invalid candidates", "content", ct.Name, "err", err)
	}
	p := c.byContent[ct.Name]
	for _, in := range inits {
		if p == nil {
			c.early[ct.Name] = append(c.early[ct.Name], in)
			continue
		}
		c.addCandidate(p, in)
	}
}

// addCandidate applies one remote candidate. Only component 1 is used:
// we always multiplex RTCP (rtcp-mux), and pion pairs candidates of any
// component, so Dino's component-2 candidates could otherwise be
// nominated and carry RTP to its RTCP port.
func (c *Call) addCandidate(p *peer, in webrtc.ICECandidateInit) {
	if in.Candidate != "" {
		if cand, _, err := ice.ParseSDPCandidate(in.Candidate); err != nil || cand.Component != 1 {
			return
		}
	}
	if !p.remoteSet {
		p.pending = append(p.pending, in)
		return
	}
	if in.Candidate == "" {
		// End of candidates: pion takes an empty candidate as that marker.
		_ = p.pc.AddICECandidate(in)
		return
	}
	if err := p.pc.AddICECandidate(in); err != nil {
		c.log.Debug("rtp: remote candidate refused", "candidate", in.Candidate, "err", err)
	}
}

func (c *Call) flushPending(p *peer) {
	for _, n := range p.contents {
		p.pending = append(p.pending, c.early[n]...)
		delete(c.early, n)
	}
	pending := p.pending
	p.pending = nil
	for _, in := range pending {
		c.addCandidate(p, in)
	}
}

// learnLocal records our ICE credentials and fingerprint from the local
// description's contents.
func learnLocal(p *peer, contents []jingle.Content) {
	for _, ct := range contents {
		if ct.Transport == nil {
			continue
		}
		t, _, err := ice.Decode(ct.Transport)
		if err != nil {
			continue
		}
		p.ufrag, p.pwd, p.fps = t.Ufrag, t.Pwd, t.Fingerprints
		return
	}
}

func remoteUfrag(ct *jingle.Content) string {
	if ct.Transport == nil {
		return ""
	}
	t, _, err := ice.Decode(ct.Transport)
	if err != nil {
		return ""
	}
	return t.Ufrag
}

// Limits on what a peer may make us hold (see HandleAction).
const (
	// maxRemoteCandidates caps the remote candidates of one call: real
	// peers send a few dozen (host, srflx and relay per interface and
	// family, per content, across restarts).
	maxRemoteCandidates = 256
	// maxPeerBacklog caps the tasks waiting on the call's loop before the
	// peer's actions are refused with resource-constraint.
	maxPeerBacklog = 1024
)

// admitCandidates counts the candidates of a peer's action against
// maxRemoteCandidates, refusing the action beyond it.
func (c *Call) admitCandidates(j *jingle.Jingle) error {
	n := 0
	for i := range j.Contents {
		if t, _, err := ice.Decode(j.Contents[i].Transport); err == nil && t != nil {
			n += len(t.Candidates)
		}
	}
	if n == 0 {
		return nil
	}
	if c.remoteCandidates.Add(int64(n)) > maxRemoteCandidates {
		c.remoteCandidates.Add(int64(-n))
		return &jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondResourceConstraint,
			Text: fmt.Sprintf("more than %d ICE candidates", maxRemoteCandidates)}
	}
	return nil
}

// taskQueue is an unbounded FIFO of closures: posting never blocks, so
// pion callbacks and the Jingle session loop can always hand work to the
// call's loop, even while that loop waits for an IQ reply.
type taskQueue struct {
	mu     sync.Mutex
	tasks  []func()
	signal chan struct{}
	closed bool
}

func (q *taskQueue) init() { q.signal = make(chan struct{}, 1) }

func (q *taskQueue) post(f func()) bool {
	q.mu.Lock()
	if q.closed {
		q.mu.Unlock()
		return false
	}
	q.tasks = append(q.tasks, f)
	q.mu.Unlock()
	select {
	case q.signal <- struct{}{}:
	default:
	}
	return true
}

// len is the number of tasks waiting.
func (q *taskQueue) len() int {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.tasks)
}

func (q *taskQueue) take() []func() {
	q.mu.Lock()
	defer q.mu.Unlock()
	t := q.tasks
	q.tasks = nil
	return t
}

func (q *taskQueue) close() {
	q.mu.Lock()
	q.closed = true
	q.tasks = nil
	q.mu.Unlock()
}
