package xmpp

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"
)

// Config configures a Client. Zero values mean the documented defaults.
type Config struct {
	// JID is the account's bare JID, e.g. "alice@example.org". Required.
	JID string
	// Password is the account's password. Required.
	Password string
	// Resource is the resource to bind; empty lets the server choose on
	// the first connection, and that resource is asked for again on each
	// reconnection so the full JID stays stable.
	Resource string
	// Addr is the server's "host:port"; default the JID's domain, port
	// 5222 (no SRV lookup is done).
	Addr string
	// CAFile is a PEM file of certificates to trust instead of the system
	// roots, for a local or test server with its own certificate.
	CAFile string
	// TLSConfig, if set, is used as is (CAFile is then ignored). Its
	// ServerName must be the JID's domain.
	TLSConfig *tls.Config
	// AllowPlainLoopback permits authenticating without TLS when the server
	// does not require it, and only if Addr is a loopback IP address
	// (127.0.0.0/8, ::1). Anything else is refused with
	// ErrPlainNotLoopback.
	AllowPlainLoopback bool
	// Mechanism forces a SASL mechanism (e.g. "SCRAM-SHA-1"); default the
	// strongest SCRAM variant both sides offer. PLAIN is never used.
	Mechanism string

	// Identity is our XEP-0030 identity; default client/bot "jingled".
	Identity Identity
	// Features are our XEP-0030 features beyond the ones this package
	// answers itself (disco#info, caps, ping). They feed disco#info and the
	// XEP-0115 ver string; see also Client.SetFeatures.
	Features []string
	// CapsNode is the XEP-0115 node; default
	// "https://github.com/jingled/jingled".
	CapsNode string
	// Priority is our presence priority (RFC 6121 §4.7.2.3); default 0.
	Priority int
	// HoldDisco answers the disco#info queries that arrive before
	// FeaturesReady only once it is called (at most 10 s later): our
	// presence goes out as soon as the stream is up, and a client such
	// as Dino asks for our features at once and keeps the answer, so a
	// program that registers its Jingle features after connecting (it
	// needs the connection for XEP-0215 first) would be remembered
	// without them.
	HoldDisco bool
	// Carbons enables XEP-0280 message carbons on each stream, so that the
	// Jingle manager sees the JMI answers our other devices send (and
	// stops ringing here when one of them picks up).
	Carbons bool

	// SubscriptionPolicy decides presence subscription requests from bare
	// JIDs (RFC 6121 §3.1.3): true approves, false denies. Nil denies all.
	SubscriptionPolicy func(from string) bool
	// OnPresence is called for each presence we receive (after the
	// resource table is updated), on the dispatch goroutine, in order.
	OnPresence func(Presence)
	// OnEvent reports connection events: each connection, each failure and
	// its cause, each scheduled retry. Called on the supervisor goroutine;
	// it must not block.
	OnEvent func(Event)

	// DialTimeout bounds one connection attempt (TCP, TLS, SASL, bind);
	// default 15 s.
	DialTimeout time.Duration
	// MinBackoff is the first retry delay; default 500 ms. It doubles per
	// failed attempt up to MaxBackoff (default 60 s), with up to 20 %
	// random jitter added so that many clients do not reconnect in step.
	MinBackoff time.Duration
	MaxBackoff time.Duration
	// MaxAttempts makes Start give up (ErrGaveUp) after that many failed
	// attempts at the first connection; default 0, retry until Start's
	// context ends. Reconnection after a loss is bounded by ReconnectFor
	// instead: a server restart takes longer than a few attempts.
	MaxAttempts int
	// ReconnectFor bounds the reconnection after an established stream
	// is lost: once this long has passed since the loss without a new
	// stream, the client stops, Done is closed and Err is a
	// *GaveUpError (errors.Is ErrGaveUp). Default 0: reconnect until
	// Close, which a daemon wants; a program that can do nothing
	// without its connection sets a bound and watches Done.
	ReconnectFor time.Duration
	// IQTimeout bounds SendIQ when the caller's context has no deadline;
	// default 30 s.
	IQTimeout time.Duration
	// QueueSize bounds the stanzas waiting for the dispatch goroutine; when
	// it is full, incoming IQ requests get resource-constraint and messages
	// are dropped, so a flood cannot grow memory. Default 1024.
	QueueSize int

	// SMQueueSize bounds the stanzas kept for XEP-0198 stream
	// management: sent and not yet acknowledged by the server, or sent
	// while the connection is down (they go out after the
	// reconnection). A send beyond it fails with ErrQueueFull. Default
	// 256.
	SMQueueSize int
	// AckTimeout is how long stanzas may wait for the server's XEP-0198
	// acknowledgement before the connection is taken for dead and
	// closed, so the client resumes on a new one: a connection whose
	// packets vanish (a NAT that forgot it) shows no error for minutes
	// otherwise. Default 30 s.
	AckTimeout time.Duration

	// Logger receives the package's few log lines; default discards.
	Logger *slog.Logger
}

// Identity is an XEP-0030 identity (§3.1), with the optional xml:lang.
type Identity struct {
	Category string
	Type     string
	Name     string
	Lang     string
}

// DefaultCapsNode is the XEP-0115 node announced by default.
const DefaultCapsNode = "https://github.com/jingled/jingled"

func (c *Config) validate() error {
	if c.JID == "" || strings.ContainsAny(c.JID, "/") || !strings.Contains(c.JID, "@") {
		return fmt.Errorf("xmpp: Config.JID must be a bare user JID, got %q", c.JID)
	}
	if c.Password == "" {
		return errors.New("xmpp: Config.Password is required")
	}
	if c.Identity.Category == "" {
		c.Identity = Identity{Category: "client", Type: "bot", Name: "jingled"}
	}
	if c.CapsNode == "" {
		c.CapsNode = DefaultCapsNode
	}
	setConnDefaults(&c.DialTimeout, &c.MinBackoff, &c.MaxBackoff, &c.IQTimeout, &c.QueueSize, &c.Logger)
	if c.SMQueueSize <= 0 {
		c.SMQueueSize = 256
	}
	if c.AckTimeout <= 0 {
		c.AckTimeout = 30 * time.Second
	}
	if c.AllowPlainLoopback && !isLoopbackAddr(c.addr()) {
		return fmt.Errorf("%w: %s", ErrPlainNotLoopback, c.addr())
	}
	return nil
}

// setConnDefaults fills in the connection settings Config and
// ComponentConfig share, as their field comments document.
func setConnDefaults(dialTimeout, minBackoff, maxBackoff, iqTimeout *time.Duration, queueSize *int, logger **slog.Logger) {
	if *dialTimeout <= 0 {
		*dialTimeout = 15 * time.Second
	}
	if *minBackoff <= 0 {
		*minBackoff = 500 * time.Millisecond
	}
	if *maxBackoff <= 0 {
		*maxBackoff = time.Minute
	}
	if *maxBackoff < *minBackoff {
		*maxBackoff = *minBackoff
	}
	if *iqTimeout <= 0 {
		*iqTimeout = 30 * time.Second
	}
	if *queueSize <= 0 {
		*queueSize = 1024
	}
	if *logger == nil {
		*logger = slog.New(slog.DiscardHandler)
	}
}

// domain is the JID's domainpart.
func (c *Config) domain() string {
	return c.JID[strings.LastIndexByte(c.JID, '@')+1:]
}

func (c *Config) addr() string {
	if c.Addr != "" {
		return c.Addr
	}
	return net.JoinHostPort(c.domain(), "5222")
}

// isLoopbackAddr reports whether "host:port" names a loopback IP. Host
// names, even "localhost", are refused: resolution could point elsewhere.
func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err == nil && ip.IsLoopback()
}

func (c *Config) tlsConfig() (*tls.Config, error) {
	if c.TLSConfig != nil {
		return c.TLSConfig, nil
	}
	tc := &tls.Config{ServerName: c.domain(), MinVersion: tls.VersionTLS12}
	if c.CAFile != "" {
		pem, err := os.ReadFile(c.CAFile)
		if err != nil {
			return nil, fmt.Errorf("xmpp: read CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("xmpp: no PEM certificate in %s", c.CAFile)
		}
		tc.RootCAs = pool
	}
	return tc, nil
}
