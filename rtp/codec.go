// Codecs: payload types as SDP writes them (rtpmap, fmtp), the codecs we
// support, and matching them with what the peer offers.

package rtp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jingled/jingled/jingle"
	"github.com/pion/webrtc/v4"
)

// Fmtp returns the payload type's parameters as the value part of an
// a=fmtp line (RFC 8866 §6.15): "name=value" pairs joined by ";", a
// parameter without value written as a bare token (RED's "111/111").
// ptime and maxptime are attributes of their own in SDP and XEP-0167, so
// they are not part of it.
func (p *PayloadType) Fmtp() string {
	parts := make([]string, 0, len(p.Parameters))
	for _, prm := range p.Parameters {
		n, v := strings.TrimSpace(prm.Name), strings.TrimSpace(prm.Value)
		if n == "" {
			continue
		}
		if v == "" {
			parts = append(parts, n)
			continue
		}
		parts = append(parts, n+"="+v)
	}
	return strings.Join(parts, ";")
}

// ParseFmtp splits the value part of an a=fmtp line into parameters, in
// order. Tokens without "=" become parameters without value. Both ";" and
// "; " separators are accepted, as written by libwebrtc and Firefox.
func ParseFmtp(s string) []Parameter {
	var out []Parameter
	for _, tok := range strings.Split(s, ";") {
		tok = strings.TrimSpace(tok)
		if tok == "" {
			continue
		}
		n, v, ok := strings.Cut(tok, "=")
		if !ok {
			out = append(out, Parameter{Name: tok})
			continue
		}
		if n = strings.TrimSpace(n); n == "" {
			continue // "=x" names nothing
		}
		out = append(out, Parameter{Name: n, Value: strings.TrimSpace(v)})
	}
	return out
}

// Rtpmap returns the value part of the a=rtpmap line after the payload
// type: "name/clockrate[/channels]". Channels are written only when more
// than one, as libwebrtc does (opus/48000/2, PCMU/8000).
func (p *PayloadType) Rtpmap() string {
	s := p.Name + "/" + strconv.FormatUint(uint64(p.ClockRate), 10)
	if p.Channels > 1 {
		s += "/" + strconv.FormatUint(uint64(p.Channels), 10)
	}
	return s
}

// parseRtpmap parses "name/clockrate[/channels]".
func parseRtpmap(s string) (name string, clock uint32, channels uint16, err error) {
	f := strings.Split(strings.TrimSpace(s), "/")
	if len(f) < 2 || !token(f[0]) {
		return "", 0, 0, fmt.Errorf("%w: rtpmap %q", ErrInvalidSDP, s)
	}
	c, err := strconv.ParseUint(f[1], 10, 32)
	if err == nil && c == 0 {
		err = strconv.ErrRange
	}
	if err != nil {
		return "", 0, 0, fmt.Errorf("%w: rtpmap clock rate %q: %w", ErrInvalidSDP, f[1], err)
	}
	if len(f) > 2 {
		ch, err := strconv.ParseUint(f[2], 10, 16)
		if err != nil {
			return "", 0, 0, fmt.Errorf("%w: rtpmap channels %q: %w", ErrInvalidSDP, f[2], err)
		}
		channels = uint16(ch)
	}
	return f[0], uint32(c), channels, nil
}

// Parameter returns the value of the named fmtp parameter, or "".
func (p *PayloadType) Parameter(name string) string {
	for _, prm := range p.Parameters {
		if strings.EqualFold(prm.Name, name) {
			return prm.Value
		}
	}
	return ""
}

// IsRTX reports whether the payload type is an RTX retransmission format
// (RFC 4588), whose apt parameter names the payload type it repairs.
func (p *PayloadType) IsRTX() bool { return strings.EqualFold(p.Name, "rtx") }

// CodecParameters returns the payload type as pion's codec description,
// for MediaEngine.RegisterCodec. media is the description's media type;
// per-payload feedback and the description-wide feedback (XEP-0293 §3)
// are merged.
func (p *PayloadType) CodecParameters(media string, wide []RTCPFeedback) webrtc.RTPCodecParameters {
	channels := p.Channels
	if channels == 0 && media == MediaAudio {
		channels = 1
	}
	var fb []webrtc.RTCPFeedback
	for _, f := range append(append([]RTCPFeedback(nil), wide...), p.RTCPFeedback...) {
		fb = append(fb, webrtc.RTCPFeedback{Type: f.Type, Parameter: f.Subtype})
	}
	return webrtc.RTPCodecParameters{
		RTPCodecCapability: webrtc.RTPCodecCapability{
			MimeType:     media + "/" + p.Name,
			ClockRate:    p.ClockRate,
			Channels:     channels,
			SDPFmtpLine:  p.Fmtp(),
			RTCPFeedback: fb,
		},
		PayloadType: webrtc.PayloadType(p.ID),
	}
}

// PayloadTypeFromCodec converts pion's codec description into a payload
// type. Mono audio is written with channels='1' and video without
// channels, as StanzaJS and Dino do.
func PayloadTypeFromCodec(c webrtc.RTPCodecParameters) PayloadType {
	name := c.MimeType
	if _, sub, ok := strings.Cut(c.MimeType, "/"); ok {
		name = sub
	}
	p := PayloadType{
		ID:         uint8(c.PayloadType),
		Name:       name,
		ClockRate:  c.ClockRate,
		Channels:   c.Channels,
		Parameters: ParseFmtp(c.SDPFmtpLine),
	}
	for _, f := range c.RTCPFeedback {
		p.RTCPFeedback = append(p.RTCPFeedback, RTCPFeedback{Type: f.Type, Subtype: f.Parameter})
	}
	return p
}

// RegisterCodecs registers every payload type of the description with a
// pion MediaEngine, so an answer can use exactly the peer's payload type
// numbers (Dino puts VP8 on 98, StanzaJS on 96). Formats pion's engine does
// not know are registered too: pion then simply never picks them.
func RegisterCodecs(m *webrtc.MediaEngine, d *Description) error {
	var kind webrtc.RTPCodecType
	switch d.Media {
	case MediaAudio:
		kind = webrtc.RTPCodecTypeAudio
	case MediaVideo:
		kind = webrtc.RTPCodecTypeVideo
	default:
		return fmt.Errorf("%w: media %q", ErrInvalidDescription, d.Media)
	}
	for i := range d.PayloadTypes {
		if err := m.RegisterCodec(d.PayloadTypes[i].CodecParameters(d.Media, d.RTCPFeedback), kind); err != nil {
			return fmt.Errorf("rtp: registering payload type %d (%s): %w", d.PayloadTypes[i].ID, d.PayloadTypes[i].Name, err)
		}
	}
	return nil
}

// contentKind returns the pion kind of a content's RTP description.
func contentKind(ct *jingle.Content) (webrtc.RTPCodecType, *Description, error) {
	d, err := Decode(ct.Description)
	if err != nil {
		return 0, nil, err
	}
	switch d.Media {
	case MediaAudio:
		return webrtc.RTPCodecTypeAudio, d, nil
	case MediaVideo:
		return webrtc.RTPCodecTypeVideo, d, nil
	}
	return 0, d, fmt.Errorf("%w: media %q", ErrInvalidDescription, d.Media)
}

// commonCodecs returns the peer's payload types we support, in the
// peer's preference order (XEP-0167 §5: the offer lists them by
// preference), as pion codec parameters with the peer's numbers.
func commonCodecs(kind webrtc.RTPCodecType, d *Description) []webrtc.RTPCodecParameters {
	var out []webrtc.RTPCodecParameters
	for i := range d.PayloadTypes {
		pt := &d.PayloadTypes[i]
		cp := pt.CodecParameters(d.Media, d.RTCPFeedback)
		if cp.ClockRate == 0 {
			cp.ClockRate = defaultClockRate(d.Media, pt)
		}
		for _, ours := range SupportedCodecs(kind) {
			if codecMatch(ours.RTPCodecCapability, cp.RTPCodecCapability) {
				// The peer's parameters are kept: they describe what it
				// sends and how it wants to receive.
				out = append(out, cp)
				break
			}
		}
	}
	return out
}

// codecMatch compares name and clock rate, plus the parameters that make
// formats incompatible: VP9 profile and H.264 packetization mode and
// profile (profile-level-id's first two bytes; the level may differ).
func codecMatch(ours, theirs webrtc.RTPCodecCapability) bool {
	if !strings.EqualFold(ours.MimeType, theirs.MimeType) || ours.ClockRate != theirs.ClockRate {
		return false
	}
	op, tp := ParseFmtp(ours.SDPFmtpLine), ParseFmtp(theirs.SDPFmtpLine)
	get := func(ps []Parameter, n, def string) string {
		for _, p := range ps {
			if strings.EqualFold(p.Name, n) {
				return strings.ToLower(p.Value)
			}
		}
		return def
	}
	switch strings.ToLower(ours.MimeType) {
	case strings.ToLower(webrtc.MimeTypeVP9):
		return get(op, "profile-id", "0") == get(tp, "profile-id", "0")
	case strings.ToLower(webrtc.MimeTypeH264):
		if get(op, "packetization-mode", "0") != get(tp, "packetization-mode", "0") {
			return false
		}
		o, t := get(op, "profile-level-id", "42001f"), get(tp, "profile-level-id", "42001f")
		return len(o) >= 4 && len(t) >= 4 && o[:2] == t[:2]
	}
	return true
}
