package mixer

import "errors"

var (
	// ErrRemoved is returned by Input.WriteRTP after Input.Remove.
	ErrRemoved = errors.New("mixer: input removed")

	// errNilPacket: WriteRTP was handed nil.
	errNilPacket = errors.New("mixer: nil packet")
	// errPayloadType: the packet's payload type is not the one set with
	// SetPayloadType.
	errPayloadType = errors.New("mixer: unexpected payload type")
	// errEmptyPayload: the packet carries no audio.
	errEmptyPayload = errors.New("mixer: empty payload")
	// errBadOpus: the payload is not an Opus packet (RFC 6716 section 3).
	errBadOpus = errors.New("mixer: malformed opus packet")
	// errTooLong: a packet holds more audio than the jitter buffer takes.
	errTooLong = errors.New("mixer: packet too long")
)
