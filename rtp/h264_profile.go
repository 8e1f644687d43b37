// H.264 profiles: the formats beyond Constrained Baseline that we offer,
// and the one an Annex-B file is sent as, from its SPS.

package rtp

import (
	"bufio"
	"fmt"
	"io"
	"os"

	"github.com/pion/webrtc/v4"
)

// H.264 formats beyond Constrained Baseline (CodecH264): a file encoded
// in Main or High profile is offered as such, with packetization-mode 1
// as WebRTC uses it. The profile-level-ids are libwebrtc's.
var (
	CodecH264Main = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=4d001f"}
	CodecH264High = webrtc.RTPCodecCapability{MimeType: webrtc.MimeTypeH264, ClockRate: 90000,
		SDPFmtpLine: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=640c1f"}
)

// h264FileCodec reads the profile of an Annex-B file's first sequence
// parameter set (H.264 §7.3.2.1.1: profile_idc is the byte after the
// NAL header) and returns the format to offer for it. The level is the
// format's, not the file's: level-asymmetry-allowed lets each side send
// at its own level.
func h264FileCodec(path string) (webrtc.RTPCodecCapability, error) {
	f, err := os.Open(path)
	if err != nil {
		return webrtc.RTPCodecCapability{}, fmt.Errorf("rtp: %w", err)
	}
	defer f.Close()
	// The SPS comes first in any stream a decoder can start on; 1 MiB
	// is more than enough to find it.
	b, err := io.ReadAll(io.LimitReader(bufio.NewReader(f), 1<<20))
	if err != nil {
		return webrtc.RTPCodecCapability{}, fmt.Errorf("rtp: %s: %w", path, err)
	}
	for i := 0; i+4 < len(b); i++ {
		if b[i] != 0 || b[i+1] != 0 || b[i+2] != 1 || b[i+3]&0x1f != 7 {
			continue
		}
		switch profile := b[i+4]; profile {
		case 66: // Baseline; Constrained Baseline sets constraint_set1
			return CodecH264, nil
		case 77:
			return CodecH264Main, nil
		case 100:
			return CodecH264High, nil
		default:
			return webrtc.RTPCodecCapability{}, fmt.Errorf("%w: %s: H.264 profile_idc %d (want Baseline 66, Main 77 or High 100)", ErrUnknownMediaFile, path, profile)
		}
	}
	return webrtc.RTPCodecCapability{}, fmt.Errorf("%w: %s: no H.264 sequence parameter set in the first MiB", ErrUnknownMediaFile, path)
}
