package conference

import (
	"context"
	"encoding/xml"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jingled/jingled/conference/mixer"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/xmpp"
)

// Conn is the XMPP side of a Host: an XEP-0114 component connection (or
// anything that can send stanzas from the component's JIDs). Stanzas the
// host sends carry their from: a component must stamp it.
type Conn interface {
	jingle.Sender
	SendPresence(ctx context.Context, p Presence) error
}

// Presence is a presence stanza to or from a room.
type Presence struct {
	From, To string
	// Type is "" (available), unavailable, subscribe, subscribed,
	// unsubscribe, unsubscribed, probe or error.
	Type   string
	Status string
	// CapsNode and CapsVer are the XEP-0115 <c/> (hash sha-1) of an
	// available presence we send.
	CapsNode, CapsVer string
}

// Defaults of a host.
const (
	DefaultResource = "focus"
	DefaultMaxRooms = 100
	// DefaultEmptyGrace is how long an empty room with no session stays
	// before it is reclaimed: long enough for a JMI proposal to be
	// followed by its session-initiate.
	DefaultEmptyGrace = 10 * time.Second
	// DefaultCapsNode is the XEP-0115 node rooms advertise.
	DefaultCapsNode = "https://github.com/jingled/jingled/conference"
)

// HostConfig configures a Host.
type HostConfig struct {
	// Domain is the component's domain, e.g. call.example.org: every
	// NAME@Domain is a room.
	Domain string
	// Conn sends stanzas.
	Conn Conn
	// Resource is the resource of the room's focus, the full JID that
	// answers calls and sends presence; default "focus".
	Resource string
	// MayCreate decides who may open a room by calling it; MayJoin who
	// may join one that exists. A refused caller gets <decline/> with a
	// text. Nil admits everyone.
	MayCreate, MayJoin func(peer string) bool
	// MaxRooms bounds the rooms open at once; a caller beyond it gets
	// <busy/>. 0 means DefaultMaxRooms.
	MaxRooms int
	// Room is the template of every room (Peer, limits, Announce, Mixer,
	// OnEvent, Logger); JID, Messages and MayJoin are set by the host.
	Room RoomConfig
	// EmptyGrace is how long an empty, idle room is kept; 0 means
	// DefaultEmptyGrace.
	EmptyGrace time.Duration
	// CapsNode is the XEP-0115 node; default DefaultCapsNode.
	CapsNode string
	// ManagerOptions are added to each room's jingle.Manager (limits,
	// timeouts).
	ManagerOptions []jingle.Option
	Logger         *slog.Logger
}

// Host serves the rooms of a component domain: it creates a room when
// its first caller arrives, routes each stanza to the room it is
// addressed to, answers disco#info and presence on the rooms' behalf,
// and reclaims rooms that are empty.
type Host struct {
	cfg HostConfig
	log *slog.Logger

	ctx    context.Context
	cancel context.CancelFunc
	wg     sync.WaitGroup

	mu     sync.Mutex
	closed bool
	rooms  map[string]*hosted // by bare room JID
}

// hosted is a room with the manager that serves it.
type hosted struct {
	room *Room
	mgr  *jingle.Manager
	last time.Time // last stanza routed to the room
}

// NewHost starts a host; Close stops it and every room.
func NewHost(cfg HostConfig) (*Host, error) {
	if cfg.Domain == "" || strings.ContainsAny(cfg.Domain, "@/") {
		return nil, fmt.Errorf("%w: domain %q", ErrInvalidRoom, cfg.Domain)
	}
	if cfg.Conn == nil {
		return nil, fmt.Errorf("conference: host %s without a connection", cfg.Domain)
	}
	if cfg.Resource == "" {
		cfg.Resource = DefaultResource
	}
	if cfg.MaxRooms <= 0 {
		cfg.MaxRooms = DefaultMaxRooms
	}
	if cfg.EmptyGrace <= 0 {
		cfg.EmptyGrace = DefaultEmptyGrace
	}
	if cfg.CapsNode == "" {
		cfg.CapsNode = DefaultCapsNode
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	h := &Host{cfg: cfg, log: log, rooms: map[string]*hosted{}}
	h.ctx, h.cancel = context.WithCancel(context.Background())
	h.wg.Add(1)
	go h.reap()
	return h, nil
}

// Domain is the component's domain.
func (h *Host) Domain() string { return h.cfg.Domain }

// RoomStatus is one open room, for status pages and metrics.
type RoomStatus struct {
	JID          string        `json:"jid"`
	Participants []Participant `json:"participants"`
	Mixer        mixer.Stats   `json:"mixer"`
}

// Rooms lists the open rooms.
func (h *Host) Rooms() []RoomStatus {
	h.mu.Lock()
	rooms := make([]*Room, 0, len(h.rooms))
	for _, r := range h.rooms {
		rooms = append(rooms, r.room)
	}
	h.mu.Unlock()
	out := make([]RoomStatus, 0, len(rooms))
	for _, r := range rooms {
		out = append(out, r.Status())
	}
	return out
}

// OpenRooms returns the rooms open now.
func (h *Host) OpenRooms() []*Room {
	h.mu.Lock()
	defer h.mu.Unlock()
	out := make([]*Room, 0, len(h.rooms))
	for _, r := range h.rooms {
		out = append(out, r.room)
	}
	return out
}

// Room returns the open room with bare JID jid, or nil.
func (h *Host) Room(jid string) *Room {
	h.mu.Lock()
	defer h.mu.Unlock()
	if r := h.rooms[strings.ToLower(jid)]; r != nil {
		return r.room
	}
	return nil
}

// HandleIQ answers an IQ addressed to the domain or a room: disco#info
// and ping for any room JID (rooms exist for callers before they are
// opened), Jingle for the room's manager, opening the room on a
// session-initiate from someone who may create it.
func (h *Host) HandleIQ(ctx context.Context, iq *jingle.IQ) *jingle.IQ {
	name := iq.PayloadName()
	room, err := h.roomJID(iq.To)
	switch {
	case err != nil:
		return iq.ErrorReply(&jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondItemNotFound, Text: err.Error()})
	case name.Space == xmpp.NSDiscoInfo && name.Local == "query":
		return xmpp.AnswerDiscoInfo(iq, h.discoInfo(room), h.cfg.CapsNode)
	case name.Space == xmpp.NSPing && name.Local == "ping":
		return iq.Result()
	case name.Space != jingle.NS || room == "":
		return iq.ErrorReply(jingle.ErrServiceUnavailable)
	}
	hr := h.lookup(room)
	if hr == nil {
		j, err := jingle.Parse(iq.Payload)
		if err != nil {
			return iq.ErrorReply(jingle.BadRequest(err.Error()))
		}
		if j.Action != jingle.ActionSessionInitiate {
			return iq.ErrorReply(jingle.ErrUnknownSession)
		}
		var why *jingle.Reason
		hr, why = h.open(room, iq.From)
		if why != nil {
			h.refuseInitiate(iq, j.SID, why)
			return iq.Result()
		}
	}
	return hr.mgr.HandleIQ(ctx, iq)
}

// HandleMessage routes a message to its room: JMI proposals (which open
// the room for someone who may create it), receipts, retractions.
// Messages to a room that is not open and that are not a proposal are
// dropped: there is nobody to read them.
func (h *Host) HandleMessage(ctx context.Context, m *jingle.Message) bool {
	room, err := h.roomJID(m.To)
	if err != nil || room == "" {
		return false
	}
	hr := h.lookup(room)
	if hr == nil {
		id, ok := proposalID(m)
		if !ok {
			return false
		}
		var why *jingle.Reason
		hr, why = h.open(room, m.From)
		if why != nil {
			h.rejectProposal(m, room, id, why)
			return true
		}
	}
	return hr.mgr.HandleMessage(ctx, m)
}

// HandlePresence answers subscriptions (approved for whoever may join) and
// probes with the focus's presence and caps, so that clients list the room
// as an online contact with a call button; an unavailable presence from a
// participant ends its calls.
func (h *Host) HandlePresence(ctx context.Context, p Presence) {
	room, err := h.roomJID(p.To)
	if err != nil {
		return
	}
	if room == "" {
		return
	}
	from := bareJID(p.From)
	switch p.Type {
	case "subscribe":
		if !h.mayJoin(p.From) {
			h.sendPresence(ctx, Presence{From: room, To: from, Type: "unsubscribed"})
			return
		}
		h.sendPresence(ctx, Presence{From: room, To: from, Type: "subscribed"})
		h.sendAvailable(ctx, room, from)
	case "probe":
		if h.mayJoin(p.From) {
			h.sendAvailable(ctx, room, p.From)
		}
	case "unsubscribe":
		h.sendPresence(ctx, Presence{From: room, To: from, Type: "unsubscribed"})
	case "unavailable":
		if r := h.Room(room); r != nil {
			r.Disconnect(p.From)
		}
	}
}

// Close hangs up every room and stops the host.
func (h *Host) Close(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	rooms := h.rooms
	h.rooms = map[string]*hosted{}
	h.mu.Unlock()
	h.cancel()
	var errs []error
	for _, r := range rooms {
		if err := r.close(ctx); err != nil {
			errs = append(errs, err)
		}
	}
	h.wg.Wait()
	if len(errs) > 0 {
		return fmt.Errorf("conference: closing rooms: %v", errs)
	}
	return nil
}

// roomJID returns the bare room JID of a JID of the domain, "" for the
// domain itself, or an error for a JID outside it or with an invalid
// room name.
func (h *Host) roomJID(to string) (string, error) {
	bare := strings.ToLower(bareJID(to))
	local, domain, ok := strings.Cut(bare, "@")
	if !ok {
		if bare == strings.ToLower(h.cfg.Domain) {
			return "", nil
		}
		return "", fmt.Errorf("%w: %q is not of %s", ErrInvalidRoom, to, h.cfg.Domain)
	}
	if domain != strings.ToLower(h.cfg.Domain) || !validRoomName(local) {
		return "", fmt.Errorf("%w: %q", ErrInvalidRoom, to)
	}
	return bare, nil
}

// validRoomName accepts what RFC 7622 allows in a localpart, minus what
// would make trouble in logs and file names: no spaces or control
// characters, at most 64 bytes.
func validRoomName(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, r := range s {
		if r <= ' ' || r == 0x7f || strings.ContainsRune(`"&'/:<>@\`, r) {
			return false
		}
	}
	return true
}

func (h *Host) lookup(room string) *hosted {
	h.mu.Lock()
	defer h.mu.Unlock()
	hr := h.rooms[room]
	if hr != nil {
		hr.last = time.Now()
	}
	return hr
}

// open creates room for caller, or says why not.
func (h *Host) open(room, caller string) (*hosted, *jingle.Reason) {
	if !h.mayJoin(caller) || (h.cfg.MayCreate != nil && !h.cfg.MayCreate(caller)) {
		h.log.Info("refused to open a room", "room", room, "peer", caller, "why", "not allowed")
		return nil, jingle.NewReason(jingle.ReasonDecline, "you are not allowed to open a room here")
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return nil, jingle.NewReason(jingle.ReasonGone, "the conference service is shutting down")
	}
	if hr := h.rooms[room]; hr != nil {
		return hr, nil
	}
	if len(h.rooms) >= h.cfg.MaxRooms {
		h.log.Warn("refused to open a room", "room", room, "peer", caller, "why", "room limit", "max_rooms", h.cfg.MaxRooms)
		return nil, jingle.NewReason(jingle.ReasonBusy, fmt.Sprintf("the service has its maximum of %d rooms open", h.cfg.MaxRooms))
	}
	rc := h.cfg.Room
	rc.JID = room
	rc.MayJoin = h.cfg.MayJoin
	full := room + "/" + h.cfg.Resource
	out := &roomSender{conn: h.cfg.Conn, from: full}
	rc.Messages = out
	rc.IQ = out
	r := NewRoom(rc)
	opts := append(append([]jingle.Option(nil), h.cfg.ManagerOptions...), r.Options()...)
	if rc.Logger != nil {
		opts = append(opts, jingle.WithLogger(rc.Logger.With("room", room)))
	}
	mgr := jingle.NewManager(full, out, opts...)
	hr := &hosted{room: r, mgr: mgr, last: time.Now()}
	h.rooms[room] = hr
	h.log.Info("room opened", "room", room, "by", caller, "rooms", len(h.rooms))
	return hr, nil
}

func (h *Host) mayJoin(peer string) bool { return h.cfg.MayJoin == nil || h.cfg.MayJoin(peer) }

// reap reclaims rooms that have been empty and idle for EmptyGrace: no
// participant, no Jingle session (pending ones included), no stanza.
func (h *Host) reap() {
	defer h.wg.Done()
	tick := time.NewTicker(min(h.cfg.EmptyGrace/2, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-h.ctx.Done():
			return
		case <-tick.C:
		}
		var gone []*hosted
		h.mu.Lock()
		for jid, hr := range h.rooms {
			if time.Since(hr.last) >= h.cfg.EmptyGrace && hr.room.Len() == 0 && len(hr.mgr.Sessions()) == 0 {
				delete(h.rooms, jid)
				gone = append(gone, hr)
			}
		}
		n := len(h.rooms)
		h.mu.Unlock()
		for _, hr := range gone {
			ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
			if err := hr.close(ctx); err != nil {
				h.log.Warn("closing an empty room", "room", hr.room.JID(), "err", err)
			}
			cancel()
			h.log.Info("room reclaimed", "room", hr.room.JID(), "rooms", n)
		}
	}
}

func (hr *hosted) close(ctx context.Context) error {
	err := hr.room.Close(ctx)
	if merr := hr.mgr.Close(ctx); merr != nil && err == nil {
		err = merr
	}
	return err
}

// refuseInitiate ends a session-initiate that opened no room: the IQ is
// acknowledged (XEP-0166 §6.3.2 wants the decision in a terminate, which
// clients show, rather than an IQ error, which most only log) and
// session-terminate follows with the reason.
func (h *Host) refuseInitiate(iq *jingle.IQ, sid string, why *jingle.Reason) {
	j := jingle.Jingle{Action: jingle.ActionSessionTerminate, SID: sid, Reason: why}
	payload, err := xml.Marshal(j)
	if err != nil {
		h.log.Warn("encoding a refusal", "err", err)
		return
	}
	out := &jingle.IQ{From: iq.To, To: iq.From, Type: jingle.IQSet, Payload: payload}
	h.wg.Add(1)
	go func() {
		defer h.wg.Done()
		ctx, cancel := context.WithTimeout(h.ctx, 10*time.Second)
		defer cancel()
		if _, err := h.cfg.Conn.SendIQ(ctx, out); err != nil {
			h.log.Debug("refusal not acknowledged", "peer", iq.From, "err", err)
		}
	}()
}

// proposalID returns the id of a JMI <propose/> in m.
func proposalID(m *jingle.Message) (string, bool) {
	els, err := m.Elements()
	if err != nil {
		return "", false
	}
	for _, e := range els {
		if e.XMLName.Space == jingle.NSMessage && e.XMLName.Local == "propose" {
			return e.Attribute("id"), e.Attribute("id") != ""
		}
	}
	return "", false
}

// rejectProposal answers a JMI proposal that opened no room with
// <reject/> and the reason (XEP-0353 §3.2).
func (h *Host) rejectProposal(m *jingle.Message, room, id string, why *jingle.Reason) {
	reason, err := xml.Marshal(why)
	if err != nil {
		return
	}
	var b strings.Builder
	b.WriteString(`<reject xmlns="` + jingle.NSMessage + `" id="`)
	_ = xml.EscapeText(&b, []byte(id))
	b.WriteString(`">`)
	b.Write(reason)
	b.WriteString(`</reject>`)
	out := &jingle.Message{From: room + "/" + h.cfg.Resource, To: m.From, Type: "chat", Payload: []byte(b.String())}
	ctx, cancel := context.WithTimeout(h.ctx, 5*time.Second)
	defer cancel()
	if err := h.cfg.Conn.SendMessage(ctx, out); err != nil {
		h.log.Debug("reject not sent", "peer", m.From, "err", err)
	}
}

func (h *Host) sendAvailable(ctx context.Context, room, to string) {
	h.sendPresence(ctx, Presence{
		From: room + "/" + h.cfg.Resource, To: to, Status: "Group call: call this contact to join",
		CapsNode: h.cfg.CapsNode, CapsVer: xmpp.CapsVer(h.discoInfo(room)),
	})
}

func (h *Host) sendPresence(ctx context.Context, p Presence) {
	if err := h.cfg.Conn.SendPresence(ctx, p); err != nil {
		h.log.Debug("presence not sent", "to", p.To, "type", p.Type, "err", err)
	}
}

// roomSender sends a room's stanzas from the focus's full JID.
type roomSender struct {
	conn Conn
	from string
}

func (s *roomSender) SendIQ(ctx context.Context, iq *jingle.IQ) (*jingle.IQ, error) {
	if iq.From == "" {
		c := *iq
		c.From = s.from
		iq = &c
	}
	return s.conn.SendIQ(ctx, iq)
}

func (s *roomSender) SendMessage(ctx context.Context, m *jingle.Message) error {
	if m.From == "" {
		c := *m
		c.From = s.from
		m = &c
	}
	return s.conn.SendMessage(ctx, m)
}
