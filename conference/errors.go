package conference

import "errors"

// Errors of rooms and hosts.
var (
	// ErrRoomClosed is a room or host used after Close.
	ErrRoomClosed = errors.New("conference: room closed")
	// ErrNoMixableCodec is an offer without a codec the mixer speaks
	// (Opus, PCMU, PCMA).
	ErrNoMixableCodec = errors.New("conference: the offer has no codec the room mixes (Opus, PCMU or PCMA)")
	// ErrInvalidRoom is a room JID that cannot name a room.
	ErrInvalidRoom = errors.New("conference: invalid room JID")
)
