// The SDP of a data channel: the one application m-line pion writes for
// our side and reads for the peer's, the ICE transport in it written and
// read by package ice (as rtp does for calls), the SCTP parameters here.

package datachannel

import (
	"fmt"
	"strconv"

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

// fromSDP reads our own description as pion wrote it: the ICE transport
// of its application m-line (ice.TransportFromSDP, as rtp reads calls)
// and the SCTP parameters.
func fromSDP(raw string) (*params, error) {
	var d sdp.SessionDescription
	if err := d.UnmarshalString(raw); err != nil {
		return nil, fmt.Errorf("datachannel: parsing local SDP: %w", err)
	}
	var m *sdp.MediaDescription
	for _, md := range d.MediaDescriptions {
		if md.MediaName.Media == "application" {
			m = md
			break
		}
	}
	if m == nil {
		return nil, fmt.Errorf("datachannel: local SDP has no application m-line")
	}
	t, err := ice.TransportFromSDP(&d, m, false)
	if err != nil {
		return nil, fmt.Errorf("datachannel: local SDP: %w", err)
	}
	p := &params{ufrag: t.Ufrag, pwd: t.Pwd, fingerprints: t.Fingerprints, candidates: t.Candidates, sctpPort: ice.DefaultSCTPPort}
	if v, ok := m.Attribute("sctp-port"); ok {
		n, err := strconv.ParseUint(v, 10, 16)
		if err != nil {
			return nil, fmt.Errorf("datachannel: sctp-port %q", v)
		}
		p.sctpPort = uint16(n)
	}
	if v, ok := m.Attribute("max-message-size"); ok {
		n, err := strconv.ParseUint(v, 10, 64)
		if err != nil {
			return nil, fmt.Errorf("datachannel: max-message-size %q", v)
		}
		p.maxMessageSize = n
	}
	return p, nil
}

// toSDP writes the peer's parameters as a description pion accepts: one
// application m-line with the given mid, its ICE transport written by
// Transport.AddSDP as rtp writes calls. Parameters without ICE
// credentials or a valid fingerprint give an m-line without them, which
// pion's SetRemoteDescription refuses with its own error.
func (p *params) toSDP(mid string, setup ice.Setup) string {
	s := &sdp.SessionDescription{
		Origin: sdp.Origin{
			Username: "-", SessionID: 4611731400430051336, SessionVersion: 2,
			NetworkType: "IN", AddressType: "IP4", UnicastAddress: "127.0.0.1",
		},
		SessionName:      "-",
		TimeDescriptions: []sdp.TimeDescription{{}},
		Attributes:       []sdp.Attribute{sdp.NewAttribute("group", "BUNDLE "+mid)},
	}
	m := &sdp.MediaDescription{
		MediaName: sdp.MediaName{
			Media: "application", Port: sdp.RangedPort{Value: 9},
			Protos: []string{"UDP", "DTLS", "SCTP"}, Formats: []string{"webrtc-datachannel"},
		},
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: "IP4", Address: &sdp.Address{Address: "0.0.0.0"},
		},
		Attributes: []sdp.Attribute{sdp.NewAttribute("mid", mid)},
	}
	t := &ice.Transport{Ufrag: p.ufrag, Pwd: p.pwd, Fingerprints: p.fingerprints, Candidates: p.candidates}
	_ = t.AddSDP(m, setup) // see above: pion names what is missing
	port := p.sctpPort
	if port == 0 {
		port = ice.DefaultSCTPPort
	}
	m.Attributes = append(m.Attributes, sdp.NewAttribute("sctp-port", strconv.Itoa(int(port))))
	if p.maxMessageSize > 0 {
		m.Attributes = append(m.Attributes, sdp.NewAttribute("max-message-size", strconv.FormatUint(p.maxMessageSize, 10)))
	}
	t.AddSDPCandidates(m)
	s.MediaDescriptions = []*sdp.MediaDescription{m}
	b, err := s.Marshal()
	if err != nil {
		return "" // not reached: every field above marshals
	}
	return string(b)
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
