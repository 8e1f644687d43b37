// The SDP form of an ICE-UDP transport: ICE credentials (RFC 8839), DTLS
// fingerprint and role (RFC 8122, RFC 4145) and candidates, written to and
// read from an m-line. The one translation both Jingle→SDP generators use:
// rtp for calls, filetransfer/datachannel for data channels.

package ice

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
)

// AddSDP appends t's ICE credentials (a=ice-ufrag, a=ice-pwd,
// a=ice-options:trickle), its valid DTLS fingerprints and setup to m.
// It fails, having appended nothing, with ErrNoCredentials when the
// ufrag or pwd is missing or not an SDP token, and with ErrNoFingerprint
// when no fingerprint is valid: without one there is no DTLS.
func (t *Transport) AddSDP(m *sdp.MediaDescription, setup Setup) error {
	if t.Ufrag == "" || t.Pwd == "" || strings.ContainsAny(t.Ufrag+t.Pwd, " \t\r\n") {
		return ErrNoCredentials
	}
	attrs := []sdp.Attribute{
		sdp.NewAttribute("ice-ufrag", t.Ufrag),
		sdp.NewAttribute("ice-pwd", t.Pwd),
		sdp.NewAttribute("ice-options", "trickle"),
	}
	n := 0
	for i := range t.Fingerprints {
		f := &t.Fingerprints[i]
		if f.Validate() != nil {
			continue
		}
		attrs = append(attrs, sdp.NewAttribute("fingerprint", f.SDP()))
		n++
	}
	if n == 0 {
		return ErrNoFingerprint
	}
	attrs = append(attrs, sdp.NewAttribute("setup", string(setup)))
	m.Attributes = append(m.Attributes, attrs...)
	return nil
}

// AddSDPCandidates appends t's candidates to m as a=candidate, then its
// remote candidate (a=remote-candidates) and a=end-of-candidates when
// gathering is complete. A malformed candidate is left out: one bad
// candidate must not sink the session, the others may well connect.
func (t *Transport) AddSDPCandidates(m *sdp.MediaDescription) {
	for i := range t.Candidates {
		line, err := t.Candidates[i].SDP("")
		if err != nil {
			continue
		}
		m.Attributes = append(m.Attributes, sdp.NewAttribute("candidate", strings.TrimPrefix(line, "candidate:")))
	}
	if t.RemoteCandidate != nil && token(t.RemoteCandidate.IP) {
		rc := t.RemoteCandidate
		m.Attributes = append(m.Attributes, sdp.NewAttribute("remote-candidates",
			fmt.Sprintf("%d %s %d", rc.Component, rc.IP, rc.Port)))
	}
	if t.GatheringComplete {
		m.Attributes = append(m.Attributes, sdp.NewPropertyAttribute("end-of-candidates"))
	}
}

// TransportFromSDP reads the ICE-UDP transport of m-line m of sd: the
// credentials and fingerprints of the m-line, else of the session (RFC
// 8839 and RFC 8122 allow both levels), the UDP candidates (Jingle
// carries no other) and the first of a=remote-candidates. The
// fingerprints get the a=setup role; in an answer (answer true) actpass
// or none reads as active (Setup.ForAnswer), in an offer none reads as
// actpass. Errors: ErrNoCredentials, ErrNoFingerprint, or a wrapped
// ErrInvalidFingerprint.
func TransportFromSDP(sd *sdp.SessionDescription, m *sdp.MediaDescription, answer bool) (*Transport, error) {
	t := &Transport{
		Ufrag: mediaOrSession(sd, m, "ice-ufrag"),
		Pwd:   mediaOrSession(sd, m, "ice-pwd"),
	}
	if t.Ufrag == "" || t.Pwd == "" || strings.ContainsAny(t.Ufrag+t.Pwd, " \t\r\n") {
		return nil, ErrNoCredentials
	}
	setup := Setup(strings.ToLower(mediaOrSession(sd, m, "setup")))
	if answer {
		setup = setup.ForAnswer()
	} else if setup == "" {
		setup = SetupActPass
	}
	fps := sdpAttrs(m.Attributes, "fingerprint")
	if len(fps) == 0 {
		fps = sdpAttrs(sd.Attributes, "fingerprint")
	}
	for _, v := range fps {
		f, err := ParseSDPFingerprint(v, setup)
		if err != nil {
			return nil, err
		}
		t.Fingerprints = append(t.Fingerprints, f)
	}
	if len(t.Fingerprints) == 0 {
		return nil, ErrNoFingerprint
	}
	for _, v := range sdpAttrs(m.Attributes, "candidate") {
		cand, _, err := ParseSDPCandidate(v)
		if err != nil || !cand.UDP() {
			continue
		}
		t.Candidates = append(t.Candidates, cand)
	}
	// RFC 8839 §5.2: a=remote-candidates:<component> <ip> <port> ..., of
	// which XEP-0176's <remote-candidate/> holds the first.
	rc, _ := m.Attribute("remote-candidates")
	if f := strings.Fields(rc); len(f) >= 3 {
		comp, err1 := strconv.ParseUint(f[0], 10, 16)
		port, err2 := strconv.ParseUint(f[2], 10, 16)
		if err1 == nil && err2 == nil && token(f[1]) {
			t.RemoteCandidate = &RemoteCandidate{Component: uint16(comp), IP: f[1], Port: uint16(port)}
		}
	}
	return t, nil
}

// mediaOrSession returns a media-level attribute, else the session-level
// one.
func mediaOrSession(sd *sdp.SessionDescription, m *sdp.MediaDescription, key string) string {
	if v, ok := m.Attribute(key); ok {
		return strings.TrimSpace(v)
	}
	v, _ := sd.Attribute(key)
	return strings.TrimSpace(v)
}

// sdpAttrs returns the values of every attribute key in attrs.
func sdpAttrs(attrs []sdp.Attribute, key string) []string {
	var out []string
	for _, a := range attrs {
		if a.Key == key {
			out = append(out, strings.TrimSpace(a.Value))
		}
	}
	return out
}
