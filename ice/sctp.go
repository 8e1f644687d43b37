package ice

import (
	"encoding/xml"
	"fmt"
)

// SCTPMap is the legacy <sctpmap xmlns='urn:xmpp:jingle:transports:dtls-sctp:1'/>
// of XEP-0343's examples, still used by StanzaJS and Jitsi. It rides inside
// an ICE-UDP transport and announces an SCTP association over DTLS.
// StanzaJS builds no data channel for an offer without it.
type SCTPMap struct {
	XMLName xml.Name `xml:"urn:xmpp:jingle:transports:dtls-sctp:1 sctpmap"`
	// Number is the SCTP port (a=sctp-port), 5000 in practice.
	Number uint16 `xml:"number,attr"`
	// Protocol is "webrtc-datachannel".
	Protocol string `xml:"protocol,attr"`
	// Streams is the number of SCTP streams, optional.
	Streams uint16 `xml:"streams,attr,omitempty"`
}

// DefaultSCTPPort is the SCTP port every WebRTC stack uses and the default
// of RFC 8841 §5.2 when none is signalled.
const DefaultSCTPPort = 5000

// SCTPProtocol is the only sctpmap protocol in use.
const SCTPProtocol = "webrtc-datachannel"

// DataChannelTransport is the newer datachannel transport used by
// Conversations: a <transport xmlns='urn:xmpp:jingle:transports:webrtc-datachannel:1'
// sctp-port='…' max-message-size='…'> wrapping the ICE-UDP transport
// (Conversations' WebRTCDataChannelTransportInfo). The :0 namespace of
// XEP-0343 is accepted on reading with the same shape.
type DataChannelTransport struct {
	XMLName        xml.Name
	SCTPPort       uint16
	MaxMessageSize uint64
	// ICE is the wrapped ICE-UDP transport.
	ICE *Transport
}

type dataChannelWire struct {
	XMLName        xml.Name
	SCTPPort       uint16     `xml:"sctp-port,attr,omitempty"`
	MaxMessageSize uint64     `xml:"max-message-size,attr,omitempty"`
	ICE            *Transport `xml:"urn:xmpp:jingle:transports:ice-udp:1 transport"`
}

// MarshalXML writes the wrapper in the namespace of XMLName, or
// NSDataChannel1 when it is unset.
func (t DataChannelTransport) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	space := t.XMLName.Space
	if space == "" {
		space = NSDataChannel1
	}
	if space != NSDataChannel0 && space != NSDataChannel1 {
		return fmt.Errorf("%w: datachannel namespace %q", ErrWrongNamespace, space)
	}
	return enc.Encode(dataChannelWire{
		XMLName:        xml.Name{Space: space, Local: "transport"},
		SCTPPort:       t.SCTPPort,
		MaxMessageSize: t.MaxMessageSize,
		ICE:            t.ICE,
	})
}

// UnmarshalXML reads the wrapper in either datachannel namespace.
func (t *DataChannelTransport) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	if start.Name.Space != NSDataChannel0 && start.Name.Space != NSDataChannel1 {
		return fmt.Errorf("%w: %q", ErrWrongNamespace, start.Name.Space)
	}
	var w dataChannelWire
	if err := d.DecodeElement(&w, &start); err != nil {
		return fmt.Errorf("ice: decoding datachannel transport: %w", err)
	}
	*t = DataChannelTransport{XMLName: start.Name, SCTPPort: w.SCTPPort, MaxMessageSize: w.MaxMessageSize, ICE: w.ICE}
	return nil
}
