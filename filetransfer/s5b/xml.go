// Package s5b implements the Jingle SOCKS5 Bytestreams transport,
// XEP-0260 (urn:xmpp:jingle:transports:s5b:1), over the SOCKS5 protocol of
// XEP-0065 (RFC 1928 with the DST.ADDR hash), as a jingle.StreamTransport.
//
// Each side offers candidates: direct ones (a listener on each local
// address) and proxy ones (an XEP-0065 streamhost such as Prosody's
// mod_proxy65, found with DiscoverProxies). Each side connects to the
// peer's candidates in priority order and reports candidate-used or
// candidate-error in a transport-info; the nominated candidate follows
// XEP-0260 §2.4, and a proxy candidate is activated by the party that
// offered it, which then sends <activated/>.
package s5b

import (
	"crypto/sha1" //nolint:gosec // XEP-0065 §5.3.2 defines DST.ADDR as SHA-1; it is an identifier, not a MAC.
	"encoding/hex"
	"encoding/xml"
	"fmt"

	"github.com/jingled/jingled/jingle"
)

// Namespaces.
const (
	// NS is the Jingle SOCKS5 transport (XEP-0260).
	NS = "urn:xmpp:jingle:transports:s5b:1"
	// NSBytestreams is XEP-0065's namespace (proxy queries, activation).
	NSBytestreams = "http://jabber.org/protocol/bytestreams"
)

// CandidateType is the type attribute of a candidate (XEP-0260 §2.2).
type CandidateType string

// Candidate types with their type preferences (XEP-0260 §2.2).
const (
	TypeDirect   CandidateType = "direct"
	TypeAssisted CandidateType = "assisted"
	TypeTunnel   CandidateType = "tunnel"
	TypeProxy    CandidateType = "proxy"
)

// typePreference is XEP-0260's suggested type preference.
func (t CandidateType) typePreference() uint32 {
	switch t {
	case TypeDirect:
		return 126
	case TypeAssisted:
		return 120
	case TypeTunnel:
		return 110
	case TypeProxy:
		return 10
	}
	return 0
}

// Priority computes (2^16)*(type preference) + (local preference).
func Priority(t CandidateType, local uint16) uint32 {
	return t.typePreference()<<16 + uint32(local)
}

// Candidate is an XEP-0260 <candidate/>.
type Candidate struct {
	CID      string        `xml:"cid,attr"`
	Host     string        `xml:"host,attr"`
	JID      string        `xml:"jid,attr"`
	Port     uint16        `xml:"port,attr,omitempty"`
	Priority uint32        `xml:"priority,attr"`
	Type     CandidateType `xml:"type,attr,omitempty"`
}

func (c *Candidate) typ() CandidateType {
	if c.Type == "" {
		return TypeDirect // XEP-0260 §2.2: the default
	}
	return c.Type
}

// Wire is the <transport xmlns='urn:xmpp:jingle:transports:s5b:1'/>
// element: either candidates (offer/answer) or one of the four
// notifications of a transport-info.
type Wire struct {
	XMLName    xml.Name    `xml:"urn:xmpp:jingle:transports:s5b:1 transport"`
	SID        string      `xml:"sid,attr"`
	DstAddr    string      `xml:"dstaddr,attr,omitempty"`
	Mode       string      `xml:"mode,attr,omitempty"`
	Candidates []Candidate `xml:"candidate"`
	// CandidateUsed is the cid of the peer's candidate we connected to.
	CandidateUsed *CIDRef `xml:"candidate-used"`
	// CandidateError says we could connect to none of the peer's.
	CandidateError *struct{} `xml:"candidate-error"`
	// Activated is the cid of the proxy candidate that was activated.
	Activated *CIDRef `xml:"activated"`
	// ProxyError says the nominated proxy could not be reached.
	ProxyError *struct{} `xml:"proxy-error"`
}

// CIDRef is <candidate-used cid=”/> and <activated cid=”/>.
type CIDRef struct {
	CID string `xml:"cid,attr"`
}

// Decode reads an s5b transport element.
func Decode(e *jingle.Element) (*Wire, error) {
	if e == nil || e.XMLName.Space != NS || e.XMLName.Local != "transport" {
		return nil, fmt.Errorf("%w: not an s5b transport", ErrBadTransport)
	}
	var t Wire
	if err := e.Decode(&t); err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadTransport, err)
	}
	if t.Mode != "" && t.Mode != "tcp" {
		return nil, fmt.Errorf("%w: mode %q (only tcp)", ErrBadTransport, t.Mode)
	}
	for _, c := range t.Candidates {
		if c.CID == "" || c.Host == "" || c.JID == "" {
			return nil, fmt.Errorf("%w: candidate without cid, host or jid", ErrBadTransport)
		}
		if c.Port == 0 && c.typ() != TypeProxy {
			return nil, fmt.Errorf("%w: candidate %s without port", ErrBadTransport, c.CID)
		}
	}
	return &t, nil
}

// Element encodes the transport.
func (t *Wire) Element() (jingle.Element, error) {
	return jingle.NewElement(t)
}

// DstAddr is XEP-0260 §2.2's DST.ADDR for candidates offered by owner:
// hex SHA-1 of SID + owner JID + other JID (the initiator's candidates use
// initiator+responder, the responder's responder+initiator). The same
// value is what an XEP-0065 proxy computes on activation.
func DstAddr(sid, owner, other string) string {
	h := sha1.Sum([]byte(sid + owner + other)) //nolint:gosec // see import
	return hex.EncodeToString(h[:])
}
