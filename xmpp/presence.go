package xmpp

import (
	"context"
	"encoding/xml"
	"fmt"
	"sort"
	"strconv"
	"strings"

	"github.com/jingled/jingled/jingle"
)

// nsRoster is the roster namespace (RFC 6121 §2).
const nsRoster = "jabber:iq:roster"

// Bounds of the presence table: anyone can send us directed presence, so
// the table must not grow without limit.
const (
	maxTrackedBare      = 10000
	maxResourcesPerBare = 64
)

// Presence is a received presence stanza (RFC 6121 §4), with the XEP-0115
// capabilities it carried.
type Presence struct {
	From     string
	To       string
	Type     string // "" (available), unavailable, subscribe, subscribed, unsubscribe, unsubscribed, probe, error
	Show     string
	Status   string
	Priority int
	Caps     *Caps
	Error    *jingle.Error
}

// Caps is an XEP-0115 <c/> element.
type Caps struct {
	Hash string `xml:"hash,attr"`
	Node string `xml:"node,attr"`
	Ver  string `xml:"ver,attr"`
}

type presenceXML struct {
	XMLName  xml.Name      `xml:"jabber:client presence"`
	From     string        `xml:"from,attr"`
	To       string        `xml:"to,attr"`
	Type     string        `xml:"type,attr"`
	Show     string        `xml:"show"`
	Status   string        `xml:"status"`
	Priority string        `xml:"priority"`
	Caps     *Caps         `xml:"http://jabber.org/protocol/caps c"`
	Error    *jingle.Error `xml:"error"`
}

// outPresence is the presence we send.
type outPresence struct {
	XMLName  xml.Name `xml:"presence"`
	To       string   `xml:"to,attr,omitempty"`
	Type     string   `xml:"type,attr,omitempty"`
	Priority int      `xml:"priority,omitempty"`
	Caps     *capsOut `xml:"c,omitempty"`
}

type capsOut struct {
	XMLNS string `xml:"xmlns,attr"`
	Hash  string `xml:"hash,attr"`
	Node  string `xml:"node,attr"`
	Ver   string `xml:"ver,attr"`
}

// presenceStanza is our available presence, caps included (XEP-0115 §4).
func (c *Client) presenceStanza() outPresence {
	return outPresence{
		Priority: c.cfg.Priority,
		Caps:     &capsOut{XMLNS: NSCaps, Hash: "sha-1", Node: c.cfg.CapsNode, Ver: c.CapsVer()},
	}
}

// decodePresence parses a presence stanza read by next. An unparsable
// priority counts as 0 rather than losing the presence.
func decodePresence(st *rawStanza) (Presence, error) {
	var px presenceXML
	if err := xml.Unmarshal(st.raw, &px); err != nil {
		return Presence{}, fmt.Errorf("xmpp: decode presence: %w", err)
	}
	p := Presence{From: px.From, To: px.To, Type: px.Type, Show: px.Show, Status: px.Status, Caps: px.Caps, Error: px.Error}
	if n, err := strconv.Atoi(strings.TrimSpace(px.Priority)); err == nil {
		p.Priority = n
	}
	return p, nil
}

func (c *Client) routePresence(s *stream, st *rawStanza) {
	p, err := decodePresence(st)
	if err != nil {
		c.log.Warn("xmpp: undecodable presence dropped", "from", st.attrs["from"], "err", err)
		return
	}
	// Update the table right away, so Resources reflects everything read
	// so far by the time anyone waits on it.
	if p.Type == "unavailable" && p.From != "" && !strings.Contains(p.From, "/") {
		// Unavailable from a bare JID covers all its resources.
		c.mu.Lock()
		delete(c.presence, strings.ToLower(p.From))
		c.mu.Unlock()
	} else if strings.Contains(p.From, "/") {
		bare := strings.ToLower(bareJID(p.From))
		c.mu.Lock()
		switch p.Type {
		case "":
			m := c.presence[bare]
			if m == nil {
				if len(c.presence) >= maxTrackedBare {
					break
				}
				m = map[string]Presence{}
				c.presence[bare] = m
			}
			if _, known := m[p.From]; known || len(m) < maxResourcesPerBare {
				m[p.From] = p
			}
		case "unavailable", "error":
			delete(c.presence[bare], p.From)
			if len(c.presence[bare]) == 0 {
				delete(c.presence, bare)
			}
		}
		c.mu.Unlock()
	}
	c.enqueue(func() { c.dispatchPresence(s, p) }, func() {
		c.log.Warn("xmpp: dispatch queue full, presence hook skipped", "from", p.From, "type", p.Type)
	})
}

func (c *Client) dispatchPresence(s *stream, p Presence) {
	if p.Type == "subscribe" {
		approve := c.cfg.SubscriptionPolicy != nil && c.cfg.SubscriptionPolicy(bareJID(p.From))
		answer := "unsubscribed"
		if approve {
			answer = "subscribed"
		}
		if err := c.write(s, outPresence{To: bareJID(p.From), Type: answer}); err != nil {
			c.log.Debug("xmpp: subscription answer not sent", "to", p.From, "err", err)
		}
	}
	if c.cfg.OnPresence != nil {
		c.cfg.OnPresence(p)
	}
}

// Subscribe asks bare for a presence subscription (RFC 6121 §3.1.1). Its
// presence arrives once it approves.
func (c *Client) Subscribe(_ context.Context, bare string) error {
	s, err := c.current()
	if err != nil {
		return err
	}
	if err := c.write(s, outPresence{To: bareJID(bare), Type: "subscribe"}); err != nil {
		return fmt.Errorf("xmpp: subscribe to %s: %w", bare, err)
	}
	return nil
}

// SendPresenceTo sends our presence (with caps) directly to a JID without a
// subscription (directed presence, RFC 6121 §4.6).
func (c *Client) SendPresenceTo(_ context.Context, to string) error {
	s, err := c.current()
	if err != nil {
		return err
	}
	p := c.presenceStanza()
	p.To = to
	return c.write(s, p)
}

// Resources returns the available full JIDs of bare, sorted.
func (c *Client) Resources(bare string) []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := c.presence[strings.ToLower(bareJID(bare))]
	out := make([]string, 0, len(m))
	for full := range m {
		out = append(out, full)
	}
	sort.Strings(out)
	return out
}

// PresenceOf returns the last available presence of a full JID.
func (c *Client) PresenceOf(full string) (Presence, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	p, ok := c.presence[strings.ToLower(bareJID(full))][full]
	return p, ok
}

// handleRosterPush acknowledges roster pushes (RFC 6121 §2.1.6), which only
// our own server may send: from empty or our bare JID.
func (c *Client) handleRosterPush(_ context.Context, iq *jingle.IQ) *jingle.IQ {
	if iq.Type != jingle.IQSet || (iq.From != "" && !jidEqual(iq.From, c.cfg.JID)) {
		return iq.ErrorReply(jingle.ErrServiceUnavailable)
	}
	return iq.Result()
}

// bareJID strips the resource (RFC 7622 §3.1).
func bareJID(j string) string {
	if i := strings.IndexByte(j, '/'); i >= 0 {
		return j[:i]
	}
	return j
}

// jidEqual compares JIDs, folding case in the local and domain parts but
// not in the resource (RFC 7622 §3.2–3.4).
func jidEqual(a, b string) bool {
	ab, ar, _ := strings.Cut(a, "/")
	bb, br, _ := strings.Cut(b, "/")
	return strings.EqualFold(ab, bb) && ar == br && strings.Contains(a, "/") == strings.Contains(b, "/")
}
