// The Call type and its lifecycle: what it sends and receives
// (MediaOptions), its state, the serial loop that owns that state and the
// queue that feeds it, accessors, hang-up, and the end that releases
// everything.

package rtp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

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
	// Codecs, when set, are the codecs the call may use, in our order of
	// preference (names as in SDP: "PCMA", "opus", "H264/640c1f"; see
	// preferCodecs): what we offer, and what a source that encodes may
	// send. The peer's preference still decides among them. A kind the
	// list names nothing of keeps every codec.
	Codecs []string
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
	sinks     map[string]*heldSink // by content: call_sinks.go
	connected int
	timer     *time.Timer
	// sendState: why we do not send on a content (hold, mute).
	sendState sendState
	// auto: automatic ICE restarts (autorestart.go).
	auto autoRestart
}

func newCall(app *Application, initiator bool, peerJID string, m MediaOptions) *Call {
	ctx, cancel := context.WithCancel(context.Background())
	c := &Call{
		app: app, peerOpts: &app.opts.Peer, initiator: initiator, peerJID: peerJID, media: m,
		ctx: ctx, cancel: cancel,
		loopEnd: make(chan struct{}), done: make(chan struct{}), events: make(chan Event, 64),
		byContent: map[string]*peer{}, remote: map[string]jingle.Content{}, mediaSeen: map[string]bool{},
		sinks:   map[string]*heldSink{},
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
	c.stopAutoRestart()
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
	c.closeSinks()
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
