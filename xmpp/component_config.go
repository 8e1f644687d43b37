package xmpp

import (
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"
)

// ComponentConfig configures a Component. Zero values mean the documented
// defaults.
type ComponentConfig struct {
	// Domain is the component's JID, e.g. "call.localhost": the server
	// routes every stanza for it and for any JID under it (name@domain,
	// name@domain/resource) to the component. Required.
	Domain string
	// Secret is the shared secret the server knows for Domain (Prosody's
	// component_secret). Required.
	Secret string
	// Addr is the server's component listener, "host:port", e.g.
	// "127.0.0.1:5347". Required.
	Addr string
	// AllowRemote permits an Addr that is not a loopback IP address.
	// XEP-0114 runs over plain TCP: the secret is protected only by the
	// SHA-1 handshake and every stanza travels in clear, so the protocol is
	// meant for loopback or a private link. Set it only for such a link.
	AllowRemote bool

	// Logger receives the package's few log lines; default discards.
	Logger *slog.Logger
	// OnEvent reports connection events, as Config.OnEvent does for a
	// Client (EventConnected carries Domain as JID). Called on the
	// supervisor goroutine; it must not block.
	OnEvent func(Event)

	// DialTimeout bounds one connection attempt (TCP and handshake);
	// default 15 s.
	DialTimeout time.Duration
	// MinBackoff is the first retry delay; default 500 ms. It doubles per
	// failed attempt up to MaxBackoff (default 60 s), with up to 20 %
	// random jitter.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxAttempts stops reconnecting after that many consecutive failed
	// attempts (ErrGaveUp); default 0, retry until Close.
	MaxAttempts int
	// IQTimeout bounds SendIQ when the caller's context has no deadline;
	// default 30 s.
	IQTimeout time.Duration
	// QueueSize bounds the stanzas waiting for the dispatch goroutine; when
	// it is full, incoming IQ requests get resource-constraint and messages
	// and presences are dropped. Default 1024.
	QueueSize int
}

// ErrRemoteComponent refuses a component connection to an address that is
// not loopback without ComponentConfig.AllowRemote.
var ErrRemoteComponent = errors.New("xmpp: the component protocol (XEP-0114) is unencrypted plain TCP, so the component only connects to a loopback address unless AllowRemote is set (for a private link)")

func (c *ComponentConfig) validate() error {
	if c.Domain == "" || strings.ContainsAny(c.Domain, "@/ ") {
		return fmt.Errorf("xmpp: ComponentConfig.Domain must be a domain JID such as call.example.org, got %q", c.Domain)
	}
	if c.Secret == "" {
		return errors.New("xmpp: ComponentConfig.Secret is required")
	}
	if c.Addr == "" {
		return errors.New("xmpp: ComponentConfig.Addr is required (the server's component port, e.g. 127.0.0.1:5347)")
	}
	if !c.AllowRemote && !isLoopbackAddr(c.Addr) {
		return fmt.Errorf("%w: %s", ErrRemoteComponent, c.Addr)
	}
	setConnDefaults(&c.DialTimeout, &c.MinBackoff, &c.MaxBackoff, &c.IQTimeout, &c.QueueSize, &c.Logger)
	return nil
}
