package jingle

import (
	"bytes"
	"encoding/xml"
	"fmt"
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
