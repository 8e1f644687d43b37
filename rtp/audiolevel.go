// RFC 6464 audio levels: the header extension a conference focus reads to
// rank speakers without decoding them.

package rtp

import (
	"fmt"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/jingle"
)

// AudioLevelURI is RFC 6464's client-to-mixer audio level header
// extension. libwebrtc (StanzaJS, Conversations, Movim) sends it when the
// answer accepts it; a conference focus reads it to rank speakers without
// decoding the silent ones.
const AudioLevelURI = sdp.AudioLevelURI

// HeaderExtensionSink is a Sink that wants to know the RTP header
// extensions negotiated for its track (their ids are chosen per call),
// for instance to read RFC 6464 audio levels. The call tells it once,
// before the first packet.
type HeaderExtensionSink interface {
	Sink
	SetHeaderExtensions(exts []webrtc.RTPHeaderExtensionParameter)
}

// registerAudioLevel makes the MediaEngine accept the audio level
// extension in answers (pion answers only with extensions it knows).
func registerAudioLevel(m *webrtc.MediaEngine) error {
	if err := m.RegisterHeaderExtension(webrtc.RTPHeaderExtensionCapability{URI: AudioLevelURI}, webrtc.RTPCodecTypeAudio); err != nil {
		return fmt.Errorf("rtp: registering %s: %w", AudioLevelURI, err)
	}
	return nil
}

// PeerCodecs returns the media kind of an offered RTP content and the
// offered payload types we support, in the peer's order of preference,
// with the peer's numbers. An answerer that sends media of its own making
// (a conference mixer) picks its source codec from this list before
// answering.
func PeerCodecs(ct *jingle.Content) (webrtc.RTPCodecType, []webrtc.RTPCodecParameters, error) {
	kind, d, err := contentKind(ct)
	if err != nil {
		return 0, nil, err
	}
	return kind, commonCodecs(kind, d), nil
}
