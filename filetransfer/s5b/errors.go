package s5b

import "errors"

// Errors callers branch on.
var (
	// ErrBadTransport is a malformed s5b transport element.
	ErrBadTransport = errors.New("s5b: malformed transport")
	// ErrFailed is a negotiation where neither side reached a candidate
	// of the other (both sent candidate-error), or the proxy failed: the
	// application falls back to another transport.
	ErrFailed = errors.New("s5b: no candidate worked")
	// ErrSOCKS is a SOCKS5 handshake the peer or proxy got wrong.
	ErrSOCKS = errors.New("s5b: SOCKS5 handshake failed")
	// ErrClosed is an operation on a closed handle.
	ErrClosed = errors.New("s5b: closed")
	// ErrNoProxy is a disco walk that found no bytestreams proxy.
	ErrNoProxy = errors.New("s5b: no SOCKS5 proxy found")
)
