package filetransfer

import "errors"

// Errors callers branch on.
var (
	// ErrUnsupportedHash is an XEP-0300 algorithm we cannot compute.
	ErrUnsupportedHash = errors.New("filetransfer: unsupported hash algorithm")
	// ErrBadDescription is a <description/> or <file/> that does not parse
	// or lacks what XEP-0234 requires.
	ErrBadDescription = errors.New("filetransfer: malformed file description")
	// ErrSizeExceeded is a peer sending more bytes than it declared.
	ErrSizeExceeded = errors.New("filetransfer: more data than the declared size")
	// ErrShortFile is a stream that ended before the declared size.
	ErrShortFile = errors.New("filetransfer: stream ended before the declared size")
	// ErrHashMismatch is received data whose digest differs from the
	// offered or checksummed one.
	ErrHashMismatch = errors.New("filetransfer: hash mismatch")
	// ErrOutsideDir is a path that would leave the target directory.
	ErrOutsideDir = errors.New("filetransfer: path escapes the target directory")
	// ErrTooLarge is an offer above the auto-accept size limit.
	ErrTooLarge = errors.New("filetransfer: file larger than allowed")
	// ErrNoSpace is an offer larger than the free space of the receive
	// directory's filesystem.
	ErrNoSpace = errors.New("filetransfer: not enough free disk space")
	// ErrSuperseded ends a receive when the same sender offers the same
	// file again (it lost the first session and resumes in the new one).
	ErrSuperseded = errors.New("filetransfer: superseded by a new offer of the same file")
	// ErrNoTransport is a session where every transport failed or none is
	// shared with the peer.
	ErrNoTransport = errors.New("filetransfer: no working transport")
	// ErrDeclined is a peer (or our policy) refusing the transfer.
	ErrDeclined = errors.New("filetransfer: transfer declined")
	// ErrNoChecksum is a transfer that ended without any hash to verify
	// while the policy requires one.
	ErrNoChecksum = errors.New("filetransfer: no checksum received")
)

// errStreamRead is a stream that failed under the receiver: the sender,
// its network or its transport broke it, not a decision of ours.
var errStreamRead = errors.New("filetransfer: receiving")
