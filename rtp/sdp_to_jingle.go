// SDP → Jingle: pion's descriptions read into Jingle contents (SDPToJingle,
// SDPToContent): m-lines into contents, attributes into RTP descriptions
// (XEP-0167, 0293, 0294, 0339, StanzaJS's msid) and ICE-UDP transports.

package rtp

import (
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
	"github.com/pion/sdp/v3"
)

// SDPToJingle translates an SDP offer or answer (pion's local
// description, typically) into Jingle contents, one per m-line with a=mid
// as the content name, and the session-level payloads (the XEP-0338
// <group/> of a=group lines) to put beside them.
//
// Only UDP candidates are written (Conversations converts nothing else);
// a=end-of-candidates is not written as <gathering-complete/> because only
// StanzaJS knows that element: set ice.Transport.GatheringComplete
// yourself for such a peer. Rejected m-lines (port 0 without
// a=bundle-only) are left out. A data channel m-line yields a content
// without description and without senders: the caller adds its
// application (XEP-0234) and says who sends the file.
func SDPToJingle(s string, opts Options) ([]jingle.Content, []jingle.Element, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(s); err != nil {
		return nil, nil, fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	var payloads []jingle.Element
	for _, a := range sd.Attributes {
		if a.Key != "group" {
			continue
		}
		f := strings.Fields(a.Value)
		if len(f) < 2 {
			continue
		}
		g := Group{Semantics: f[0]}
		for _, n := range f[1:] {
			g.Contents = append(g.Contents, GroupContent{Name: n})
		}
		e, err := jingle.NewElement(&g)
		if err != nil {
			return nil, nil, fmt.Errorf("rtp: encoding group: %w", err)
		}
		payloads = append(payloads, e)
	}
	var contents []jingle.Content
	for i, m := range sd.MediaDescriptions {
		if m.MediaName.Port.Value == 0 && !hasAttr(m, "bundle-only") {
			continue
		}
		name := attr(m, "mid")
		if name == "" {
			name = strconv.Itoa(i)
		}
		if !token(name) {
			return nil, nil, fmt.Errorf("%w: a=mid %q", ErrInvalidSDP, name)
		}
		c, err := mediaContent(&sd, m, name, opts)
		if err != nil {
			return nil, nil, fmt.Errorf("rtp: m-line %d (%s): %w", i, name, err)
		}
		contents = append(contents, c)
	}
	return contents, payloads, nil
}

// SDPToContent translates the first m-line of an SDP into a content named
// name whatever its a=mid: the counterpart of ContentToSDP for a
// PeerConnection dedicated to one content.
func SDPToContent(s, name string, opts Options) (jingle.Content, error) {
	var sd sdp.SessionDescription
	if err := sd.UnmarshalString(s); err != nil {
		return jingle.Content{}, fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	if len(sd.MediaDescriptions) == 0 {
		return jingle.Content{}, fmt.Errorf("%w: no m-line", ErrInvalidSDP)
	}
	return mediaContent(&sd, sd.MediaDescriptions[0], name, opts)
}

func attr(m *sdp.MediaDescription, key string) string {
	v, _ := m.Attribute(key)
	return strings.TrimSpace(v)
}

func hasAttr(m *sdp.MediaDescription, key string) bool {
	_, ok := m.Attribute(key)
	return ok
}

func mediaContent(sd *sdp.SessionDescription, m *sdp.MediaDescription, name string, opts Options) (jingle.Content, error) {
	creator := opts.Creator
	if creator == "" {
		creator = jingle.CreatorInitiator
	}
	c := jingle.Content{Creator: creator, Name: name}
	t, err := mediaTransport(sd, m, opts)
	if err != nil {
		return c, err
	}
	switch m.MediaName.Media {
	case MediaAudio, MediaVideo:
		d, err := mediaDescription(sd, m, opts)
		if err != nil {
			return c, err
		}
		dir := "sendrecv"
		for _, k := range []string{"sendrecv", "sendonly", "recvonly", "inactive"} {
			if hasAttr(m, k) {
				dir = k
			}
		}
		if s := SendersOf(dir, opts.author()); s != jingle.SendersBoth {
			c.Senders = s
		}
		e, err := d.Element()
		if err != nil {
			return c, err
		}
		c.Description = &e
	case "application":
		port := uint16(ice.DefaultSCTPPort)
		if v := attr(m, "sctp-port"); v != "" {
			if p, err := strconv.ParseUint(v, 10, 16); err == nil {
				port = uint16(p)
			}
		} else if v := attr(m, "sctpmap"); v != "" {
			// Pre-RFC 8841 form: a=sctpmap:5000 webrtc-datachannel 1024.
			if p, err := strconv.ParseUint(strings.Fields(v)[0], 10, 16); err == nil {
				port = uint16(p)
			}
		}
		if opts.DataChannel == DialectWebRTCDataChannel {
			dc := ice.DataChannelTransport{SCTPPort: port, ICE: t}
			if v := attr(m, "max-message-size"); v != "" {
				if n, err := strconv.ParseUint(v, 10, 64); err == nil {
					dc.MaxMessageSize = n
				}
			}
			e, err := jingle.NewElement(&dc)
			if err != nil {
				return c, fmt.Errorf("rtp: encoding datachannel transport: %w", err)
			}
			c.Transport = &e
			return c, nil
		}
		t.SCTPMap = &ice.SCTPMap{Number: port, Protocol: ice.SCTPProtocol}
		if v := attr(m, "sctpmap"); v != "" {
			if f := strings.Fields(v); len(f) >= 3 {
				if n, err := strconv.ParseUint(f[2], 10, 16); err == nil {
					t.SCTPMap.Streams = uint16(n)
				}
			}
		}
	default:
		return c, fmt.Errorf("%w: media %q", ErrUnsupportedContent, m.MediaName.Media)
	}
	e, err := t.Element()
	if err != nil {
		return c, err
	}
	c.Transport = &e
	return c, nil
}

// mediaTransport reads the ICE-UDP transport of an m-line
// (ice.TransportFromSDP).
func mediaTransport(sd *sdp.SessionDescription, m *sdp.MediaDescription, opts Options) (*ice.Transport, error) {
	t, err := ice.TransportFromSDP(sd, m, opts.answer())
	if errors.Is(err, ice.ErrInvalidFingerprint) {
		return nil, fmt.Errorf("%w: %w", ErrInvalidSDP, err)
	}
	return t, err
}

// mediaDescription reads the RTP description of an audio or video m-line.
func mediaDescription(sd *sdp.SessionDescription, m *sdp.MediaDescription, opts Options) (*Description, error) {
	d := &Description{Media: m.MediaName.Media}
	byID := map[uint8]*PayloadType{}
	for _, f := range m.MediaName.Formats {
		id, err := strconv.ParseUint(f, 10, 7)
		if err != nil {
			return nil, fmt.Errorf("%w: payload type %q", ErrInvalidSDP, f)
		}
		if byID[uint8(id)] != nil {
			continue
		}
		d.PayloadTypes = append(d.PayloadTypes, PayloadType{ID: uint8(id)})
	}
	if len(d.PayloadTypes) == 0 {
		return nil, fmt.Errorf("%w: %s m-line without payload type", ErrInvalidSDP, d.Media)
	}
	for i := range d.PayloadTypes {
		byID[d.PayloadTypes[i].ID] = &d.PayloadTypes[i]
	}
	pt := func(v string) (*PayloadType, string, bool) {
		id, rest, _ := strings.Cut(v, " ")
		if id == "*" {
			return nil, strings.TrimSpace(rest), true
		}
		n, err := strconv.ParseUint(id, 10, 7)
		if err != nil || byID[uint8(n)] == nil {
			return nil, "", false
		}
		return byID[uint8(n)], strings.TrimSpace(rest), true
	}
	var ptime, maxptime uint32
	author := opts.author()
	for _, a := range m.Attributes {
		v := strings.TrimSpace(a.Value)
		switch a.Key {
		case "rtpmap":
			p, rest, ok := pt(v)
			if !ok || p == nil {
				continue
			}
			name, clock, ch, err := parseRtpmap(rest)
			if err != nil {
				return nil, err
			}
			p.Name, p.ClockRate, p.Channels = name, clock, ch
			if ch == 0 && d.Media == MediaAudio {
				p.Channels = 1 // as StanzaJS writes it; XEP-0167's default
			}
		case "fmtp":
			if p, rest, ok := pt(v); ok && p != nil {
				p.Parameters = append(p.Parameters, ParseFmtp(rest)...)
			}
		case "rtcp-fb":
			p, rest, ok := pt(v)
			if !ok {
				continue
			}
			f := strings.Fields(rest)
			if len(f) == 0 {
				continue
			}
			if f[0] == "trr-int" {
				if len(f) < 2 {
					continue
				}
				n, err := strconv.ParseUint(f[1], 10, 32)
				if err != nil {
					continue
				}
				if p == nil {
					d.TRRInt = &TRRInt{Value: uint32(n)}
				} else {
					p.TRRInt = &TRRInt{Value: uint32(n)}
				}
				continue
			}
			fb := RTCPFeedback{Type: f[0], Subtype: strings.Join(f[1:], " ")}
			if p == nil {
				d.RTCPFeedback = append(d.RTCPFeedback, fb)
			} else {
				p.RTCPFeedback = append(p.RTCPFeedback, fb)
			}
		case "extmap":
			f := strings.Fields(v)
			if len(f) < 2 {
				continue
			}
			idDir, _, _ := strings.Cut(f[0], "/")
			id, err := strconv.ParseUint(idDir, 10, 16)
			if err != nil || id == 0 || !token(f[1]) {
				continue // id 0 is reserved (RFC 8285 §5)
			}
			h := HeaderExtension{ID: uint16(id), URI: f[1]}
			if _, dir, ok := strings.Cut(f[0], "/"); ok {
				if s := SendersOf(dir, author); s != jingle.SendersBoth {
					h.Senders = s
				}
			}
			d.HeaderExtensions = append(d.HeaderExtensions, h)
		case "extmap-allow-mixed":
			d.ExtmapAllowMixed = true
		case "rtcp-mux":
			d.RTCPMux = true
		case "rtcp-rsize":
			d.RTCPReducedSize = true
		case "ptime":
			if n, err := strconv.ParseUint(v, 10, 32); err == nil {
				ptime = uint32(n)
			}
		case "maxptime":
			if n, err := strconv.ParseUint(v, 10, 32); err == nil {
				maxptime = uint32(n)
			}
		case "msid":
			f := strings.Fields(v)
			if len(f) == 0 {
				continue
			}
			st := Stream{ID: f[0]}
			if len(f) > 1 {
				st.Track = f[1]
			}
			d.Streams = append(d.Streams, st)
		case "ssrc-group":
			f := strings.Fields(v)
			if len(f) < 2 {
				continue
			}
			g := SourceGroup{Semantics: f[0]}
			for _, s := range f[1:] {
				n, err := strconv.ParseUint(s, 10, 32)
				if err != nil {
					return nil, fmt.Errorf("%w: ssrc-group %q", ErrInvalidSDP, v)
				}
				g.Sources = append(g.Sources, SourceRef{SSRC: uint32(n)})
			}
			d.SourceGroups = append(d.SourceGroups, g)
		case "ssrc":
			ssrcStr, rest, _ := strings.Cut(v, " ")
			n, err := strconv.ParseUint(ssrcStr, 10, 32)
			if err != nil {
				return nil, fmt.Errorf("%w: ssrc %q", ErrInvalidSDP, v)
			}
			// RFC 5576 §4.1: a=ssrc:<ssrc> <attribute>[:<value>]; a line
			// without attribute says nothing and is dropped.
			// An attribute without value is dropped too: Conversations
			// throws on a source parameter without value and fails the call.
			k, val, _ := strings.Cut(strings.TrimSpace(rest), ":")
			if k, val = strings.TrimSpace(k), strings.TrimSpace(val); !token(k) || val == "" {
				continue
			}
			src := sourceFor(d, uint32(n))
			src.Parameters = append(src.Parameters, Parameter{Name: k, Value: val})
		}
	}
	if hasSessionAttr(sd, "extmap-allow-mixed") {
		d.ExtmapAllowMixed = true
	}
	for _, b := range m.Bandwidth {
		d.Bandwidths = append(d.Bandwidths, Bandwidth{Type: b.Type, Value: b.Bandwidth})
	}
	for i := range d.PayloadTypes {
		p := &d.PayloadTypes[i]
		if p.Name == "" {
			if n, ok := staticPayloadTypes[p.ID]; ok {
				p.Name, p.ClockRate = n.name, n.clock
				if d.Media == MediaAudio {
					p.Channels = 1
				}
			} else {
				return nil, fmt.Errorf("%w: payload type %d without rtpmap", ErrInvalidSDP, p.ID)
			}
		}
		p.PTime, p.MaxPTime = ptime, maxptime
	}
	if len(d.Sources) > 0 {
		d.SSRC = d.Sources[0].SSRC
	}
	return d, nil
}

func hasSessionAttr(sd *sdp.SessionDescription, key string) bool {
	_, ok := sd.Attribute(key)
	return ok
}

// sourceFor returns the description's source with the given SSRC, adding
// it in order of first appearance. Each SSRC stays its own source: an RTX
// SSRC is never merged into its primary.
func sourceFor(d *Description, ssrc uint32) *SSRCSource {
	for i := range d.Sources {
		if d.Sources[i].SSRC == ssrc {
			return &d.Sources[i]
		}
	}
	d.Sources = append(d.Sources, SSRCSource{SSRC: ssrc})
	return &d.Sources[len(d.Sources)-1]
}
