package jingle

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
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
// a round trip. Namespace prefixes declared on ancestors are not tracked:
// children are expected to use default namespaces, as every Jingle
// implementation we know does.
type Element struct {
	XMLName xml.Name
	Attr    []xml.Attr
	// Inner is the element's content as it appeared on the wire.
	Inner []byte
}

// UnmarshalXML keeps the element's attributes (without namespace
// declarations, which encoding/xml already resolved) and raw content.
func (e *Element) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	e.XMLName = start.Name
	e.Attr = e.Attr[:0]
	for _, a := range start.Attr {
		switch {
		case a.Name.Space == "" && a.Name.Local == "xmlns":
			// The default namespace is XMLName.Space.
			continue
		case a.Name.Space == "xmlns":
			// Keep prefix declarations (StanzaJS declares xmlns:rtcpf on
			// <description> and uses it in the children kept in Inner),
			// folded so the encoder writes them verbatim.
			a.Name = xml.Name{Local: "xmlns:" + a.Name.Local}
		}
		e.Attr = append(e.Attr, a)
	}
	var inner struct {
		Inner []byte `xml:",innerxml"`
	}
	if err := d.DecodeElement(&inner, &start); err != nil {
		return err
	}
	e.Inner = bytes.TrimSpace(inner.Inner)
	if len(e.Inner) == 0 {
		e.Inner = nil
	}
	return nil
}

// MarshalXML writes the element back with its namespace as the default
// namespace.
func (e Element) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Local: e.XMLName.Local}}
	if e.XMLName.Space != "" {
		start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: "xmlns"}, Value: e.XMLName.Space})
	}
	for _, a := range e.Attr {
		if a.Name.Space == "http://www.w3.org/XML/1998/namespace" {
			a.Name = xml.Name{Local: "xml:" + a.Name.Local}
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

// Parse decodes a <jingle/> element and checks what XEP-0166 requires of
// every action: a known action, a sid, and well-formed contents. Errors are
// *Error values with condition bad-request.
func Parse(b []byte) (*Jingle, error) {
	var j Jingle
	if err := xml.Unmarshal(b, &j); err != nil {
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
