// The XEP-0167 <description/> and its companions' elements (XEP-0293
// feedback, XEP-0294 header extensions, XEP-0339 sources, XEP-0338 groups,
// StanzaJS's msid): types, namespaces, XML encoding.

package rtp

import (
	"encoding/xml"
	"fmt"
	"strings"

	"github.com/jingled/jingled/jingle"
)

// Namespaces.
const (
	// NS is XEP-0167's RTP application namespace.
	NS = "urn:xmpp:jingle:apps:rtp:1"
	// NSRTCPFB is XEP-0293's RTCP feedback namespace.
	NSRTCPFB = "urn:xmpp:jingle:apps:rtp:rtcp-fb:0"
	// NSHdrExt is XEP-0294's header extension namespace.
	NSHdrExt = "urn:xmpp:jingle:apps:rtp:rtp-hdrext:0"
	// NSSSMA is XEP-0339's source-specific attributes namespace.
	NSSSMA = "urn:xmpp:jingle:apps:rtp:ssma:0"
	// NSMSID is StanzaJS's <stream id track/> namespace (a=msid).
	NSMSID = "urn:xmpp:jingle:apps:rtp:msid:0"
	// NSGrouping is XEP-0338's grouping namespace.
	NSGrouping = jingle.NSGrouping
)

// Media types of a description.
const (
	MediaAudio = "audio"
	MediaVideo = "video"
)

// Description is <description xmlns='urn:xmpp:jingle:apps:rtp:1'/>
// (XEP-0167 §4): one RTP session, i.e. one SDP m-line.
type Description struct {
	// Media is "audio" or "video".
	Media string
	// SSRC is the description-level ssrc attribute (optional, 0 = absent).
	SSRC         uint32
	PayloadTypes []PayloadType
	Bandwidths   []Bandwidth
	// RTCPMux is <rtcp-mux/> (a=rtcp-mux).
	RTCPMux bool
	// RTCPReducedSize is StanzaJS's <rtcp-reduced-size/> (a=rtcp-rsize).
	RTCPReducedSize bool
	// RTCPFeedback and TRRInt apply to every payload type (XEP-0293 §3,
	// a=rtcp-fb:*).
	RTCPFeedback []RTCPFeedback
	TRRInt       *TRRInt
	// HeaderExtensions are XEP-0294 <rtp-hdrext/> (a=extmap).
	HeaderExtensions []HeaderExtension
	// ExtmapAllowMixed is XEP-0294's <extmap-allow-mixed/>.
	ExtmapAllowMixed bool
	// Sources and SourceGroups are XEP-0339 (a=ssrc, a=ssrc-group).
	Sources      []SSRCSource
	SourceGroups []SourceGroup
	// Streams are StanzaJS's msid elements (a=msid).
	Streams []Stream
}

type empty struct{}

type descriptionWire struct {
	XMLName          xml.Name          `xml:"urn:xmpp:jingle:apps:rtp:1 description"`
	Media            string            `xml:"media,attr"`
	SSRC             uint32            `xml:"ssrc,attr,omitempty"`
	RTCPMux          *empty            `xml:"rtcp-mux"`
	RTCPReducedSize  *empty            `xml:"rtcp-reduced-size"`
	RTCPFeedback     []RTCPFeedback    `xml:"urn:xmpp:jingle:apps:rtp:rtcp-fb:0 rtcp-fb"`
	TRRInt           *TRRInt           `xml:"urn:xmpp:jingle:apps:rtp:rtcp-fb:0 rtcp-fb-trr-int"`
	PayloadTypes     []PayloadType     `xml:"payload-type"`
	Bandwidths       []Bandwidth       `xml:"bandwidth"`
	HeaderExtensions []HeaderExtension `xml:"urn:xmpp:jingle:apps:rtp:rtp-hdrext:0 rtp-hdrext"`
	ExtmapAllowMixed *empty            `xml:"urn:xmpp:jingle:apps:rtp:rtp-hdrext:0 extmap-allow-mixed"`
	Sources          []SSRCSource      `xml:"urn:xmpp:jingle:apps:rtp:ssma:0 source"`
	SourceGroups     []SourceGroup     `xml:"urn:xmpp:jingle:apps:rtp:ssma:0 ssrc-group"`
	Streams          []Stream          `xml:"urn:xmpp:jingle:apps:rtp:msid:0 stream"`
}

func present(b bool) *empty {
	if b {
		return &empty{}
	}
	return nil
}

// MarshalXML writes the description. Nothing of SDES is ever written.
func (d Description) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	if d.Media == "" {
		return fmt.Errorf("%w: description without media", ErrInvalidDescription)
	}
	return enc.Encode(descriptionWire{
		Media: d.Media, SSRC: d.SSRC, RTCPMux: present(d.RTCPMux), RTCPReducedSize: present(d.RTCPReducedSize),
		RTCPFeedback: d.RTCPFeedback, TRRInt: d.TRRInt, PayloadTypes: d.PayloadTypes, Bandwidths: d.Bandwidths,
		HeaderExtensions: d.HeaderExtensions, ExtmapAllowMixed: present(d.ExtmapAllowMixed),
		Sources: d.Sources, SourceGroups: d.SourceGroups, Streams: d.Streams,
	})
}

// UnmarshalXML reads a description. Unknown children, <encryption> with
// SDES <crypto> among them, are skipped.
func (d *Description) UnmarshalXML(dec *xml.Decoder, start xml.StartElement) error {
	if start.Name.Space != NS {
		return fmt.Errorf("%w: %q", ErrWrongNamespace, start.Name.Space)
	}
	var w descriptionWire
	if err := dec.DecodeElement(&w, &start); err != nil {
		return fmt.Errorf("rtp: decoding description: %w", err)
	}
	*d = Description{
		Media: strings.TrimSpace(w.Media), SSRC: w.SSRC, RTCPMux: w.RTCPMux != nil,
		RTCPReducedSize: w.RTCPReducedSize != nil, RTCPFeedback: w.RTCPFeedback, TRRInt: w.TRRInt,
		PayloadTypes: w.PayloadTypes, Bandwidths: w.Bandwidths, HeaderExtensions: w.HeaderExtensions,
		ExtmapAllowMixed: w.ExtmapAllowMixed != nil, Sources: w.Sources, SourceGroups: w.SourceGroups,
		Streams: w.Streams,
	}
	return nil
}

// Decode reads the RTP description of a Jingle content.
func Decode(e *jingle.Element) (*Description, error) {
	if e == nil || e.XMLName.Space != NS {
		return nil, fmt.Errorf("%w: not an RTP description", ErrWrongNamespace)
	}
	var d Description
	if err := e.Decode(&d); err != nil {
		return nil, err
	}
	return &d, nil
}

// Element encodes the description as a raw Jingle element.
func (d *Description) Element() (jingle.Element, error) {
	e, err := jingle.NewElement(d)
	if err != nil {
		return jingle.Element{}, fmt.Errorf("rtp: encoding description: %w", err)
	}
	return e, nil
}

// PayloadType is XEP-0167's <payload-type/>: one codec (a=rtpmap, a=fmtp,
// a=rtcp-fb of one payload type).
type PayloadType struct {
	ID   uint8  `xml:"id,attr"`
	Name string `xml:"name,attr,omitempty"`
	// ClockRate in Hz; 0 means absent.
	ClockRate uint32 `xml:"clockrate,attr,omitempty"`
	// Channels is absent (0) or the channel count; XEP-0167's default is 1.
	Channels uint16 `xml:"channels,attr,omitempty"`
	// MaxPTime and PTime in milliseconds (a=maxptime, a=ptime).
	MaxPTime     uint32         `xml:"maxptime,attr,omitempty"`
	PTime        uint32         `xml:"ptime,attr,omitempty"`
	Parameters   []Parameter    `xml:"parameter"`
	RTCPFeedback []RTCPFeedback `xml:"urn:xmpp:jingle:apps:rtp:rtcp-fb:0 rtcp-fb"`
	TRRInt       *TRRInt        `xml:"urn:xmpp:jingle:apps:rtp:rtcp-fb:0 rtcp-fb-trr-int"`
}

// Parameter is a <parameter name value/>, used by payload types (fmtp),
// sources (XEP-0339) and feedback/header extensions. A parameter without
// value is a bare fmtp token, as StanzaJS writes RED's "111/111".
type Parameter struct {
	Name  string
	Value string
}

type parameterWire struct {
	Name  string `xml:"name,attr"`
	Value string `xml:"value,attr,omitempty"`
}

// MarshalXML writes the parameter with trimmed name and value: stray
// whitespace in an msid once broke libwebrtc's SDP parser.
func (p Parameter) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	start.Name = xml.Name{Local: "parameter"}
	start.Attr = nil
	return enc.EncodeElement(parameterWire{Name: strings.TrimSpace(p.Name), Value: strings.TrimSpace(p.Value)}, start)
}

// UnmarshalXML reads a parameter, trimming name and value.
func (p *Parameter) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	var w parameterWire
	if err := d.DecodeElement(&w, &start); err != nil {
		return err
	}
	*p = Parameter{Name: strings.TrimSpace(w.Name), Value: strings.TrimSpace(w.Value)}
	return nil
}

// RTCPFeedback is XEP-0293's <rtcp-fb type subtype/> (a=rtcp-fb).
type RTCPFeedback struct {
	Type       string      `xml:"type,attr"`
	Subtype    string      `xml:"subtype,attr,omitempty"`
	Parameters []Parameter `xml:"parameter"`
}

// TRRInt is XEP-0293's <rtcp-fb-trr-int value/> (a=rtcp-fb:… trr-int).
type TRRInt struct {
	Value uint32 `xml:"value,attr"`
}

// Bandwidth is XEP-0167's <bandwidth type>value</bandwidth> (b= line).
type Bandwidth struct {
	Type  string `xml:"type,attr"`
	Value uint64 `xml:",chardata"`
}

// HeaderExtension is XEP-0294's <rtp-hdrext id uri senders/> (a=extmap).
type HeaderExtension struct {
	ID  uint16 `xml:"id,attr"`
	URI string `xml:"uri,attr"`
	// Senders restricts the direction; empty means both.
	Senders    jingle.Senders `xml:"senders,attr,omitempty"`
	Parameters []Parameter    `xml:"parameter"`
}

// SSRCSource is XEP-0339's <source ssrc/> with its a=ssrc attributes (cname,
// msid, ...). An RTX stream is an SSRCSource of its own, tied to the primary one
// by an FID SourceGroup: merging them loses retransmissions.
type SSRCSource struct {
	SSRC       uint32      `xml:"ssrc,attr"`
	Parameters []Parameter `xml:"parameter"`
}

// Parameter returns the value of the named source parameter, or "".
func (s *SSRCSource) Parameter(name string) string {
	for _, p := range s.Parameters {
		if p.Name == name {
			return p.Value
		}
	}
	return ""
}

// SourceGroup is XEP-0339's <ssrc-group semantics/> (a=ssrc-group).
type SourceGroup struct {
	Semantics string      `xml:"semantics,attr"`
	Sources   []SourceRef `xml:"source"`
}

// SourceRef is a <source ssrc/> inside an ssrc-group.
type SourceRef struct {
	SSRC uint32 `xml:"ssrc,attr"`
}

// Stream is StanzaJS's <stream xmlns='urn:xmpp:jingle:apps:rtp:msid:0' id track/>
// (a=msid:id track).
type Stream struct {
	ID    string `xml:"id,attr"`
	Track string `xml:"track,attr,omitempty"`
}

// Group is XEP-0338's session-level <group semantics/> (a=group), BUNDLE in
// practice. Dino sends none: every content then has its own transport.
type Group struct {
	XMLName   xml.Name       `xml:"urn:xmpp:jingle:apps:grouping:0 group"`
	Semantics string         `xml:"semantics,attr"`
	Contents  []GroupContent `xml:"content"`
}

// GroupContent names a content of a group.
type GroupContent struct {
	Name string `xml:"name,attr"`
}

// Names returns the content names of the group.
func (g *Group) Names() []string {
	out := make([]string, 0, len(g.Contents))
	for _, c := range g.Contents {
		out = append(out, c.Name)
	}
	return out
}
