package jingle

import (
	"bytes"
	"context"
	"encoding/xml"
	"fmt"
)

// IQType is the type attribute of an IQ stanza (RFC 6120 §8.2.3).
type IQType string

// IQ types.
const (
	IQGet    IQType = "get"
	IQSet    IQType = "set"
	IQResult IQType = "result"
	IQError  IQType = "error"
)

// IQ is an <iq/> stanza with its payload kept raw. It is the unit the
// manager exchanges with whatever carries XMPP (a go-xmpp connection, the
// in-memory router of jingletest), so the core depends on no XMPP library.
type IQ struct {
	ID   string
	From string
	To   string
	Type IQType
	// Payload is the raw child element (for get/set, and results that
	// carry one); nil for empty results.
	Payload []byte
	// Error is set for type="error".
	Error *Error
}

// Result returns an empty result reply to iq.
func (iq *IQ) Result() *IQ {
	return &IQ{ID: iq.ID, From: iq.To, To: iq.From, Type: IQResult}
}

// ErrorReply returns an error reply to iq for err (see ToError).
func (iq *IQ) ErrorReply(err error) *IQ {
	return &IQ{ID: iq.ID, From: iq.To, To: iq.From, Type: IQError, Error: ToError(err)}
}

// PayloadName returns the name of the payload element, or a zero Name.
func (iq *IQ) PayloadName() xml.Name {
	return firstElementName(iq.Payload)
}

func firstElementName(b []byte) xml.Name {
	d := xml.NewDecoder(bytes.NewReader(b))
	for {
		tok, err := d.Token()
		if err != nil {
			return xml.Name{}
		}
		if s, ok := tok.(xml.StartElement); ok {
			return s.Name
		}
	}
}

// MarshalXML writes the IQ in the jabber:client namespace.
func (iq IQ) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Local: "iq"}}
	add := func(k, v string) {
		if v != "" {
			start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: k}, Value: v})
		}
	}
	add("xmlns", "jabber:client")
	add("id", iq.ID)
	add("from", iq.From)
	add("to", iq.To)
	add("type", string(iq.Type))
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	if len(iq.Payload) > 0 {
		if err := writeRaw(enc, iq.Payload); err != nil {
			return err
		}
	}
	if iq.Error != nil {
		if err := enc.Encode(iq.Error); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

// UnmarshalXML reads an IQ, splitting the <error/> from the payload.
func (iq *IQ) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var raw struct {
		ID       string    `xml:"id,attr"`
		From     string    `xml:"from,attr"`
		To       string    `xml:"to,attr"`
		Type     string    `xml:"type,attr"`
		Children []Element `xml:",any"`
	}
	if err := d.DecodeElement(&raw, &start); err != nil {
		return err
	}
	*iq = IQ{ID: raw.ID, From: raw.From, To: raw.To, Type: IQType(raw.Type)}
	for i := range raw.Children {
		c := &raw.Children[i]
		if c.XMLName.Local == "error" && (c.XMLName.Space == "jabber:client" || c.XMLName.Space == "") {
			var e Error
			if err := c.Decode(&e); err != nil {
				return err
			}
			iq.Error = &e
			continue
		}
		if iq.Payload == nil {
			b, err := xml.Marshal(c)
			if err != nil {
				return err
			}
			iq.Payload = b
		}
	}
	return nil
}

// Message is a <message/> stanza with its children kept raw. JMI
// (XEP-0353), receipts (XEP-0184) and hints ride on messages.
type Message struct {
	ID   string
	From string
	To   string
	Type string
	// Payload holds the raw children, concatenated.
	Payload []byte
}

// Elements decodes the message's children.
func (m *Message) Elements() ([]Element, error) {
	var raw struct {
		Children []Element `xml:",any"`
	}
	// Children without xmlns are in the stanza's namespace.
	b := append(append([]byte("<m xmlns='jabber:client'>"), m.Payload...), "</m>"...)
	if err := xml.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("jingle: message payload: %w", err)
	}
	return raw.Children, nil
}

// MarshalXML writes the message in the jabber:client namespace.
func (m Message) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	start := xml.StartElement{Name: xml.Name{Local: "message"}}
	add := func(k, v string) {
		if v != "" {
			start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: k}, Value: v})
		}
	}
	add("xmlns", "jabber:client")
	add("id", m.ID)
	add("from", m.From)
	add("to", m.To)
	add("type", m.Type)
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	if len(m.Payload) > 0 {
		if err := writeRaw(enc, m.Payload); err != nil {
			return err
		}
	}
	return enc.EncodeToken(start.End())
}

// UnmarshalXML reads a message keeping its children raw.
func (m *Message) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var raw struct {
		ID       string    `xml:"id,attr"`
		From     string    `xml:"from,attr"`
		To       string    `xml:"to,attr"`
		Type     string    `xml:"type,attr"`
		Children []Element `xml:",any"`
	}
	if err := d.DecodeElement(&raw, &start); err != nil {
		return err
	}
	*m = Message{ID: raw.ID, From: raw.From, To: raw.To, Type: raw.Type}
	for i := range raw.Children {
		b, err := xml.Marshal(&raw.Children[i])
		if err != nil {
			return err
		}
		m.Payload = append(m.Payload, b...)
	}
	return nil
}

// Sender is what the manager needs from an XMPP connection. The go-xmpp
// adapter (xmpp) and the in-memory router (jingletest) implement
// it; the manager never sees an XMPP library.
type Sender interface {
	// SendIQ sends a get or set and waits for the reply. An error reply is
	// returned as a *Error (use errors.Is with the sentinels); a timeout
	// or cancelled ctx as ctx's error.
	SendIQ(ctx context.Context, iq *IQ) (*IQ, error)
	// SendMessage sends a message stanza.
	SendMessage(ctx context.Context, m *Message) error
}
