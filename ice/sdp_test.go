package ice

import (
	"errors"
	"reflect"
	"testing"

	"github.com/pion/sdp/v3"
)

// TestSDPRoundTrip writes a transport to an m-line and reads it back: what
// Jingle carries survives, a TCP candidate and an invalid fingerprint are
// left out, and the setup follows the offer/answer rules.
func TestSDPRoundTrip(t *testing.T) {
	fp := Fingerprint{Hash: "sha-256", Setup: SetupActPass, Value: "AB:CD"}
	in := Transport{
		Ufrag: "u1", Pwd: "p1",
		Fingerprints: []Fingerprint{fp, {Hash: "sha-1", Value: "bad value"}},
		Candidates: []Candidate{
			{Component: 1, Foundation: "1", Generation: 0, ID: "a", IP: "192.0.2.1", Port: 4000, Priority: 2130706431, Protocol: "udp", Type: TypeHost},
			{Component: 1, Foundation: "2", Generation: 0, ID: "b", IP: "192.0.2.1", Port: 9, Priority: 1, Protocol: "tcp", Type: TypeHost},
		},
		RemoteCandidate: &RemoteCandidate{Component: 1, IP: "192.0.2.2", Port: 5000},
	}
	for _, tc := range []struct {
		name      string
		setup     Setup
		answer    bool
		wantSetup Setup
	}{
		{"offer keeps actpass", SetupActPass, false, SetupActPass},
		{"answer turns actpass active", SetupActPass, true, SetupActive},
		{"answer keeps passive", SetupPassive, true, SetupPassive},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &sdp.MediaDescription{}
			if err := in.AddSDP(m, tc.setup); err != nil {
				t.Fatal(err)
			}
			in.AddSDPCandidates(m)
			out, err := TransportFromSDP(&sdp.SessionDescription{}, m, tc.answer)
			if err != nil {
				t.Fatal(err)
			}
			if out.Ufrag != "u1" || out.Pwd != "p1" {
				t.Errorf("credentials %q %q", out.Ufrag, out.Pwd)
			}
			want := fp
			want.Setup = tc.wantSetup
			if !reflect.DeepEqual(out.Fingerprints, []Fingerprint{want}) {
				t.Errorf("fingerprints %+v, want %+v", out.Fingerprints, want)
			}
			if len(out.Candidates) != 1 || out.Candidates[0].IP != "192.0.2.1" || out.Candidates[0].Port != 4000 {
				t.Errorf("candidates %+v, want the UDP one", out.Candidates)
			}
			if !reflect.DeepEqual(out.RemoteCandidate, in.RemoteCandidate) {
				t.Errorf("remote candidate %+v", out.RemoteCandidate)
			}
		})
	}
}

// TestSDPSessionLevel reads credentials and fingerprint from the session
// level when the m-line has none (RFC 8839, RFC 8122).
func TestSDPSessionLevel(t *testing.T) {
	sd := &sdp.SessionDescription{Attributes: []sdp.Attribute{
		sdp.NewAttribute("ice-ufrag", "u"), sdp.NewAttribute("ice-pwd", "p"),
		sdp.NewAttribute("fingerprint", "sha-256 AB:CD"),
	}}
	out, err := TransportFromSDP(sd, &sdp.MediaDescription{}, false)
	if err != nil {
		t.Fatal(err)
	}
	if out.Ufrag != "u" || len(out.Fingerprints) != 1 || out.Fingerprints[0].Setup != SetupActPass {
		t.Errorf("got %+v", out)
	}
}

func TestSDPErrors(t *testing.T) {
	fp := []Fingerprint{{Hash: "sha-256", Value: "AB:CD"}}
	for _, tc := range []struct {
		name string
		t    Transport
		want error
	}{
		{"no ufrag", Transport{Pwd: "p", Fingerprints: fp}, ErrNoCredentials},
		{"space in pwd", Transport{Ufrag: "u", Pwd: "p q", Fingerprints: fp}, ErrNoCredentials},
		{"no fingerprint", Transport{Ufrag: "u", Pwd: "p"}, ErrNoFingerprint},
		{"only invalid fingerprints", Transport{Ufrag: "u", Pwd: "p", Fingerprints: []Fingerprint{{Hash: "sha-256"}}}, ErrNoFingerprint},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := &sdp.MediaDescription{}
			if err := tc.t.AddSDP(m, SetupActPass); !errors.Is(err, tc.want) {
				t.Errorf("AddSDP: %v, want %v", err, tc.want)
			}
			if len(m.Attributes) != 0 {
				t.Errorf("AddSDP appended %v on error", m.Attributes)
			}
		})
	}
	bad := &sdp.MediaDescription{Attributes: []sdp.Attribute{
		sdp.NewAttribute("ice-ufrag", "u"), sdp.NewAttribute("ice-pwd", "p"), sdp.NewAttribute("fingerprint", "sha-256"),
	}}
	if _, err := TransportFromSDP(&sdp.SessionDescription{}, bad, false); !errors.Is(err, ErrInvalidFingerprint) {
		t.Errorf("TransportFromSDP with a bad fingerprint: %v", err)
	}
	noFP := &sdp.MediaDescription{Attributes: []sdp.Attribute{sdp.NewAttribute("ice-ufrag", "u"), sdp.NewAttribute("ice-pwd", "p")}}
	if _, err := TransportFromSDP(&sdp.SessionDescription{}, noFP, false); !errors.Is(err, ErrNoFingerprint) {
		t.Errorf("TransportFromSDP without fingerprint: %v", err)
	}
}
