package conference

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/conference/mixer"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
)

// DefaultMaxParticipants bounds a room when the configuration does not.
const DefaultMaxParticipants = 32

// MessageSender sends the room's chat messages (join/leave notices).
// jingle.Sender implementations have it.
type MessageSender interface {
	SendMessage(ctx context.Context, m *jingle.Message) error
}

// RoomConfig configures a Room.
type RoomConfig struct {
	// JID is the room's bare JID, used in logs and notices.
	JID string
	// Messages sends the join/leave notices; nil sends none.
	Messages MessageSender
	// IQ asks participants' disco#info whether they take every video
	// as its own content (FeatureAllVideo); nil gives everyone the
	// active-speaker view.
	IQ jingle.Sender
	// Announce sends a chat message to the participants when someone
	// joins or leaves ("alice@example.org joined, 3 in the call").
	Announce bool
	// Peer configures the participants' PeerConnections (ICE servers,
	// relay policy, loopback). Audio levels (RFC 6464) are always asked
	// for: the mixer ranks speakers with them.
	Peer rtp.PeerOptions
	// MaxParticipants refuses callers beyond this many with <busy/>;
	// 0 means DefaultMaxParticipants.
	MaxParticipants int
	// MayJoin decides who may take part; a refused caller gets <decline/>
	// with a text saying why. Nil admits everyone.
	MayJoin func(peer string) bool
	// Mixer configures the audio mixer.
	Mixer mixer.Options
	// Logger receives the room's logs; nil discards.
	Logger *slog.Logger
	// OnEvent is told about joins, leaves and refusals (metrics, the host's
	// reclaiming of empty rooms). It runs on a goroutine of the room and
	// must not block.
	OnEvent func(Event)
}

// EventKind names what happened in a room.
type EventKind string

// Room events.
const (
	// EventJoined: a participant's media path came up.
	EventJoined EventKind = "joined"
	// EventLeft: a participant's call ended (Reason says how).
	EventLeft EventKind = "left"
	// EventRefused: a caller was turned away (Reason: busy, decline,
	// failed-application).
	EventRefused EventKind = "refused"
	// EventEmpty: the last participant left; the room holds no call.
	EventEmpty EventKind = "empty"
)

// Event is one thing that happened in a room.
type Event struct {
	Kind   EventKind
	Room   string // bare room JID
	Peer   string // full JID of the participant or caller
	Reason string // session-terminate condition (left, refused)
	// Count is the number of participants after the event.
	Count int
	// Input is the mixer's view of a participant that left: packets
	// received and lost, for per-participant loss metrics.
	Input mixer.InputStats
}

// Room is one conference: every caller is answered with the mix of the
// others. Register it with a jingle.Manager through Options.
type Room struct {
	cfg   RoomConfig
	log   *slog.Logger
	app   *rtp.Application
	mix   *mixer.Mixer
	video *videoRouter

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup
	seq    atomic.Uint64

	mu     sync.Mutex
	closed bool
	parts  map[*rtp.Call]*participant
}

// NewRoom starts a room's mixer; Close stops it.
func NewRoom(cfg RoomConfig) *Room {
	if cfg.MaxParticipants <= 0 {
		cfg.MaxParticipants = DefaultMaxParticipants
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	log = log.With("room", cfg.JID)
	if cfg.Mixer.Logger == nil {
		cfg.Mixer.Logger = log
	}
	r := &Room{cfg: cfg, log: log, parts: map[*rtp.Call]*participant{}}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	if cfg.Peer.UDPMux != nil && cfg.Mixer.Batch == nil {
		// One sendmmsg per tick for the room's mixes, not one
		// sendto each.
		cfg.Mixer.Batch = cfg.Peer.UDPMux.Batch
	}
	r.mix = mixer.New(cfg.Mixer)
	r.video = newVideoRouter()
	r.wg.Add(1)
	go r.runVideo(r.ctx)
	peer := cfg.Peer
	peer.AudioLevels = true
	peer.DirectAudio = true
	r.app = rtp.NewApplication(rtp.ApplicationOptions{
		Peer:       peer,
		OnIncoming: r.incoming,
		// The room counts its participants itself (refusal), so that a
		// full room's <busy/> carries a text and a stranger hears
		// <decline/> even then.
		// A room picks up at once: there is nobody to alert.
		NoRinging: true,
	})
	return r
}

// JID is the room's bare JID.
func (r *Room) JID() string { return r.cfg.JID }

// Options are the manager options that make a jingle.Manager serve the
// room: the call application, ICE-UDP, and the answer to JMI proposals.
func (r *Room) Options() []jingle.Option {
	return append(r.app.Options(), jingle.WithProposalHandler(r.onProposal))
}

// Features are what a room supports, for disco#info and caps: the call
// application's features.
func (r *Room) Features() []string { return r.app.Features() }

// Len is the number of participants (connecting ones included).
func (r *Room) Len() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.parts)
}

// Participants lists the participants.
func (r *Room) Participants() []Participant {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Participant, 0, len(r.parts))
	for _, p := range r.parts {
		out = append(out, Participant{JID: p.peer, Codec: codecName(p.codec), Joined: p.joined, Mixer: p.input.Stats()})
	}
	return out
}

// Status describes the room: participants and mixer.
func (r *Room) Status() RoomStatus {
	return RoomStatus{JID: r.cfg.JID, Participants: r.Participants(), Mixer: r.mix.Stats()}
}

// Mixer returns the mixer's statistics (CPU time, speakers, frames).
func (r *Room) Mixer() mixer.Stats { return r.mix.Stats() }

// Disconnect ends the calls of a participant whose XMPP connection is
// gone (its unavailable presence reached the room): its media might
// still flow for a while, but nothing could end the session cleanly any
// more.
func (r *Room) Disconnect(peer string) {
	r.mu.Lock()
	var calls []*rtp.Call
	for c, p := range r.parts {
		if p.peer == peer {
			calls = append(calls, c)
		}
	}
	r.mu.Unlock()
	for _, c := range calls {
		r.goEnd(c, jingle.NewReason(jingle.ReasonGone, "your XMPP connection went offline"))
	}
}

// Close hangs up every participant and stops the mixer.
func (r *Room) Close(ctx context.Context) error {
	r.mu.Lock()
	r.closed = true
	r.mu.Unlock()
	err := r.app.Close(ctx)
	r.cancel()
	r.wg.Wait()
	r.mix.Close()
	return err
}

// onProposal answers a JMI ring at once: proceed, or reject with the
// reason a person would understand (XEP-0353 §3.2: a reject is a
// decision, and the room's policy is one).
func (r *Room) onProposal(p *jingle.Proposal) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(r.ctx, 10*time.Second)
		defer cancel()
		if why := r.refusal(p.Peer()); why != nil {
			r.emit(Event{Kind: EventRefused, Peer: p.Peer(), Reason: string(why.Condition)})
			r.log.Info("rejected a ring", "peer", p.Peer(), "why", why.Text)
			_ = p.Reject(ctx, why)
			return
		}
		if err := p.Proceed(ctx); err != nil {
			r.log.Warn("proceed failed", "peer", p.Peer(), "err", err)
		}
	}()
}

// refusal says why peer may not join now, or nil.
func (r *Room) refusal(peer string) *jingle.Reason {
	if r.cfg.MayJoin != nil && !r.cfg.MayJoin(peer) {
		return jingle.NewReason(jingle.ReasonDecline, "you are not allowed in this room")
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return jingle.NewReason(jingle.ReasonGone, "the room is closing")
	}
	if len(r.parts) >= r.cfg.MaxParticipants {
		return jingle.NewReason(jingle.ReasonBusy, fmt.Sprintf("the room is full (%d participants)", r.cfg.MaxParticipants))
	}
	return nil
}

// incoming runs on the call's goroutine: admit or refuse at once, answer
// on a goroutine of the room.
func (r *Room) incoming(c *rtp.Call) {
	if why := r.refusal(c.Peer()); why != nil {
		r.emit(Event{Kind: EventRefused, Peer: c.Peer(), Reason: string(why.Condition)})
		r.log.Info("refused a caller", "peer", c.Peer(), "why", why.Text)
		r.goEnd(c, why)
		return
	}
	codec, cp, err := pickCodec(c)
	if err != nil {
		r.emit(Event{Kind: EventRefused, Peer: c.Peer(), Reason: string(jingle.ReasonFailedApplication)})
		r.goEnd(c, jingle.NewReason(jingle.ReasonFailedApplication, err.Error()))
		return
	}
	src, err := newMixSource(cp, fmt.Sprint(r.seq.Add(1)))
	if err != nil {
		r.goEnd(c, jingle.NewReason(jingle.ReasonGeneralError, err.Error()))
		return
	}
	p := &participant{call: c, peer: c.Peer(), codec: codec, source: src}
	if offersVP8(c) {
		fs, err := newForwardSource(fmt.Sprint(r.seq.Load()), func() { r.video.keyFrameFor(p) })
		if err != nil {
			r.goEnd(c, jingle.NewReason(jingle.ReasonGeneralError, err.Error()))
			return
		}
		p.video = fs
	}
	p.input = r.mix.Add(codec, src.write)
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		p.input.Remove()
		r.goEnd(c, jingle.NewReason(jingle.ReasonGone, "the room is closing"))
		return
	}
	r.parts[c] = p
	r.mu.Unlock()
	if p.video != nil {
		r.video.add(&videoOut{recv: p, track: p.video.track})
	}
	r.wg.Add(1)
	go r.serve(p)
}

// serve answers one participant and follows its call to the end.
func (r *Room) serve(p *participant) {
	defer r.wg.Done()
	c := p.call
	m := rtp.MediaOptions{AudioSource: p.source, Sinks: p.sinks(r.video), AddedSource: func(_ string, kind webrtc.RTPCodecType, codecs []webrtc.RTPCodecParameters) rtp.Source {
		return r.addedVideo(p, kind, codecs)
	}}
	if v := r.videoOf(p); v != nil {
		m.VideoSource = v
	}
	if err := c.Answer(r.ctx, m); err != nil && !errors.Is(err, context.Canceled) {
		r.log.Warn("answer failed", "peer", p.peer, "err", err)
	}
	for e := range c.Events() {
		if e.Type == rtp.EventConnected {
			n := r.markJoined(p)
			if n > 0 && r.videoOf(p) != nil && r.wantsAllVideo(r.ctx, p) {
				r.log.Info("takes every video", "peer", p.peer)
				r.wg.Add(1)
				go r.runStreams(p)
			}
			if n > 0 {
				r.log.Info("joined", "peer", p.peer, "participants", n)
				r.emit(Event{Kind: EventJoined, Peer: p.peer, Count: n})
				r.announce(fmt.Sprintf("%s joined, %d in the call", bareJID(p.peer), n))
			}
		}
	}
	<-c.Done()
	p.input.Remove()
	r.video.remove(p)
	_ = p.source.Close()
	if v := r.videoOf(p); v != nil {
		_ = v.Close()
	}
	reason := ""
	if rr := c.Reason(); rr != nil {
		reason = string(rr.Condition)
	}
	r.mu.Lock()
	delete(r.parts, c)
	n := r.joinedLocked()
	left := len(r.parts)
	r.mu.Unlock()
	r.log.Info("left", "peer", p.peer, "reason", reason, "participants", n)
	r.emit(Event{Kind: EventLeft, Peer: p.peer, Reason: reason, Count: n, Input: p.input.Stats()})
	if !p.joined.IsZero() {
		r.announce(fmt.Sprintf("%s left, %d in the call", bareJID(p.peer), n))
	}
	if left == 0 {
		r.emit(Event{Kind: EventEmpty})
	}
}

// videoOf is the video p is sent (nil: none); p.video changes when p
// adds video mid-call, on the call's goroutine.
func (r *Room) videoOf(p *participant) *forwardSource {
	r.mu.Lock()
	defer r.mu.Unlock()
	return p.video
}

// addedVideo is what the room sends on a content a participant adds
// mid-call: turning its camera on gets it the active speaker's video, as
// if it had joined with video (its own video reaches the others through
// its sinks either way).
func (r *Room) addedVideo(p *participant, kind webrtc.RTPCodecType, codecs []webrtc.RTPCodecParameters) rtp.Source {
	if kind != webrtc.RTPCodecTypeVideo || !hasVP8(codecs) {
		return nil
	}
	fs, err := newForwardSource(fmt.Sprint(r.seq.Add(1)), func() { r.video.keyFrameFor(p) })
	if err != nil {
		r.log.Warn("video for an added content", "peer", p.peer, "err", err)
		return nil
	}
	r.mu.Lock()
	old := p.video
	p.video = fs
	r.mu.Unlock()
	if old != nil {
		_ = old.Close()
	}
	r.video.add(&videoOut{recv: p, track: fs.track})
	return fs
}

// markJoined records that p's media path is up and returns the number of
// joined participants, or 0 if p had joined already (an ICE restart
// connects again).
func (r *Room) markJoined(p *participant) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !p.joined.IsZero() {
		return 0
	}
	p.joined = time.Now()
	return r.joinedLocked()
}

func (r *Room) joinedLocked() int {
	n := 0
	for _, p := range r.parts {
		if !p.joined.IsZero() {
			n++
		}
	}
	return n
}

// goEnd ends a call without blocking the caller (which may be the call's
// own goroutine).
func (r *Room) goEnd(c *rtp.Call, why *jingle.Reason) {
	r.wg.Add(1)
	go func() {
		defer r.wg.Done()
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = c.End(ctx, why)
	}()
}

func (r *Room) emit(e Event) {
	if r.cfg.OnEvent == nil {
		return
	}
	e.Room = r.cfg.JID
	r.cfg.OnEvent(e)
}

func codecName(c mixer.Codec) string {
	for _, m := range mixCodecs {
		if m.codec == c {
			_, name, _ := strings.Cut(m.cap.MimeType, "/")
			return name
		}
	}
	return "unknown"
}

func bareJID(full string) string {
	b, _, _ := strings.Cut(full, "/")
	return b
}
