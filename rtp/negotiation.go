// Offer/answer: the caller's offer (session-initiate), the callee's
// answer (session-accept) and the caller applying it, Jingle contents
// translated to and from each PeerConnection's SDP, codecs matched, and
// the DTLS roles kept across renegotiations.

package rtp

import (
	"context"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// dtlsRole returns our DTLS role (active or passive) on p, from our local
// fingerprint's setup, or from the remote one when ours was actpass.
func dtlsRole(p *peer, remote []jingle.Content) ice.Setup {
	for _, f := range p.fps {
		switch f.Setup {
		case ice.SetupActive, ice.SetupPassive:
			return f.Setup
		}
	}
	for _, ct := range remote {
		if t, _, err := ice.Decode(ct.Transport); err == nil {
			if t.Setup() == ice.SetupActive {
				return ice.SetupPassive
			}
			return ice.SetupActive
		}
	}
	return ice.SetupActive
}

// replaceTransport returns ct with its ICE transport replaced by t.
func replaceTransport(ct jingle.Content, t *ice.Transport) (jingle.Content, error) {
	el, err := t.Element()
	if err != nil {
		return ct, err
	}
	ct.Transport = &el
	return ct, nil
}

// remoteSDP builds the peer's description for p from the contents we
// know of it. typ is the peer's offer/answer position; setup, when set,
// replaces the peer's DTLS role (renegotiations must keep the role of
// the first exchange, as Conversations does).
func (c *Call) remoteSDP(p *peer, typ webrtc.SDPType, setup ice.Setup) (string, error) {
	author := jingle.CreatorInitiator
	if c.initiator {
		author = jingle.CreatorResponder
	}
	opts := Options{Author: author, Type: typ}
	var contents []jingle.Content
	for _, n := range p.contents {
		ct, ok := c.remote[n]
		if !ok {
			return "", fmt.Errorf("%w: no remote description of content %q", ErrCallState, n)
		}
		// Candidates go through addCandidate (see queueCandidates).
		t, _, err := ice.Decode(ct.Transport)
		if err != nil {
			return "", err
		}
		if setup != "" {
			for i := range t.Fingerprints {
				t.Fingerprints[i].Setup = setup
			}
		}
		t.Candidates, t.GatheringComplete = nil, false
		if ct, err = replaceTransport(ct, t); err != nil {
			return "", err
		}
		if !c.bundle {
			if ct, err = withoutSources(ct); err != nil {
				return "", err
			}
		}
		contents = append(contents, ct)
	}
	if !c.bundle || len(contents) == 1 && len(c.peers) > 1 {
		return ContentToSDP(&contents[0], contents[0].Name, opts)
	}
	j := &jingle.Jingle{Action: jingle.ActionSessionInitiate, SID: "call", Contents: contents}
	g := Group{Semantics: "BUNDLE"}
	for _, n := range p.contents {
		g.Contents = append(g.Contents, GroupContent{Name: n})
	}
	ge, err := jingle.NewElement(&g)
	if err != nil {
		return "", err
	}
	j.Payloads = []jingle.Element{ge}
	return JingleToSDP(j, opts)
}

// localContents translates p's local description into Jingle contents.
func (c *Call) localContents(p *peer) ([]jingle.Content, []jingle.Element, error) {
	ld := p.pc.LocalDescription()
	if ld == nil {
		return nil, nil, fmt.Errorf("%w: no local description", ErrCallState)
	}
	author := jingle.CreatorResponder
	if c.initiator {
		author = jingle.CreatorInitiator
	}
	opts := Options{Author: author, Type: ld.Type}
	if !c.bundle {
		ct, err := SDPToContent(ld.SDP, p.contents[0], opts)
		if err != nil {
			return nil, nil, err
		}
		ct.Creator = c.creatorOf(p.contents[0])
		if p.heldCreds != nil {
			if ct, err = withCreds(ct, *p.heldCreds); err != nil {
				return nil, nil, err
			}
		}
		return []jingle.Content{ct}, nil, nil
	}
	cts, payloads, err := SDPToJingle(ld.SDP, opts)
	if err != nil {
		return nil, nil, err
	}
	for i := range cts {
		cts[i].Creator = c.creatorOf(cts[i].Name)
		if p.heldCreds != nil {
			if cts[i], err = withCreds(cts[i], *p.heldCreds); err != nil {
				return nil, nil, err
			}
		}
	}
	return cts, payloads, nil
}

// withCreds is ct with its transport's credentials replaced by creds and
// no candidates: a description that must not announce pion's current
// credentials (peer.heldCreds).
func withCreds(ct jingle.Content, creds iceCreds) (jingle.Content, error) {
	if ct.Transport == nil {
		return ct, nil
	}
	t, _, err := ice.Decode(ct.Transport)
	if err != nil {
		return ct, err
	}
	t.Ufrag, t.Pwd = creds.ufrag, creds.pwd
	t.Candidates, t.GatheringComplete = nil, false
	return replaceTransport(ct, t)
}

// offerContent adds one content's transceiver to p for an offer: a
// source's codec only when sending a file (nothing is transcoded), every
// codec of the kind otherwise.
func (c *Call) offerContent(p *peer, name string, kind webrtc.RTPCodecType, src Source) error {
	var tr *webrtc.RTPTransceiver
	var err error
	var codecs []webrtc.RTPCodecParameters
	switch {
	case src != nil:
		tr, err = p.pc.AddTransceiverFromTrack(src.Track(), webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
		for _, sc := range SourceCodecs(src) {
			for _, cp := range SupportedCodecs(kind) {
				if codecMatch(cp.RTPCodecCapability, sc) {
					codecs = append(codecs, cp)
				}
			}
		}
	case c.media.Echo:
		codec := preferCodecs(SupportedCodecs(kind), c.media.Codecs, paramsCap)[0]
		var t *PayloadTrack
		t, err = NewPayloadTrack(codec.RTPCodecCapability, name, "jingled-echo")
		if err == nil {
			t.sendDirect(p.stats.directTx)
			p.echo[name] = t
			tr, err = p.pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
			codecs = []webrtc.RTPCodecParameters{codec}
		}
	default:
		tr, err = p.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
		if len(c.media.Codecs) > 0 {
			codecs = preferCodecs(SupportedCodecs(kind), c.media.Codecs, paramsCap)
		}
	}
	if err != nil {
		return fmt.Errorf("rtp: adding %s transceiver: %w", name, err)
	}
	if err := tr.SetMid(name); err != nil {
		return fmt.Errorf("rtp: naming transceiver %s: %w", name, err)
	}
	if len(codecs) > 0 {
		if err := tr.SetCodecPreferences(codecs); err != nil {
			return fmt.Errorf("rtp: codecs of %s: %w", name, err)
		}
	}
	return nil
}

// offerOne adds content name to p, makes and applies p's offer and
// returns p's local contents: a content-add, or one PeerConnection of an
// unbundled call.
func (c *Call) offerOne(p *peer, name string, kind webrtc.RTPCodecType, src Source) ([]jingle.Content, error) {
	if err := c.offerContent(p, name, kind, src); err != nil {
		return nil, err
	}
	if err := createOffer(p, false); err != nil {
		return nil, err
	}
	cts, _, err := c.localContents(p)
	return cts, err
}

// createOffer makes and applies p's local offer.
func createOffer(p *peer, restart bool) error {
	var o *webrtc.OfferOptions
	if restart {
		o = &webrtc.OfferOptions{ICERestart: true}
	}
	offer, err := p.pc.CreateOffer(o)
	if err != nil {
		return fmt.Errorf("rtp: creating offer: %w", err)
	}
	if err := p.pc.SetLocalDescription(offer); err != nil {
		return fmt.Errorf("rtp: applying offer: %w", err)
	}
	return nil
}

// accepted handles the peer's session-accept: its contents are the
// answer to our offer.
func (c *Call) onSessionAccept(j *jingle.Jingle) {
	var accepted []string
	for _, ct := range j.Contents {
		if c.byContent[ct.Name] == nil {
			continue // not one of ours
		}
		c.remote[ct.Name] = ct
		accepted = append(accepted, ct.Name)
	}
	if len(accepted) == 0 {
		c.fail(jingle.ReasonFailedApplication, fmt.Errorf("%w: the peer accepted none of our contents", ErrNoCommonCodec))
		return
	}
	if c.bundle && len(accepted) > 1 && !coversAll(Bundle(j), accepted) {
		if err := c.unbundle(); err != nil {
			c.fail(jingle.ReasonFailedApplication, fmt.Errorf("answer without BUNDLE: %w", err))
			return
		}
	}
	// Contents the peer left out of its session-accept (an audio-only
	// client answering audio+video) are rejected.
	for _, p := range append([]*peer(nil), c.peers...) {
		for _, n := range append([]string(nil), p.contents...) {
			if _, ok := c.remote[n]; !ok {
				if err := c.leftOut(p, n); err != nil {
					c.fail(jingle.ReasonFailedApplication, err)
					return
				}
			}
		}
	}
	for _, ct := range j.Contents {
		c.queueCandidates(&ct)
	}
	for _, p := range c.peers {
		sdp, err := c.remoteSDP(p, webrtc.SDPTypeAnswer, "")
		if err != nil {
			c.fail(jingle.ReasonFailedApplication, err)
			return
		}
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp}); err != nil {
			c.fail(jingle.ReasonFailedApplication, fmt.Errorf("applying the answer: %w", err))
			return
		}
		p.remoteSet = true
		ct := c.remote[p.contents[0]]
		p.remoteUfrag = remoteUfrag(&ct)
		c.flushPending(p)
	}
	c.setAccepted()
}

func (c *Call) setAccepted() {
	c.accepted = true
	c.emit(Event{Type: EventAccepted})
}

// startTimer starts the Duration timer once media can flow (the first
// transport connected), so a slow ICE set-up (a relay) does not eat into
// the call's length.
func (c *Call) startTimer() {
	if c.media.Duration > 0 && c.timer == nil {
		c.timer = time.AfterFunc(c.media.Duration, func() {
			c.q.post(func() { c.finish(jingle.NewReason(jingle.ReasonSuccess, ""), true) })
		})
	}
}

// answer accepts the incoming offer with media m.
func (c *Call) answer(m MediaOptions) {
	if c.accepted || c.ended {
		return
	}
	c.media = m
	if err := c.peerOpts.CheckAddresses(); err != nil {
		// Ending now tells the caller why; accepting would leave both
		// sides waiting for candidates that never come.
		c.fail(jingle.ReasonConnectivityError, err)
		return
	}
	audio, video, err := c.openSources()
	if err != nil {
		c.fail(jingle.ReasonMediaError, err)
		return
	}
	j := c.offer
	var groups [][]string
	if c.bundle {
		var all []string
		for _, ct := range j.Contents {
			all = append(all, ct.Name)
		}
		groups = [][]string{all}
	} else {
		for _, ct := range j.Contents {
			groups = append(groups, []string{ct.Name})
		}
	}
	for _, g := range groups {
		p, err := c.newPeer(g)
		if err != nil {
			c.fail(jingle.ReasonGeneralError, err)
			return
		}
		sdp, err := c.remoteSDP(p, webrtc.SDPTypeOffer, "")
		if err != nil {
			c.fail(jingle.ReasonFailedApplication, err)
			return
		}
		if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp}); err != nil {
			c.fail(jingle.ReasonFailedApplication, fmt.Errorf("applying the offer: %w", err))
			return
		}
		p.remoteSet = true
		ct := c.remote[g[0]]
		p.remoteUfrag = remoteUfrag(&ct)
		c.flushPending(p)
		for _, name := range g {
			ct := c.remote[name]
			if err := c.answerContent(p, &ct, audio, video); err != nil {
				c.fail(jingle.ReasonFailedApplication, err)
				return
			}
		}
	}
	var contents []jingle.Content
	var payloads []jingle.Element
	for _, p := range c.peers {
		ans, err := p.pc.CreateAnswer(nil)
		if err != nil {
			c.fail(jingle.ReasonFailedApplication, fmt.Errorf("creating answer: %w", err))
			return
		}
		if err := p.pc.SetLocalDescription(ans); err != nil {
			c.fail(jingle.ReasonFailedApplication, fmt.Errorf("applying answer: %w", err))
			return
		}
		cts, pl, err := c.localContents(p)
		if err != nil {
			c.fail(jingle.ReasonFailedApplication, err)
			return
		}
		learnLocal(p, cts)
		contents = append(contents, cts...)
		payloads = append(payloads, pl...)
	}
	ctx, cancel := context.WithTimeout(c.ctx, 30*time.Second)
	defer cancel()
	if err := c.Session().Accept(ctx, contents, payloads); err != nil {
		c.fail(jingle.ReasonGeneralError, fmt.Errorf("session-accept: %w", err))
		return
	}
	c.setAccepted()
}

// answerContent attaches what we send on one offered content: a source
// of its kind (whose codec the peer must have offered), an echo track in
// the first common codec, or nothing (receive only).
func (c *Call) answerContent(p *peer, ct *jingle.Content, audio, video Source) error {
	kind, d, err := contentKind(ct)
	if err != nil {
		return err
	}
	senders := ct.Senders.Normalize()
	if senders == jingle.SendersNone || senders == jingle.SendersInitiator {
		return nil
	}
	common := commonCodecs(kind, d)
	src := audio
	if kind == webrtc.RTPCodecTypeVideo {
		src = video
	}
	switch {
	case src != nil:
		ok := false
		for _, cp := range common {
			for _, sc := range SourceCodecs(src) {
				ok = ok || codecMatch(cp.RTPCodecCapability, sc)
			}
		}
		if !ok {
			return fmt.Errorf("%w: the %s input %s, the peer offered %s for %s", ErrNoCommonCodec,
				src.Kind(), describeSource(SourceCodecs(src)), offeredNames(d), ct.Name)
		}
		if _, err := p.pc.AddTrack(src.Track()); err != nil {
			return fmt.Errorf("rtp: adding %s track: %w", ct.Name, err)
		}
	case c.media.Echo && len(common) > 0:
		t, err := NewPayloadTrack(common[0].RTPCodecCapability, ct.Name, "jingled-echo")
		if err != nil {
			return fmt.Errorf("rtp: echo track: %w", err)
		}
		t.sendDirect(p.stats.directTx)
		if _, err := p.pc.AddTrack(t); err != nil {
			return fmt.Errorf("rtp: adding echo track: %w", err)
		}
		p.echo[ct.Name] = t
	}
	return nil
}

// negotiating reports whether an offer/answer exchange (ICE restart or
// content-add) is in flight on any transport: another one would be glare.
// A content-add held across a restart (readd, deferredAdds) still is.
func (c *Call) negotiating() bool {
	for _, p := range c.peers {
		if p.restarting || p.answering != nil || len(p.readd) > 0 || len(p.deferredAdds) > 0 ||
			p.pc.SignalingState() != webrtc.SignalingStateStable {
			return true
		}
	}
	return false
}

// keepSetup writes our established DTLS role into contents of a
// renegotiation on a running transport: pion writes actpass in every
// offer and active in every answer, but the DTLS association (and its
// roles) of the first exchange goes on, and a peer must not be told
// otherwise.
func (c *Call) keepSetup(p *peer, cts []jingle.Content) {
	role := dtlsRole(p, c.remoteOf(p))
	for i := range cts {
		t, _, err := ice.Decode(cts[i].Transport)
		if err != nil {
			continue
		}
		for k := range t.Fingerprints {
			t.Fingerprints[k].Setup = role
		}
		if nc, err := replaceTransport(cts[i], t); err == nil {
			cts[i] = nc
		}
	}
}

// peerRole is the peer's fixed DTLS role on p (the opposite of ours).
func (c *Call) peerRole(p *peer) ice.Setup {
	if dtlsRole(p, c.remoteOf(p)) == ice.SetupActive {
		return ice.SetupPassive
	}
	return ice.SetupActive
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

// Answer accepts an incoming call with media m.
func (c *Call) Answer(ctx context.Context, m MediaOptions) error {
	if c.initiator {
		return fmt.Errorf("rtp: answering our own call: %w", ErrCallState)
	}
	done := make(chan struct{})
	if !c.q.post(func() { c.answer(m); close(done) }) {
		return fmt.Errorf("rtp: answer: %w", ErrCallState)
	}
	select {
	case <-done:
	case <-ctx.Done():
		return ctx.Err()
	}
	if r := c.Reason(); r != nil {
		return fmt.Errorf("rtp: answer: call ended: %s", r)
	}
	return nil
}

// prepareOffer builds the PeerConnections and the offer's contents.
func (c *Call) prepareOffer(opts CallOptions) ([]jingle.Content, []jingle.Element, error) {
	audio, video, err := c.openSources()
	if err != nil {
		return nil, nil, err
	}
	type want struct {
		name string
		kind webrtc.RTPCodecType
		src  Source
	}
	var ws []want
	if !opts.NoAudio {
		ws = append(ws, want{"audio", webrtc.RTPCodecTypeAudio, audio})
	}
	if video != nil || opts.ReceiveVideo {
		ws = append(ws, want{"video", webrtc.RTPCodecTypeVideo, video})
	}
	if len(ws) == 0 {
		return nil, nil, fmt.Errorf("rtp: a call needs audio or video: %w", ErrCallState)
	}
	var contents []jingle.Content
	var payloads []jingle.Element
	if c.bundle {
		var names []string
		for _, w := range ws {
			names = append(names, w.name)
		}
		p, err := c.newPeer(names)
		if err != nil {
			return nil, nil, err
		}
		for _, w := range ws {
			if err := c.offerContent(p, w.name, w.kind, w.src); err != nil {
				return nil, nil, err
			}
		}
		if err := createOffer(p, false); err != nil {
			return nil, nil, err
		}
		cts, pl, err := c.localContents(p)
		if err != nil {
			return nil, nil, err
		}
		learnLocal(p, cts)
		contents, payloads = cts, pl
	} else {
		for _, w := range ws {
			p, err := c.newPeer([]string{w.name})
			if err != nil {
				return nil, nil, err
			}
			if err := c.offerContent(p, w.name, w.kind, w.src); err != nil {
				return nil, nil, err
			}
			if err := createOffer(p, false); err != nil {
				return nil, nil, err
			}
			cts, _, err := c.localContents(p)
			if err != nil {
				return nil, nil, err
			}
			learnLocal(p, cts)
			contents = append(contents, cts...)
		}
	}
	return contents, payloads, nil
}
