package extdisco

import (
	"context"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/jingled/jingled/jingle"
)

// RefresherConfig configures a Refresher. Zero values mean the defaults.
type RefresherConfig struct {
	// Sender carries the queries. Required.
	Sender jingle.Sender
	// Server is the account's domain. Required.
	Server string
	// OnUpdate receives each successful answer, on the refresher's
	// goroutine. It must not block for long.
	OnUpdate func(Result)
	// OnError receives each failed query (the refresher retries).
	OnError func(error)
	// Lead is the fraction of the credentials' remaining lifetime after
	// which the refresher re-queries; default 0.8, so a one-day credential
	// is renewed after about 19 hours and a 10-minute one after 8.
	Lead float64
	// MinInterval is the shortest time between two successful queries;
	// default 5 s, so a server announcing very short lifetimes is not
	// hammered.
	MinInterval time.Duration
	// Interval is how often to re-query when no expiry was announced;
	// default 30 minutes.
	Interval time.Duration
	// RetryMin and RetryMax bound the backoff after a failed query
	// (defaults 1 s and 5 minutes).
	RetryMin, RetryMax time.Duration
	// QueryTimeout bounds one query; default 15 s.
	QueryTimeout time.Duration
	// Now is the clock; default time.Now.
	Now func() time.Time
	// Logger; default discards.
	Logger *slog.Logger
}

// Refresher keeps a current list of ICE servers, re-querying XEP-0215
// before the credentials expire.
type Refresher struct {
	cfg    RefresherConfig
	cancel context.CancelFunc
	done   chan struct{}

	kick chan struct{}

	mu      sync.Mutex
	current Result
	ready   chan struct{}
	once    sync.Once
}

// StartRefresher queries right away and then before each expiry, until
// Close or ctx ends.
func StartRefresher(ctx context.Context, cfg RefresherConfig) (*Refresher, error) {
	if cfg.Sender == nil || cfg.Server == "" {
		return nil, errors.New("extdisco: RefresherConfig needs Sender and Server")
	}
	if cfg.Lead <= 0 || cfg.Lead >= 1 {
		cfg.Lead = 0.8
	}
	if cfg.MinInterval <= 0 {
		cfg.MinInterval = 5 * time.Second
	}
	if cfg.Interval <= 0 {
		cfg.Interval = 30 * time.Minute
	}
	if cfg.RetryMin <= 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax < cfg.RetryMin {
		cfg.RetryMax = max(5*time.Minute, cfg.RetryMin)
	}
	if cfg.QueryTimeout <= 0 {
		cfg.QueryTimeout = 15 * time.Second
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	ctx, cancel := context.WithCancel(ctx)
	r := &Refresher{cfg: cfg, cancel: cancel, done: make(chan struct{}), ready: make(chan struct{}), kick: make(chan struct{}, 1)}
	go r.run(ctx)
	return r, nil
}

// Current returns the latest successful answer (zero before the first).
func (r *Refresher) Current() Result {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.current
}

// Ready is closed after the first successful answer.
func (r *Refresher) Ready() <-chan struct{} { return r.ready }

// Close stops the refresher and waits for it.
func (r *Refresher) Close() {
	r.cancel()
	<-r.done
}

// NextRefresh is when to re-query after an answer received at now: Lead of
// the way to the earliest expiry, at least minInterval, or interval when
// nothing expires.
func NextRefresh(res Result, now time.Time, lead float64, minInterval, interval time.Duration) time.Duration {
	exp := res.Earliest()
	if exp.IsZero() {
		return interval
	}
	d := time.Duration(float64(exp.Sub(now)) * lead)
	return max(d, minInterval)
}

func (r *Refresher) run(ctx context.Context) {
	defer close(r.done)
	retry := r.cfg.RetryMin
	for {
		qctx, cancel := context.WithTimeout(ctx, r.cfg.QueryTimeout)
		res, err := Discover(qctx, r.cfg.Sender, r.cfg.Server, r.cfg.Now)
		cancel()
		var wait time.Duration
		switch {
		case ctx.Err() != nil:
			return
		case err != nil:
			r.cfg.Logger.Warn("extdisco: query failed", "server", r.cfg.Server, "err", err, "retry", retry)
			if r.cfg.OnError != nil {
				r.cfg.OnError(err)
			}
			wait = retry
			retry = min(retry*2, r.cfg.RetryMax)
		default:
			retry = r.cfg.RetryMin
			r.mu.Lock()
			r.current = res
			r.mu.Unlock()
			r.once.Do(func() { close(r.ready) })
			if r.cfg.OnUpdate != nil {
				r.cfg.OnUpdate(res)
			}
			wait = NextRefresh(res, r.cfg.Now(), r.cfg.Lead, r.cfg.MinInterval, r.cfg.Interval)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return
		case <-t.C:
		case <-r.kick:
			t.Stop()
		}
	}
}

// HandlePush answers a services push (XEP-0215 §3.2: an IQ set of
// <services/> from the server) and re-queries the full list at once,
// rather than merging add/modify/delete items. Register it for both
// namespaces, e.g. client.HandleIQ(extdisco.NS, "services", r.HandlePush).
// Pushes from anyone but the server are refused.
func (r *Refresher) HandlePush(_ context.Context, iq *jingle.IQ) *jingle.IQ {
	if iq.Type != jingle.IQSet {
		return iq.ErrorReply(jingle.ErrBadRequest)
	}
	if iq.From != "" && !strings.EqualFold(iq.From, r.cfg.Server) {
		return iq.ErrorReply(jingle.ErrServiceUnavailable)
	}
	select {
	case r.kick <- struct{}{}:
	default: // a re-query is already due
	}
	return iq.Result()
}
