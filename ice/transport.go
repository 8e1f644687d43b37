// Package ice implements the wire format of the Jingle ICE-UDP transport
// (XEP-0176) and what rides inside it: DTLS fingerprints (XEP-0320), the
// data channel signalling of XEP-0343 in its three dialects (StanzaJS's
// and Jitsi's dtls-sctp:1 <sctpmap>, Conversations' webrtc-datachannel:1
// wrapper, XEP-0343's :0 namespace), and StanzaJS's non-standard
// <gathering-complete/>.
//
// Candidates convert to and from SDP a=candidate lines (RFC 8839 §5.1) and
// pion's webrtc.ICECandidateInit / webrtc.ICECandidate, so the call engine
// can trickle them between Jingle transport-info and a PeerConnection.
//
// Reading is tolerant of real clients (see Candidate); writing is strict.
// The whole-session Jingle <-> SDP translation lives in package rtp.
package ice

import (
	"encoding/xml"
	"errors"
	"fmt"

	"github.com/jingled/jingled/jingle"
)

// Namespaces.
const (
	// NS is the ICE-UDP transport of XEP-0176.
	NS = "urn:xmpp:jingle:transports:ice-udp:1"
	// NSDTLS is XEP-0320's DTLS fingerprint namespace.
	NSDTLS = "urn:xmpp:jingle:apps:dtls:0"
	// NSDTLSSCTP is the legacy <sctpmap> namespace (StanzaJS, Jitsi).
	NSDTLSSCTP = "urn:xmpp:jingle:transports:dtls-sctp:1"
	// NSDataChannel0 is XEP-0343 v0.3.1's datachannel namespace.
	NSDataChannel0 = "urn:xmpp:jingle:transports:webrtc-datachannel:0"
	// NSDataChannel1 is the datachannel transport newer Conversations uses.
	NSDataChannel1 = "urn:xmpp:jingle:transports:webrtc-datachannel:1"
)

// Errors callers can branch on.
var (
	// ErrInvalidCandidate is a candidate missing a required attribute or
	// carrying a malformed one.
	ErrInvalidCandidate = errors.New("ice: invalid candidate")
	// ErrInvalidSDPCandidate is an a=candidate line that does not parse.
	ErrInvalidSDPCandidate = errors.New("ice: invalid SDP candidate")
	// ErrNotUDP is returned for TCP candidates on the sending path: only
	// UDP candidates are sent in Jingle.
	ErrNotUDP = errors.New("ice: not a UDP candidate")
	// ErrInvalidFingerprint is a DTLS fingerprint without hash or value.
	ErrInvalidFingerprint = errors.New("ice: invalid DTLS fingerprint")
	// ErrWrongNamespace is an element that is not the expected transport.
	ErrWrongNamespace = errors.New("ice: unexpected transport namespace")
	// ErrNoCredentials is a transport without ICE ufrag or pwd (or with
	// white space in them) where a full SDP description is needed.
	ErrNoCredentials = errors.New("ice: transport without ICE ufrag/pwd")
	// ErrNoFingerprint is a transport without a valid DTLS fingerprint:
	// without one there is no DTLS, and Conversations refuses the session.
	ErrNoFingerprint = errors.New("ice: transport without DTLS fingerprint")
)

// Transport is the <transport xmlns='urn:xmpp:jingle:transports:ice-udp:1'/>
// element (XEP-0176 §5).
type Transport struct {
	// Ufrag and Pwd are the ICE credentials; transport-info may carry
	// only the ufrag (StanzaJS) or neither.
	Ufrag string
	Pwd   string
	// Fingerprints are the XEP-0320 DTLS fingerprints.
	Fingerprints []Fingerprint
	Candidates   []Candidate
	// RemoteCandidate is the nominated pair's remote side (XEP-0176 §5.4).
	RemoteCandidate *RemoteCandidate
	// SCTPMap announces a data channel in the legacy dialect.
	SCTPMap *SCTPMap
	// GatheringComplete is StanzaJS's non-standard <gathering-complete/>,
	// i.e. a=end-of-candidates.
	GatheringComplete bool
}

type transportWire struct {
	XMLName           xml.Name         `xml:"urn:xmpp:jingle:transports:ice-udp:1 transport"`
	Ufrag             string           `xml:"ufrag,attr,omitempty"`
	Pwd               string           `xml:"pwd,attr,omitempty"`
	Fingerprints      []Fingerprint    `xml:"urn:xmpp:jingle:apps:dtls:0 fingerprint"`
	SCTPMap           *SCTPMap         `xml:"urn:xmpp:jingle:transports:dtls-sctp:1 sctpmap"`
	Candidates        []Candidate      `xml:"candidate"`
	RemoteCandidate   *RemoteCandidate `xml:"remote-candidate"`
	GatheringComplete *struct{}        `xml:"gathering-complete"`
}

// MarshalXML writes the transport; candidates are written strictly.
func (t Transport) MarshalXML(enc *xml.Encoder, _ xml.StartElement) error {
	w := transportWire{
		Ufrag: t.Ufrag, Pwd: t.Pwd, Fingerprints: t.Fingerprints, SCTPMap: t.SCTPMap,
		Candidates: t.Candidates, RemoteCandidate: t.RemoteCandidate,
	}
	if t.GatheringComplete {
		w.GatheringComplete = &struct{}{}
	}
	return enc.Encode(w)
}

// UnmarshalXML reads the transport; it refuses other namespaces so that a
// raw-udp or s5b transport is not mistaken for ICE-UDP.
func (t *Transport) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	if start.Name.Space != NS {
		return fmt.Errorf("%w: %q", ErrWrongNamespace, start.Name.Space)
	}
	var w transportWire
	if err := d.DecodeElement(&w, &start); err != nil {
		return fmt.Errorf("ice: decoding transport: %w", err)
	}
	*t = Transport{
		Ufrag: w.Ufrag, Pwd: w.Pwd, Fingerprints: w.Fingerprints, SCTPMap: w.SCTPMap,
		Candidates: w.Candidates, RemoteCandidate: w.RemoteCandidate,
		GatheringComplete: w.GatheringComplete != nil,
	}
	return nil
}

// Setup returns the DTLS role of the first fingerprint, or "".
func (t *Transport) Setup() Setup {
	for _, f := range t.Fingerprints {
		if f.Setup != "" {
			return f.Setup
		}
	}
	return ""
}

// UDPCandidates returns the UDP candidates only: what may be sent to any
// client (Conversations converts nothing else).
func (t *Transport) UDPCandidates() []Candidate {
	var out []Candidate
	for _, c := range t.Candidates {
		if c.UDP() {
			out = append(out, c)
		}
	}
	return out
}

// Decode reads the ICE-UDP transport of a Jingle content. It also unwraps
// Conversations' webrtc-datachannel transport, returning the wrapper's
// SCTP port as an SCTPMap so callers see one shape for every dialect,
// plus the wrapper itself (nil for a plain ICE-UDP transport).
func Decode(e *jingle.Element) (*Transport, *DataChannelTransport, error) {
	if e == nil {
		return nil, nil, fmt.Errorf("%w: no transport", ErrWrongNamespace)
	}
	switch e.XMLName.Space {
	case NS:
		var t Transport
		if err := e.Decode(&t); err != nil {
			return nil, nil, err
		}
		return &t, nil, nil
	case NSDataChannel0, NSDataChannel1:
		var dc DataChannelTransport
		if err := e.Decode(&dc); err != nil {
			return nil, nil, err
		}
		// A copy, so the wrapper keeps its own shape.
		t := &Transport{}
		if dc.ICE != nil {
			*t = *dc.ICE
		}
		if t.SCTPMap == nil {
			port := dc.SCTPPort
			if port == 0 {
				port = DefaultSCTPPort
			}
			t.SCTPMap = &SCTPMap{Number: port, Protocol: SCTPProtocol}
		}
		return t, &dc, nil
	}
	return nil, nil, fmt.Errorf("%w: %q", ErrWrongNamespace, e.XMLName.Space)
}

// Element encodes the transport as a raw Jingle element.
func (t *Transport) Element() (jingle.Element, error) {
	e, err := jingle.NewElement(t)
	if err != nil {
		return jingle.Element{}, fmt.Errorf("ice: encoding transport: %w", err)
	}
	return e, nil
}
