package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/conference"
	"github.com/jingled/jingled/conference/mixer"
	"github.com/jingled/jingled/internal/config"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/xmpp"
)

// conferenceRole makes an account one conference room (account mode,
// for servers where an operator cannot add a component).
type conferenceRole struct {
	room *conference.Room
	m    *conferenceMetrics
}

func newConferenceRole(a *account, peer rtp.PeerOptions, c *xmpp.Client) *conferenceRole {
	announce := a.cfg.Announce == nil || *a.cfg.Announce
	room := conference.NewRoom(conference.RoomConfig{
		JID:             a.cfg.JID,
		Messages:        c,
		IQ:              c,
		Announce:        announce,
		Peer:            peer,
		MaxParticipants: a.cfg.MaxParticipants,
		MayJoin:         a.allowed,
		Logger:          a.log,
		OnEvent:         a.m.conference.onEvent,
	})
	a.m.conference.addRoom(room)
	return &conferenceRole{room: room, m: a.m.conference}
}

func (r *conferenceRole) options() []jingle.Option { return r.room.Options() }

// presence ends the calls of a participant whose XMPP session is gone.
func (r *conferenceRole) presence(p xmpp.Presence) {
	if p.Type == "unavailable" {
		r.room.Disconnect(p.From)
	}
}

func (r *conferenceRole) close(ctx context.Context) {
	_ = r.room.Close(ctx)
	r.m.removeRoom(r.room)
}

// conferenceService is component mode: jingled connected to the XMPP
// server as an XEP-0114 component, every NAME@domain a room.
type conferenceService struct {
	cfg  config.Conference
	log  *slog.Logger
	comp *xmpp.Component
	host *conference.Host
	// started is closed when the first connection attempt is over.
	started chan struct{}

	mu     sync.Mutex
	status error
}

func startConference(ctx context.Context, cfg config.Conference, ice config.ICE, mux *rtp.UDPMux, log *slog.Logger, m *metrics) (*conferenceService, error) {
	cfg.Defaults()
	secret, err := cfg.SecretValue()
	if err != nil {
		return nil, err
	}
	s := &conferenceService{cfg: cfg, log: log, status: errConnecting, started: make(chan struct{})}
	comp, err := xmpp.NewComponent(xmpp.ComponentConfig{
		Domain:  cfg.Domain,
		Secret:  secret,
		Addr:    cfg.Server,
		Logger:  log,
		OnEvent: s.onEvent,
	})
	if err != nil {
		return nil, fmt.Errorf("conference: %w", err)
	}
	s.comp = comp
	// A component has no account to ask for STUN/TURN (XEP-0215): it
	// uses the [ice] servers.
	peer := rtp.PeerOptions{ICEServers: staticICE(ice), RelayOnly: ice.Policy == "relay", Loopback: ice.LoopbackOnly, UDPMux: mux, Logger: log}
	host, err := conference.NewHost(conference.HostConfig{
		Domain:    cfg.Domain,
		Conn:      componentConn{comp},
		MayCreate: cfg.MayCreate,
		MayJoin:   cfg.MayJoin,
		MaxRooms:  cfg.MaxRooms,
		Room: conference.RoomConfig{
			Announce:        *cfg.Announce,
			Peer:            peer,
			MaxParticipants: cfg.MaxParticipants,
			Mixer:           mixer.Options{MaxSpeakers: cfg.MaxSpeakers, OverloadComplexity: cfg.OverloadComplexity},
			Logger:          log,
			OnEvent:         m.conference.onEvent,
		},
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	s.host = host
	m.conference.addHost(host)
	comp.HandleIQ(host.HandleIQ)
	comp.HandleMessage(host.HandleMessage)
	comp.HandlePresence(func(ctx context.Context, p xmpp.Presence) {
		host.HandlePresence(ctx, conference.Presence{From: p.From, To: p.To, Type: p.Type, Status: p.Status})
	})
	// Connecting retries in the background: an XMPP server that is not
	// up yet is reported by /healthz, not fatal.
	go func() {
		defer close(s.started)
		if err := comp.Start(context.WithoutCancel(ctx)); err != nil {
			s.setStatus(err)
			if !errors.Is(err, context.Canceled) && !errors.Is(err, xmpp.ErrClosed) {
				log.Error("conference component stopped", "err", err)
			}
		}
	}()
	return s, nil
}

func (s *conferenceService) onEvent(e xmpp.Event) {
	switch e.Kind {
	case xmpp.EventConnected:
		s.setStatus(nil)
		s.log.Info("conference component connected", "domain", s.cfg.Domain)
	case xmpp.EventConnectFailed:
		s.setStatus(fmt.Errorf("connect attempt %d failed: %w", e.Attempt, e.Err))
		s.log.Warn("conference component cannot connect", "server", s.cfg.Server, "attempt", e.Attempt, "err", e.Err)
	case xmpp.EventDisconnected:
		s.setStatus(errors.New("disconnected, reconnecting"))
		s.log.Warn("conference component disconnected", "err", e.Err)
	}
}

func (s *conferenceService) setStatus(err error) {
	s.mu.Lock()
	s.status = err
	s.mu.Unlock()
}

// Healthy is nil while the component is connected.
func (s *conferenceService) Healthy() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.status
}

// Stop hangs up every room, then disconnects.
func (s *conferenceService) Stop(ctx context.Context) error {
	err := s.host.Close(ctx)
	if cerr := s.comp.Close(); cerr != nil && !errors.Is(cerr, xmpp.ErrClosed) && err == nil {
		err = cerr
	}
	<-s.started
	return err
}

// componentConn adapts the component connection to what the host needs.
type componentConn struct{ c *xmpp.Component }

func (c componentConn) SendIQ(ctx context.Context, iq *jingle.IQ) (*jingle.IQ, error) {
	return c.c.SendIQ(ctx, iq)
}

func (c componentConn) SendMessage(ctx context.Context, m *jingle.Message) error {
	return c.c.SendMessage(ctx, m)
}

func (c componentConn) SendPresence(ctx context.Context, p conference.Presence) error {
	out := xmpp.OutgoingPresence{From: p.From, To: p.To, Type: p.Type, Status: p.Status}
	if p.CapsVer != "" {
		out.Caps = &xmpp.Caps{Hash: "sha-1", Node: p.CapsNode, Ver: p.CapsVer}
	}
	return c.c.SendPresence(ctx, out)
}

// staticICE is the [ice] table's servers.
func staticICE(ice config.ICE) []webrtc.ICEServer {
	if len(ice.Servers) == 0 {
		return nil
	}
	return []webrtc.ICEServer{{URLs: ice.Servers, Username: ice.Username, Credential: ice.Password}}
}
