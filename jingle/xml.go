package jingle

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Namespaces of the Jingle core (XEP-0166) and of XEP-0353.
const (
	// NS is the Jingle namespace (XEP-0166 §5).
	NS = "urn:xmpp:jingle:1"
	// NSErrors holds the Jingle-specific error conditions (XEP-0166 §10).
	NSErrors = "urn:xmpp:jingle:errors:1"
	// NSMessage is Jingle Message Initiation (XEP-0353).
	NSMessage = "urn:xmpp:jingle-message:0"
	// NSGrouping is XEP-0338 content grouping (BUNDLE); it lives at the
	// session level, so the core knows its name for routing purposes only.
	NSGrouping = "urn:xmpp:jingle:apps:grouping:0"
)

// Action is the wire value of the jingle element's action attribute.
type Action string

// The actions of XEP-0166 §7.2.
const (
	ActionContentAccept    Action = "content-accept"
	ActionContentAdd       Action = "content-add"
	ActionContentModify    Action = "content-modify"
	ActionContentReject    Action = "content-reject"
	ActionContentRemove    Action = "content-remove"
	ActionDescriptionInfo  Action = "description-info"
	ActionSecurityInfo     Action = "security-info"
	ActionSessionAccept    Action = "session-accept"
	ActionSessionInfo      Action = "session-info"
	ActionSessionInitiate  Action = "session-initiate"
	ActionSessionTerminate Action = "session-terminate"
	ActionTransportAccept  Action = "transport-accept"
	ActionTransportInfo    Action = "transport-info"
	ActionTransportReject  Action = "transport-reject"
	ActionTransportReplace Action = "transport-replace"
)

// Actions lists every action of XEP-0166 in the spec's order.
var Actions = []Action{
	ActionContentAccept, ActionContentAdd, ActionContentModify, ActionContentReject,
	ActionContentRemove, ActionDescriptionInfo, ActionSecurityInfo, ActionSessionAccept,
	ActionSessionInfo, ActionSessionInitiate, ActionSessionTerminate, ActionTransportAccept,
	ActionTransportInfo, ActionTransportReject, ActionTransportReplace,
}

// Valid reports whether a is an action defined by XEP-0166.
func (a Action) Valid() bool {
	for _, v := range Actions {
		if a == v {
			return true
		}
	}
	return false
}

// Creator says which party originally generated a content (XEP-0166 §7.3).
type Creator string

// Creators.
const (
	CreatorInitiator Creator = "initiator"
	CreatorResponder Creator = "responder"
)

// Senders says which parties send media for a content (XEP-0166 §7.3).
// The empty value means "both", the spec's default.
type Senders string

// Senders values.
const (
	SendersBoth      Senders = "both"
	SendersInitiator Senders = "initiator"
	SendersResponder Senders = "responder"
	SendersNone      Senders = "none"
)

// Normalize returns the explicit value, mapping the omitted attribute to
// SendersBoth as XEP-0166 §7.3 says.
func (s Senders) Normalize() Senders {
	if s == "" {
		return SendersBoth
	}
	return s
}

// Valid reports whether s is empty or one of the four defined values.
func (s Senders) Valid() bool {
	switch s {
	case "", SendersBoth, SendersInitiator, SendersResponder, SendersNone:
		return true
	}
	return false
}

// Jingle is the <jingle xmlns='urn:xmpp:jingle:1'/> element.
//
// Descriptions, transports and session-level payloads (session-info
// children, BUNDLE groups, file checksums, ...) are kept as raw Elements:
// the core routes them, the registered application or transport decodes
// them. Unknown children survive a decode/encode round trip in Payloads.
type Jingle struct {
	XMLName   xml.Name  `xml:"urn:xmpp:jingle:1 jingle"`
	Action    Action    `xml:"action,attr"`
	Initiator string    `xml:"initiator,attr,omitempty"`
	Responder string    `xml:"responder,attr,omitempty"`
	SID       string    `xml:"sid,attr"`
	Contents  []Content `xml:"content"`
	Reason    *Reason   `xml:"reason"`
	// Payloads are every other child element, in document order.
	Payloads []Element `xml:",any"`
}

// Content is one <content/> of a Jingle element (XEP-0166 §7.3).
type Content struct {
	Creator     Creator `xml:"creator,attr"`
	Disposition string  `xml:"disposition,attr,omitempty"`
	Name        string  `xml:"name,attr"`
	Senders     Senders `xml:"senders,attr,omitempty"`
	// Description is the application format, e.g. XEP-0167's RTP
	// description or XEP-0234's file description.
	Description *Element `xml:"description"`
	// Transport is the transport method, e.g. XEP-0176 ICE-UDP.
	Transport *Element `xml:"transport"`
	// Security is a security precondition such as XEP-0391's JET.
	Security *Element `xml:"security"`
	// Extra keeps unknown children.
	Extra []Element `xml:",any"`
}

// DescriptionNS returns the description namespace or "".
func (c *Content) DescriptionNS() string {
	if c.Description == nil {
		return ""
	}
	return c.Description.XMLName.Space
}

// TransportNS returns the transport namespace or "".
func (c *Content) TransportNS() string {
	if c.Transport == nil {
		return ""
	}
	return c.Transport.XMLName.Space
}

// Payload returns the first session-level payload with the given
// namespace and local name, or nil.
func (j *Jingle) Payload(space, local string) *Element {
	for i := range j.Payloads {
		n := j.Payloads[i].XMLName
		if n.Space == space && (local == "" || n.Local == local) {
			return &j.Payloads[i]
		}
	}
	return nil
}

// Content returns the content with the given name, or nil.
func (j *Jingle) Content(name string) *Content {
	for i := range j.Contents {
		if j.Contents[i].Name == name {
			return &j.Contents[i]
		}
	}
	return nil
}

// Element is an XML element kept raw: its name, attributes and inner XML.
// It is how the core carries what it does not model, so extensions survive
// a round trip.
//
// Inner is self-contained: decoding rewrites the content so that every
// element states its namespace where it differs from its parent's and
// every prefixed attribute carries its own declaration. A child that
// relied on a prefix declared on <iq/> or <jingle/> therefore keeps its
// namespace when the element is re-encoded elsewhere.
type Element struct {
	// XMLName is the element's resolved name. An empty Space means no
	// namespace: the element is written with xmlns=''.
	XMLName xml.Name
	// Attr holds the attributes with resolved names, without namespace
	// declarations.
	Attr []xml.Attr
	// Inner is the element's content, trimmed, nil when empty.
	Inner []byte
}

// xmlNS is the namespace bound to the reserved xml: prefix.
const xmlNS = "http://www.w3.org/XML/1998/namespace"

// UnmarshalXML keeps the element's attributes (without namespace
// declarations, which encoding/xml already resolved) and its content.
func (e *Element) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	if err := checkName(start.Name); err != nil {
		return err
	}
	e.XMLName = start.Name
	e.Attr = e.Attr[:0]
	for _, a := range start.Attr {
		if isNSDecl(a.Name) || hasAttr(e.Attr, a.Name) {
			// encoding/xml lets duplicates through; keep the first so we
			// never write what XML 1.0 §3.1 forbids.
			continue
		}
		e.Attr = append(e.Attr, a)
	}
	inner, err := readInner(d, start.Name.Space)
	if err != nil {
		return err
	}
	e.Inner = bytes.TrimSpace(inner)
	if len(e.Inner) == 0 {
		e.Inner = nil
	}
	return nil
}

func hasAttr(attrs []xml.Attr, n xml.Name) bool {
	for _, a := range attrs {
		if a.Name == n {
			return true
		}
	}
	return false
}

// isNSDecl reports whether an attribute name is a namespace declaration.
func isNSDecl(n xml.Name) bool {
	return n.Space == "xmlns" || (n.Space == "" && n.Local == "xmlns")
}

// errBadName: encoding/xml splits a name at its first colon only, so
// "a:b:c" would come back as a different name after a round trip.
var errBadName = errors.New("jingle: invalid XML name")

func checkName(n xml.Name) error {
	if strings.Contains(n.Local, ":") || n.Local == "" {
		return fmt.Errorf("%w %q", errBadName, n.Local)
	}
	return nil
}

// readInner reads the content of the element whose start d just returned,
// through its end, and writes it back with resolved namespaces (see
// Element). space is the namespace of that element.
func readInner(d *xml.Decoder, space string) ([]byte, error) {
	var b bytes.Buffer
	scope := []string{space}
	for {
		tok, err := d.Token()
		if err != nil {
			if errors.Is(err, io.EOF) {
				err = io.ErrUnexpectedEOF
			}
			return nil, err
		}
		switch t := tok.(type) {
		case xml.StartElement:
			if err := checkName(t.Name); err != nil {
				return nil, err
			}
			b.WriteByte('<')
			b.WriteString(t.Name.Local)
			if t.Name.Space != scope[len(scope)-1] {
				b.WriteString(` xmlns="`)
				escapeAttr(&b, t.Name.Space)
				b.WriteByte('"')
			}
			scope = append(scope, t.Name.Space)
			writeAttrs(&b, t.Attr)
			b.WriteByte('>')
		case xml.EndElement:
			if len(scope) == 1 {
				return b.Bytes(), nil
			}
			scope = scope[:len(scope)-1]
			b.WriteString("</")
			b.WriteString(t.Name.Local)
			b.WriteByte('>')
		case xml.CharData:
			escapeText(&b, t)
		}
	}
}

// writeAttrs writes resolved attributes, declaring a prefix for each
// namespace they use.
func writeAttrs(b *bytes.Buffer, attrs []xml.Attr) {
	var prefixes map[string]string
	for i, a := range attrs {
		if isNSDecl(a.Name) || hasAttr(attrs[:i], a.Name) {
			continue
		}
		b.WriteByte(' ')
		switch a.Name.Space {
		case "":
		case xmlNS:
			b.WriteString("xml:")
		default:
			p, ok := prefixes[a.Name.Space]
			if !ok {
				if prefixes == nil {
					prefixes = map[string]string{}
				}
				p = fmt.Sprintf("ns%d", len(prefixes))
				prefixes[a.Name.Space] = p
				b.WriteString("xmlns:" + p + `="`)
				escapeAttr(b, a.Name.Space)
				b.WriteString(`" `)
			}
			b.WriteString(p + ":")
		}
		b.WriteString(a.Name.Local)
		b.WriteString(`="`)
		escapeAttr(b, a.Value)
		b.WriteByte('"')
	}
}

// escapeText escapes character data, keeping newlines readable.
func escapeText(b *bytes.Buffer, s []byte) {
	for _, c := range string(s) {
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteRune(c)
		}
	}
}

// escapeAttr escapes an attribute value so that it reads back unchanged
// (XML normalizes literal tabs and newlines in attributes to spaces).
func escapeAttr(b *bytes.Buffer, s string) {
	for _, c := range s {
		switch c {
		case '&':
			b.WriteString("&amp;")
		case '<':
			b.WriteString("&lt;")
		case '>':
			b.WriteString("&gt;")
		case '"':
			b.WriteString("&quot;")
		case '\t':
			b.WriteString("&#x9;")
		case '\n':
			b.WriteString("&#xA;")
		case '\r':
			b.WriteString("&#xD;")
		default:
			b.WriteRune(c)
		}
	}
}

// MarshalXML writes the element back with its namespace as the default
// namespace.
func (e Element) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Local: e.XMLName.Local}}
	start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "xmlns"}, Value: e.XMLName.Space})
	var prefixes map[string]string
	for _, a := range e.Attr {
		switch a.Name.Space {
		case "":
		case xmlNS:
			a.Name = xml.Name{Local: "xml:" + a.Name.Local}
		case "xmlns":
			// A declaration put in by hand: Inner may use it.
			a.Name = xml.Name{Local: "xmlns:" + a.Name.Local}
		default:
			// Declare the prefix ourselves: the encoder would invent one
			// that may clash with a declaration in Attr.
			p, ok := prefixes[a.Name.Space]
			if !ok {
				if prefixes == nil {
					prefixes = map[string]string{}
				}
				p = fmt.Sprintf("ns%d", len(prefixes))
				prefixes[a.Name.Space] = p
				start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "xmlns:" + p}, Value: a.Name.Space})
			}
			a.Name = xml.Name{Local: p + ":" + a.Name.Local}
		}
		start.Attr = append(start.Attr, a)
	}
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	if len(e.Inner) > 0 {
		if err := writeRaw(enc, e.Inner); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

// writeRaw writes already-serialized XML through the encoder. encoding/xml
// has no raw writer that keeps the encoder's state consistent, so the raw
// content is tokenized and re-encoded; prefixes are kept as written.
func writeRaw(enc *xml.Encoder, b []byte) error {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.RawToken()
		if err != nil {
			if errors.Is(err, io.EOF) {
				return nil
			}
			return fmt.Errorf("jingle: re-encoding raw element: %w", err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			t.Name = prefixed(t.Name)
			for i := range t.Attr {
				t.Attr[i].Name = prefixed(t.Attr[i].Name)
			}
			if err := enc.EncodeToken(t); err != nil {
				return err
			}
		case xml.EndElement:
			t.Name = prefixed(t.Name)
			if err := enc.EncodeToken(t); err != nil {
				return err
			}
		case xml.CharData:
			if err := enc.EncodeToken(t); err != nil {
				return err
			}
		case xml.Comment, xml.ProcInst, xml.Directive:
			// Dropped: not meaningful inside a stanza.
		}
	}
}

// prefixed folds a raw token's prefix into the local name so the encoder
// writes it unchanged (RawToken does not resolve namespaces).
func prefixed(n xml.Name) xml.Name {
	if n.Space == "" {
		return n
	}
	return xml.Name{Local: n.Space + ":" + n.Local}
}

// Attribute returns the value of the unqualified attribute name, or "".
func (e *Element) Attribute(name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name && (a.Name.Space == "" || a.Name.Space == e.XMLName.Space) {
			return a.Value
		}
	}
	return ""
}

// Decode unmarshals the element into v, a struct with encoding/xml tags.
func (e *Element) Decode(v any) error {
	b, err := xml.Marshal(e)
	if err != nil {
		return fmt.Errorf("jingle: encoding %s element: %w", e.XMLName.Local, err)
	}
	if err := xml.Unmarshal(b, v); err != nil {
		return fmt.Errorf("jingle: decoding <%s xmlns='%s'>: %w", e.XMLName.Local, e.XMLName.Space, err)
	}
	return nil
}

// NewElement marshals v (a struct with encoding/xml tags) and returns it
// as a raw Element, ready to put into a Content or Payloads.
func NewElement(v any) (Element, error) {
	b, err := xml.Marshal(v)
	if err != nil {
		return Element{}, fmt.Errorf("jingle: encoding element: %w", err)
	}
	var e Element
	if err := xml.Unmarshal(b, &e); err != nil {
		return Element{}, fmt.Errorf("jingle: re-reading element: %w", err)
	}
	return e, nil
}

// MustElement is NewElement for values known to encode (constants in
// code); it panics on error.
func MustElement(v any) Element {
	e, err := NewElement(v)
	if err != nil {
		panic(err)
	}
	return e
}

// Limits Parse enforces before decoding anything, so a peer cannot make
// the core build huge or deep structures. Real Jingle elements nest about
// eight levels deep (iq, jingle, content, description, payload-type,
// rtcp-fb, ...) and stay well under the 256 KiB Prosody accepts per
// stanza.
const (
	// MaxSize is the largest <jingle/> element Parse accepts, in bytes.
	MaxSize = 1 << 20
	// MaxDepth is the deepest element nesting Parse accepts, <jingle/>
	// being depth 1.
	MaxDepth = 64
	// MaxAttrLen is the longest attribute value Parse accepts, in bytes.
	MaxAttrLen = 16 << 10
)

// limitReader passes raw tokens on to an xml.Decoder, failing once the
// element nesting or an attribute exceeds the limits.
type limitReader struct {
	d     *xml.Decoder
	depth int
}

var (
	errTooDeep  = fmt.Errorf("elements nested deeper than %d", MaxDepth)
	errLongAttr = fmt.Errorf("attribute longer than %d bytes", MaxAttrLen)
)

func (l *limitReader) Token() (xml.Token, error) {
	tok, err := l.d.RawToken()
	if err != nil {
		return nil, err
	}
	switch t := tok.(type) {
	case xml.StartElement:
		l.depth++
		if l.depth > MaxDepth {
			return nil, errTooDeep
		}
		for _, a := range t.Attr {
			if len(a.Value) > MaxAttrLen {
				return nil, errLongAttr
			}
		}
	case xml.EndElement:
		l.depth--
	}
	return tok, nil
}

// Parse decodes a <jingle/> element and checks what XEP-0166 requires of
// every action: a known action, a sid, and well-formed contents. Errors are
// *Error values with condition bad-request.
func Parse(b []byte) (*Jingle, error) {
	if len(b) > MaxSize {
		return nil, BadRequest(fmt.Sprintf("jingle element of %d bytes exceeds %d", len(b), MaxSize))
	}
	var j Jingle
	d := xml.NewTokenDecoder(&limitReader{d: xml.NewDecoder(bytes.NewReader(b))})
	if err := d.Decode(&j); err != nil {
		return nil, BadRequest(fmt.Sprintf("malformed jingle element: %v", err))
	}
	if err := j.Validate(); err != nil {
		return nil, err
	}
	return &j, nil
}

// Validate checks the structural rules of XEP-0166 that do not depend on
// session state.
func (j *Jingle) Validate() error {
	if j.XMLName.Space != NS || j.XMLName.Local != "jingle" {
		return BadRequest("not a urn:xmpp:jingle:1 jingle element")
	}
	if !j.Action.Valid() {
		return BadRequest(fmt.Sprintf("unknown jingle action %q", j.Action))
	}
	if j.SID == "" {
		return BadRequest("jingle element without sid")
	}
	seen := make(map[string]bool, len(j.Contents))
	for i := range j.Contents {
		c := &j.Contents[i]
		if c.Name == "" {
			return BadRequest("content without name")
		}
		if seen[c.Name] {
			return BadRequest(fmt.Sprintf("duplicate content name %q", c.Name))
		}
		seen[c.Name] = true
		switch c.Creator {
		case CreatorInitiator, CreatorResponder:
		case "":
			// StanzaJS and others omit it in some actions; XEP-0166 makes
			// it required, but initiator is the only sensible default.
			c.Creator = CreatorInitiator
		default:
			return BadRequest(fmt.Sprintf("content %q: invalid creator %q", c.Name, c.Creator))
		}
		if !c.Senders.Valid() {
			return BadRequest(fmt.Sprintf("content %q: invalid senders %q", c.Name, c.Senders))
		}
	}
	switch j.Action {
	case ActionSessionInitiate, ActionSessionAccept, ActionContentAdd, ActionContentAccept:
		if len(j.Contents) == 0 {
			return BadRequest(fmt.Sprintf("%s without content", j.Action))
		}
		for i := range j.Contents {
			c := &j.Contents[i]
			if c.Description == nil && c.Transport == nil {
				return BadRequest(fmt.Sprintf("%s: content %q has neither description nor transport", j.Action, c.Name))
			}
		}
	case ActionTransportInfo, ActionTransportReplace, ActionTransportAccept, ActionTransportReject:
		if len(j.Contents) == 0 {
			return BadRequest(fmt.Sprintf("%s without content", j.Action))
		}
		for i := range j.Contents {
			if j.Contents[i].Transport == nil && j.Action != ActionTransportReject {
				return BadRequest(fmt.Sprintf("%s: content %q has no transport", j.Action, j.Contents[i].Name))
			}
		}
	case ActionContentModify, ActionContentReject, ActionContentRemove, ActionDescriptionInfo, ActionSecurityInfo:
		if len(j.Contents) == 0 {
			return BadRequest(fmt.Sprintf("%s without content", j.Action))
		}
	}
	if j.Reason != nil && !j.Reason.Condition.Valid() {
		return BadRequest(fmt.Sprintf("unknown reason condition %q", j.Reason.Condition))
	}
	return nil
}
