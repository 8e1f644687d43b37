// ICE restart (XEP-0176 §2.4): ours (RestartICE), sent as a transport-info
// with new credentials and a higher generation, and the peer's, detected
// by its new ufrag and answered once our candidates are gathered; the DTLS
// association is kept. When a call restarts by itself: autorestart.go.

package rtp

import (
	"context"
	"errors"
	"fmt"
	"strings"
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
		// The credentials the peer knows, held back in our descriptions
		// again (heldCreds) if this restart does not reach it; cleared
		// meanwhile, so that the offer itself carries pion's new ones.
		known := iceCreds{p.ufrag, p.pwd}
		if p.heldCreds != nil {
			known = *p.heldCreds
		}
		p.heldCreds = nil
		if err := createOffer(p, true); err != nil {
			// pion may have restarted its agent before failing.
			p.heldCreds = &known
			return err
		}
		cts, _, err := c.localContents(p)
		if err != nil {
			c.abandonRestart(p, known)
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
			} else {
				c.abandonRestart(p, known)
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
	gen := p.generation
	c.trickle.post(func() {
		ctx, cancel := context.WithTimeout(c.ctx, 10*time.Second)
		defer cancel()
		err := s.Send(ctx, j)
		if err != nil && !errors.Is(err, jingle.ErrTieBreak) {
			p.withdrawn.Store(gen)
		}
		errc <- err
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

// abandonRestart settles our ICE restart offer on p that never reached
// the peer (its transport-info failed: a timeout, the stream down, an
// error reply other than <tie-break/>). pion cannot roll the offer back
// (see lostTieBreak), and while it stays pending the call can neither
// restart again (negotiating) nor answer the peer's content-add, which
// onContentAdd holds for the restart's answer. So pion gets an answer to
// it made of what is agreed, the peer's current transport, and the
// content-adds held behind it are answered now. The ICE agent keeps the
// new credentials the peer never learned, and their candidates stay
// unsent (peer.withdrawn), while our descriptions carry the credentials
// the peer knows (peer.heldCreds, localContents): the path stays down
// until a restart reaches the peer (the automatic restart's next attempt,
// or the caller's), or ICE fails and ends the call.
func (c *Call) abandonRestart(p *peer, known iceCreds) {
	p.restarting = false
	p.heldCreds = &known
	p.remoteSet = false
	if err := c.answerAsKnown(p); err != nil {
		c.fail(jingle.ReasonConnectivityError, fmt.Errorf("rtp: settling an ICE restart offer the peer never got: %w", err))
		return
	}
	p.remoteSet = true
	c.replayAdds(p)
}

// remoteRestart handles a transport-info with new ICE credentials: the
// answer to our restart, or the peer's restart offer.
func (c *Call) remoteRestart(p *peer, ct *jingle.Content, t *ice.Transport) {
	crossed := !p.restarting && p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer
	if crossed {
		// The peer's restart offer crossed our content-add.
		if err := c.settleAdds(p); err != nil {
			c.fail(jingle.ReasonConnectivityError, fmt.Errorf("ICE restart crossing a content-add: %w", err))
			return
		}
	}
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
		x, ok := c.remote[n]
		if !ok {
			continue
		}
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
		if crossed || !c.negotiating() {
			// Once for all the transports it restarts (a crossed
			// content-add is on the one bundle).
			c.peerRestarted()
		}
	}
	p.remoteSet = false
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: typ, SDP: sdp}); err != nil {
		c.fail(jingle.ReasonConnectivityError, fmt.Errorf("ICE restart: %w", err))
		return
	}
	p.remoteSet = true
	answered := p.restarting
	if p.restarting {
		p.restarting = false
		if !c.answerAfterTieBreak(p) {
			c.emit(Event{Type: EventRestart})
		}
	} else {
		// pion restarted the agent for the offer: the answer announces
		// its new credentials, whatever ours held before.
		p.heldCreds = nil
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
	if answered {
		c.replayAdds(p)
	}
}

// settleAdds prepares p for the peer's ICE restart offer that crossed our
// content-add. pion holds our content-add's offer (have-local-offer) and
// can neither roll it back nor take an offer on top of it. The restart
// is about the transport the negotiated contents run on (XEP-0176 §2.4),
// while the content-add waits for the peer's content-accept or
// content-reject (XEP-0166 §6.3), which may come before or after the
// restart completes. So pion gets an answer to our pending offer made of
// what is already agreed: the peer's current transport, and each pending
// content as offered, its sender silent (holdSender). Nothing changes on
// the wire; pion is stable again and
// takes the restart offer. The pending contents stay in p.readd until
// the peer answers them (acceptReadd, onContentRemove). A content-reject
// of a content-add still pending in pion is settled the same way.
func (c *Call) settleAdds(p *peer) error {
	var pending []string
	for _, n := range p.contents {
		if _, ok := c.remote[n]; !ok {
			pending = append(pending, n)
		}
	}
	if len(pending) == 0 || len(pending) == len(p.contents) {
		return fmt.Errorf("rtp: offer pending on %v without a content-add: %w", p.contents, ErrCallState)
	}
	if p.readd == nil {
		p.readd = map[string]webrtc.TrackLocal{}
	}
	for _, n := range pending {
		if err := c.inactiveRemote(p, n); err != nil {
			return err
		}
		// Held as offered (sendrecv), not inactive: pion stops a
		// transceiver that a remote offer marks inactive (its receiver
		// and sender with it), and the restart offer applied next is
		// built from c.remote too. Its sender is silent until the
		// accept (holdSender), so nothing reaches the peer early.
		rc := c.remote[n]
		rc.Senders = jingle.SendersBoth
		c.remote[n] = rc
		held, err := holdSender(p, n)
		if err != nil {
			return err
		}
		p.readd[n] = held
	}
	if err := c.answerAsKnown(p); err != nil {
		return fmt.Errorf("rtp: answering content-add %v as held: %w", pending, err)
	}
	return nil
}

// answerAsKnown applies the peer's description as we know it (c.remote,
// its DTLS role kept) as the answer to our offer pending in pion on p.
func (c *Call) answerAsKnown(p *peer) error {
	sdp, err := c.remoteSDP(p, webrtc.SDPTypeAnswer, c.peerRole(p))
	if err != nil {
		return err
	}
	return p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
}

// holdSender gives content name's sender on p a track that sends
// nothing and returns the one it had (nil when it sends nothing). pion
// starts a sender at any answer, even one that says inactive, and the
// peer, not knowing the content yet (an rtp peer handles our content-add
// only after its restart, onContentAdd), would get packets of an SSRC
// it cannot place, which pion then never delivers.
func holdSender(p *peer, name string) (webrtc.TrackLocal, error) {
	for _, tr := range p.pc.GetTransceivers() {
		if tr.Mid() != name || tr.Sender() == nil || tr.Sender().Track() == nil {
			continue
		}
		track := tr.Sender().Track()
		silent := silentTrack{id: track.ID(), streamID: track.StreamID(), kind: track.Kind()}
		if ct, ok := track.(interface {
			Codec() webrtc.RTPCodecCapability
		}); ok {
			silent.codec = ct.Codec()
		}
		if err := tr.Sender().ReplaceTrack(silent); err != nil {
			return nil, fmt.Errorf("rtp: holding %q: %w", name, err)
		}
		return track, nil
	}
	return nil, nil
}

// silentTrack is a local track that sends nothing: a held sender's
// (holdSender). It binds to the codec of the track it stands in for
// (pion keeps the codec of the first Bind for the sender's interceptors),
// else to the first media codec negotiated.
type silentTrack struct {
	id, streamID string
	kind         webrtc.RTPCodecType
	codec        webrtc.RTPCodecCapability // zero: unknown
}

func (s silentTrack) Bind(ctx webrtc.TrackLocalContext) (webrtc.RTPCodecParameters, error) {
	var media []webrtc.RTPCodecParameters
	for _, cp := range ctx.CodecParameters() {
		if !isRepairCodec(cp.MimeType) {
			media = append(media, cp)
		}
	}
	for _, cp := range media {
		if s.codec.MimeType != "" && codecMatch(cp.RTPCodecCapability, s.codec) {
			return cp, nil
		}
	}
	if len(media) > 0 {
		return media[0], nil
	}
	return webrtc.RTPCodecParameters{}, fmt.Errorf("rtp: held %s track: no codec negotiated: %w", s.kind, webrtc.ErrUnsupportedCodec)
}

// isRepairCodec reports whether mime is a retransmission or FEC format,
// not media.
func isRepairCodec(mime string) bool {
	switch strings.ToLower(mime) {
	case "video/rtx", "audio/rtx", "video/ulpfec", "video/flexfec-03", "video/red", "audio/red":
		return true
	}
	return false
}

func (silentTrack) Unbind(webrtc.TrackLocalContext) error { return nil }
func (s silentTrack) ID() string                          { return s.id }
func (silentTrack) RID() string                           { return "" }
func (s silentTrack) StreamID() string                    { return s.streamID }
func (s silentTrack) Kind() webrtc.RTPCodecType           { return s.kind }

// acceptReadd applies the peer's content-accept of our content-add that
// a restart of the peer crossed (settleAdds): pion holds the content as
// inactive on a stable PeerConnection, so a new local offer with it takes
// the accept as its answer. That offer is never sent: it differs from
// the content-add the peer accepted only in our ICE credentials, which
// the peer has from the restart.
func (c *Call) acceptReadd(p *peer, ct jingle.Content) error {
	track := p.readd[ct.Name]
	delete(p.readd, ct.Name)
	if st := p.pc.SignalingState(); st != webrtc.SignalingStateStable {
		return fmt.Errorf("rtp: content-accept of %q after a restart in signalling state %s: %w", ct.Name, st, ErrCallState)
	}
	ct = c.onBundle(p, ct)
	c.remote[ct.Name] = ct
	if track != nil {
		for _, tr := range p.pc.GetTransceivers() {
			if tr.Mid() == ct.Name && tr.Sender() != nil {
				if err := tr.Sender().ReplaceTrack(track); err != nil {
					return fmt.Errorf("rtp: content-accept of %q: restoring its track: %w", ct.Name, err)
				}
			}
		}
	}
	if err := createOffer(p, false); err != nil {
		return err
	}
	if err := c.answerAsKnown(p); err != nil {
		return fmt.Errorf("rtp: content-accept of %q after a restart: %w", ct.Name, err)
	}
	c.queueCandidates(&ct)
	return nil
}

// onBundle returns ct, a content the peer added or accepted on the
// bundled p, with the bundle's current transport when ct carries ICE
// credentials the peer has restarted since (it was sent before the
// restart reached us, or we held it until then): one bundle has one set
// of credentials, and the old ones' candidates are of no use.
func (c *Call) onBundle(p *peer, ct jingle.Content) jingle.Content {
	u := remoteUfrag(&ct)
	if !c.bundle || u == "" || u == p.remoteUfrag {
		return ct
	}
	for _, n := range p.contents {
		if rc, ok := c.remote[n]; ok && n != ct.Name && remoteUfrag(&rc) == p.remoteUfrag {
			ct.Transport = rc.Transport
			break
		}
	}
	return ct
}

// replayAdds handles the peer's content-adds held while our restart offer
// on p was pending (onContentAdd), now that its answer is applied.
func (c *Call) replayAdds(p *peer) {
	adds := p.deferredAdds
	p.deferredAdds = nil
	for _, j := range adds {
		c.onContentAdd(j)
	}
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
