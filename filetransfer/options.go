package filetransfer

import (
	"context"
	"log/slog"
	"time"
)

// Defaults.
const (
	// DefaultChecksumTimeout bounds the wait for a checksum session-info
	// promised by <hash-used/> once all data is in.
	DefaultChecksumTimeout = 30 * time.Second
	// DefaultTransportTimeout bounds the wait for one transport to
	// connect before the initiator replaces it.
	DefaultTransportTimeout = 30 * time.Second
)

// Option configures an App.
type Option func(*App)

// WithLogger sets the logger; the default discards.
func WithLogger(l *slog.Logger) Option {
	return func(a *App) {
		if l != nil {
			a.log = l
		}
	}
}

// WithReceiveDir sets where incoming files are written (see Dir).
func WithReceiveDir(d *Dir) Option { return func(a *App) { a.dir = d } }

// AcceptPolicy decides which offers are accepted without asking.
type AcceptPolicy struct {
	// MaxSize is the largest file accepted automatically; 0 accepts
	// nothing automatically, a negative value accepts any size.
	MaxSize int64
	// Senders are the JIDs (bare or full) whose offers are accepted
	// automatically; empty means anyone.
	Senders []string
}

// WithAutoAccept sets the automatic acceptance policy.
func WithAutoAccept(p AcceptPolicy) Option { return func(a *App) { a.policy = p } }

// WithOfferHandler is called (on its own goroutine) for offers the
// policy does not accept; it must call Offer.Accept or Offer.Decline.
// Without it such offers are declined.
func WithOfferHandler(f func(*Offer)) Option { return func(a *App) { a.onOffer = f } }

// WithPeerFeatures looks up a peer's XEP-0030 features, to offer only
// transports it supports and pick its datachannel dialect. Without it the
// peer is assumed to support every transport we have.
func WithPeerFeatures(f func(ctx context.Context, jid string) ([]string, error)) Option {
	return func(a *App) { a.features = f }
}

// WithServeDir lets peers request (pull, XEP-0234 §6.2) files from dir
// by name; requests from senders outside the AcceptPolicy's Senders are
// declined.
func WithServeDir(dir string) Option { return func(a *App) { a.serveDir = dir } }

// WithResults is called with the Result of every incoming transfer (push
// received or pull served) when it ends.
func WithResults(f func(*Result)) Option { return func(a *App) { a.onResult = f } }

// WithProgress is called as incoming data arrives, with bytes so far
// (range offset included) and the total (-1 if unknown).
func WithProgress(f func(sid string, done, total int64)) Option {
	return func(a *App) { a.onProgress = f }
}

// WithChecksumTimeout overrides DefaultChecksumTimeout.
func WithChecksumTimeout(d time.Duration) Option {
	return func(a *App) {
		if d > 0 {
			a.checksumTimeout = d
		}
	}
}

// WithTransportTimeout overrides DefaultTransportTimeout.
func WithTransportTimeout(d time.Duration) Option {
	return func(a *App) {
		if d > 0 {
			a.transportTimeout = d
		}
	}
}

// WithReceivedAck makes the receiver send XEP-0234's <received/>
// session-info (§9.1) before it ends the session with <success/>. Off by
// default: StanzaJS 12 never answers that IQ and then ignores every later
// IQ of the session, session-terminate included, so the transfer never
// ends on its side; Dino sends none either. session-terminate <success/>
// from the receiver already says the file arrived intact.
func WithReceivedAck(on bool) Option { return func(a *App) { a.receivedAck = on } }
