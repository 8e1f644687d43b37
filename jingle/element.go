package jingle

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"strings"
)

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
