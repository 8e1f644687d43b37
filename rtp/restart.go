// ICE restart (XEP-0176 §2.4): ours (RestartICE), sent as a transport-info
// with new credentials and a higher generation, and the peer's, detected
// by its new ufrag and answered once our candidates are gathered; the DTLS
// association is kept. When a call restarts by itself: autorestart.go.

package rtp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
	"github.com/pion/webrtc/v4"
)

// restartICE is our side of an ICE restart (see Call.RestartICE).
func (c *Call) restartICE() error {
	if !c.accepted || c.ended || c.negotiating() {
		return fmt.Errorf("rtp: ICE restart: %w", ErrCallState)
	}
	for _, p := range c.peers {
		role := dtlsRole(p, c.remoteOf(p))
		c.renewICEServers(p)
		if err := createOffer(p, true); err != nil {
			return err
		}
		cts, _, err := c.localContents(p)
		if err != nil {
			return err
		}
		learnLocal(p, cts)
		p.generation++
		p.restarting = true
		fps := append([]ice.Fingerprint(nil), p.fps...)
		for i := range fps {
			fps[i].Setup = role
		}
		if err := c.sendCredentials(p, fps); err != nil {
			if errors.Is(err, jingle.ErrTieBreak) {
				// The peer's restart wins (autorestart.go): its offer
				// follows, and we answer it.
				c.lostTieBreak(p, fps)
			}
			return err
		}
	}
	return nil
}

func (c *Call) remoteOf(p *peer) []jingle.Content {
	var out []jingle.Content
	for _, n := range p.contents {
		if ct, ok := c.remote[n]; ok {
			out = append(out, ct)
		}
	}
	return out
}

// sendCredentials sends a transport-info carrying p's current ICE
// credentials and fingerprint but no candidates: XEP-0176 §2.4's restart
// (offer or answer; the candidates follow by trickle).
func (c *Call) sendCredentials(p *peer, fps []ice.Fingerprint) error {
	t := ice.Transport{Ufrag: p.ufrag, Pwd: p.pwd, Fingerprints: fps}
	el, err := t.Element()
	if err != nil {
		return err
	}
	name := p.contents[0]
	j := &jingle.Jingle{Action: jingle.ActionTransportInfo, Contents: []jingle.Content{{
		Creator: c.creatorOf(name), Name: name, Transport: &el,
	}}}
	// Through the trickle queue: candidates of the old generation still
	// queued go out first, as they were gathered first.
	s := c.Session()
	errc := make(chan error, 1)
	c.trickle.post(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		defer cancel()
		errc <- s.Send(ctx, j)
	})
	select {
	case err := <-errc:
		if err != nil {
			return fmt.Errorf("rtp: ICE restart transport-info: %w", err)
		}
		return nil
	case <-c.ctx.Done():
		return c.ctx.Err()
	}
}

// remoteRestart handles a transport-info with new ICE credentials: the
// answer to our restart, or the peer's restart offer.
func (c *Call) remoteRestart(p *peer, ct *jingle.Content, t *ice.Transport) {
	role := dtlsRole(p, c.remoteOf(p))
	peerRole := ice.SetupActive
	if role == ice.SetupActive {
		peerRole = ice.SetupPassive
	}
	// Keep the peer's fingerprints when the restart omits them.
	old := c.remote[ct.Name]
	if ot, _, err := ice.Decode(old.Transport); err == nil && len(t.Fingerprints) == 0 {
		t.Fingerprints = ot.Fingerprints
	}
	cands := t.Candidates
	t.Candidates = nil
	nc, err := replaceTransport(old, t)
	if err != nil {
		c.fail(jingle.ReasonConnectivityError, err)
		return
	}
	for _, n := range p.contents {
		x := c.remote[n]
		if x2, err := replaceTransport(x, t); err == nil {
			c.remote[n] = x2
		}
	}
	c.remote[ct.Name] = nc
	p.pastUfrags[p.remoteUfrag] = true
	p.remoteUfrag = t.Ufrag
	typ := webrtc.SDPTypeOffer
	if p.restarting {
		typ = webrtc.SDPTypeAnswer
	}
	sdp, err := c.remoteSDP(p, typ, peerRole)
	if err != nil {
		c.fail(jingle.ReasonConnectivityError, err)
		return
	}
	if !p.restarting {
		// The peer's restart offer: our answer gathers anew.
		c.renewICEServers(p)
		if !c.negotiating() {
			c.peerRestarted() // once for all the transports it restarts
		}
	}
	p.remoteSet = false
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: typ, SDP: sdp}); err != nil {
		c.fail(jingle.ReasonConnectivityError, fmt.Errorf("ICE restart: %w", err))
		return
	}
	p.remoteSet = true
	if p.restarting {
		p.restarting = false
		if !c.answerAfterTieBreak(p) {
			c.emit(Event{Type: EventRestart})
		}
	} else {
		ans, err := p.pc.CreateAnswer(nil)
		if err == nil {
			err = p.pc.SetLocalDescription(ans)
		}
		if err != nil {
			c.fail(jingle.ReasonConnectivityError, fmt.Errorf("ICE restart answer: %w", err))
			return
		}
		cts, _, err := c.localContents(p)
		if err != nil {
			c.fail(jingle.ReasonConnectivityError, err)
			return
		}
		learnLocal(p, cts)
		p.generation++
		fps := append([]ice.Fingerprint(nil), p.fps...)
		for i := range fps {
			fps[i].Setup = role
		}
		// The answer carries the new credentials with the gathered
		// candidates (Conversations takes a restart transport-info
		// without candidates for an offer): sendCandidate collects them
		// until gathering completes, or until the deadline.
		p.answering = &restartAnswer{fps: fps}
		gen := p.generation
		time.AfterFunc(restartAnswerDeadline, func() {
			c.q.post(func() {
				if p.answering != nil && p.generation == gen {
					c.sendRestartAnswer(p)
				}
			})
		})
	}
	for i := range cands {
		if in, err := cands[i].ICECandidateInit(ct.Name, t.Ufrag); err == nil {
			c.addCandidate(p, in)
		}
	}
	c.flushPending(p)
}

// restartAnswerDeadline bounds how long an ICE restart answer waits for
// candidate gathering.
const restartAnswerDeadline = 3 * time.Second

// restartAnswer collects the candidates of our ICE restart answer.
type restartAnswer struct {
	fps        []ice.Fingerprint
	candidates []ice.Candidate
}

// sendRestartAnswer sends the ICE restart answer: new credentials,
// fingerprint with the established role, and the candidates gathered.
func (c *Call) sendRestartAnswer(p *peer) {
	a := p.answering
	p.answering = nil
	t := ice.Transport{Ufrag: p.ufrag, Pwd: p.pwd, Fingerprints: a.fps, Candidates: a.candidates}
	el, err := t.Element()
	if err != nil {
		c.log.Warn("rtp: ICE restart answer", "err", err)
		return
	}
	name := p.contents[0]
	j := &jingle.Jingle{Action: jingle.ActionTransportInfo, Contents: []jingle.Content{{
		Creator: c.creatorOf(name), Name: name, Transport: &el,
	}}}
	s := c.Session()
	c.trickle.post(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		defer cancel()
		if err := s.Send(ctx, j); err != nil {
			c.log.Debug("rtp: ICE restart answer", "err", err)
		}
	})
	c.emit(Event{Type: EventRestart})
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
