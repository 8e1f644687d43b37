// Package daemon runs jingled: the TURN/STUN relay, the XMPP service
// accounts with their roles, and the health/metrics endpoint, with one
// lifetime: Start, then Stop on SIGTERM (every Jingle session ends with a
// session-terminate, the relay drains), Reload on SIGHUP.
package daemon

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/jingled/jingled/internal/config"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/turnserver"
)

// Daemon is one running jingled.
type Daemon struct {
	cfg  *config.Config
	log  *slog.Logger
	reg  *prometheus.Registry
	turn *turnserver.Server
	http *httpServer
	// started is when Start ran, for the status page.
	started time.Time

	mu         sync.Mutex
	accounts   []*account
	conference *conferenceService
	metrics    *metrics
	// udpMux is [ice] udp_port's one port for every call, or nil.
	udpMux *rtp.UDPMux
}

// New prepares a daemon from a validated configuration; Start runs it.
func New(cfg *config.Config, log *slog.Logger) *Daemon {
	reg := prometheus.NewRegistry()
	return &Daemon{cfg: cfg, log: log, reg: reg, metrics: registerMetrics(reg)}
}

// registerMetrics registers everything the daemon's own registry serves
// (the relay has its own): Go's and the process's collectors and the
// Jingle-side metrics. The dashboard test describes the same set.
func registerMetrics(reg prometheus.Registerer) *metrics {
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return newMetrics(reg)
}

// Start brings up the relay, the HTTP endpoint and every account. Accounts
// connect in the background (with backoff), so an unreachable XMPP server
// is retried and reported, not fatal; a refused password is fatal for that
// account and reported as such.
func (d *Daemon) Start(ctx context.Context) error {
	d.started = time.Now()
	if d.cfg.TURN.Enabled {
		srv, err := turnserver.New(d.cfg.TURN.Config, turnserver.WithLogger(d.log.With("component", "turn")))
		if err != nil {
			return fmt.Errorf("turn: %w", err)
		}
		d.turn = srv
		a := srv.Addrs()
		d.log.Info("turn relay listening", "udp", a.UDP, "tcp", a.TCP, "tls", a.TLS)
	}
	if p := d.cfg.ICE.UDPPort; p != 0 {
		m, err := rtp.ListenUDPMux(p, d.cfg.ICE.LoopbackOnly, d.log.With("component", "ice"))
		if err != nil {
			d.stopAll(ctx)
			return fmt.Errorf("ice.udp_port: %w", err)
		}
		d.udpMux = m
		d.log.Info("calls share one UDP port", "port", m.Port())
	}
	if d.cfg.Conference.Enabled {
		cs, err := startConference(ctx, d.cfg.Conference, d.cfg.ICE, d.udpMux, d.log.With("role", "conference"), d.metrics)
		if err != nil {
			d.stopAll(ctx)
			return fmt.Errorf("conference: %w", err)
		}
		d.mu.Lock()
		d.conference = cs
		d.mu.Unlock()
	}
	for i := range d.cfg.Accounts {
		ac := d.cfg.Accounts[i]
		ac.Defaults()
		a, err := newAccount(ac, d.cfg.ICE, d.udpMux, d.log.With("account", ac.JID, "role", ac.Role), d.metrics)
		if err != nil {
			d.stopAll(ctx)
			return fmt.Errorf("account[%d] %s: %w", i, ac.JID, err)
		}
		d.mu.Lock()
		d.accounts = append(d.accounts, a)
		d.mu.Unlock()
		a.Start(ctx)
	}
	if d.cfg.HTTP.Listen != "" {
		g := d.gatherer()
		h, err := startHTTP(d.cfg.HTTP.Listen, g, d.healthy, newStatusPage(d.statusInput, g, d.started), d.cfg.HTTP.Pprof)
		if err != nil {
			d.stopAll(ctx)
			return err
		}
		d.http = h
		d.log.Info("http listening", "addr", h.Addr())
	}
	return nil
}

func (d *Daemon) healthy() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	var errs []error
	if d.conference != nil {
		if err := d.conference.Healthy(); err != nil {
			errs = append(errs, fmt.Errorf("conference %s: %w", d.conference.cfg.Domain, err))
		}
	}
	for _, a := range d.accounts {
		if err := a.Healthy(); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", a.cfg.JID, err))
		}
	}
	return errors.Join(errs...)
}

// Reload applies what can change without a restart: the relay's TLS
// certificate, its users and shared secrets, the log level and the
// accounts' allow-lists.
func (d *Daemon) Reload(cfg *config.Config, level *slog.LevelVar) {
	if d.turn != nil {
		if err := d.turn.ReloadCertificate(); err != nil {
			d.log.Error("reloading the TLS certificate", "err", err)
		}
	}
	if cfg == nil {
		return
	}
	if d.turn != nil && cfg.TURN.Enabled {
		// Secret rotation: add the new secret, reload, move the XMPP
		// server to it, remove the old one after the credential TTL.
		// Running allocations keep working throughout.
		if err := d.turn.UpdateCredentials(cfg.TURN.Users, cfg.TURN.Secrets); err != nil {
			d.log.Error("reload: keeping the relay's credentials", "err", err)
		} else {
			d.log.Info("relay credentials reloaded", "users", len(cfg.TURN.Users), "secrets", len(cfg.TURN.Secrets))
		}
	}
	level.Set(parseLevel(cfg.Log.Level))
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, a := range d.accounts {
		for _, nc := range cfg.Accounts {
			if nc.JID == a.cfg.JID {
				a.SetAllow(nc.Allow, nc.Subscriptions)
			}
		}
	}
	d.log.Info("reloaded")
}

// Stop ends every session with session-terminate, disconnects the
// accounts, drains the relay (within ctx) and stops the HTTP endpoint.
func (d *Daemon) Stop(ctx context.Context) error {
	return d.stopAll(ctx)
}

func (d *Daemon) stopAll(ctx context.Context) error {
	var errs []error
	d.mu.Lock()
	accounts := d.accounts
	d.accounts = nil
	cs := d.conference
	d.conference = nil
	d.mu.Unlock()
	if cs != nil {
		if err := cs.Stop(ctx); err != nil {
			errs = append(errs, fmt.Errorf("conference: %w", err))
		}
	}
	var wg sync.WaitGroup
	errc := make(chan error, len(accounts))
	for _, a := range accounts {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.Stop(ctx); err != nil {
				errc <- fmt.Errorf("%s: %w", a.cfg.JID, err)
			}
		}()
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		errs = append(errs, err)
	}
	if d.udpMux != nil {
		if err := d.udpMux.Close(); err != nil {
			errs = append(errs, fmt.Errorf("ice.udp_port: %w", err))
		}
		d.udpMux = nil
	}
	if d.turn != nil {
		if err := d.turn.Shutdown(ctx); err != nil && !errors.Is(err, context.DeadlineExceeded) {
			errs = append(errs, fmt.Errorf("turn: %w", err))
		}
		d.turn = nil
	}
	if d.http != nil {
		hctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		if err := d.http.Close(hctx); err != nil {
			errs = append(errs, fmt.Errorf("http: %w", err))
		}
		d.http = nil
	}
	return errors.Join(errs...)
}
