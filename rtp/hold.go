// Session-info (XEP-0167 §7): ringing, active, hold, unhold, mute and
// unmute sent and received, and why we do not send on a content (our
// hold, the peer's, mutes, content-modify senders), each lifted on its own.

package rtp

import (
	"context"
	"encoding/xml"
	"fmt"

	"github.com/jingled/jingled/jingle"
)

// sendState says why we do not send on a content. Several reasons can
// hold at once and each is lifted on its own: unmuting while the peer
// still holds the call sends nothing. Loop-owned.
type sendState struct {
	// held: we put the call on hold (Call.Info hold).
	held bool
	// heldByPeer: the peer put the call on hold. XEP-0167 §7.2: its
	// principal "is temporarily not listening for media", so we stop
	// sending too, and hold stops the media both ways.
	heldByPeer bool
	// mutedAll: Call.Info mute of every content; unmuted are the
	// contents unmuted one by one since. muted: contents muted one by
	// one.
	mutedAll bool
	muted    map[string]bool
	unmuted  map[string]bool
	// notSender: contents whose senders a peer's content-modify left us
	// out of.
	notSender map[string]bool
}

// sending reports whether we send on content.
func (s *sendState) sending(content string) bool {
	muted := s.muted[content] || (s.mutedAll && !s.unmuted[content])
	return !s.held && !s.heldByPeer && !muted && !s.notSender[content]
}

// info updates s for one of our (local) or the peer's session-infos.
func (s *sendState) info(what EventType, content string, local bool) {
	if s.muted == nil {
		s.muted, s.unmuted = map[string]bool{}, map[string]bool{}
	}
	switch what {
	case EventHold, EventUnhold, EventActive:
		on := what == EventHold
		if local {
			s.held = on
		} else {
			s.heldByPeer = on
		}
	case EventMute, EventUnmute:
		if !local {
			return // the peer's mute says what it sends, not what we do
		}
		mute := what == EventMute
		if content == "" {
			s.mutedAll = mute
			clear(s.muted)
			clear(s.unmuted)
			return
		}
		if mute {
			s.muted[content] = true
			delete(s.unmuted, content)
		} else {
			delete(s.muted, content)
			if s.mutedAll {
				s.unmuted[content] = true
			}
		}
	}
}

// setSender records a peer's content-modify of content's senders.
func (s *sendState) setSender(content string, senders jingle.Senders, us jingle.Creator) {
	if s.notSender == nil {
		s.notSender = map[string]bool{}
	}
	switch senders.Normalize() {
	case jingle.SendersBoth, jingle.Senders(us):
		delete(s.notSender, content)
	default:
		s.notSender[content] = true
	}
}

// applySending pauses or resumes what we send on every content as
// c.sendState says: sources that implement Pauser and echo tracks. The
// transceivers stay as they are, so no renegotiation is needed (XEP-0167
// §7: hold and mute are informational; the media simply stops).
func (c *Call) applySending() {
	for _, p := range c.peers {
		for _, tr := range p.pc.GetTransceivers() {
			on := c.sendState.sending(tr.Mid())
			if f := p.echoPaused[tr.Mid()]; f != nil {
				f.Store(!on)
			}
			s := tr.Sender()
			if s == nil || s.Track() == nil {
				continue
			}
			for _, src := range c.sources {
				if ps, ok := src.(Pauser); ok && src.Track() == s.Track() {
					ps.SetPaused(!on)
				}
			}
		}
	}
}

// Info sends a session-info with an XEP-0167 informational payload
// (active, hold, unhold, mute, unmute, ringing). content names the
// content for mute/unmute ("" = all).
func (c *Call) Info(ctx context.Context, what EventType, content string) error {
	e, err := infoElement(what, content, c.initiator)
	if err != nil {
		return err
	}
	s := c.Session()
	if s == nil {
		return fmt.Errorf("rtp: session-info before the session exists: %w", ErrCallState)
	}
	if err := s.Info(ctx, e); err != nil {
		return fmt.Errorf("rtp: session-info %s: %w", what, err)
	}
	c.q.post(func() {
		c.sendState.info(what, content, true)
		c.applySending()
	})
	return nil
}

// sessionInfo handles XEP-0167 §7 informational messages.
func (c *Call) sessionInfo(j *jingle.Jingle) error {
	if len(j.Payloads) == 0 {
		return nil // a ping (XEP-0166 §6.8)
	}
	for _, p := range j.Payloads {
		if p.XMLName.Space != NSInfo {
			return jingle.ErrUnsupportedInfo
		}
		var t EventType
		switch p.XMLName.Local {
		case "active":
			t = EventActive
		case "hold":
			t = EventHold
		case "unhold":
			t = EventUnhold
		case "mute":
			t = EventMute
		case "unmute":
			t = EventUnmute
		case "ringing":
			t = EventRinging
		default:
			return jingle.ErrUnsupportedInfo
		}
		e := Event{Type: t, Content: p.Attribute("name")}
		c.q.post(func() {
			c.sendState.info(e.Type, e.Content, false)
			c.applySending()
			c.emit(e)
		})
	}
	return nil
}

// infoElement builds an XEP-0167 session-info payload.
func infoElement(what EventType, content string, initiator bool) (jingle.Element, error) {
	switch what {
	case EventActive, EventHold, EventUnhold, EventRinging:
	case EventMute, EventUnmute:
		creator := string(jingle.CreatorInitiator)
		if !initiator && content == "" {
			creator = string(jingle.CreatorResponder)
		}
		e := jingle.Element{XMLName: xmlName(NSInfo, string(what))}
		e.Attr = append(e.Attr, attr2("creator", creator))
		if content != "" {
			e.Attr = append(e.Attr, attr2("name", content))
		}
		return e, nil
	default:
		return jingle.Element{}, fmt.Errorf("rtp: %q is not an XEP-0167 session-info: %w", what, ErrCallState)
	}
	return jingle.Element{XMLName: xmlName(NSInfo, string(what))}, nil
}

func xmlName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }

func attr2(k, v string) xml.Attr { return xml.Attr{Name: xml.Name{Local: k}, Value: v} }
