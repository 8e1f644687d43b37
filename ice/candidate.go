package ice

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/xml"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"github.com/pion/webrtc/v4"
)

// CandidateType is the wire value of a candidate's type attribute
// (XEP-0176 §5.3, RFC 8445 §5.1.1).
type CandidateType string

// Candidate types.
const (
	TypeHost  CandidateType = "host"
	TypeSrflx CandidateType = "srflx"
	TypePrflx CandidateType = "prflx"
	TypeRelay CandidateType = "relay"
)

// Valid reports whether t is one of the four ICE candidate types.
func (t CandidateType) Valid() bool {
	switch t {
	case TypeHost, TypeSrflx, TypePrflx, TypeRelay:
		return true
	}
	return false
}

// Candidate is an XEP-0176 <candidate/>.
//
// Reading is tolerant of what real clients send: Monal's underscore
// spellings (rel_addr, rel_port, ...), a missing id (Monal, StanzaJS), a
// missing generation or network (StanzaJS; both default to 0 as in
// lib-jitsi-meet), relay candidates with rel-addr='0.0.0.0' and no rel-port
// (StanzaJS), and lib-jitsi-meet's tcptype. Writing is strict: every
// attribute XEP-0176 requires is written, and a missing id is derived from
// the candidate itself so the same candidate always gets the same id.
type Candidate struct {
	Component  uint16
	Foundation string
	Generation uint32
	// ID identifies the candidate within the session (XEP-0176 §5.3);
	// empty means "derive one when writing".
	ID       string
	IP       string
	Network  uint32
	Port     uint16
	Priority uint32
	// Protocol is "udp" or "tcp", lower case.
	Protocol string
	// RelAddr and RelPort are the related address of a reflexive or relay
	// candidate; RelPort is meaningful only when RelAddr is set.
	RelAddr string
	RelPort uint16
	Type    CandidateType
	// TCPType is "active", "passive" or "so" for TCP candidates
	// (RFC 6544; lib-jitsi-meet and Dino send it).
	TCPType string
}

// UDP reports whether the candidate is a UDP one. Only those may be sent
// in Jingle: Conversations converts nothing else and fails the call.
func (c *Candidate) UDP() bool { return c.Protocol == "udp" }

// Validate checks what XEP-0176 requires of a candidate we write or hand
// to an ICE agent.
func (c *Candidate) Validate() error {
	switch {
	case c.Component == 0:
		return fmt.Errorf("%w: component missing or 0", ErrInvalidCandidate)
	case !token(c.Foundation):
		return fmt.Errorf("%w: bad foundation %q", ErrInvalidCandidate, c.Foundation)
	case !token(c.IP):
		return fmt.Errorf("%w: bad ip %q", ErrInvalidCandidate, c.IP)
	case c.Port == 0 && c.TCPType != "active":
		// RFC 6544 §4.5: active TCP candidates carry port 9 (or 0).
		return fmt.Errorf("%w: port missing or 0", ErrInvalidCandidate)
	case c.Protocol != "udp" && c.Protocol != "tcp":
		return fmt.Errorf("%w: protocol %q", ErrInvalidCandidate, c.Protocol)
	case !c.Type.Valid():
		return fmt.Errorf("%w: type %q", ErrInvalidCandidate, c.Type)
	case c.RelAddr != "" && !token(c.RelAddr), c.TCPType != "" && !token(c.TCPType), c.ID != "" && !token(c.ID):
		return fmt.Errorf("%w: bad rel-addr, tcptype or id", ErrInvalidCandidate)
	}
	return nil
}

// token reports whether s is a non-empty run of visible ASCII: what SDP
// tokens and XEP-0176's attribute values are made of. Anything else would
// not survive SDP or would change through XML.
func token(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// DerivedID returns c.ID, or when it is empty an id derived from the
// candidate's identity (foundation, component, protocol, address, type).
// Deriving instead of drawing a random id keeps encoding deterministic and
// still gives distinct candidates distinct ids, which is all XEP-0176 asks.
func (c *Candidate) DerivedID() string {
	if c.ID != "" {
		return c.ID
	}
	h := sha256.Sum256([]byte(fmt.Sprintf("%s|%d|%s|%s|%d|%s|%s",
		c.Foundation, c.Component, c.Protocol, c.IP, c.Port, c.Type, c.TCPType)))
	return hex.EncodeToString(h[:5])
}

// MarshalXML writes the candidate with every attribute XEP-0176 requires;
// an invalid candidate is an error, not a half-written element.
func (c Candidate) MarshalXML(enc *xml.Encoder, start xml.StartElement) error {
	if err := c.Validate(); err != nil {
		return err
	}
	start.Name = xml.Name{Local: "candidate"}
	attr := func(k, v string) { start.Attr = append(start.Attr, xml.Attr{Name: xml.Name{Local: k}, Value: v}) }
	attr("component", strconv.FormatUint(uint64(c.Component), 10))
	attr("foundation", c.Foundation)
	attr("generation", strconv.FormatUint(uint64(c.Generation), 10))
	attr("id", c.DerivedID())
	attr("ip", c.IP)
	attr("network", strconv.FormatUint(uint64(c.Network), 10))
	attr("port", strconv.FormatUint(uint64(c.Port), 10))
	attr("priority", strconv.FormatUint(uint64(c.Priority), 10))
	attr("protocol", c.Protocol)
	if c.RelAddr != "" {
		attr("rel-addr", c.RelAddr)
		attr("rel-port", strconv.FormatUint(uint64(c.RelPort), 10))
	}
	if c.TCPType != "" {
		attr("tcptype", c.TCPType)
	}
	attr("type", string(c.Type))
	if err := enc.EncodeToken(start); err != nil {
		return err
	}
	return enc.EncodeToken(start.End())
}

// UnmarshalXML reads a candidate tolerantly (see Candidate). Numbers that
// do not parse are errors: a candidate with a garbled port or priority is
// useless to an ICE agent.
func (c *Candidate) UnmarshalXML(d *xml.Decoder, start xml.StartElement) error {
	*c = Candidate{}
	for _, a := range start.Attr {
		if err := c.setAttr(a.Name.Local, a.Value); err != nil {
			return err
		}
	}
	if c.RelAddr == "" {
		c.RelPort = 0 // meaningless without the address
	}
	return d.Skip()
}

// setAttr sets one attribute, accepting underscore spellings.
func (c *Candidate) setAttr(name, v string) error {
	name = strings.ReplaceAll(strings.ToLower(name), "_", "-")
	v = strings.TrimSpace(v)
	var err error
	switch name {
	case "component":
		c.Component, err = parseUint16(v)
	case "foundation":
		c.Foundation = v
	case "generation":
		c.Generation, err = parseUint32(v)
	case "id":
		c.ID = v
	case "ip":
		c.IP = v
	case "network":
		c.Network, err = parseUint32(v)
	case "port":
		c.Port, err = parseUint16(v)
	case "priority":
		c.Priority, err = parseUint32(v)
	case "protocol":
		c.Protocol = strings.ToLower(v)
	case "rel-addr", "reladdr":
		c.RelAddr = v
	case "rel-port", "relport":
		c.RelPort, err = parseUint16(v)
	case "type":
		c.Type = CandidateType(strings.ToLower(v))
	case "tcptype", "tcp-type":
		c.TCPType = strings.ToLower(v)
	}
	if err != nil {
		return fmt.Errorf("%w: attribute %s=%q: %w", ErrInvalidCandidate, name, v, err)
	}
	return nil
}

// parseUint16 parses an attribute; empty means 0 (tolerant reading).
func parseUint16(v string) (uint16, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 16)
	return uint16(n), err
}

func parseUint32(v string) (uint32, error) {
	if v == "" {
		return 0, nil
	}
	n, err := strconv.ParseUint(v, 10, 32)
	return uint32(n), err
}

// SDP returns the candidate as the value of an SDP a=candidate attribute
// (RFC 8839 §5.1), with the "candidate:" prefix, as libwebrtc and pion
// write it in ICECandidateInit.Candidate. The generation extension is
// written as libwebrtc does; ufrag is added when non-empty so the ICE agent
// can drop candidates of an older generation.
func (c *Candidate) SDP(ufrag string) (string, error) {
	if err := c.Validate(); err != nil {
		return "", err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "candidate:%s %d %s %d %s %d typ %s",
		c.Foundation, c.Component, c.Protocol, c.Priority, c.IP, c.Port, c.Type)
	if c.RelAddr != "" {
		fmt.Fprintf(&b, " raddr %s rport %d", c.RelAddr, c.RelPort)
	}
	if c.TCPType != "" {
		fmt.Fprintf(&b, " tcptype %s", c.TCPType)
	}
	fmt.Fprintf(&b, " generation %d", c.Generation)
	if token(ufrag) {
		fmt.Fprintf(&b, " ufrag %s", ufrag)
	}
	if c.Network != 0 {
		fmt.Fprintf(&b, " network-id %d", c.Network)
	}
	return b.String(), nil
}

// ParseSDPCandidate parses an SDP candidate attribute value, with or
// without the "a=" and "candidate:" prefixes. It returns the candidate and
// the ufrag extension if present. The id is left empty (SDP has none); it
// is derived when the candidate is written to XML. Unknown extensions are
// ignored, as RFC 8839 §5.1 requires.
func ParseSDPCandidate(line string) (Candidate, string, error) {
	s := strings.TrimSpace(line)
	s = strings.TrimPrefix(s, "a=")
	s = strings.TrimPrefix(s, "candidate:")
	f := strings.Fields(s)
	if len(f) < 8 {
		return Candidate{}, "", fmt.Errorf("%w: %d fields in %q", ErrInvalidSDPCandidate, len(f), line)
	}
	var c Candidate
	c.Foundation = f[0]
	var err error
	if c.Component, err = strictUint16(f[1]); err != nil {
		return Candidate{}, "", fmt.Errorf("%w: component %q: %w", ErrInvalidSDPCandidate, f[1], err)
	}
	c.Protocol = strings.ToLower(f[2])
	p, err := strconv.ParseUint(f[3], 10, 32)
	if err != nil {
		return Candidate{}, "", fmt.Errorf("%w: priority %q: %w", ErrInvalidSDPCandidate, f[3], err)
	}
	c.Priority = uint32(p)
	c.IP = f[4]
	if c.Port, err = strictUint16(f[5]); err != nil {
		return Candidate{}, "", fmt.Errorf("%w: port %q: %w", ErrInvalidSDPCandidate, f[5], err)
	}
	if f[6] != "typ" {
		return Candidate{}, "", fmt.Errorf("%w: expected typ, got %q", ErrInvalidSDPCandidate, f[6])
	}
	c.Type = CandidateType(strings.ToLower(f[7]))
	var ufrag string
	for i := 8; i+1 < len(f); i += 2 {
		k, v := f[i], f[i+1]
		switch k {
		case "raddr":
			c.RelAddr = v
		case "rport":
			if c.RelPort, err = strictUint16(v); err != nil {
				return Candidate{}, "", fmt.Errorf("%w: rport %q: %w", ErrInvalidSDPCandidate, v, err)
			}
		case "tcptype":
			c.TCPType = strings.ToLower(v)
		case "generation":
			g, err := strconv.ParseUint(v, 10, 32)
			if err != nil {
				return Candidate{}, "", fmt.Errorf("%w: generation %q: %w", ErrInvalidSDPCandidate, v, err)
			}
			c.Generation = uint32(g)
		case "network-id":
			n, err := strconv.ParseUint(v, 10, 32)
			if err == nil {
				c.Network = uint32(n)
			}
		case "ufrag":
			ufrag = v
		}
	}
	if c.RelAddr == "" {
		c.RelPort = 0 // meaningless without the address
	}
	if err := c.Validate(); err != nil {
		return Candidate{}, "", fmt.Errorf("%w: %w", ErrInvalidSDPCandidate, err)
	}
	return c, ufrag, nil
}

func strictUint16(v string) (uint16, error) {
	n, err := strconv.ParseUint(v, 10, 16)
	return uint16(n), err
}

// ICECandidateInit returns the candidate as pion's trickle form, for
// PeerConnection.AddICECandidate. mid names the m-line (the Jingle content
// name, or the mid of a per-content PeerConnection); ufrag, when non-empty,
// ties the candidate to the current ICE generation.
func (c *Candidate) ICECandidateInit(mid, ufrag string) (webrtc.ICECandidateInit, error) {
	line, err := c.SDP(ufrag)
	if err != nil {
		return webrtc.ICECandidateInit{}, err
	}
	init := webrtc.ICECandidateInit{Candidate: line}
	if mid != "" {
		init.SDPMid = &mid
	}
	if ufrag != "" {
		init.UsernameFragment = &ufrag
	}
	return init, nil
}

// FromICECandidateInit converts a candidate pion gathered (OnICECandidate
// → ToJSON) into XEP-0176 form. It returns ErrNotUDP for TCP candidates:
// they must not be sent in Jingle (see Candidate.UDP), and failing loudly
// makes trickle code skip them instead of sending them by accident.
func FromICECandidateInit(init webrtc.ICECandidateInit) (Candidate, error) {
	c, _, err := ParseSDPCandidate(init.Candidate)
	if err != nil {
		return Candidate{}, err
	}
	if !c.UDP() {
		return c, fmt.Errorf("%w: %s", ErrNotUDP, c.Protocol)
	}
	return c, nil
}

// FromICECandidate converts pion's structured candidate. Like
// FromICECandidateInit it refuses TCP candidates with ErrNotUDP (returning
// the converted candidate anyway, for logging).
func FromICECandidate(ic webrtc.ICECandidate) (Candidate, error) {
	c := Candidate{
		Component:  ic.Component,
		Foundation: ic.Foundation,
		IP:         ic.Address,
		Port:       ic.Port,
		Priority:   ic.Priority,
		Protocol:   ic.Protocol.String(),
		RelAddr:    ic.RelatedAddress,
		RelPort:    ic.RelatedPort,
		Type:       CandidateType(ic.Typ.String()),
		TCPType:    ic.TCPType,
	}
	if c.Component == 0 {
		c.Component = 1 // pion leaves it 0 for RTP when not set.
	}
	if err := c.Validate(); err != nil {
		return Candidate{}, err
	}
	if !c.UDP() {
		return c, fmt.Errorf("%w: %s", ErrNotUDP, c.Protocol)
	}
	return c, nil
}

// ICECandidate returns the candidate as pion's structured form.
func (c *Candidate) ICECandidate(mid string, mlineIndex uint16) (webrtc.ICECandidate, error) {
	if err := c.Validate(); err != nil {
		return webrtc.ICECandidate{}, err
	}
	proto, err := webrtc.NewICEProtocol(c.Protocol)
	if err != nil {
		return webrtc.ICECandidate{}, fmt.Errorf("%w: %w", ErrInvalidCandidate, err)
	}
	typ, err := webrtc.NewICECandidateType(string(c.Type))
	if err != nil {
		return webrtc.ICECandidate{}, fmt.Errorf("%w: %w", ErrInvalidCandidate, err)
	}
	return webrtc.ICECandidate{
		Foundation:     c.Foundation,
		Priority:       c.Priority,
		Address:        c.IP,
		Protocol:       proto,
		Port:           c.Port,
		Typ:            typ,
		Component:      c.Component,
		RelatedAddress: c.RelAddr,
		RelatedPort:    c.RelPort,
		TCPType:        c.TCPType,
		SDPMid:         mid,
		SDPMLineIndex:  mlineIndex,
	}, nil
}

// Addr returns the candidate's transport address, or false if the IP is
// not a literal address (an mDNS .local name, for instance).
func (c *Candidate) Addr() (netip.AddrPort, bool) {
	a, err := netip.ParseAddr(c.IP)
	if err != nil {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(a, c.Port), true
}

// RemoteCandidate is XEP-0176's <remote-candidate/>: the candidate the
// controlling agent nominated, sent in transport-info (XEP-0176 §5.4).
// Its SDP form is RFC 8839's a=remote-candidates.
type RemoteCandidate struct {
	Component uint16 `xml:"component,attr"`
	IP        string `xml:"ip,attr"`
	Port      uint16 `xml:"port,attr"`
}
