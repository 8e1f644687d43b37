// Contents added, removed, accepted and modified during a call (XEP-0166
// §6.3-6.7, XEP-0167 §8): AddContent and RemoveContent, the peer's
// content-add, content-accept, content-reject, content-remove and
// content-modify, and who created which content.

package rtp

import (
	"context"
	"fmt"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// send sends a Jingle action of the call and waits for the ack.
func (c *Call) send(j *jingle.Jingle) error {
	ctx, cancel := context.WithTimeout(c.ctx, 15*time.Second)
	defer cancel()
	return c.Session().Send(ctx, j)
}

// ourCreator is the creator value of contents we add.
func (c *Call) ourCreator() jingle.Creator {
	if c.initiator {
		return jingle.CreatorInitiator
	}
	return jingle.CreatorResponder
}

// AddContent adds a content to the running call (XEP-0166 content-add;
// XEP-0167 §8 "adding video"): name is the content name ("video"), src
// what to send on it (nil: receive only, or echo when the call echoes).
// The peer answers with content-accept (the content then carries media)
// or content-reject.
func (c *Call) AddContent(ctx context.Context, name string, kind webrtc.RTPCodecType, src Source) error {
	errc := make(chan error, 1)
	if !c.q.post(func() { errc <- c.addContent(name, kind, src) }) {
		return fmt.Errorf("rtp: content-add: %w", ErrCallState)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (c *Call) addContent(name string, kind webrtc.RTPCodecType, src Source) error {
	if !c.accepted || c.ended || c.byContent[name] != nil || c.negotiating() {
		return fmt.Errorf("rtp: content-add %q: %w", name, ErrCallState)
	}
	if src != nil {
		c.sources = append(c.sources, src)
	}
	var p *peer
	var err error
	if c.bundle {
		p = c.peers[0]
		p.contents = append(p.contents, name)
		c.byContent[name] = p
	} else if p, err = c.newPeer([]string{name}); err != nil {
		return err
	}
	c.created(name)
	cts, err := c.offerOne(p, name, kind, src)
	if err != nil {
		return err
	}
	if !c.bundle {
		learnLocal(p, cts)
	} else {
		c.keepSetup(p, cts)
	}
	var add []jingle.Content
	for _, ct := range cts {
		if ct.Name == name {
			add = append(add, ct)
		}
	}
	if len(add) == 0 {
		return fmt.Errorf("rtp: content-add %q: not in the local offer: %w", name, ErrCallState)
	}
	if err := c.send(&jingle.Jingle{Action: jingle.ActionContentAdd, Contents: add}); err != nil {
		return fmt.Errorf("rtp: content-add %q: %w", name, err)
	}
	// A source added while on hold or muted starts paused.
	c.applySending()
	if p.connected {
		c.startSources(p)
	}
	return nil
}

// created records that we created content name (its creator attribute
// is our role from then on).
func (c *Call) created(name string) {
	c.ours[name] = true
}

// RemoveContent removes a content from the call (content-remove).
func (c *Call) RemoveContent(ctx context.Context, name string) error {
	errc := make(chan error, 1)
	if !c.q.post(func() {
		if c.byContent[name] == nil {
			errc <- fmt.Errorf("rtp: content-remove %q: %w", name, ErrCallState)
			return
		}
		j := &jingle.Jingle{Action: jingle.ActionContentRemove, Contents: []jingle.Content{{Creator: c.creatorOf(name), Name: name}}}
		err := c.send(j)
		c.removeContent(name, "")
		errc <- err
	}) {
		return fmt.Errorf("rtp: content-remove: %w", ErrCallState)
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// removeContent stops a content's media: its transceiver in a bundled
// session, its whole PeerConnection otherwise. When nothing is left the
// session ends with <success/> (XEP-0166 §6.6.2: removing the last
// content ends the session).
func (c *Call) removeContent(name, why string) {
	p := c.byContent[name]
	if p == nil {
		return
	}
	delete(c.byContent, name)
	c.emit(Event{Type: EventContentRemove, Content: name, Text: why})
	if len(p.contents) == 1 {
		if err := p.pc.Close(); err != nil {
			c.log.Debug("rtp: closing PeerConnection", "err", err)
		}
		for i, q := range c.peers {
			if q == p {
				c.peers = append(c.peers[:i], c.peers[i+1:]...)
				break
			}
		}
		if p.connected {
			c.connected--
		}
	} else {
		for _, tr := range p.pc.GetTransceivers() {
			if tr.Mid() == name {
				if err := tr.Stop(); err != nil {
					c.log.Debug("rtp: stopping transceiver", "content", name, "err", err)
				}
			}
		}
	}
	if len(c.byContent) == 0 {
		c.finish(jingle.NewReason(jingle.ReasonSuccess, "no content left"), true)
	}
}

// onContentRemove handles the peer's content-remove or content-reject.
func (c *Call) onContentRemove(j *jingle.Jingle) {
	for _, ct := range j.Contents {
		p := c.byContent[ct.Name]
		if p == nil {
			continue
		}
		if j.Action == jingle.ActionContentReject && p.pc.SignalingState() == webrtc.SignalingStateHaveLocalOffer && len(p.contents) > 1 {
			// Our content-add on the bundle was refused. pion cannot
			// roll our offer back (have-local-offer -> rollback is not
			// in its table), so it gets an answer with the content
			// inactive (settleAdds), and the content's transceiver
			// stops in removeContent, as a removed content's does.
			if err := c.settleAdds(p); err != nil {
				c.log.Warn("rtp: content-reject", "content", ct.Name, "err", err)
			}
		}
		// A content-add held for a restart (settleAdds) is inactive on a
		// stable PeerConnection by now: the reject settles it.
		delete(p.readd, ct.Name)
		why := ""
		if j.Action == jingle.ActionContentReject {
			why = "rejected"
		}
		c.removeContent(ct.Name, why)
	}
}

// rejectContents refuses a content-add with reason r.
func (c *Call) rejectContents(j *jingle.Jingle, r *jingle.Reason) {
	var cts []jingle.Content
	for _, ct := range j.Contents {
		cts = append(cts, jingle.Content{Creator: ct.Creator, Name: ct.Name})
	}
	if err := c.send(&jingle.Jingle{Action: jingle.ActionContentReject, Contents: cts, Reason: r}); err != nil {
		c.log.Debug("rtp: content-reject", "err", err)
	}
}

// onContentAdd answers the peer's content-add with content-accept.
func (c *Call) onContentAdd(j *jingle.Jingle) {
	if c.bundle && len(c.peers) > 0 && c.peers[0].restarting {
		// It crossed our restart offer, which pion holds: answered once
		// the restart's answer is applied (replayAdds), on the new
		// transport.
		p := c.peers[0]
		p.deferredAdds = append(p.deferredAdds, j)
		return
	}
	var accept []jingle.Content
	for _, ct := range j.Contents {
		if ct.DescriptionNS() != NS || c.byContent[ct.Name] != nil {
			continue
		}
		if c.bundle && len(c.peers) > 0 {
			ct = c.onBundle(c.peers[0], ct)
		}
		c.remote[ct.Name] = ct
		c.queueCandidates(&ct)
		var p *peer
		if c.bundle && len(c.peers) > 0 {
			p = c.peers[0]
			p.contents = append(p.contents, ct.Name)
			c.byContent[ct.Name] = p
		} else {
			np, err := c.newPeer([]string{ct.Name})
			if err != nil {
				c.rejectContents(&jingle.Jingle{Contents: []jingle.Content{ct}}, jingle.NewReason(jingle.ReasonGeneralError, err.Error()))
				continue
			}
			p = np
		}
		setup := ice.Setup("")
		if c.bundle {
			setup = c.peerRole(p)
		}
		sdp, err := c.remoteSDP(p, webrtc.SDPTypeOffer, setup)
		if err == nil {
			err = p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeOffer, SDP: sdp})
		}
		if err == nil {
			p.remoteSet = true
			if p.remoteUfrag == "" {
				p.remoteUfrag = remoteUfrag(&ct)
			}
			c.flushPending(p)
			src := c.addedSource(&ct)
			err = c.answerContent(p, &ct, src, src)
		}
		var ans webrtc.SessionDescription
		if err == nil {
			ans, err = p.pc.CreateAnswer(nil)
		}
		if err == nil {
			err = p.pc.SetLocalDescription(ans)
		}
		var cts []jingle.Content
		if err == nil {
			cts, _, err = c.localContents(p)
		}
		if err != nil {
			c.log.Warn("rtp: content-add", "content", ct.Name, "err", err)
			c.rejectContents(&jingle.Jingle{Contents: []jingle.Content{ct}}, jingle.NewReason(jingle.ReasonFailedApplication, err.Error()))
			continue
		}
		if !c.bundle {
			learnLocal(p, cts)
		} else {
			c.keepSetup(p, cts)
		}
		for _, x := range cts {
			if x.Name == ct.Name {
				accept = append(accept, x)
			}
		}
	}
	if len(accept) == 0 {
		return
	}
	if err := c.send(&jingle.Jingle{Action: jingle.ActionContentAccept, Contents: accept}); err != nil {
		c.log.Debug("rtp: content-accept", "err", err)
	}
	for _, ct := range accept {
		c.emit(Event{Type: EventContentAdd, Content: ct.Name})
	}
	c.applySending()
	for _, p := range c.peers {
		if p.connected {
			c.startSources(p)
		}
	}
}

// addedSource asks MediaOptions.AddedSource what to send on a content
// the peer added; the call owns (starts and closes) what it returns.
func (c *Call) addedSource(ct *jingle.Content) Source {
	if c.media.AddedSource == nil {
		return nil
	}
	kind, d, err := contentKind(ct)
	if err != nil {
		return nil
	}
	src := c.media.AddedSource(ct.Name, kind, commonCodecs(kind, d))
	if src != nil {
		c.sources = append(c.sources, src)
	}
	return src
}

// onContentAccept applies the peer's answer to our content-add.
func (c *Call) onContentAccept(j *jingle.Jingle) {
	for _, ct := range j.Contents {
		p := c.byContent[ct.Name]
		if p == nil {
			continue
		}
		if _, held := p.readd[ct.Name]; held {
			if err := c.acceptReadd(p, ct); err != nil {
				c.log.Warn("rtp: content-accept", "content", ct.Name, "err", err)
				c.removeContent(ct.Name, "failed")
				continue
			}
			c.emit(Event{Type: EventContentAdd, Content: ct.Name})
			c.applySending() // hold and mute to its restored track
			if p.connected {
				c.startSources(p) // unless started before it was held
			}
			continue
		}
		c.remote[ct.Name] = ct
		c.queueCandidates(&ct)
		setup := ice.Setup("")
		if c.bundle {
			setup = c.peerRole(p)
		}
		sdp, err := c.remoteSDP(p, webrtc.SDPTypeAnswer, setup)
		if err == nil {
			err = p.pc.SetRemoteDescription(webrtc.SessionDescription{Type: webrtc.SDPTypeAnswer, SDP: sdp})
		}
		if err != nil {
			c.log.Warn("rtp: content-accept", "content", ct.Name, "err", err)
			c.removeContent(ct.Name, "failed")
			continue
		}
		p.remoteSet = true
		if p.remoteUfrag == "" {
			p.remoteUfrag = remoteUfrag(&ct)
		}
		c.flushPending(p)
		c.emit(Event{Type: EventContentAdd, Content: ct.Name})
	}
}

// onContentModify applies a peer's change of senders to what we send.
func (c *Call) onContentModify(j *jingle.Jingle) {
	for _, ct := range j.Contents {
		if c.byContent[ct.Name] == nil {
			continue
		}
		if rc, ok := c.remote[ct.Name]; ok {
			rc.Senders = ct.Senders
			c.remote[ct.Name] = rc
		}
		c.sendState.setSender(ct.Name, ct.Senders, c.ourCreator())
	}
	c.applySending()
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
