package datachannel

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"

	"github.com/jingled/jingled/ice"
)

// params is what the Jingle transport carries of one side's application
// m-line: ICE credentials and candidates, the DTLS fingerprint and role,
// and the SCTP parameters.
type params struct {
	ufrag, pwd     string
	fingerprints   []ice.Fingerprint
	candidates     []ice.Candidate
	sctpPort       uint16
	maxMessageSize uint64
}

// DefaultMaxMessageSize is what we announce and what StanzaJS's 16 KiB
// chunks fit in many times over (RFC 8841 §6.1 default is 64 KiB).
const DefaultMaxMessageSize = 262144

// fromSDP reads our own description as pion wrote it.
func fromSDP(raw string) (*params, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(raw); err != nil {
		return nil, fmt.Errorf("datachannel: parsing local SDP: %w", err)
	}
	p := &params{sctpPort: ice.DefaultSCTPPort}
	setup := ice.Setup("")
	var fps []string
	read := func(attrs []sdp.Attribute) error {
		for _, a := range attrs {
			switch a.Key {
			case "ice-ufrag":
				p.ufrag = a.Value
			case "ice-pwd":
				p.pwd = a.Value
			case "fingerprint":
				fps = append(fps, a.Value)
			case "setup":
				setup = ice.Setup(a.Value)
			case "sctp-port":
				n, err := strconv.ParseUint(a.Value, 10, 16)
				if err != nil {
					return fmt.Errorf("datachannel: sctp-port %q", a.Value)
				}
				p.sctpPort = uint16(n)
			case "max-message-size":
				n, err := strconv.ParseUint(a.Value, 10, 64)
				if err != nil {
					return fmt.Errorf("datachannel: max-message-size %q", a.Value)
				}
				p.maxMessageSize = n
			case "candidate":
				c, _, err := ice.ParseSDPCandidate(a.Value)
				if err != nil || !c.UDP() {
					continue // Jingle carries UDP candidates only
				}
				p.candidates = append(p.candidates, c)
			}
		}
		return nil
	}
	if err := read(d.Attributes); err != nil {
		return nil, err
	}
	for _, m := range d.MediaDescriptions {
		if m.MediaName.Media == "application" {
			if err := read(m.Attributes); err != nil {
				return nil, err
			}
			break
		}
	}
	for _, v := range fps {
		f, err := ice.ParseSDPFingerprint(v, setup)
		if err != nil {
			return nil, err
		}
		p.fingerprints = append(p.fingerprints, f)
	}
	if p.ufrag == "" || p.pwd == "" || len(p.fingerprints) == 0 {
		return nil, fmt.Errorf("datachannel: local SDP lacks ICE credentials or fingerprint")
	}
	return p, nil
}

// toSDP writes the peer's parameters as a description pion accepts: one
// application m-line with the given mid.
func (p *params) toSDP(mid string, setup ice.Setup) string {
	var b strings.Builder
	w := func(s string, args ...any) { fmt.Fprintf(&b, s+"\r\n", args...) }
	w("v=0")
	w("o=- 4611731400430051336 2 IN IP4 127.0.0.1")
	w("s=-")
	w("t=0 0")
	w("a=group:BUNDLE %s", mid)
	w("m=application 9 UDP/DTLS/SCTP webrtc-datachannel")
	w("c=IN IP4 0.0.0.0")
	w("a=mid:%s", mid)
	w("a=ice-ufrag:%s", p.ufrag)
	w("a=ice-pwd:%s", p.pwd)
	for _, f := range p.fingerprints {
		w("a=fingerprint:%s", f.SDP())
	}
	w("a=setup:%s", setup)
	port := p.sctpPort
	if port == 0 {
		port = ice.DefaultSCTPPort
	}
	w("a=sctp-port:%d", port)
	if p.maxMessageSize > 0 {
		w("a=max-message-size:%d", p.maxMessageSize)
	}
	for _, c := range p.candidates {
		if line, err := c.SDP(""); err == nil {
			w("a=%s", line)
		}
	}
	return b.String()
}

// fromTransport reads the peer's Jingle transport in any dialect.
func fromTransport(t *ice.Transport, dc *ice.DataChannelTransport) *params {
	p := &params{ufrag: t.Ufrag, pwd: t.Pwd, fingerprints: t.Fingerprints, candidates: t.UDPCandidates()}
	if t.SCTPMap != nil {
		p.sctpPort = t.SCTPMap.Number
	}
	if dc != nil && dc.MaxMessageSize > 0 {
		p.maxMessageSize = dc.MaxMessageSize
	}
	return p
}
