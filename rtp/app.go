// The call application for jingle.Manager: its options, namespaces and
// features, the calls in progress, incoming calls (HandleInitiate), outgoing
// ones (Dial) and the ICE-UDP transport it registers.

package rtp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// Namespaces and features of the call application.
const (
	// NSInfo is XEP-0167's session-info namespace (ringing, hold, mute...).
	NSInfo = "urn:xmpp:jingle:apps:rtp:info:1"
	// FeatureAudio and FeatureVideo advertise the media we handle
	// (XEP-0167 §11).
	FeatureAudio = "urn:xmpp:jingle:apps:rtp:audio"
	FeatureVideo = "urn:xmpp:jingle:apps:rtp:video"
	// FeatureAllVideo is advertised by a party that takes several
	// incoming video streams: a conference room (package conference)
	// then sends it every other participant's video as a content of its
	// own instead of the active speaker's alone. It lives here, not in
	// package conference, so a client advertises it without linking the
	// mixer.
	FeatureAllVideo = "urn:jingled:conference:all-video:0"
)

// ApplicationOptions configure the call application.
type ApplicationOptions struct {
	// Peer configures the PeerConnections (ICE servers, relay policy,
	// loopback restriction, logger).
	Peer PeerOptions
	// AutoAnswer, when set, answers every incoming call with these
	// media options after sending <ringing/>: echo, play a file, record.
	AutoAnswer *MediaOptions
	// OnIncoming is told about each incoming call (after ringing was
	// sent). Without AutoAnswer it must eventually call Answer or End.
	// It runs on the call's goroutine: it must not block.
	OnIncoming func(*Call)
	// MaxCalls refuses calls beyond this many at once with <busy/>; 0
	// means no limit.
	MaxCalls int
	// NoRinging skips the <ringing/> session-info.
	NoRinging bool
	// NoBundle answers even a bundled offer with one transport per
	// content and no group, as Dino does (for tests that play Dino).
	NoBundle bool
}

// Application is the XEP-0167 RTP application for jingle.Manager: it
// answers incoming calls and places outgoing ones (Dial).
type Application struct {
	opts ApplicationOptions
	log  *slog.Logger

	mu    sync.Mutex
	calls map[*Call]struct{}
}

// NewApplication returns the call application; register it with
// jingle.WithApplication.
func NewApplication(opts ApplicationOptions) *Application {
	return &Application{opts: opts, log: opts.Peer.logger(), calls: map[*Call]struct{}{}}
}

var _ jingle.Application = (*Application)(nil)

// Namespace implements jingle.Application.
func (a *Application) Namespace() string { return NS }

// Features implements jingle.Application: what we implement, as
// advertised by XEP-0030.
func (a *Application) Features() []string {
	return []string{
		NS, FeatureAudio, FeatureVideo, NSInfo, ice.NS, ice.NSDTLS,
		NSGrouping, NSRTCPFB, NSHdrExt, NSSSMA,
	}
}

// Calls returns the calls in progress.
func (a *Application) Calls() []*Call {
	a.mu.Lock()
	defer a.mu.Unlock()
	out := make([]*Call, 0, len(a.calls))
	for c := range a.calls {
		out = append(out, c)
	}
	return out
}

func (a *Application) add(c *Call) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.opts.MaxCalls > 0 && len(a.calls) >= a.opts.MaxCalls {
		return false
	}
	a.calls[c] = struct{}{}
	return true
}

func (a *Application) forget(c *Call) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.calls, c)
}

// Close hangs up every call and waits for them.
func (a *Application) Close(ctx context.Context) error {
	var errs []error
	for _, c := range a.Calls() {
		if err := c.Hangup(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// HandleInitiate implements jingle.Application: an incoming call.
func (a *Application) HandleInitiate(ctx context.Context, s *jingle.Session, j *jingle.Jingle) (jingle.SessionHandler, error) {
	if err := validateOffer(j.Contents); err != nil {
		return nil, err
	}
	c := newCall(a, false, s.Peer(), MediaOptions{})
	c.log = s.Logger()
	c.sess = s
	// The call answers the RTP contents it has a codec for; the others
	// (another application, or media we cannot decode) are left out of
	// the session-accept, i.e. rejected.
	usable := func(ct *jingle.Content) bool {
		if ct.DescriptionNS() != NS {
			return false
		}
		kind, d, err := contentKind(ct)
		return err == nil && len(commonCodecs(kind, d)) > 0
	}
	var names []string
	for _, ct := range j.Contents {
		if usable(&ct) {
			c.remote[ct.Name] = ct
			c.queueCandidates(&ct)
			names = append(names, ct.Name)
		}
	}
	bundled := map[string]bool{}
	for _, n := range Bundle(j) {
		bundled[n] = true
	}
	c.bundle = !a.opts.NoBundle
	for _, n := range names {
		if !bundled[n] {
			c.bundle = false
		}
	}
	if !a.add(c) {
		return nil, &jingle.TerminateError{Reason: jingle.NewReason(jingle.ReasonBusy, "")}
	}
	cp := *j // the offer as the call answers it
	cp.Contents = nil
	for _, ct := range j.Contents {
		if usable(&ct) {
			cp.Contents = append(cp.Contents, ct)
		}
	}
	c.offer = &cp
	go c.run()
	c.q.post(func() {
		if !a.opts.NoRinging {
			ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
			if err := c.Info(ctx, EventRinging, ""); err != nil {
				c.log.Debug("rtp: ringing", "err", err)
			}
			cancel()
		}
		if a.opts.OnIncoming != nil {
			a.opts.OnIncoming(c)
		}
		if a.opts.AutoAnswer != nil {
			c.answer(*a.opts.AutoAnswer)
		}
	})
	return c, nil
}

// CallOptions configure an outgoing call.
type CallOptions struct {
	MediaOptions
	// Peer configures the PeerConnections.
	Peer PeerOptions
	// NoAudio leaves out the audio content (video-only call).
	NoAudio bool
	// ReceiveVideo offers a video content even without a video source
	// (to receive the peer's video).
	ReceiveVideo bool
	// NoBundle gives every content its own transport and PeerConnection
	// and sends no XEP-0338 group, as Dino does.
	NoBundle bool
	// SID is the session id; "" picks one (a JMI proposal's id continues
	// the proposal).
	SID string
}

// Dial places a call to peer (a full JID) through mgr. It returns once
// the peer acknowledged the session-initiate; follow the call with
// Events, Wait or Done. ctx bounds only the set-up; use Hangup to end
// the call.
func Dial(ctx context.Context, mgr *jingle.Manager, peer string, opts CallOptions) (*Call, error) {
	a := NewApplication(ApplicationOptions{Peer: opts.Peer})
	return a.Dial(ctx, mgr, peer, opts)
}

// Dial places a call with the application's registry and options; opts.Peer
// is ignored in favour of the application's.
func (a *Application) Dial(ctx context.Context, mgr *jingle.Manager, peer string, opts CallOptions) (*Call, error) {
	// Refuse at once what could only time out: no address to gather.
	if err := a.opts.Peer.CheckAddresses(); err != nil {
		return nil, fmt.Errorf("rtp: calling %s: %w", peer, err)
	}
	c := newCall(a, true, peer, opts.MediaOptions)
	c.bundle = !opts.NoBundle
	a.add(c)
	contents, payloads, err := c.prepareOffer(opts)
	if err != nil {
		c.abort()
		return nil, err
	}
	s, err := mgr.Initiate(ctx, peer, opts.SID, contents, payloads, c)
	if err != nil {
		c.abort()
		return nil, fmt.Errorf("rtp: calling %s: %w", peer, err)
	}
	c.mu.Lock()
	c.sess = s
	c.mu.Unlock()
	c.log = s.Logger()
	go c.run()
	return c, nil
}

// abort releases a call that never got a session.
func (c *Call) abort() {
	for _, s := range c.sources {
		_ = s.Close()
	}
	for _, p := range c.peers {
		_ = p.pc.Close()
	}
	c.cancel()
	c.app.forget(c)
}

// ICEUDP is the ICE-UDP transport (XEP-0176) as the Manager sees it: a
// datagram transport whose work is done by pion inside each Call. Register
// it with jingle.WithTransport beside the application (see Options).
type ICEUDP struct{}

var _ jingle.Transport = ICEUDP{}

// Namespace implements jingle.Transport.
func (ICEUDP) Namespace() string { return ice.NS }

// Features implements jingle.Transport.
func (ICEUDP) Features() []string { return []string{ice.NS, ice.NSDTLS} }

// Kind implements jingle.Transport.
func (ICEUDP) Kind() jingle.TransportKind { return jingle.Datagram }

// Priority implements jingle.Transport; it is the only datagram transport.
func (ICEUDP) Priority() int { return 100 }

// Options returns the manager options that plug calls in: the
// application and the ICE-UDP transport.
func (a *Application) Options() []jingle.Option {
	return []jingle.Option{jingle.WithApplication(a), jingle.WithTransport(ICEUDP{})}
}
