package daemon

import (
	"errors"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/jingled/jingled/internal/config"
)

// statusInput gathers what the status page shows from the daemon's live
// state: the accounts' connection states, the managers' sessions, the
// recent calls and the open rooms. The counters come from the registry
// /metrics serves, which the page gathers itself.
func (d *Daemon) statusInput(now time.Time) statusInput {
	in := statusInput{
		Now: now, Started: d.started, Version: Version(),
		ShowJIDs: d.cfg.HTTP.StatusJIDs,
		Health:   d.healthy(),
		Relay:    d.cfg.TURN.Enabled,
		Sessions: d.metrics.sessions(),
		Recent:   d.metrics.recent.list(),
	}
	d.mu.Lock()
	for _, a := range d.accounts {
		in.Accounts = append(in.Accounts, a.state())
		in.Conference = in.Conference || a.cfg.Role == config.RoleConference
	}
	if cs := d.conference; cs != nil {
		in.Conference = true
		st := connState(cs.Healthy())
		st.JID, st.Role = cs.cfg.Domain, "component"
		in.Component = &st
	}
	d.mu.Unlock()
	if in.Conference {
		in.Rooms = d.metrics.conference.roomStatus()
	}
	return in
}

// gatherer is every metric the daemon serves: its own registry and the
// relay's. Start calls it once the relay is up.
func (d *Daemon) gatherer() prometheus.Gatherer {
	gs := prometheus.Gatherers{d.reg}
	if d.turn != nil {
		if g := d.turn.Gatherer(); g != nil {
			gs = append(gs, g)
		}
	}
	return gs
}

// state is the account's XMPP connection state for the status page.
func (a *account) state() accountState {
	st := connState(a.Healthy())
	st.JID, st.Role = a.cfg.JID, a.cfg.Role
	return st
}

// connState turns a Healthy verdict into a state: nil is online, the
// first attempt still running is connecting, anything else offline with
// the reason.
func connState(err error) accountState {
	switch {
	case err == nil:
		return accountState{State: stateOnline}
	case errors.Is(err, errConnecting):
		return accountState{State: stateConnecting}
	}
	return accountState{State: stateOffline, Detail: err.Error()}
}

// sessions lists every registered manager's live sessions with their
// kind; the peer is kept here and dropped by buildSnapshot unless the
// operator shows JIDs.
func (m *metrics) sessions() []sessionRow {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []sessionRow
	for mgr, role := range m.managers {
		for _, s := range mgr.Sessions() {
			account, _, _ := strings.Cut(mgr.Local(), "/")
			out = append(out, sessionRow{
				Account: account, Role: role, Kind: sessionKind(s.Contents()),
				State: s.State().String(), Peer: s.Peer(),
			})
		}
	}
	return out
}
