// A codec preference (MediaOptions.Codecs, the CLI's --codecs) names a
// codec as SDP does, case-insensitively: "opus", "G722", "PCMU", "PCMA",
// "VP8", "VP9", "H264"; an H.264 name may add the profile-level-id's
// profile ("H264/640c1f" is High, "H264/42e01f" Constrained Baseline).
// The list says which codecs a call may use and in which order we
// prefer them, audio and video names mixed; a kind it names nothing of
// keeps every codec.

package rtp

import (
	"fmt"
	"strings"

	"github.com/pion/webrtc/v4"
)

// codecNameMatches reports whether pref names codec c.
func codecNameMatches(pref string, c webrtc.RTPCodecCapability) bool {
	name, profile, _ := strings.Cut(strings.TrimSpace(pref), "/")
	_, sub, _ := strings.Cut(c.MimeType, "/")
	if !strings.EqualFold(name, sub) {
		return false
	}
	if profile == "" {
		return true
	}
	plid := strings.ToLower(fmtpValue(c.SDPFmtpLine, "profile-level-id"))
	return len(plid) >= 2 && len(profile) >= 2 && plid[:2] == strings.ToLower(profile[:2])
}

// fmtpValue returns the value of the named parameter of an a=fmtp
// value, or "".
func fmtpValue(fmtp, name string) string {
	for _, p := range ParseFmtp(fmtp) {
		if strings.EqualFold(p.Name, name) {
			return p.Value
		}
	}
	return ""
}

// CheckCodecNames refuses preference names that match none of the
// codecs calls support, listing those.
func CheckCodecNames(prefs []string) error {
	all := append(SupportedCodecs(webrtc.RTPCodecTypeAudio), SupportedCodecs(webrtc.RTPCodecTypeVideo)...)
	for _, p := range prefs {
		found := false
		for _, c := range all {
			found = found || codecNameMatches(p, c.RTPCodecCapability)
		}
		if !found {
			return fmt.Errorf("rtp: unknown codec %q (calls support %s)", p, supportedNames(all))
		}
	}
	return nil
}

func supportedNames(cs []webrtc.RTPCodecParameters) string {
	var names []string
	for _, c := range cs {
		names = append(names, codecLabel(c.RTPCodecCapability))
	}
	return strings.Join(names, ", ")
}

// codecLabel names a codec as a preference does: "PCMA", "H264/640c1f".
func codecLabel(c webrtc.RTPCodecCapability) string {
	n := codecName(c)
	if p := fmtpValue(c.SDPFmtpLine, "profile-level-id"); p != "" {
		n += "/" + p
	}
	return n
}

// codecName is the codec's SDP name ("PCMA", "opus").
func codecName(c webrtc.RTPCodecCapability) string {
	_, sub, _ := strings.Cut(c.MimeType, "/")
	return sub
}

// preferCodecs orders codecs by prefs and drops those prefs do not
// name; when prefs name nothing of codecs' kind, codecs are returned as
// they are. match tells whether a preference names a codec.
func preferCodecs[C any](codecs []C, prefs []string, capOf func(C) webrtc.RTPCodecCapability) []C {
	var out []C
	used := make([]bool, len(codecs))
	for _, p := range prefs {
		for i, c := range codecs {
			if !used[i] && codecNameMatches(p, capOf(c)) {
				out, used[i] = append(out, c), true
			}
		}
	}
	if len(out) == 0 && !namesKind(prefs, codecs, capOf) {
		return codecs
	}
	return out
}

// namesKind reports whether prefs name any supported codec of the kind
// of codecs (so a list of audio names leaves video alone).
func namesKind[C any](prefs []string, codecs []C, capOf func(C) webrtc.RTPCodecCapability) bool {
	if len(codecs) == 0 {
		return false
	}
	kind := webrtc.RTPCodecTypeAudio
	if strings.HasPrefix(strings.ToLower(capOf(codecs[0]).MimeType), "video/") {
		kind = webrtc.RTPCodecTypeVideo
	}
	for _, p := range prefs {
		for _, c := range SupportedCodecs(kind) {
			if codecNameMatches(p, c.RTPCodecCapability) {
				return true
			}
		}
	}
	return false
}

func paramsCap(c webrtc.RTPCodecParameters) webrtc.RTPCodecCapability { return c.RTPCodecCapability }
func capCap(c webrtc.RTPCodecCapability) webrtc.RTPCodecCapability    { return c }

// preferSource applies prefs to what src sends: a source that encodes
// keeps only the codecs prefs allow, in their order; a source of
// encoded media must be in a codec they allow. The error names what the
// source holds and what prefs allow.
func preferSource(src Source, prefs []string) error {
	if src == nil || len(prefs) == 0 {
		return nil
	}
	have := SourceCodecs(src)
	keep := preferCodecs(have, prefs, capCap)
	if len(keep) == 0 {
		return fmt.Errorf("%w: the %s input %s, the codecs allowed are %s",
			ErrNoCommonCodec, src.Kind(), describeSource(have), strings.Join(prefs, ", "))
	}
	s, ok := src.(*sampleSource)
	if !ok || len(s.codecs) == 0 {
		return nil
	}
	t := s.track.(*codecTrack)
	var tracks []*webrtc.TrackLocalStaticSample
	for _, c := range keep {
		for _, tr := range t.tracks {
			if codecMatch(tr.Codec(), c) {
				tracks = append(tracks, tr)
			}
		}
	}
	t.tracks, s.codecs, s.codec = tracks, keep, keep[0]
	return nil
}

// describeSource says what a source sends, for errors: "holds
// audio/opus" for encoded media, "is encoded to G722, PCMU or PCMA" for
// a source that encodes.
func describeSource(codecs []webrtc.RTPCodecCapability) string {
	if len(codecs) == 1 {
		s := "holds " + codecs[0].MimeType
		if p := fmtpValue(codecs[0].SDPFmtpLine, "profile-level-id"); p != "" {
			s += " (profile-level-id " + p + ")"
		}
		return s
	}
	var names []string
	for _, c := range codecs {
		names = append(names, codecName(c))
	}
	return "can be encoded to " + strings.Join(names, ", ")
}

// offeredNames lists a description's payload types for errors
// ("PCMU, PCMA, H264/640c1f"), RTX left out.
func offeredNames(d *Description) string {
	var names []string
	for i := range d.PayloadTypes {
		pt := &d.PayloadTypes[i]
		if pt.IsRTX() {
			continue
		}
		n := pt.Name
		if p := pt.Parameter("profile-level-id"); p != "" {
			n += "/" + p
		}
		names = append(names, n)
	}
	if len(names) == 0 {
		return "nothing"
	}
	return strings.Join(names, ", ")
}

// CodecByName returns the supported codec of kind that name names (as a
// preference does: "PCMU", "opus", "H264/640c1f"), for a configuration
// that says what an RTP input carries.
func CodecByName(kind webrtc.RTPCodecType, name string) (webrtc.RTPCodecCapability, error) {
	for _, c := range SupportedCodecs(kind) {
		if codecNameMatches(name, c.RTPCodecCapability) {
			return c.RTPCodecCapability, nil
		}
	}
	return webrtc.RTPCodecCapability{}, fmt.Errorf("rtp: no %s codec %q (calls support %s)", kind, name, supportedNames(SupportedCodecs(kind)))
}
