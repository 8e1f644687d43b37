// Peers that do not bundle (Dino): one PeerConnection per content, since
// pion accepts only bundled remote descriptions. A BUNDLE offer answered
// without a group is split (unbundle), sources are left out of such a
// content's remote description, and a content the answer leaves out is
// dropped or kept silent.

package rtp

import (
	"fmt"

	"github.com/jingled/jingled/jingle"
	"github.com/pion/webrtc/v4"
)

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
// so the answer applies to each of them unchanged (and later ICE
// restarts draw new credentials: releaseFixedCredentials); candidates
// are gathered anew and trickled per content.
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
		cts, err := c.offerOne(p, m.name, m.kind, m.src)
		if err != nil {
			return err
		}
		learnLocal(p, cts)
		if p.ufrag != old.ufrag {
			return fmt.Errorf("rtp: split transport got ufrag %q, want %q", p.ufrag, old.ufrag)
		}
		// The agent holds the credentials now; a later ICE restart
		// must get new ones (see releaseFixedCredentials).
		if err := releaseFixedCredentials(p.pc); err != nil {
			c.log.Warn("rtp: an ICE restart of this split transport would keep its credentials", "content", m.name, "err", err)
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
	return c.inactiveRemote(p, name)
}

// inactiveRemote records as the peer's description of our content name
// on the bundled p our own description of it with senders none
// (a=inactive) on the bundle's transport: what pion needs in an answer
// for a content the peer did not (or not yet) accept.
func (c *Call) inactiveRemote(p *peer, name string) error {
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
		return fmt.Errorf("rtp: content %q as inactive: no description or transport: %w", name, ErrCallState)
	}
	c.remote[name] = jingle.Content{Creator: c.creatorOf(name), Name: name, Senders: jingle.SendersNone, Description: desc, Transport: tr}
	return nil
}
