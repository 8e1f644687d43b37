// Automatic ICE restart (issue 17): a call whose path broke after it worked
// restarts ICE by itself (XEP-0176 §2.4, RFC 8445 §9), with fresh STUN/TURN
// credentials, a bounded number of times, then ends with connectivity-error.
//
// Who restarts. Both sides see the path break at about the same time, and
// two restart offers crossing each other (glare) cost a round-trip. So the
// session initiator restarts at once; the responder waits
// RestartPolicy.ResponderGrace for the initiator's restart and restarts
// itself only if none came (the initiator may be a client that never
// restarts).
//
// Glare. XEP-0176 defines no glare rule for restarts. When both offers
// cross anyway (the grace ran out on a slow signalling path, or both
// called RestartICE), each side takes the other's offer as the answer to
// its own: a restart transport-info only exchanges new credentials, so
// both end with their own new credentials and the other's, consistent,
// with no further message (remoteRestart). A peer that answers our offer
// with <tie-break/> instead (XEP-0166's error for crossing requests) gets
// an answer to its own offer (lostTieBreak).
//
// The policy is the pure function RestartPolicy.step, table-tested; the
// Call feeds it the PeerConnections' ICE states, the peer's restarts and
// its timer, and carries out what it returns.

package rtp

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
	"github.com/pion/webrtc/v4"
)

// RestartPolicy bounds automatic ICE restarts. The zero value means the
// defaults below.
type RestartPolicy struct {
	// Disabled turns automatic restarts off: a path that breaks ends the
	// call with connectivity-error when ICE fails (RestartICE still
	// works).
	Disabled bool
	// Attempts is how many restarts (either side's) one breakage may take
	// before the call ends with connectivity-error. Default 3.
	Attempts int
	// AttemptTimeout is how long one restart may take to reconnect
	// before it counts as failed. Default 10 s: a restart gathers again
	// (a TURN allocation takes a few round-trips, a dead relay up to its
	// STUN timeout) and checks the new pairs.
	AttemptTimeout time.Duration
	// Backoff is the pause after a failed attempt before the next,
	// doubling after each (1 s, 2 s, ...). Default 1 s.
	Backoff time.Duration
	// ResponderGrace is how long the responder waits for the initiator's
	// restart before restarting itself. Default 2 s.
	ResponderGrace time.Duration
	// DisconnectedAfter is how long without a packet from the peer ICE
	// waits before it reports disconnected, which starts the restarts.
	// Default 3 s, near libwebrtc's 2.5 s receiving timeout (pion's own 5
	// s would add 2 s to every recovery); ICE keepalives then go every
	// third of it, so a call on hold, which sends no media, stays fresh.
	DisconnectedAfter time.Duration
}

// Defaults of RestartPolicy.
const (
	defaultRestartAttempts = 3
	defaultAttemptTimeout  = 10 * time.Second
	defaultRestartBackoff  = time.Second
	defaultResponderGrace  = 2 * time.Second
	defaultDisconnected    = 3 * time.Second
	// pionFailedTimeout is pion's default ICE failed timeout, kept when
	// the policy sets the other two.
	pionFailedTimeout = 25 * time.Second
)

func (p RestartPolicy) withDefaults() RestartPolicy {
	if p.Attempts <= 0 {
		p.Attempts = defaultRestartAttempts
	}
	if p.AttemptTimeout <= 0 {
		p.AttemptTimeout = defaultAttemptTimeout
	}
	if p.Backoff <= 0 {
		p.Backoff = defaultRestartBackoff
	}
	if p.ResponderGrace <= 0 {
		p.ResponderGrace = defaultResponderGrace
	}
	if p.DisconnectedAfter <= 0 {
		p.DisconnectedAfter = defaultDisconnected
	}
	return p
}

// configureICE sets the ICE timeouts the policy relies on (see
// DisconnectedAfter); PeerOptions.Configure runs after and may override
// them.
func (p RestartPolicy) configureICE(s *webrtc.SettingEngine) {
	if p.Disabled {
		return
	}
	d := p.withDefaults().DisconnectedAfter
	s.SetICETimeouts(d, pionFailedTimeout, d/3)
}

// restartPhase is where a call is in recovering its path.
type restartPhase int

const (
	// phaseUp: the path works (or never worked: set-up failures are not
	// restarted, they end the call as before).
	phaseUp restartPhase = iota
	// phaseWaiting: the path broke; the timer runs until our restart
	// (the responder's grace, or the backoff after a failed attempt).
	phaseWaiting
	// phaseRestarting: a restart is under way (ours or the peer's); the
	// timer is its attempt timeout.
	phaseRestarting
	// phaseGaveUp: the attempts ran out; the call ends.
	phaseGaveUp
)

func (p restartPhase) String() string {
	switch p {
	case phaseUp:
		return "up"
	case phaseWaiting:
		return "waiting"
	case phaseRestarting:
		return "restarting"
	case phaseGaveUp:
		return "gave-up"
	}
	return fmt.Sprintf("restartPhase(%d)", int(p))
}

// restartInput is what the policy reacts to.
type restartInput int

const (
	// inBroken: a PeerConnection that had connected went ICE
	// disconnected or failed.
	inBroken restartInput = iota
	// inConnected: every PeerConnection is ICE connected again.
	inConnected
	// inTimer: the timer the last step armed fired.
	inTimer
	// inPeerRestart: the peer's restart offer arrived.
	inPeerRestart
)

func (i restartInput) String() string {
	switch i {
	case inBroken:
		return "broken"
	case inConnected:
		return "connected"
	case inTimer:
		return "timer"
	case inPeerRestart:
		return "peer-restart"
	}
	return fmt.Sprintf("restartInput(%d)", int(i))
}

// restartState is the policy's memory for one call.
type restartState struct {
	phase restartPhase
	// attempts counts the restarts, either side's, since the path broke.
	attempts int
	// ours: the restart under way is ours (a peer offer then is glare,
	// not another attempt).
	ours bool
}

// restartStep is what the call does after an input.
type restartStep struct {
	next restartState
	// restart: start our restart now.
	restart bool
	// timer: arm the timer for this long (replacing any); 0 stops it,
	// negative leaves it.
	timer time.Duration
	// giveUp: end the call with connectivity-error.
	giveUp bool
}

// step is the automatic-restart policy (p must have its defaults):
//
//	up          --broken-->       restarting (initiator: restart now)
//	up          --broken-->       waiting    (responder: grace)
//	waiting     --timer-->        restarting (restart now) | gave-up (attempts spent)
//	waiting     --peer-restart--> restarting (the peer's attempt counts)
//	restarting  --timer-->        waiting    (backoff; the responder adds its grace) | gave-up
//	restarting  --peer-restart--> restarting (glare with ours: no new attempt)
//	any but gave-up --connected--> up (attempts reset)
//
// broken while waiting or restarting changes nothing (a restart takes ICE
// through checking, and it may report disconnected or failed again); a
// peer's restart while up (its own breakage seen first, or its API
// call) is watched like ours.
func (p RestartPolicy) step(s restartState, in restartInput, initiator bool) restartStep {
	if s.phase == phaseGaveUp {
		return restartStep{next: s}
	}
	if in == inConnected {
		return restartStep{next: restartState{phase: phaseUp}}
	}
	restartNow := func(s restartState) restartStep {
		if s.attempts >= p.Attempts {
			return restartStep{next: restartState{phase: phaseGaveUp, attempts: s.attempts}, giveUp: true}
		}
		return restartStep{
			next:    restartState{phase: phaseRestarting, attempts: s.attempts + 1, ours: true},
			restart: true, timer: p.AttemptTimeout,
		}
	}
	peerRestart := func(s restartState) restartStep {
		return restartStep{next: restartState{phase: phaseRestarting, attempts: s.attempts + 1}, timer: p.AttemptTimeout}
	}
	switch s.phase {
	case phaseUp:
		switch in {
		case inBroken:
			if initiator {
				return restartNow(s)
			}
			return restartStep{next: restartState{phase: phaseWaiting}, timer: p.ResponderGrace}
		case inPeerRestart:
			return peerRestart(s)
		}
	case phaseWaiting:
		switch in {
		case inTimer:
			return restartNow(s)
		case inPeerRestart:
			return peerRestart(s)
		}
	case phaseRestarting:
		switch in {
		case inTimer:
			if s.attempts >= p.Attempts {
				return restartStep{next: restartState{phase: phaseGaveUp, attempts: s.attempts}, giveUp: true}
			}
			wait := p.Backoff << (s.attempts - 1)
			if !initiator {
				wait += p.ResponderGrace
			}
			return restartStep{next: restartState{phase: phaseWaiting, attempts: s.attempts}, timer: wait}
		case inPeerRestart:
			if s.ours {
				// Glare: both offers became each other's answers; the
				// exchange under way is still this attempt.
				return restartStep{next: s, timer: p.AttemptTimeout}
			}
			return peerRestart(s)
		}
	}
	// Unchanged, timer left as it is.
	return restartStep{next: s, timer: -1}
}

// autoRestart is a call's automatic-restart machinery (loop-owned).
type autoRestart struct {
	policy RestartPolicy
	state  restartState
	timer  *time.Timer
	// gen invalidates timers that fired after they were replaced.
	gen uint64
	// brokeAt is when the path broke, for the recovery time in the
	// EventPathRestored text.
	brokeAt time.Time
	// tieBroken: PeerConnections whose restart offer the peer refused
	// with <tie-break/>, with the fingerprints for our answer to its offer.
	tieBroken map[*peer][]ice.Fingerprint
}

// restartEnabled reports whether the automatic restart applies to p: it is
// on, and p's ICE had connected (set-up failures end the call as before).
func (c *Call) restartEnabled(p *peer) bool {
	return !c.peerOpts.Restart.Disabled && p.iceDone && c.accepted && !c.ended
}

// restartInput feeds the policy and carries out its step.
func (c *Call) restartInput(in restartInput) {
	a := &c.auto
	if a.policy.Attempts == 0 {
		a.policy = c.peerOpts.Restart.withDefaults()
	}
	before := a.state
	st := a.policy.step(a.state, in, c.initiator)
	a.state = st.next
	if before.phase != st.next.phase {
		c.log.Info("rtp: ICE path", "input", in.String(), "from", before.phase.String(), "to", st.next.phase.String(), "attempts", st.next.attempts)
	}
	switch {
	case before.phase == phaseUp && st.next.phase != phaseUp:
		a.brokeAt = time.Now()
		if in == inBroken {
			c.emit(Event{Type: EventPathBroken})
		}
	case before.phase != phaseUp && st.next.phase == phaseUp:
		c.emit(Event{Type: EventPathRestored, Text: fmt.Sprintf("after %v and %d restart(s)", time.Since(a.brokeAt).Round(time.Millisecond), before.attempts)})
	}
	if st.timer >= 0 {
		c.armRestartTimer(st.timer)
	}
	if st.giveUp {
		c.fail(jingle.ReasonConnectivityError, fmt.Errorf("%w: the path broke and %d restart(s) in %v did not bring it back; %s",
			ErrRestartsExhausted, st.next.attempts, time.Since(a.brokeAt).Round(time.Second), c.pathDiagnosis()))
		return
	}
	if st.restart {
		c.emit(Event{Type: EventRestarting, Text: fmt.Sprintf("attempt %d of %d", st.next.attempts, a.policy.Attempts)})
		if err := c.restartICE(); err != nil {
			if peerGone(err) {
				// Its server says the full JID is not there (the peer's
				// process died, its connection dropped for good) or the
				// peer no longer knows the session: no restart can reach
				// it, so end now rather than after the attempts.
				c.fail(jingle.ReasonGone, fmt.Errorf("rtp: the peer is gone: the ICE restart got %w", err))
				return
			}
			// The attempt timer still runs: the next attempt or the
			// end follows from it.
			c.log.Warn("rtp: automatic ICE restart", "attempt", st.next.attempts, "err", err)
		}
	}
}

// armRestartTimer replaces the policy's timer; d == 0 only stops it.
func (c *Call) armRestartTimer(d time.Duration) {
	a := &c.auto
	a.gen++
	if a.timer != nil {
		a.timer.Stop()
		a.timer = nil
	}
	if d == 0 {
		return
	}
	gen := a.gen
	a.timer = time.AfterFunc(d, func() {
		c.q.post(func() {
			if c.auto.gen == gen && !c.ended {
				c.restartInput(inTimer)
			}
		})
	})
}

// stopAutoRestart stops the timer when the call ends.
func (c *Call) stopAutoRestart() {
	c.armRestartTimer(0)
}

// restartICEState feeds a PeerConnection's ICE state to the policy. It
// reports whether the state was taken care of: a failure the restarts
// handle must not end the call.
func (c *Call) restartICEState(p *peer, st webrtc.ICEConnectionState) bool {
	if !c.restartEnabled(p) {
		return false
	}
	switch st {
	case webrtc.ICEConnectionStateDisconnected, webrtc.ICEConnectionStateFailed:
		c.restartInput(inBroken)
		return true
	case webrtc.ICEConnectionStateChecking:
		if c.auto.state.phase != phaseUp {
			// A restart checks new pairs: watch them, so that giving
			// up names what this attempt gathered and tried.
			p.watch = c.watchICE(p)
		}
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		if c.auto.state.phase != phaseUp && c.allICEConnected() {
			c.restartInput(inConnected)
		}
	}
	return false
}

// restartOwnsFailure reports whether a PeerConnection failure is ICE's,
// within an automatic restart, and so not the end of the call.
func (c *Call) restartOwnsFailure(p *peer) bool {
	if !c.restartEnabled(p) || c.auto.state.phase == phaseUp || c.auto.state.phase == phaseGaveUp {
		return false
	}
	switch p.pc.ICEConnectionState() {
	case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		return false // ICE works: DTLS itself failed
	}
	return true
}

// allICEConnected reports whether every PeerConnection's ICE is up.
func (c *Call) allICEConnected() bool {
	for _, p := range c.peers {
		switch p.pc.ICEConnectionState() {
		case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
		default:
			return false
		}
	}
	return true
}

// peerRestarted tells the policy that the peer started a restart.
func (c *Call) peerRestarted() {
	if c.peerOpts.Restart.Disabled || c.ended {
		return
	}
	c.restartInput(inPeerRestart)
}

// pathDiagnosis describes the broken PeerConnections for the reason text,
// from the last stats taken while ICE checked (diagnostics.go).
func (c *Call) pathDiagnosis() string {
	var parts []string
	for _, p := range c.peers {
		switch p.pc.ICEConnectionState() {
		case webrtc.ICEConnectionStateConnected, webrtc.ICEConnectionStateCompleted:
			continue
		}
		parts = append(parts, c.iceFailure(p, p.watch).Error())
	}
	if len(parts) == 0 {
		return "no transport is connected"
	}
	return strings.Join(parts, "; ")
}

// renewICEServers asks ICEServerSource for the STUN/TURN servers again
// before a restart gathers: XEP-0215 credentials expire, and a relay that
// restarted lost our allocation, so the new gathering must not reuse the
// first set. pion applies them at its next gathering.
func (c *Call) renewICEServers(p *peer) {
	if c.peerOpts.ICEServerSource == nil {
		return
	}
	if err := p.pc.SetConfiguration(c.peerOpts.configuration()); err != nil {
		c.log.Warn("rtp: renewing ICE servers for the restart", "err", err)
	}
}

// lostTieBreak records that the peer refused our restart offer on p with
// <tie-break/>: its own offer follows. pion cannot roll a local offer
// back (v4 has no have-local-offer->SetLocal(rollback)), so the peer's
// offer is applied as the answer to ours, which leaves pion with our new
// credentials and the peer's, and we answer the peer with those
// credentials and the candidates gathered for them (answerAfterTieBreak):
// the peer, having discarded our offer, waits for an answer.
func (c *Call) lostTieBreak(p *peer, fps []ice.Fingerprint) {
	if c.auto.tieBroken == nil {
		c.auto.tieBroken = map[*peer][]ice.Fingerprint{}
	}
	c.auto.tieBroken[p] = fps
}

// answerAfterTieBreak sends our answer to the peer's restart offer that
// won a tie-break on p (see lostTieBreak) and reports whether it did.
func (c *Call) answerAfterTieBreak(p *peer) bool {
	fps, ok := c.auto.tieBroken[p]
	if !ok {
		return false
	}
	delete(c.auto.tieBroken, p)
	a := &restartAnswer{fps: fps}
	if cts, _, err := c.localContents(p); err == nil && len(cts) > 0 {
		if t, _, err := ice.Decode(cts[0].Transport); err == nil {
			for _, cand := range t.Candidates {
				cand.Generation = p.generation
				a.candidates = append(a.candidates, cand)
			}
		}
	}
	p.answering = a
	c.sendRestartAnswer(p)
	return true
}

// peerGone reports whether err, the answer to one of our Jingle IQs, says
// the peer cannot be reached at all: no such resource on its server
// (service-unavailable and recipient-unavailable for an offline full JID,
// RFC 6121 §8.5.3.2.1), no such server, or no such session any more
// (item-not-found, with or without unknown-session: the peer restarted).
func peerGone(err error) bool {
	var e *jingle.Error
	if !errors.As(err, &e) {
		return false
	}
	switch e.Condition {
	case jingle.CondServiceUnavailable, jingle.CondRecipientUnavailable, jingle.CondItemNotFound, jingle.CondRemoteServerNotFound:
		return true
	}
	return false
}
