package xmpp

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"time"

	"github.com/jingled/jingled/jingle"
)

// XEP-0030 and XEP-0199 namespaces.
const (
	NSDiscoInfo = "http://jabber.org/protocol/disco#info"
	NSPing      = "urn:xmpp:ping"
	nsDataForms = "jabber:x:data"
)

// builtinFeatures are answered by this package itself, so they are always
// announced: disco#info (XEP-0030), caps (XEP-0115), ping (XEP-0199).
var builtinFeatures = []string{NSDiscoInfo, NSCaps, NSPing}

// DiscoInfo is a disco#info answer (XEP-0030 §3.1), with XEP-0128
// extended forms.
type DiscoInfo struct {
	Node       string
	Identities []Identity
	Features   []string
	Forms      []Form
}

// Form is an XEP-0128 extended information form (a jabber:x:data result).
type Form struct {
	// Type is the FORM_TYPE value.
	Type   string
	Fields []Field
}

// Field is a data form field.
type Field struct {
	Var    string
	Type   string
	Values []string
}

type discoQueryXML struct {
	XMLName    xml.Name      `xml:"http://jabber.org/protocol/disco#info query"`
	Node       string        `xml:"node,attr,omitempty"`
	Identities []identityXML `xml:"identity"`
	Features   []featureXML  `xml:"feature"`
	Forms      []dataFormXML `xml:"jabber:x:data x"`
}

type identityXML struct {
	Category string `xml:"category,attr"`
	Type     string `xml:"type,attr"`
	Name     string `xml:"name,attr,omitempty"`
	Lang     string `xml:"http://www.w3.org/XML/1998/namespace lang,attr,omitempty"`
}

type featureXML struct {
	Var string `xml:"var,attr"`
}

type dataFormXML struct {
	Type   string         `xml:"type,attr"`
	Fields []dataFieldXML `xml:"field"`
}

type dataFieldXML struct {
	Var    string   `xml:"var,attr"`
	Type   string   `xml:"type,attr,omitempty"`
	Values []string `xml:"value"`
}

// Features returns every feature we announce: the built-in ones plus the
// registered ones, sorted and deduplicated. This is the list disco#info
// answers with and the caps ver is computed from.
func (c *Client) Features() []string {
	c.mu.Lock()
	extra := c.features
	c.mu.Unlock()
	return normalizeFeatures(append(append([]string(nil), builtinFeatures...), extra...))
}

// Identity returns our disco identity.
func (c *Client) Identity() Identity { return c.cfg.Identity }

// DiscoInfoSelf is what we answer to disco#info.
func (c *Client) DiscoInfoSelf() DiscoInfo {
	return DiscoInfo{Identities: []Identity{c.cfg.Identity}, Features: c.Features()}
}

// CapsVer is our current XEP-0115 ver string.
func (c *Client) CapsVer() string { return CapsVer(c.DiscoInfoSelf()) }

// SetFeatures replaces the registered features. When the set changes while
// connected, a new presence carries the new caps (XEP-0115 §4).
func (c *Client) SetFeatures(features ...string) {
	c.updateFeatures(normalizeFeatures(features))
}

// AddFeatures adds to the registered features.
func (c *Client) AddFeatures(features ...string) {
	c.mu.Lock()
	all := normalizeFeatures(append(append([]string(nil), c.features...), features...))
	c.mu.Unlock()
	c.updateFeatures(all)
}

func (c *Client) updateFeatures(fs []string) {
	c.mu.Lock()
	changed := !equalStrings(fs, c.features)
	c.features = fs
	s := c.cur
	c.mu.Unlock()
	if changed && s != nil {
		if err := c.write(s, c.presenceStanza()); err != nil {
			c.log.Debug("xmpp: presence update not sent", "err", err)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// handleDiscoInfo answers disco#info (XEP-0030 §3.1) for no node or our
// caps node#ver (XEP-0115 §6.2); other nodes are item-not-found.
func (c *Client) handleDiscoInfo(_ context.Context, iq *jingle.IQ) *jingle.IQ {
	if c.cfg.HoldDisco {
		select {
		case <-c.ready:
		default:
			c.holdDisco(iq)
			return nil
		}
	}
	return AnswerDiscoInfo(iq, c.DiscoInfoSelf(), c.cfg.CapsNode)
}

// discoHoldLimit bounds how long a disco#info query waits for
// FeaturesReady.
const discoHoldLimit = 10 * time.Second

// holdDisco answers iq once the features are registered (FeaturesReady),
// on a goroutine of the client, so the dispatch goes on meanwhile.
func (c *Client) holdDisco(iq *jingle.IQ) {
	c.wg.Add(1)
	go func() {
		defer c.wg.Done()
		t := time.NewTimer(discoHoldLimit)
		defer t.Stop()
		select {
		case <-c.ready:
		case <-t.C:
		case <-c.ctx.Done():
			return
		}
		s, err := c.current()
		if err != nil {
			return
		}
		c.reply(s, iq, AnswerDiscoInfo(iq, c.DiscoInfoSelf(), c.cfg.CapsNode))
	}()
}

// FeaturesReady says every feature is registered: disco#info queries held
// back (Config.HoldDisco) are answered now, and later ones at once.
func (c *Client) FeaturesReady() {
	c.readyOnce.Do(func() { close(c.ready) })
}

// AnswerDiscoInfo answers a disco#info get with info: for no node, or for
// capsNode#ver with ver the XEP-0115 hash of info (§6.2, the query a
// client makes after seeing our caps); other nodes are item-not-found.
// An entity serving several JIDs (a component's rooms) answers each
// with its own info through it.
func AnswerDiscoInfo(iq *jingle.IQ, info DiscoInfo, capsNode string) *jingle.IQ {
	if iq.Type != jingle.IQGet {
		return iq.ErrorReply(jingle.ErrBadRequest)
	}
	var q discoQueryXML
	if err := xml.Unmarshal(iq.Payload, &q); err != nil {
		return iq.ErrorReply(jingle.ErrBadRequest)
	}
	if q.Node != "" && q.Node != capsNode+"#"+CapsVer(info) {
		return iq.ErrorReply(&jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondItemNotFound})
	}
	info.Node = q.Node
	payload, err := marshalDiscoInfo(info)
	if err != nil {
		return iq.ErrorReply(err)
	}
	r := iq.Result()
	r.Payload = payload
	return r
}

func marshalDiscoInfo(info DiscoInfo) ([]byte, error) {
	q := discoQueryXML{Node: info.Node}
	for _, id := range info.Identities {
		q.Identities = append(q.Identities, identityXML(id))
	}
	for _, f := range info.Features {
		q.Features = append(q.Features, featureXML{Var: f})
	}
	for _, f := range info.Forms {
		x := dataFormXML{Type: "result", Fields: []dataFieldXML{{Var: "FORM_TYPE", Type: "hidden", Values: []string{f.Type}}}}
		for _, fl := range f.Fields {
			x.Fields = append(x.Fields, dataFieldXML(fl))
		}
		q.Forms = append(q.Forms, x)
	}
	b, err := xml.Marshal(q)
	if err != nil {
		return nil, fmt.Errorf("xmpp: encode disco#info: %w", err)
	}
	return b, nil
}

// ParseDiscoInfo decodes a disco#info <query/>.
func ParseDiscoInfo(payload []byte) (DiscoInfo, error) {
	var q discoQueryXML
	if err := xml.NewDecoder(bytes.NewReader(payload)).Decode(&q); err != nil {
		return DiscoInfo{}, fmt.Errorf("xmpp: decode disco#info: %w", err)
	}
	info := DiscoInfo{Node: q.Node}
	for _, id := range q.Identities {
		info.Identities = append(info.Identities, Identity(id))
	}
	for _, f := range q.Features {
		info.Features = append(info.Features, f.Var)
	}
	for _, x := range q.Forms {
		var f Form
		hidden := false
		for _, fl := range x.Fields {
			if fl.Var == "FORM_TYPE" {
				if len(fl.Values) > 0 {
					f.Type = fl.Values[0]
				}
				hidden = fl.Type == "hidden"
				continue
			}
			f.Fields = append(f.Fields, Field(fl))
		}
		// XEP-0115 §5.4 3.6: a FORM_TYPE that is not hidden does not
		// count; keep the form but without a type it is not hashed.
		if !hidden {
			f.Type = ""
		}
		info.Forms = append(info.Forms, f)
	}
	return info, nil
}

// DiscoInfo asks jid for its disco#info.
func (c *Client) DiscoInfo(ctx context.Context, jid string) (DiscoInfo, error) {
	return c.DiscoInfoNode(ctx, jid, "")
}

// DiscoInfoNode asks jid for the disco#info of node.
func (c *Client) DiscoInfoNode(ctx context.Context, jid, node string) (DiscoInfo, error) {
	q, err := xml.Marshal(discoQueryXML{Node: node})
	if err != nil {
		return DiscoInfo{}, fmt.Errorf("xmpp: encode disco#info query: %w", err)
	}
	reply, err := c.SendIQ(ctx, &jingle.IQ{To: jid, Type: jingle.IQGet, Payload: q})
	if err != nil {
		return DiscoInfo{}, fmt.Errorf("xmpp: disco#info of %s: %w", jid, err)
	}
	if len(reply.Payload) == 0 {
		return DiscoInfo{}, fmt.Errorf("xmpp: disco#info of %s: %w", jid, errors.New("empty result"))
	}
	return ParseDiscoInfo(reply.Payload)
}
