package jingle

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
	"runtime/debug"
)

// Jingle Message Initiation (XEP-0353) on the wire: sending proposals,
// and routing the messages that answer them (JMI elements, receipts,
// chat markers, carbons, bounces). The Proposal itself is in
// proposal.go.

// Namespaces JMI (XEP-0353) rides with.
const (
	// NSReceipts is XEP-0184 message delivery receipts: Conversations
	// shows "ringing" when the receipt of a <propose/> comes back.
	NSReceipts = "urn:xmpp:receipts"
	// NSChatMarkers is XEP-0333; its <received/> counts like a receipt.
	NSChatMarkers = "urn:xmpp:chat-markers:0"
	// NSHints is XEP-0334; JMI messages carry <store/>.
	NSHints = "urn:xmpp:hints"
	// NSCarbons is XEP-0280 message carbons.
	NSCarbons = "urn:xmpp:carbons:2"
	// NSForward is XEP-0297 stanza forwarding, which carbons wrap.
	NSForward = "urn:xmpp:forward:0"
)

// Propose sends a XEP-0353 <propose/> to peer (a bare JID rings every
// device of the account, a full JID one) with one description per
// intended content. The message requests a XEP-0184 receipt, which is how
// Conversations learns that a device rings. Without an answer within the
// initiate timeout the proposal is retracted and Wait fails with
// ErrProposalTimeout.
func (m *Manager) Propose(ctx context.Context, peer string, descriptions []Element, opts ...ProposeOption) (*Proposal, error) {
	if peer == "" {
		return nil, fmt.Errorf("jingle: propose: %w", errNoPeer)
	}
	p := &Proposal{
		m:       m,
		id:      newID(),
		peer:    peer,
		descs:   append([]Element(nil), descriptions...),
		ringing: make(chan struct{}),
		done:    make(chan struct{}),
	}
	for _, o := range opts {
		o(p)
	}
	var inner bytes.Buffer
	for _, d := range descriptions {
		b, err := xml.Marshal(d)
		if err != nil {
			return nil, fmt.Errorf("jingle: propose to %s: %w", peer, err)
		}
		inner.Write(b)
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return nil, fmt.Errorf("jingle: propose to %s: %w", peer, ErrManagerClosed)
	}
	m.props.out[p.id] = p
	m.mu.Unlock()
	msg := jmiMessage(peer, "propose", p.id, nil, inner.Bytes())
	// The message id is the proposal id, so receipts name the proposal.
	msg.ID = p.id
	msg.Payload = append(msg.Payload, []byte(`<request xmlns="`+NSReceipts+`"></request>`)...)
	if err := m.sendMessage(ctx, msg); err != nil {
		p.finish(err, nil)
		return nil, err
	}
	// Armed after the send, so a retract can never overtake its propose.
	p.resetTimer(m.initiateTimeout)
	return p, nil
}

// HandleMessage handles JMI messages (XEP-0353), delivery receipts and
// chat markers for our proposals, and carbon copies (XEP-0280) of JMI
// answers our other devices sent. It reports whether the message was
// consumed.
func (m *Manager) HandleMessage(ctx context.Context, msg *Message) (consumed bool) {
	if msg == nil {
		return false
	}
	defer func() {
		if r := recover(); r != nil {
			m.log.Error("jingle: panic while handling message", "from", msg.From, "panic", r, "stack", string(debug.Stack()))
			consumed = true
		}
	}()
	els, err := msg.Elements()
	if err != nil {
		return false
	}
	if msg.Type == "error" {
		return m.handleBounce(msg, els)
	}
	var receipt bool
	for i := range els {
		if els[i].XMLName.Space == NSReceipts && els[i].XMLName.Local == "request" {
			receipt = true
		}
	}
	for i := range els {
		e := &els[i]
		switch {
		case e.XMLName.Space == NSMessage:
			m.handleJMI(ctx, msg, e, receipt)
			consumed = true
		case (e.XMLName.Space == NSReceipts || e.XMLName.Space == NSChatMarkers) && e.XMLName.Local == "received":
			if m.handleReceipt(msg.From, e.Attribute("id")) {
				consumed = true
			}
		case e.XMLName.Space == NSCarbons && (e.XMLName.Local == "sent" || e.XMLName.Local == "received"):
			// Only our own server may send carbons (XEP-0280 §11).
			if msg.From != "" && msg.From != bareJID(m.local) {
				continue
			}
			if m.handleCarbon(ctx, e) {
				consumed = true
			}
		}
	}
	return consumed
}

// handleBounce ends our proposal when its <propose/> message bounced
// (the account does not exist, or the server refused it): the message id
// is the proposal id.
func (m *Manager) handleBounce(msg *Message, els []Element) bool {
	p := m.outgoing(msg.ID, msg.From)
	if p == nil {
		return false
	}
	e := &Error{Type: ErrorTypeCancel, Condition: CondUndefined}
	for i := range els {
		if els[i].XMLName.Local == "error" {
			if err := els[i].Decode(e); err != nil {
				m.log.Debug("jingle: malformed error in bounce", "err", err)
			}
		}
	}
	p.finish(e, nil)
	return true
}

// handleJMI handles one urn:xmpp:jingle-message:0 element.
func (m *Manager) handleJMI(ctx context.Context, msg *Message, e *Element, receiptRequested bool) {
	id := e.Attribute("id")
	from := msg.From
	if id == "" || from == "" || from == m.local {
		return
	}
	ours := bareJID(from) == bareJID(m.local)
	switch e.XMLName.Local {
	case "propose":
		if ours {
			// Another device of ours calls someone.
			return
		}
		m.handlePropose(ctx, msg, e, receiptRequested)
	case "accept", "proceed", "reject":
		if ours {
			// Another device of ours answered (the old dialect's
			// <accept/> to our bare JID, or a copy).
			m.answeredElsewhere(id)
			return
		}
		if e.XMLName.Local == "accept" {
			return
		}
		p := m.outgoing(id, from)
		if p == nil {
			m.nIgnoredJMI.Add(1)
			return
		}
		if e.XMLName.Local == "proceed" {
			if !p.proceeded(from) {
				m.log.Debug("jingle: ignoring late proceed", "id", id, "from", from)
			}
			return
		}
		r, tieBreak := jmiReason(e)
		err := ErrProposalRejected
		if tieBreak {
			err = ErrProposalTieBreak
		}
		p.finish(err, r)
	case "ringing":
		if p := m.outgoing(id, from); p != nil {
			p.markRinging()
		} else {
			m.nIgnoredJMI.Add(1)
		}
	case "retract":
		m.mu.Lock()
		p := m.props.in[sessionKey{bareJID(from), id}]
		if p == nil {
			// The caller hung up after our proceed.
			p = m.props.proceeded[sessionKey{from, id}]
		}
		m.mu.Unlock()
		if p == nil || p.peer != from {
			m.nIgnoredJMI.Add(1)
			return
		}
		r, _ := jmiReason(e)
		if !p.finish(ErrProposalRetracted, r) {
			p.withdraw(ErrProposalRetracted, r)
		}
	case "finish":
		// The Jingle session-terminate is what ends a session; a
		// <finish/> for a proposal still open ends that (the call
		// migrated or ended before we answered).
		r, _ := jmiReason(e)
		m.mu.Lock()
		p := m.props.in[sessionKey{bareJID(from), id}]
		if p == nil {
			p = m.props.out[id]
		}
		m.mu.Unlock()
		if p == nil || bareJID(p.peer) != bareJID(from) {
			// Not counted in IgnoredJMI: XEP-0353 §3.4 sends <finish/>
			// when a session ends, long after its proposal.
			return
		}
		p.finish(ErrProposalRetracted, r)
	}
}

// outgoing returns our proposal id if from may answer it: a device of
// the bare JID we proposed to, or exactly the full JID.
func (m *Manager) outgoing(id, from string) *Proposal {
	m.mu.Lock()
	p := m.props.out[id]
	m.mu.Unlock()
	if p == nil {
		return nil
	}
	if p.peer == from || p.peer == bareJID(from) {
		return p
	}
	return nil
}

// handlePropose handles an incoming <propose/>: receipt, tie-break with
// our own proposal (XEP-0353 §4.1), limits, then the application.
func (m *Manager) handlePropose(ctx context.Context, msg *Message, e *Element, receiptRequested bool) {
	from, id := msg.From, e.Attribute("id")
	descs, err := childElements(e.Inner)
	if err != nil {
		m.log.Debug("jingle: malformed propose", "from", from, "err", err)
		return
	}
	if !m.takesProposal(descs) {
		// Not ours to answer: no receipt (it would read as ringing), no
		// tie-break, no reject (it would end the call on the devices
		// that can take it).
		m.log.Debug("jingle: leaving a proposal to other devices", "from", from, "id", id)
		return
	}
	p := &Proposal{m: m, id: id, peer: from, descs: descs, incoming: true, ringing: make(chan struct{}), done: make(chan struct{})}
	k := sessionKey{bareJID(from), id}
	m.mu.Lock()
	if m.closed || m.props.in[k] != nil || m.props.proceeded[sessionKey{from, id}] != nil {
		// Closed, or a copy of a proposal we have (MAM, carbons).
		m.mu.Unlock()
		return
	}
	var rival *Proposal
	for _, o := range m.props.out {
		o.mu.Lock()
		open := o.state == proposalProposed
		o.mu.Unlock()
		if !open || bareJID(o.peer) != k.peer {
			continue
		}
		if id < o.id || (id == o.id && from < m.local) {
			rival = o
			break
		}
		m.mu.Unlock()
		// Ours has the lower id: reject theirs with <tie-break/>.
		r := &Reason{Condition: ReasonExpired, Text: "Tie-Break"}
		if err := m.sendMessage(ctx, jmiMessage(from, "reject", id, r, []byte(`<tie-break></tie-break>`))); err != nil {
			m.log.Debug("jingle: rejecting on tie-break", "err", err)
		}
		return
	}
	if m.props.inPerPeer[k.peer] >= m.pendingPerPeer || len(m.props.in) >= m.pendingTotal {
		m.mu.Unlock()
		m.log.Debug("jingle: dropping proposal beyond limits", "from", from, "id", id)
		return
	}
	m.props.in[k] = p
	m.props.inPerPeer[k.peer]++
	handler := m.onProposal
	m.mu.Unlock()
	p.resetTimer(m.responderTimeout)

	// The receipt is what makes Conversations show ringing. It goes
	// only for proposals we keep, so a flood gets no echo.
	if receiptRequested && msg.ID != "" {
		r := &Message{To: from, ID: newID(), Payload: []byte(`<received xmlns="` + NSReceipts + `" id="` + xmlEscape(msg.ID) + `"></received>`)}
		if err := m.sendMessage(ctx, r); err != nil {
			m.log.Debug("jingle: sending receipt", "to", from, "err", err)
		}
	}
	if rival != nil {
		// Theirs has the lower id: retract ours with <tie-break/>.
		r := &Reason{Condition: ReasonExpired, Text: "Tie-Break"}
		if rival.finish(ErrProposalTieBreak, r) {
			if err := m.sendMessage(ctx, jmiMessage(rival.peer, "retract", rival.id, r, []byte(`<tie-break></tie-break>`))); err != nil {
				m.log.Debug("jingle: retracting on tie-break", "err", err)
			}
		}
	}
	if old := m.migrationSource(from); old != nil {
		m.migrate(ctx, old, p)
	}
	func() {
		defer func() {
			if r := recover(); r != nil {
				m.log.Error("jingle: panic in proposal handler", "panic", r, "stack", string(debug.Stack()))
			}
		}()
		handler(p)
	}()
}

// takesProposal reports whether this manager answers a proposal with
// descs: it has a proposal handler and an application registered for
// one of the descriptions (a proposal without any description is left to
// the handler).
func (m *Manager) takesProposal(descs []Element) bool {
	if m.onProposal == nil {
		return false
	}
	if len(descs) == 0 {
		return true
	}
	for i := range descs {
		if m.apps[descs[i].XMLName.Space] != nil {
			return true
		}
	}
	return false
}

// migrationSource finds an active session with the proposer's account
// that began with JMI: XEP-0353 §4.2 deems it an orphan the new proposal
// continues (the peer switched devices or lost its connection).
func (m *Manager) migrationSource(from string) *Session {
	m.mu.Lock()
	defer m.mu.Unlock()
	for k, s := range m.sessions {
		if s.viaProposal && bareJID(k.peer) == bareJID(from) && s.State() == StateActive {
			return s
		}
	}
	return nil
}

// migrate ends old with <expired/> and a <finish/> carrying
// <migrated to=new-id/>, then proceeds the new proposal without asking,
// as XEP-0353 §4.2 says the responder SHOULD.
func (m *Manager) migrate(ctx context.Context, old *Session, p *Proposal) {
	m.log.Debug("jingle: session migrated", "old", old.sid, "new", p.id, "peer", p.peer)
	r := &Reason{Condition: ReasonExpired, Text: "Session migrated"}
	extra := []byte(`<migrated to="` + xmlEscape(p.id) + `"></migrated>`)
	if err := old.call(ctx, func(context.Context) {
		old.finishExtra = extra
		old.terminate(r)
	}); err != nil {
		m.log.Debug("jingle: ending the migrated session", "err", err)
	}
	p.mu.Lock()
	p.migratedFrom = old.sid
	p.mu.Unlock()
	if err := p.Proceed(ctx); err != nil {
		m.log.Debug("jingle: proceeding the migrated session", "err", err)
	}
}

// answeredElsewhere ends our incoming proposal id because another device
// of our account answered it.
func (m *Manager) answeredElsewhere(id string) {
	m.mu.Lock()
	var found []*Proposal
	for k, p := range m.props.in {
		if k.sid == id {
			found = append(found, p)
		}
	}
	m.mu.Unlock()
	for _, p := range found {
		p.finish(ErrAnsweredElsewhere, nil)
	}
}

// handleReceipt marks our proposal ringing when its propose message's
// receipt (or chat marker) comes back from a device of the peer.
func (m *Manager) handleReceipt(from, id string) bool {
	if id == "" {
		return false
	}
	p := m.outgoing(id, from)
	if p == nil {
		return false
	}
	if p.ringingFrom == nil {
		p.markRinging()
		return true
	}
	m.mu.Lock()
	if m.closed {
		m.mu.Unlock()
		return true
	}
	m.wg.Add(1)
	m.mu.Unlock()
	go func() {
		defer m.wg.Done()
		ctx, cancel := context.WithTimeout(m.ctx, m.iqTimeout)
		defer cancel()
		if p.ringingFrom(ctx, from) {
			p.markRinging()
		} else {
			m.log.Debug("jingle: receipt of a proposal from a device without JMI, not ringing", "id", id, "from", from)
		}
	}()
	return true
}

// handleCarbon looks into a carbon copy for JMI answers of our other
// devices: a <sent/> copy of their proceed, accept or reject ends our
// incoming proposal ("answered elsewhere").
func (m *Manager) handleCarbon(_ context.Context, e *Element) bool {
	var c struct {
		Forwarded struct {
			Message Message `xml:"message"`
		} `xml:"forwarded"`
	}
	if err := e.Decode(&c); err != nil {
		return false
	}
	inner := &c.Forwarded.Message
	if e.XMLName.Local != "sent" || bareJID(inner.From) != bareJID(m.local) || inner.From == m.local {
		return false
	}
	els, err := inner.Elements()
	if err != nil {
		return false
	}
	consumed := false
	for i := range els {
		x := &els[i]
		if x.XMLName.Space != NSMessage {
			continue
		}
		switch x.XMLName.Local {
		case "proceed", "accept", "reject":
			m.answeredElsewhere(x.Attribute("id"))
			consumed = true
		}
	}
	return consumed
}

func (m *Manager) sendMessage(ctx context.Context, msg *Message) error {
	if msg.From == "" {
		msg.From = m.local
	}
	if err := m.out.SendMessage(ctx, msg); err != nil {
		return fmt.Errorf("jingle: sending message to %s: %w", msg.To, err)
	}
	return nil
}

// jmiMessage builds a JMI message of type chat with a <store/> hint
// (XEP-0353 §3): <kind xmlns=jingle-message:0 id=id>[reason][extra]</kind>.
func jmiMessage(to, kind, id string, r *Reason, extra []byte) *Message {
	var b bytes.Buffer
	b.WriteString(`<` + kind + ` xmlns="` + NSMessage + `" id="` + xmlEscape(id) + `">`)
	if r != nil {
		b.Write(reasonXML(r))
	}
	b.Write(extra)
	b.WriteString(`</` + kind + `><store xmlns="` + NSHints + `"></store>`)
	return &Message{To: to, ID: newID(), Type: "chat", Payload: b.Bytes()}
}

// reasonXML encodes r as <reason xmlns='urn:xmpp:jingle:1'>, the form it
// takes inside JMI elements.
func reasonXML(r *Reason) []byte {
	b, err := xml.Marshal(r)
	if err != nil {
		return nil
	}
	return append([]byte(`<reason xmlns="`+NS+`">`), bytes.TrimPrefix(b, []byte("<reason>"))...)
}

// jmiReason reads the reason and the <tie-break/> flag of a reject,
// retract or finish.
func jmiReason(e *Element) (*Reason, bool) {
	var v struct {
		Reason   *Reason   `xml:"urn:xmpp:jingle:1 reason"`
		TieBreak *struct{} `xml:"tie-break"`
	}
	if err := e.Decode(&v); err != nil {
		return nil, false
	}
	return v.Reason, v.TieBreak != nil
}

// childElements parses concatenated raw elements.
func childElements(inner []byte) ([]Element, error) {
	m := Message{Payload: inner}
	return m.Elements()
}

func xmlEscape(s string) string {
	var b bytes.Buffer
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
