// Errors of package rtp: the sentinels callers branch on (exported) and the
// ones the package matches internally, one place for all of them.

package rtp

import (
	"errors"
	"io"

	"github.com/jingled/jingled/ice"
)

// errClosedPipe is what pion's tracks return once their sender stopped.
var errClosedPipe = io.ErrClosedPipe

// Errors of calls.
var (
	// ErrCallState is an API call that does not fit the call's state
	// (answering twice, session-info before the session exists).
	ErrCallState = errors.New("rtp: not possible in the call's state")
	// ErrNoCommonCodec: the peer offered no payload type we support.
	ErrNoCommonCodec = errors.New("rtp: no payload type in common")
)

// Errors callers can branch on.
var (
	// ErrInvalidSDP is SDP that does not parse or lacks what a Jingle
	// content needs.
	ErrInvalidSDP = errors.New("rtp: invalid SDP")
	// ErrInvalidDescription is an RTP description that cannot be
	// translated (no media type, no payload type, ...).
	ErrInvalidDescription = errors.New("rtp: invalid RTP description")
	// ErrWrongNamespace is an element that is not the expected one.
	ErrWrongNamespace = errors.New("rtp: unexpected namespace")
	// ErrUnsupportedContent is a content that is neither RTP nor a data
	// channel over ICE-UDP, so it has no SDP form.
	ErrUnsupportedContent = errors.New("rtp: content has no SDP form")
	// ErrNoICECredentials is an ICE-UDP transport without ufrag or pwd
	// where a full description is needed.
	ErrNoICECredentials = ice.ErrNoCredentials
	// ErrNoFingerprint is a transport without DTLS fingerprint: without
	// one there is no DTLS-SRTP, and Conversations refuses the session.
	ErrNoFingerprint = ice.ErrNoFingerprint
)

// ErrNoAddress means ICE would gather no candidate at all: no interface
// has an address pion uses, and no TURN server could lend one. A call
// would otherwise send an empty transport-info and time out 30 s later
// with a bare "timeout", which names nothing a person can fix.
var ErrNoAddress = errors.New("rtp: no usable network address for ICE candidates")

// ErrICEFailed is the error a call ends with when ICE found no working
// candidate pair (RFC 8445 section 8.1.2); it wraps the diagnostics.
var ErrICEFailed = errors.New("ICE failed")

// ErrNotLoopback is an RTP forward or input address outside this
// machine: plain RTP has no encryption and no authentication, so the
// call's media would cross the network in the clear, or anyone on it
// could inject media into the call.
var ErrNotLoopback = errors.New("rtp: not a loopback address")

// ErrUnknownMediaFile is a media file whose format or codec we do not read.
var ErrUnknownMediaFile = errors.New("rtp: unsupported media file")

// errBadPacket: a packet that does not parse as RTP. The reader skips it;
// one malformed packet must not end a call's media.
var errBadPacket = errors.New("rtp: malformed RTP packet")

// errBatchConnClosed: a write to a batched UDP socket after Close.
var errBatchConnClosed = errors.New("rtp: UDP socket closed")

// ErrRestartsExhausted is the cause when the automatic ICE restarts did
// not bring a broken path back (the call ends with connectivity-error).
var ErrRestartsExhausted = errors.New("rtp: ICE restarts did not restore the path")
