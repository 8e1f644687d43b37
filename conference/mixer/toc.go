package mixer

// maxPacketSamples is the longest Opus packet, 120 ms (RFC 6716 section
// 3.2.5), in 48 kHz samples. Decode buffers are this long.
const maxPacketSamples = 5760

// opusFrameSamples is the frame size of each TOC config (RFC 6716 section
// 3.1, table 2) in 48 kHz samples: SILK 10/20/40/60 ms, Hybrid 10/20 ms,
// CELT 2.5/5/10/20 ms.
var opusFrameSamples = [32]int{
	480, 960, 1920, 2880, 480, 960, 1920, 2880, 480, 960, 1920, 2880, // SILK NB, MB, WB
	480, 960, 480, 960, // Hybrid SWB, FB
	120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, 120, 240, 480, 960, // CELT
}

// opusPacketSamples returns how much audio an Opus packet holds, in 48 kHz
// samples, from its TOC byte alone. The mixer needs this without decoding:
// inputs that are not speakers are consumed but never decoded, and their
// jitter buffers count audio, not packets. libopus has
// opus_packet_get_nb_samples, but the binding does not export it and the
// rule is five lines.
func opusPacketSamples(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, errEmptyPayload
	}
	frame := opusFrameSamples[p[0]>>3]
	var frames int
	switch p[0] & 3 {
	case 0:
		frames = 1
	case 1, 2:
		frames = 2
	default: // code 3: frame count in the next byte (section 3.2.5)
		if len(p) < 2 {
			return 0, errBadOpus
		}
		frames = int(p[1] & 0x3f)
		if frames == 0 {
			return 0, errBadOpus
		}
	}
	n := frame * frames
	if n > maxPacketSamples {
		return 0, errTooLong
	}
	return n, nil
}
