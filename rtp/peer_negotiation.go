package rtp

import (
	"context"
	"fmt"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// contentKind returns the pion kind of a content's RTP description.
func contentKind(ct *jingle.Content) (webrtc.RTPCodecType, *Description, error) {
	d, err := Decode(ct.Description)
	if err != nil {
		return 0, nil, err
	}
	switch d.Media {
	case MediaAudio:
		return webrtc.RTPCodecTypeAudio, d, nil
	case MediaVideo:
		return webrtc.RTPCodecTypeVideo, d, nil
	}
	return 0, d, fmt.Errorf("%w: media %q", ErrInvalidDescription, d.Media)
}

// commonCodecs returns the peer's payload types we support, in the
// peer's preference order (XEP-0167 §5: the offer lists them by
// preference), as pion codec parameters with the peer's numbers.
func commonCodecs(kind webrtc.RTPCodecType, d *Description) []webrtc.RTPCodecParameters {
	var out []webrtc.RTPCodecParameters
	for i := range d.PayloadTypes {
		pt := &d.PayloadTypes[i]
		cp := pt.CodecParameters(d.Media, d.RTCPFeedback)
		if cp.ClockRate == 0 {
			cp.ClockRate = defaultClockRate(d.Media, pt)
		}
		for _, ours := range SupportedCodecs(kind) {
			if codecMatch(ours.RTPCodecCapability, cp.RTPCodecCapability) {
				// The peer's parameters are kept: they describe what it
				// sends and how it wants to receive.
				out = append(out, cp)
				break
			}
		}
	}
	return out
}

// codecMatch compares name and clock rate, plus the parameters that make
// formats incompatible: VP9 profile and H.264 packetization mode and
// profile (profile-level-id's first two bytes; the level may differ).
func codecMatch(ours, theirs webrtc.RTPCodecCapability) bool {
	if !strings.EqualFold(ours.MimeType, theirs.MimeType) || ours.ClockRate != theirs.ClockRate {
		return false
	}
	op, tp := ParseFmtp(ours.SDPFmtpLine), ParseFmtp(theirs.SDPFmtpLine)
	get := func(ps []Parameter, n, def string) string {
		for _, p := range ps {
			if strings.EqualFold(p.Name, n) {
				return strings.ToLower(p.Value)
			}
		}
		return def
	}
	switch strings.ToLower(ours.MimeType) {
	case strings.ToLower(webrtc.MimeTypeVP9):
		return get(op, "profile-id", "0") == get(tp, "profile-id", "0")
	case strings.ToLower(webrtc.MimeTypeH264):
		if get(op, "packetization-mode", "0") != get(tp, "packetization-mode", "0") {
			return false
		}
		o, t := get(op, "profile-level-id", "42001f"), get(tp, "profile-level-id", "42001f")
		return len(o) >= 4 && len(t) >= 4 && o[:2] == t[:2]
	}
	return true
}

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
		return []jingle.Content{ct}, nil, nil
	}
	cts, payloads, err := SDPToJingle(ld.SDP, opts)
	if err != nil {
		return nil, nil, err
	}
	for i := range cts {
		cts[i].Creator = c.creatorOf(cts[i].Name)
	}
	return cts, payloads, nil
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
	return audio, video, nil
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
		for _, cp := range SupportedCodecs(kind) {
			if codecMatch(cp.RTPCodecCapability, src.Codec()) {
				codecs = append(codecs, cp)
			}
		}
	case c.media.Echo:
		codec := SupportedCodecs(kind)[0]
		var t *webrtc.TrackLocalStaticRTP
		t, err = webrtc.NewTrackLocalStaticRTP(codec.RTPCodecCapability, name, "jingled-echo")
		if err == nil {
			p.echo[name] = t
			tr, err = p.pc.AddTransceiverFromTrack(t, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionSendrecv})
			codecs = []webrtc.RTPCodecParameters{codec}
		}
	default:
		tr, err = p.pc.AddTransceiverFromKind(kind, webrtc.RTPTransceiverInit{Direction: webrtc.RTPTransceiverDirectionRecvonly})
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
			if codecMatch(cp.RTPCodecCapability, src.Codec()) {
				ok = true
			}
		}
		if !ok {
			return fmt.Errorf("%w: the peer does not accept %s for %s", ErrNoCommonCodec, src.Codec().MimeType, ct.Name)
		}
		if _, err := p.pc.AddTrack(src.Track()); err != nil {
			return fmt.Errorf("rtp: adding %s track: %w", ct.Name, err)
		}
	case c.media.Echo && len(common) > 0:
		t, err := webrtc.NewTrackLocalStaticRTP(common[0].RTPCodecCapability, ct.Name, "jingled-echo")
		if err != nil {
			return fmt.Errorf("rtp: echo track: %w", err)
		}
		if _, err := p.pc.AddTrack(t); err != nil {
			return fmt.Errorf("rtp: adding echo track: %w", err)
		}
		p.echo[ct.Name] = t
	}
	return nil
}

// restartICE is our side of an ICE restart (see Call.RestartICE).
func (c *Call) restartICE() error {
	if !c.accepted || c.ended || c.negotiating() {
		return fmt.Errorf("rtp: ICE restart: %w", ErrCallState)
	}
	for _, p := range c.peers {
		role := dtlsRole(p, c.remoteOf(p))
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
	p.remoteSet = false
	if err := p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: typ, SDP: sdp}); err != nil {
		c.fail(jingle.ReasonConnectivityError, fmt.Errorf("ICE restart: %w", err))
		return
	}
	p.remoteSet = true
	if p.restarting {
		p.restarting = false
		c.emit(Event{Type: EventRestart})
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

// negotiating reports whether an offer/answer exchange (ICE restart or
// content-add) is in flight on any transport: another one would be glare.
func (c *Call) negotiating() bool {
	for _, p := range c.peers {
		if p.restarting || p.answering != nil || p.pc.SignalingState() != webrtc.SignalingStateStable {
			return true
		}
	}
	return false
}

func coversAll(group, names []string) bool {
	in := map[string]bool{}
	for _, g := range group {
		in[g] = true
	}
	for _, n := range names {
		if !in[n] {
			return false
		}
	}
	return true
}

// unbundle handles a peer that answered our BUNDLE offer with one
// transport per content and no group (Dino does): pion cannot apply such
// an answer to one PeerConnection, so each content moves to a
// PeerConnection of its own. The new ones keep the ICE credentials and
// the DTLS certificate of our offer, which is all the peer knows of us,
// so the answer applies to each of them unchanged; candidates are
// gathered anew and trickled per content.
func (c *Call) unbundle() error {
	old := c.peers[0]
	c.log.Debug("rtp: peer answered without BUNDLE, one PeerConnection per content", "contents", old.contents)
	type moved struct {
		name string
		kind webrtc.RTPCodecType
		src  Source
	}
	var ms []moved
	for _, n := range old.contents {
		for _, tr := range old.pc.GetTransceivers() {
			if tr.Mid() != n {
				continue
			}
			m := moved{name: n, kind: tr.Kind()}
			if s := tr.Sender(); s != nil && s.Track() != nil {
				for _, src := range c.sources {
					if src.Track() == s.Track() {
						m.src = src
					}
				}
			}
			ms = append(ms, m)
		}
	}
	// Candidates the peer trickled before its answer wait per content.
	for _, in := range old.pending {
		if in.SDPMid != nil {
			c.early[*in.SDPMid] = append(c.early[*in.SDPMid], in)
		}
	}
	c.peers, c.byContent, c.bundle = nil, map[string]*peer{}, false
	if err := old.pc.Close(); err != nil {
		c.log.Debug("rtp: closing bundled PeerConnection", "err", err)
	}
	for _, m := range ms {
		p, err := c.newPeerCreds([]string{m.name}, old.ufrag, old.pwd)
		if err != nil {
			return err
		}
		if err := c.offerContent(p, m.name, m.kind, m.src); err != nil {
			return err
		}
		if err := createOffer(p, false); err != nil {
			return err
		}
		cts, _, err := c.localContents(p)
		if err != nil {
			return err
		}
		learnLocal(p, cts)
		if p.ufrag != old.ufrag {
			return fmt.Errorf("rtp: split transport got ufrag %q, want %q", p.ufrag, old.ufrag)
		}
	}
	return nil
}

// withoutSources drops the XEP-0339 sources of a content's description.
// A PeerConnection that carries one content then takes whatever SSRC
// arrives on it (pion's undeclared-SSRC path), as Dino's GStreamer does;
// it must, because a peer that split our bundle (see unbundle) sends
// from new SSRCs that were never signalled.
func withoutSources(ct jingle.Content) (jingle.Content, error) {
	if ct.Description == nil {
		return ct, nil
	}
	d, err := Decode(ct.Description)
	if err != nil {
		return ct, err
	}
	if len(d.Sources) == 0 && len(d.SourceGroups) == 0 && d.SSRC == 0 {
		return ct, nil
	}
	d.Sources, d.SourceGroups, d.SSRC = nil, nil, 0
	el, err := d.Element()
	if err != nil {
		return ct, err
	}
	ct.Description = &el
	return ct, nil
}

// leftOut handles a content of our offer that the peer's session-accept
// does not mention. Without BUNDLE its PeerConnection is closed. With
// BUNDLE pion still needs an m-line for it in the answer (it has no
// notion of rejected m-lines), so the answer gets our own description
// of it with senders none (a=inactive) on the bundle's transport: the
// transceiver stays, silent.
func (c *Call) leftOut(p *peer, name string) error {
	c.log.Debug("rtp: content left out of session-accept", "content", name)
	if len(p.contents) == 1 {
		delete(c.byContent, name)
		for i, q := range c.peers {
			if q == p {
				c.peers = append(c.peers[:i], c.peers[i+1:]...)
				break
			}
		}
		if err := p.pc.Close(); err != nil {
			c.log.Debug("rtp: closing PeerConnection", "err", err)
		}
		return nil
	}
	cts, _, err := c.localContents(p)
	if err != nil {
		return err
	}
	var desc *jingle.Element
	for i := range cts {
		if cts[i].Name == name {
			desc = cts[i].Description
		}
	}
	var tr *jingle.Element
	for _, n := range p.contents {
		if rc, ok := c.remote[n]; ok && rc.Transport != nil {
			tr = rc.Transport
			break
		}
	}
	if desc == nil || tr == nil {
		return fmt.Errorf("rtp: content %q left out of the answer: %w", name, ErrCallState)
	}
	c.remote[name] = jingle.Content{Creator: c.creatorOf(name), Name: name, Senders: jingle.SendersNone, Description: desc, Transport: tr}
	return nil
}
