package xmpp

import (
	"context"
	"encoding/xml"
	"errors"
	"sort"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/jingled/jingled/jingle"
)

// closeGrace is how long Close waits for the server to close its side of
// the stream before dropping the socket.
const closeGrace = time.Second

// Client is an XMPP client connection with reconnection, dispatch, IQ
// correlation, presence tracking, disco#info and entity capabilities. It
// implements jingle.Sender.
//
// Register handlers and features, then Start. Close ends everything.
type Client struct {
	dispatcher // its mu guards the fields below it
	lifecycle

	cfg Config

	// ready is closed by FeaturesReady (Config.HoldDisco).
	ready     chan struct{}
	readyOnce sync.Once

	jid       string   // full JID of the current or last stream
	resource  string   // resource to bind: configured, or the server's first pick
	features  []string // extra features, sorted
	presence  map[string]map[string]Presence
	capsCache map[string]DiscoInfo // verified XEP-0115 ver -> disco#info

	// XEP-0198 (client_sm.go). smMu is taken before mu, never after.
	smMu sync.Mutex
	sm   *smSession    // guarded by smMu; nil: no stream management
	smIn atomic.Uint32 // stanzas received in the session (its h)
	smOn atomic.Bool   // sm != nil, readable under mu
}

var _ jingle.Sender = (*Client)(nil)

// New returns a Client for cfg. It does not connect: call Start.
func New(cfg Config) (*Client, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithCancel(context.Background())
	c := &Client{
		lifecycle: newLifecycle(cancel),
		cfg:       cfg,
		presence:  map[string]map[string]Presence{},
		resource:  cfg.Resource,
		ready:     make(chan struct{}),
	}
	c.prepare(ctx, cfg.Logger.With("pkg", "xmpp", "account", cfg.JID), cfg.QueueSize)
	c.write = c.writeStanza
	c.queueingLocked = c.queueing
	c.answerFrom = func(*jingle.IQ) string { return "" }
	c.acceptReplyLocked = func(to, from string) bool { return replyFromOK(to, from, c.jid) }
	c.features = normalizeFeatures(cfg.Features)
	c.iqHandlers[xml.Name{Space: NSDiscoInfo, Local: "query"}] = c.handleDiscoInfo
	c.iqHandlers[xml.Name{Space: NSPing, Local: "ping"}] = func(_ context.Context, iq *jingle.IQ) *jingle.IQ {
		return iq.Result()
	}
	c.iqHandlers[xml.Name{Space: nsRoster, Local: "query"}] = c.handleRosterPush
	return c, nil
}

// Start connects (retrying with backoff as configured) and returns once the
// first stream is up, or with the error that stopped it: ErrAuth for
// wrong credentials, ErrGaveUp after MaxAttempts, ctx's error. Afterwards
// the client keeps itself connected until Close.
func (c *Client) Start(ctx context.Context) error {
	return c.start(ctx, owner{
		d: &c.dispatcher, connect: c.connect, install: c.install, serve: c.serve,
		broke: c.broke, gaveUp: c.gaveUp, close: c.Close,
	})
}

// JID returns the full JID of the current (or last) stream.
func (c *Client) JID() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.jid
}

// Bare returns the account's bare JID.
func (c *Client) Bare() string { return c.cfg.JID }

// Domain returns the account's server domain.
func (c *Client) Domain() string { return c.cfg.domain() }

// Connected reports whether a stream is up.
func (c *Client) Connected() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur != nil
}

// Encrypted reports whether the current stream runs over TLS.
func (c *Client) Encrypted() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.cur != nil && c.cur.tls
}

// Mechanism returns the SASL mechanism the current stream authenticated
// with (e.g. "SCRAM-SHA-256").
func (c *Client) Mechanism() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.cur == nil {
		return ""
	}
	return c.cur.mech
}

// Close sends unavailable presence, closes the stream, stops the
// goroutines and waits for them. Pending SendIQ calls fail with ErrClosed.
func (c *Client) Close() error {
	c.close(func() {
		c.smMu.Lock()
		if c.sm != nil {
			c.sm.stopAckWatchLocked()
		}
		c.smMu.Unlock()
		c.mu.Lock()
		s := c.closeLocked()
		c.mu.Unlock()
		c.cancel()
		if s != nil {
			_ = s.write([]byte("<presence type='unavailable'/>"))
			s.close(s.readDone, closeGrace)
		}
	})
	return nil
}

// connect dials until a stream is up or a permanent error (see
// dialPlan). Config.MaxAttempts bounds the first connection; a
// reconnection (lost is when its stream broke) gives up once
// Config.ReconnectFor has passed since then (if set) with a
// *GaveUpError. Each attempt asks for the resource of the last session
// and resumes its XEP-0198 session where there is one.
func (c *Client) connect(ctx context.Context, lost time.Time) (*stream, error) {
	maxAttempts := 0
	if lost.IsZero() {
		maxAttempts = c.cfg.MaxAttempts
	}
	return c.redial(ctx, dialPlan{
		what: "xmpp: connecting",
		dial: func(ctx context.Context) (*stream, error) {
			c.mu.Lock()
			resource := c.resource
			c.mu.Unlock()
			return dial(ctx, &c.cfg, resource, c.resumeFrom())
		},
		permanent:   permanentClient,
		maxAttempts: maxAttempts, lost: lost, reconnectFor: c.cfg.ReconnectFor,
		minBackoff: c.cfg.MinBackoff, maxBackoff: c.cfg.MaxBackoff,
		emit: c.emit,
	})
}

// broke reports a lost stream; it stops the client when another session
// took our resource.
func (c *Client) broke(err error) error {
	c.emit(Event{Kind: EventDisconnected, Err: err})
	// Another session took our resource (RFC 6120 §4.9.3.3):
	// reconnecting would throw it out in turn, forever.
	var se *StreamError
	if errors.As(err, &se) && se.Condition == "conflict" {
		c.log.Error("xmpp: resource taken over by another session, not reconnecting", "err", err)
		c.dropSM(ErrDisconnected)
		return err
	}
	if errors.As(err, &se) || errors.Is(err, errHandledTooHigh) {
		// The server ended the session on purpose: resending what it
		// refused would only end the next one.
		c.dropSM(ErrDisconnected)
	}
	return nil
}

// gaveUp fails what the XEP-0198 session still held.
func (c *Client) gaveUp(err error) {
	c.log.Error("xmpp: stopped reconnecting", "err", err)
	c.dropSM(err)
}

// install makes s the current stream. On a resumed XEP-0198 session it
// writes again what the server did not acknowledge; otherwise it
// announces us (roster request, presence with caps) and sends again what
// the lost session had not delivered. IQs in flight move to s or fail
// (see repointLocked).
func (c *Client) install(s *stream) error {
	s.readDone = make(chan struct{})
	s.ack = newQuickAcker(s.conn)
	if err := c.adopt(s); err != nil {
		return err
	}
	c.emit(Event{Kind: EventConnected, JID: s.jid, Attempt: s.attempt, Resumed: s.sm.resumed, Err: s.sm.refused})
	return nil
}

// adopt is install's work, under smMu so that no stanza sent meanwhile
// overtakes the ones sent again.
func (c *Client) adopt(s *stream) error {
	c.smMu.Lock()
	defer c.smMu.Unlock()
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		_ = s.conn.Close()
		return ErrClosed
	}
	if s.sm.resumed {
		s.jid = c.jid // <resumed/> does not repeat it
	}
	rewrite, resend, keep, keepAll := c.adoptLocked(s)
	c.repointLocked(s, keep, keepAll)
	if !s.sm.resumed {
		// A new session: the server sends everyone's presence again
		// after ours. A resumed one keeps what we knew.
		c.presence = map[string]map[string]Presence{}
	}
	c.cur, c.jid = s, s.jid
	if c.resource == "" {
		// Keep a server-assigned resource across reconnections: the
		// Jingle manager and our peers know us by this full JID.
		if _, r, ok := strings.Cut(s.jid, "/"); ok {
			c.resource = r
		}
	}
	c.mu.Unlock()
	if s.sm.resumed {
		if len(rewrite) > 0 {
			var b []byte
			for _, it := range rewrite {
				b = append(b, it.raw...)
			}
			_ = s.write(append(b, smRequest...))
		}
	} else {
		// Request the roster so the server treats us as an interested
		// resource and delivers subscription requests (RFC 6121 §2.1.6,
		// §3.1.3); the reply itself is not needed.
		_ = c.sendLocked(s, []byte("<iq type='get' id='"+c.newID()+"'><query xmlns='jabber:iq:roster'/></iq>"), "")
		if c.cfg.Carbons {
			// XEP-0280 §4; a server without carbons answers with an
			// error, which only means no copies.
			_ = c.sendLocked(s, []byte("<iq type='set' id='"+c.newID()+"'><enable xmlns='urn:xmpp:carbons:2'/></iq>"), "")
		}
		if b, err := xml.Marshal(c.presenceStanza()); err == nil {
			_ = c.sendLocked(s, b, "")
		}
		for _, it := range resend {
			if err := c.sendLocked(s, it.raw, it.iqID); err != nil {
				c.log.Warn("xmpp: stanza of the lost session not resent", "err", err)
			}
		}
	}
	return nil
}

// serve reads the current stream s until it ends.
func (c *Client) serve(s *stream) error {
	defer close(s.readDone)
	err := s.readErr(c.readLoop(s))

	c.smStreamLost(s)
	c.mu.Lock()
	if c.smOn.Load() {
		// The XEP-0198 session carries the IQs in flight over to
		// the next stream (see install).
		if c.cur == s {
			c.cur = nil
		}
	} else {
		c.streamLostLocked(s)
		// Presence learnt on a lost stream is stale.
		c.presence = map[string]map[string]Presence{}
	}
	c.mu.Unlock()
	_ = s.conn.Close()
	return err
}

// readLoop is the only reader of the stream. It counts the stanzas for
// XEP-0198 and answers the server's <r/> (§4).
func (c *Client) readLoop(s *stream) error {
	early := s.early
	s.early = nil
	for {
		var st *rawStanza
		if len(early) > 0 {
			st, early = early[0], early[1:]
		} else {
			var err error
			if st, err = s.next(); err != nil {
				return err
			}
			if s.sm.enabled && st.name.Space == nsClient {
				c.smIn.Add(1)
			}
		}
		if st.name.Space == NSStreamManagement {
			switch st.name.Local {
			case "r":
				if err := s.write([]byte(smAnswer(c.smIn.Load()))); err != nil {
					return err
				}
			case "a":
				h, err := parseH(st.attrs["h"])
				if err == nil {
					err = c.smAcked(h)
				}
				if err != nil {
					return err
				}
			}
			continue
		}
		if st.name.Space != nsClient {
			continue
		}
		switch st.name.Local {
		case "iq":
			c.routeIQ(s, st)
		case "message":
			c.routeMessage(st)
		case "presence":
			c.routePresence(s, st)
		}
	}
}

// HandleIQ registers h for IQ get/set whose payload is <local xmlns=space>,
// replacing any earlier handler (the built-in disco#info, ping and roster
// handlers included). IQ get/set without a handler are answered with
// service-unavailable (RFC 6120 §8.4).
func (c *Client) HandleIQ(space, local string, h IQHandler) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.iqHandlers[xml.Name{Space: space, Local: local}] = h
}

// HandleMessage adds a message handler; handlers are tried in order until
// one consumes the message.
func (c *Client) HandleMessage(h MessageHandler) { c.handleMessage(h) }

// Serve wires a Jingle manager: its IQs, its messages and its features
// (which change our caps), see ManagerFeatures.
func (c *Client) Serve(m *jingle.Manager) {
	c.HandleIQ(jingle.NS, "jingle", m.HandleIQ)
	c.HandleMessage(m.HandleMessage)
	c.AddFeatures(ManagerFeatures(m)...)
}

// ManagerFeatures is what Serve announces for m: its Features plus
// XEP-0184 receipts, which the manager sends for JMI proposals that ask for
// one. Conversations only asks peers that announce receipts, and shows
// "ringing" when the receipt of its <propose/> comes back.
func ManagerFeatures(m *jingle.Manager) []string {
	return normalizeFeatures(append(m.Features(), jingle.NSReceipts))
}

// SendIQ implements jingle.Sender: it sends a get or set and waits for the
// reply from the addressee. An error reply is returned together with its
// *jingle.Error. Without a deadline on ctx, Config.IQTimeout applies.
func (c *Client) SendIQ(ctx context.Context, iq *jingle.IQ) (*jingle.IQ, error) {
	if err := checkRequestType(iq); err != nil {
		return nil, err
	}
	out := *iq
	out.From = ""
	return c.sendIQ(ctx, out, c.cfg.IQTimeout)
}

// replyFromOK checks a reply's from against the request's to. A request
// without to (or to our bare JID) is answered by our server on behalf of
// the account: from is then empty, our bare JID or our full JID (RFC 6120
// §10.1.1, §10.3.3), or for a request without to our server's domain. Comparison folds the case of the local and domain
// parts (RFC 7622 normalises them).
func replyFromOK(to, from, own string) bool {
	if jidEqual(to, from) {
		return true
	}
	ownBare := bareJID(own)
	if to == "" || jidEqual(to, ownBare) {
		if from == "" || jidEqual(from, ownBare) || jidEqual(from, own) {
			return true
		}
	}
	// Some servers answer a request without to from their domain.
	return to == "" && jidEqual(from, ownBare[strings.LastIndexByte(ownBare, '@')+1:])
}

// SendMessage implements jingle.Sender.
func (c *Client) SendMessage(_ context.Context, m *jingle.Message) error {
	out := *m
	out.From = ""
	return c.sendMessage(out)
}

// normalizeFeatures sorts and deduplicates features.
func normalizeFeatures(fs []string) []string {
	out := append([]string(nil), fs...)
	sort.Strings(out)
	j := 0
	for i, f := range out {
		if f == "" || (i > 0 && f == out[i-1]) {
			continue
		}
		out[j] = f
		j++
	}
	return out[:j]
}
