package ice

import (
	"fmt"

	"github.com/pion/webrtc/v4"
)

// Pair is the ICE candidate pair a transport runs over, as reported once
// connectivity is established: candidate types (host, srflx, prflx,
// relay), addresses and protocol. Calls (rtp) and datachannel transfers
// (filetransfer) report it so an operator sees whether media went direct
// or through the relay.
type Pair struct {
	LocalType  string `json:"local_type"`
	RemoteType string `json:"remote_type"`
	Local      string `json:"local"`
	Remote     string `json:"remote"`
	Protocol   string `json:"protocol"`
	// RelayProtocol is how this side reaches its TURN server when its
	// candidate is a relay: udp, tcp, tls (TURN over TLS, what crosses a
	// network letting only 443 out) or dtls; empty otherwise.
	RelayProtocol string `json:"relay_protocol,omitempty"`
}

// PairOf describes the pair pion selected.
func PairOf(p *webrtc.ICECandidatePair) Pair {
	if p == nil || p.Local == nil || p.Remote == nil {
		return Pair{}
	}
	return Pair{
		LocalType:     p.Local.Typ.String(),
		RemoteType:    p.Remote.Typ.String(),
		Local:         fmt.Sprintf("%s:%d", p.Local.Address, p.Local.Port),
		Remote:        fmt.Sprintf("%s:%d", p.Remote.Address, p.Remote.Port),
		Protocol:      p.Local.Protocol.String(),
		RelayProtocol: relayProtocol(*p.Local),
	}
}

// relayProtocol reads the TURN transport of a local relay candidate from
// its priority. pion's webrtc.ICECandidate does not carry it, and the
// stats that do (RelayProtocol of RTCIceCandidateStats) come from
// PeerConnection.GetStats, which races with Close. The priority is
// exact: pion sets a relay candidate's local preference (RFC 8445 section
// 5.1.2.1, priority bits 8-23) by its relay protocol, TLS 0, TCP 1, DTLS
// 2, UDP 3 (pion/ice candidate_relay.go, the order libwebrtc uses too),
// and a relay's type preference is 0.
func relayProtocol(c webrtc.ICECandidate) string {
	if c.Typ != webrtc.ICECandidateTypeRelay {
		return ""
	}
	switch (c.Priority >> 8) & 0xFFFF {
	case 0:
		return "tls"
	case 1:
		return "tcp"
	case 2:
		return "dtls"
	case 3:
		return "udp"
	}
	return ""
}

// Relayed reports whether either side of the pair is a TURN relay.
func (p Pair) Relayed() bool { return p.LocalType == "relay" || p.RemoteType == "relay" }
