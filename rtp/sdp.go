// Jingle → SDP for pion (JingleToSDP, ContentToSDP): one m-line per
// content with its ICE-UDP transport (package ice writes it), DTLS
// fingerprint and setup, codecs, feedback, header extensions and sources;
// the SDP options both directions share; trickled candidates and the
// BUNDLE group read from Jingle.

package rtp

import (
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// DataChannelDialect selects how SDPToJingle writes a data channel
// transport; the three dialects in use are described in package ice.
type DataChannelDialect int

const (
	// DialectSCTPMap puts <sctpmap xmlns='urn:xmpp:jingle:transports:dtls-sctp:1'/>
	// in the ICE-UDP transport: XEP-0343's examples, StanzaJS, Jitsi.
	DialectSCTPMap DataChannelDialect = iota
	// DialectWebRTCDataChannel wraps the ICE-UDP transport in
	// Conversations' webrtc-datachannel:1 transport with sctp-port and
	// max-message-size.
	DialectWebRTCDataChannel
)

// Options say whose description is translated and in which offer/answer
// position. The zero value is an initiator's offer.
type Options struct {
	// Author is the session role (XEP-0166) of the party whose media
	// description this is: the sender of the Jingle stanza in
	// JingleToSDP (the peer, for a remote description), and the writer
	// of the SDP in SDPToJingle (us, for a local description). It turns
	// senders into SDP directions and back: senders names session roles,
	// while a=sendonly/a=recvonly are relative to the SDP's author.
	// Empty means initiator.
	Author jingle.Creator
	// Type is offer or answer (pranswer counts as answer). In an answer
	// a DTLS setup of actpass, which RFC 5763 forbids, is written as
	// active in both directions. Empty means offer.
	Type webrtc.SDPType
	// Creator is the creator attribute SDPToJingle gives new contents;
	// empty means initiator (StanzaJS writes initiator even for the
	// responder's contents).
	Creator jingle.Creator
	// DataChannel is the dialect SDPToJingle uses for data channels.
	DataChannel DataChannelDialect
	// SessionID seeds the o= line of JingleToSDP; when empty a value is
	// derived from the Jingle sid, so output is deterministic.
	SessionID string
}

func (o *Options) author() jingle.Creator {
	if o.Author == "" {
		return jingle.CreatorInitiator
	}
	return o.Author
}

func (o *Options) answer() bool {
	return o.Type == webrtc.SDPTypeAnswer || o.Type == webrtc.SDPTypePranswer
}

// Direction returns the SDP direction attribute (RFC 8866 §6.7) of a
// content's senders, seen from author.
func Direction(s jingle.Senders, author jingle.Creator) string {
	switch s.Normalize() {
	case jingle.SendersNone:
		return "inactive"
	case jingle.SendersInitiator, jingle.SendersResponder:
		if string(s) == string(author) {
			return "sendonly"
		}
		return "recvonly"
	}
	return "sendrecv"
}

// SendersOf returns the Jingle senders of an SDP direction written by
// author. An unknown direction is sendrecv, SDP's default.
func SendersOf(direction string, author jingle.Creator) jingle.Senders {
	other := jingle.SendersResponder
	if author == jingle.CreatorResponder {
		other = jingle.SendersInitiator
	}
	switch direction {
	case "sendonly":
		return jingle.Senders(author)
	case "recvonly":
		return other
	case "inactive":
		return jingle.SendersNone
	}
	return jingle.SendersBoth
}

// JingleToSDP translates a Jingle session-initiate, session-accept,
// content-add or transport-replace into SDP for pion: one m-line per
// content, in order, with the content name as a=mid, the session-level
// BUNDLE group as a=group, ICE credentials, candidates, DTLS fingerprint
// and setup, RTP codecs, feedback, header extensions and sources.
//
// A peer that does not bundle (Dino) gives every content its own ICE
// credentials; pion only accepts bundled descriptions, so such a session
// needs one PeerConnection per content: see ContentToSDP.
func JingleToSDP(j *jingle.Jingle, opts Options) (string, error) {
	if j == nil {
		return "", fmt.Errorf("%w: nil jingle", ErrInvalidDescription)
	}
	s := newSession(opts.SessionID, j.SID)
	for i := range j.Payloads {
		p := &j.Payloads[i]
		if p.XMLName.Space != NSGrouping || p.XMLName.Local != "group" {
			continue
		}
		var g Group
		if err := p.Decode(&g); err != nil {
			return "", fmt.Errorf("rtp: reading group: %w", err)
		}
		if g.Semantics == "" || len(g.Contents) == 0 {
			continue
		}
		s.Attributes = append(s.Attributes, sdp.NewAttribute("group", g.Semantics+" "+strings.Join(g.Names(), " ")))
	}
	allowMixed := false
	for i := range j.Contents {
		m, mixed, err := contentMedia(&j.Contents[i], j.Contents[i].Name, opts)
		if err != nil {
			return "", fmt.Errorf("rtp: content %q: %w", j.Contents[i].Name, err)
		}
		allowMixed = allowMixed || mixed
		s.MediaDescriptions = append(s.MediaDescriptions, m)
	}
	if allowMixed {
		s.Attributes = append(s.Attributes, sdp.NewPropertyAttribute("extmap-allow-mixed"))
	}
	return marshal(s)
}

// ContentToSDP translates one content into a complete single-m-line SDP,
// for a PeerConnection dedicated to that content (a non-BUNDLE peer such as
// Dino). mid is written as a=mid; empty means the content name. Give the mid
// of the local description of that PeerConnection when it differs from the
// content name (pion numbers its own mids "0", "1", ...).
func ContentToSDP(c *jingle.Content, mid string, opts Options) (string, error) {
	if c == nil {
		return "", fmt.Errorf("%w: nil content", ErrInvalidDescription)
	}
	if mid == "" {
		mid = c.Name
	}
	s := newSession(opts.SessionID, c.Name)
	m, mixed, err := contentMedia(c, mid, opts)
	if err != nil {
		return "", fmt.Errorf("rtp: content %q: %w", c.Name, err)
	}
	if mixed {
		s.Attributes = append(s.Attributes, sdp.NewPropertyAttribute("extmap-allow-mixed"))
	}
	s.MediaDescriptions = append(s.MediaDescriptions, m)
	return marshal(s)
}

// token reports whether s is a non-empty run of visible ASCII, what an SDP
// token (a mid, a ufrag) is made of.
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

func newSession(seed, sid string) *sdp.SessionDescription {
	if seed == "" {
		seed = sid
	}
	h := sha256.Sum256([]byte(seed))
	id := binary.BigEndian.Uint64(h[:8]) >> 2 // RFC 8866: fits in 63 bits
	return &sdp.SessionDescription{
		Version: 0,
		Origin: sdp.Origin{
			Username: "-", SessionID: id, SessionVersion: 2,
			NetworkType: "IN", AddressType: "IP4", UnicastAddress: "127.0.0.1",
		},
		SessionName:      "-",
		TimeDescriptions: []sdp.TimeDescription{{Timing: sdp.Timing{}}},
	}
}

func marshal(s *sdp.SessionDescription) (string, error) {
	b, err := s.Marshal()
	if err != nil {
		return "", fmt.Errorf("rtp: writing SDP: %w", err)
	}
	return string(b), nil
}

// contentMedia builds the m-line of one content.
func contentMedia(c *jingle.Content, mid string, opts Options) (*sdp.MediaDescription, bool, error) {
	if !token(mid) {
		return nil, false, fmt.Errorf("%w: content name %q cannot be an SDP mid", ErrInvalidDescription, mid)
	}
	if c.Transport == nil {
		return nil, false, fmt.Errorf("%w: no transport", ErrUnsupportedContent)
	}
	t, dc, err := ice.Decode(c.Transport)
	if err != nil {
		return nil, false, fmt.Errorf("%w: %w", ErrUnsupportedContent, err)
	}
	m := &sdp.MediaDescription{
		MediaName: sdp.MediaName{Port: sdp.RangedPort{Value: 9}},
		ConnectionInformation: &sdp.ConnectionInformation{
			NetworkType: "IN", AddressType: "IP4", Address: &sdp.Address{Address: "0.0.0.0"},
		},
	}
	var d *Description
	if c.DescriptionNS() == NS {
		if d, err = Decode(c.Description); err != nil {
			return nil, false, err
		}
	}
	switch {
	case d != nil:
		if d.Media != MediaAudio && d.Media != MediaVideo {
			return nil, false, fmt.Errorf("%w: media %q", ErrInvalidDescription, d.Media)
		}
		if len(d.PayloadTypes) == 0 {
			return nil, false, fmt.Errorf("%w: no payload type", ErrInvalidDescription)
		}
		m.MediaName.Media = d.Media
		m.MediaName.Protos = []string{"UDP", "TLS", "RTP", "SAVPF"}
		for _, p := range d.PayloadTypes {
			m.MediaName.Formats = append(m.MediaName.Formats, strconv.Itoa(int(p.ID)))
		}
		for _, b := range d.Bandwidths {
			if b.Type == "" || strings.ContainsAny(b.Type, " :\t\r\n") {
				continue
			}
			m.Bandwidth = append(m.Bandwidth, sdp.Bandwidth{Type: b.Type, Bandwidth: b.Value})
		}
	case t.SCTPMap != nil || dc != nil:
		m.MediaName.Media = "application"
		m.MediaName.Protos = []string{"UDP", "DTLS", "SCTP"}
		m.MediaName.Formats = []string{"webrtc-datachannel"}
	default:
		return nil, false, fmt.Errorf("%w: description %q", ErrUnsupportedContent, c.DescriptionNS())
	}

	if err := addTransport(m, t, opts); err != nil {
		return nil, false, err
	}
	m.Attributes = append(m.Attributes, sdp.NewAttribute("mid", mid))

	if d == nil {
		port := uint16(ice.DefaultSCTPPort)
		if t.SCTPMap != nil && t.SCTPMap.Number != 0 {
			port = t.SCTPMap.Number
		}
		m.Attributes = append(m.Attributes, sdp.NewAttribute("sctp-port", strconv.Itoa(int(port))))
		if dc != nil && dc.MaxMessageSize != 0 {
			m.Attributes = append(m.Attributes, sdp.NewAttribute("max-message-size", strconv.FormatUint(dc.MaxMessageSize, 10)))
		}
		t.AddSDPCandidates(m)
		return m, false, nil
	}

	author := opts.author()
	for _, h := range d.HeaderExtensions {
		if h.ID == 0 || h.URI == "" || strings.ContainsAny(h.URI, " \t\r\n") {
			continue
		}
		v := strconv.Itoa(int(h.ID))
		if h.Senders != "" && h.Senders.Normalize() != jingle.SendersBoth {
			v += "/" + Direction(h.Senders, author)
		}
		m.Attributes = append(m.Attributes, sdp.NewAttribute("extmap", v+" "+h.URI))
	}
	m.Attributes = append(m.Attributes, sdp.NewPropertyAttribute(Direction(c.Senders, author)))
	for _, st := range d.Streams {
		id := strings.TrimSpace(st.ID)
		if id == "" || strings.ContainsAny(id, " \t\r\n") {
			continue
		}
		v := id
		if tr := strings.TrimSpace(st.Track); tr != "" && !strings.ContainsAny(tr, " \t\r\n") {
			v += " " + tr
		}
		m.Attributes = append(m.Attributes, sdp.NewAttribute("msid", v))
	}
	if d.RTCPMux {
		m.Attributes = append(m.Attributes, sdp.NewPropertyAttribute("rtcp-mux"))
	}
	if d.RTCPReducedSize {
		m.Attributes = append(m.Attributes, sdp.NewPropertyAttribute("rtcp-rsize"))
	}
	for _, f := range d.RTCPFeedback {
		if v, ok := feedbackValue(f); ok {
			m.Attributes = append(m.Attributes, sdp.NewAttribute("rtcp-fb", "* "+v))
		}
	}
	if d.TRRInt != nil {
		m.Attributes = append(m.Attributes, sdp.NewAttribute("rtcp-fb", "* trr-int "+strconv.FormatUint(uint64(d.TRRInt.Value), 10)))
	}
	var ptime, maxptime uint32
	for i := range d.PayloadTypes {
		p := &d.PayloadTypes[i]
		if !token(p.Name) || strings.Contains(p.Name, "/") {
			return nil, false, fmt.Errorf("%w: payload type %d has name %q", ErrInvalidDescription, p.ID, p.Name)
		}
		clock := *p
		if clock.ClockRate == 0 {
			clock.ClockRate = defaultClockRate(d.Media, p)
		}
		pt := strconv.Itoa(int(p.ID))
		m.Attributes = append(m.Attributes, sdp.NewAttribute("rtpmap", pt+" "+clock.Rtpmap()))
		for _, f := range p.RTCPFeedback {
			if v, ok := feedbackValue(f); ok {
				m.Attributes = append(m.Attributes, sdp.NewAttribute("rtcp-fb", pt+" "+v))
			}
		}
		if p.TRRInt != nil {
			m.Attributes = append(m.Attributes, sdp.NewAttribute("rtcp-fb", pt+" trr-int "+strconv.FormatUint(uint64(p.TRRInt.Value), 10)))
		}
		if f := p.Fmtp(); f != "" && !strings.ContainsAny(f, "\r\n") {
			m.Attributes = append(m.Attributes, sdp.NewAttribute("fmtp", pt+" "+f))
		}
		if ptime == 0 {
			ptime = p.PTime
		}
		if maxptime == 0 {
			maxptime = p.MaxPTime
		}
	}
	if ptime != 0 {
		m.Attributes = append(m.Attributes, sdp.NewAttribute("ptime", strconv.FormatUint(uint64(ptime), 10)))
	}
	if maxptime != 0 {
		m.Attributes = append(m.Attributes, sdp.NewAttribute("maxptime", strconv.FormatUint(uint64(maxptime), 10)))
	}
	for _, g := range d.SourceGroups {
		if g.Semantics == "" || len(g.Sources) == 0 || strings.ContainsAny(g.Semantics, " \t\r\n") {
			continue
		}
		v := g.Semantics
		for _, s := range g.Sources {
			v += " " + strconv.FormatUint(uint64(s.SSRC), 10)
		}
		m.Attributes = append(m.Attributes, sdp.NewAttribute("ssrc-group", v))
	}
	for _, s := range d.Sources {
		ssrc := strconv.FormatUint(uint64(s.SSRC), 10)
		for _, p := range s.Parameters {
			n, v := strings.TrimSpace(p.Name), strings.TrimSpace(p.Value)
			if n == "" || strings.ContainsAny(n, " :\t\r\n") || strings.ContainsAny(v, "\r\n") {
				continue
			}
			if v != "" {
				n += ":" + v
			}
			m.Attributes = append(m.Attributes, sdp.NewAttribute("ssrc", ssrc+" "+n))
		}
	}
	t.AddSDPCandidates(m)
	return m, d.ExtmapAllowMixed, nil
}

// defaultClockRate fills the clock rate Dino and XEP examples sometimes
// leave out: the static payload types' rates of RFC 3551, else 90 kHz for
// video and 8 kHz for audio.
func defaultClockRate(media string, p *PayloadType) uint32 {
	switch {
	case p.ID == 9 || p.ID == 0 || p.ID == 8 || p.ID == 13 || p.ID == 18 || p.ID == 3 || p.ID == 4:
		return 8000
	case media == MediaVideo:
		return 90000
	}
	return 8000
}

func feedbackValue(f RTCPFeedback) (string, bool) {
	t := strings.TrimSpace(f.Type)
	if t == "" || strings.ContainsAny(t, " \t\r\n") {
		return "", false
	}
	if st := strings.TrimSpace(f.Subtype); st != "" {
		if strings.ContainsAny(st, "\r\n") {
			return "", false
		}
		t += " " + st
	}
	return t, true
}

// addTransport writes t's ICE credentials, DTLS fingerprints and setup
// (ice.Transport.AddSDP); an answer never says actpass.
func addTransport(m *sdp.MediaDescription, t *ice.Transport, opts Options) error {
	setup := t.Setup()
	if opts.answer() {
		setup = setup.ForAnswer()
	} else if setup == "" {
		setup = ice.SetupActPass
	}
	return t.AddSDP(m, setup)
}

// staticPayloadTypes are RFC 3551's static audio payload types, which SDP
// may use without a=rtpmap.
var staticPayloadTypes = map[uint8]struct {
	name  string
	clock uint32
}{
	0: {"PCMU", 8000}, 3: {"GSM", 8000}, 4: {"G723", 8000}, 8: {"PCMA", 8000},
	9: {"G722", 8000}, 13: {"CN", 8000}, 18: {"G729", 8000},
}

// TrickleCandidates returns the candidates of a transport-info (or of any
// Jingle element with ICE-UDP transports) as pion trickle candidates, each
// tied to its content name as SDP mid and to the transport's ufrag. A
// transport with <gathering-complete/> adds pion's end-of-candidates
// marker (an empty candidate). Invalid candidates are skipped and
// reported in the returned error, joined, after the valid ones.
func TrickleCandidates(j *jingle.Jingle) ([]webrtc.ICECandidateInit, error) {
	var out []webrtc.ICECandidateInit
	var errs []error
	for i := range j.Contents {
		c := &j.Contents[i]
		if c.Transport == nil {
			continue
		}
		t, _, err := ice.Decode(c.Transport)
		if err != nil {
			errs = append(errs, fmt.Errorf("content %q: %w", c.Name, err))
			continue
		}
		for k := range t.Candidates {
			init, err := t.Candidates[k].ICECandidateInit(c.Name, t.Ufrag)
			if err != nil {
				errs = append(errs, fmt.Errorf("content %q: %w", c.Name, err))
				continue
			}
			out = append(out, init)
		}
		if t.GatheringComplete {
			mid := c.Name
			init := webrtc.ICECandidateInit{SDPMid: &mid}
			if t.Ufrag != "" {
				u := t.Ufrag
				init.UsernameFragment = &u
			}
			out = append(out, init)
		}
	}
	return out, errors.Join(errs...)
}

// Bundle returns the content names of the BUNDLE group of a Jingle
// element, or nil when it has none: a non-BUNDLE peer (Dino), whose
// contents each need their own PeerConnection.
func Bundle(j *jingle.Jingle) []string {
	for i := range j.Payloads {
		p := &j.Payloads[i]
		if p.XMLName.Space != NSGrouping || p.XMLName.Local != "group" {
			continue
		}
		var g Group
		if p.Decode(&g) == nil && strings.EqualFold(g.Semantics, "BUNDLE") {
			return g.Names()
		}
	}
	return nil
}
