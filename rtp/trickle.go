// Trickle ICE (XEP-0176 §2.3): our candidates sent in transport-info through
// the trickle queue, the peer's candidates queued until their PeerConnection
// has a remote description, then applied; the limit on how many a peer sends.

package rtp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
	"github.com/pion/webrtc/v4"
)

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
	gen := p.generation
	c.trickle.post(func() {
		if gen != 0 && p.withdrawn.Load() == gen {
			return // of a restart offer that never reached the peer
		}
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

// LocalCandidates returns the ICE candidates this side gathered so far
// on every PeerConnection of the call, as SDP candidate values
// ("candidate:1 1 udp 2130706431 127.0.0.2 40001 typ host"): what was
// offered to the peer, for a person (or test) checking which addresses a
// call used. Nil once the call's loop ended.
func (c *Call) LocalCandidates() []string {
	ch := make(chan []string, 1)
	if !c.q.post(func() {
		var out []string
		for _, p := range c.peers {
			ld := p.pc.LocalDescription()
			if ld == nil {
				continue
			}
			out = append(out, sdpCandidates(ld.SDP)...)
		}
		ch <- out
	}) {
		return nil
	}
	select {
	case out := <-ch:
		return out
	case <-c.loopEnd:
		return nil
	}
}

// sdpCandidates returns the a=candidate values of an SDP, without
// duplicates (a bundled candidate is listed once per m-line).
func sdpCandidates(sdp string) []string {
	var out []string
	seen := map[string]bool{}
	for _, line := range strings.Split(sdp, "\n") {
		v, ok := strings.CutPrefix(strings.TrimSpace(line), "a=candidate:")
		if !ok || seen[v] {
			continue
		}
		seen[v] = true
		out = append(out, "candidate:"+v)
	}
	return out
}
