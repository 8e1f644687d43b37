// Package mixer is the audio mixer of a conference focus: every
// participant sends one audio RTP stream and receives one, the mix of
// everyone else but themselves.
//
// # Design
//
// Internally audio is 48 kHz mono float32 PCM in frames of 20 ms (960
// samples). One goroutine, owned by the Mixer, ticks once per frame. A
// tick pulls one frame from each input's jitter buffer, picks the
// MaxSpeakers loudest inputs (see speakers.go), and mixes only those:
//
//   - the common mix is the sum of all speakers; it is limited once and
//     encoded once per codec, and the same payload is handed to every
//     participant that is not a speaker;
//   - each speaker gets common minus itself, limited and encoded with its
//     own encoder.
//
// So a tick costs MaxSpeakers+codecs encodes, not one per participant.
// When an input carries the RFC 6464 ssrc-audio-level header extension,
// the speaker choice is made from those levels before decoding, and
// inputs that are not speakers are not decoded at all: their packets are
// only consumed so the jitter buffer stays in step. Without the extension
// an input must be decoded to measure its energy.
//
// G.711 inputs (8 kHz) are resampled to 48 kHz on input and back on
// output by a small windowed-sinc filter (resample.go); a conference
// needs nothing better for telephone-band audio.
//
// # Codecs
//
// Opus uses gopkg.in/hraban/opus.v2 and G.711 uses github.com/zaf/g711.
// Both are small, well-kept wrappers of the reference codecs: hraban/opus
// is a cgo binding of libopus (the codec that libwebrtc and ffmpeg use,
// so our packets decode everywhere), and no pure-Go Opus encoder of
// production quality exists. zaf/g711 is the ITU G.711 tables in Go.
//
// The Opus encoders run in restricted-lowdelay mode (CELT only: 2.5 ms of
// lookahead instead of 6.5, a third of the VoIP mode's CPU), 48 kHz mono,
// 32 kbit/s, DTX off (receivers get a steady stream), complexity 5 (see
// encode.go for the measurement behind both); complexity 2 while the
// mixer's ticks keep starting late, i.e. the process's CPU is nearly full
// (overload.go).
package mixer
