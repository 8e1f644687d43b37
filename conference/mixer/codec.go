package mixer

import "fmt"

// Codec is the audio codec a participant sends and receives.
type Codec int

// The codecs a conference focus speaks: Opus for WebRTC clients, G.711
// for gateways and old phones.
const (
	Opus Codec = iota
	PCMU
	PCMA
	numCodecs // keep last: sizes per-codec arrays
)

// String returns the codec's SDP encoding name.
func (c Codec) String() string {
	switch c {
	case Opus:
		return "opus"
	case PCMU:
		return "PCMU"
	case PCMA:
		return "PCMA"
	case numCodecs:
	}
	return fmt.Sprintf("Codec(%d)", int(c))
}

// valid reports whether c is one of the codecs above.
func (c Codec) valid() bool { return c >= Opus && c < numCodecs }

// isG711 reports whether c is an 8 kHz G.711 variant.
func (c Codec) isG711() bool { return c == PCMU || c == PCMA }
