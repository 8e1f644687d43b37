package ice

import (
	"testing"

	pionice "github.com/pion/ice/v4"
	"github.com/pion/webrtc/v4"
)

// TestRelayProtocolFromPriority: the TURN transport of a local relay
// candidate is read back from the priority pion gives it, for each relay
// protocol pion gathers; other candidate types have none.
func TestRelayProtocolFromPriority(t *testing.T) {
	for _, proto := range []string{"udp", "tcp", "tls", "dtls"} {
		t.Run(proto, func(t *testing.T) {
			c, err := pionice.NewCandidateRelay(&pionice.CandidateRelayConfig{
				Network: "udp", Address: "203.0.113.10", Port: 50000, Component: 1,
				RelAddr: "192.168.22.2", RelPort: 40000, RelayProtocol: proto,
			})
			if err != nil {
				t.Fatal(err)
			}
			local := webrtc.ICECandidate{Typ: webrtc.ICECandidateTypeRelay, Protocol: webrtc.ICEProtocolUDP,
				Address: "203.0.113.10", Port: 50000, Priority: c.Priority()}
			remote := webrtc.ICECandidate{Typ: webrtc.ICECandidateTypeSrflx, Protocol: webrtc.ICEProtocolUDP,
				Address: "203.0.113.2", Port: 40000}
			p := PairOf(&webrtc.ICECandidatePair{Local: &local, Remote: &remote})
			want := Pair{LocalType: "relay", RemoteType: "srflx", Local: "203.0.113.10:50000", Remote: "203.0.113.2:40000",
				Protocol: "udp", RelayProtocol: proto}
			if p != want {
				t.Errorf("PairOf = %+v, want %+v", p, want)
			}
		})
	}
	host := webrtc.ICECandidate{Typ: webrtc.ICECandidateTypeHost, Priority: 0}
	if got := relayProtocol(host); got != "" {
		t.Errorf("host candidate has relay protocol %q", got)
	}
	if p := PairOf(nil); p != (Pair{}) {
		t.Errorf("PairOf(nil) = %+v", p)
	}
}
