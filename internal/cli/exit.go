package cli

import (
	"errors"
	"fmt"
)

// Exit codes of the jingle command, documented in `jingle --help`, so
// scripts can branch on why a call or transfer did not happen.
const (
	ExitOK          = 0
	ExitFailure     = 1 // anything not listed below
	ExitUsage       = 2 // bad flags or arguments
	ExitAuth        = 3 // the XMPP server refused the credentials
	ExitConnect     = 4 // the XMPP server could not be reached
	ExitDeclined    = 5 // the peer declined, was busy or is not allowed
	ExitNoAnswer    = 6 // nobody answered / timeout / peer unavailable
	ExitMedia       = 7 // media or connectivity failed (ICE, DTLS, hash mismatch, no usable address)
	ExitInterrupted = 130
)

const exitCodesHelp = `Exit codes:
  0  success
  1  failure not listed below
  2  usage error (flags, arguments)
  3  authentication refused by the XMPP server
  4  XMPP server unreachable (answer, receive: lost for longer than
     --reconnect-for)
  5  declined, busy, or not allowed by the peer
  6  no answer, timeout, or peer unavailable
  7  media, connectivity or integrity failure (ICE, DTLS, hash mismatch),
     or no usable network address for ICE (only loopback: pass --loopback)
  130 interrupted`

// ExitError carries an exit code with the message printed to stderr.
type ExitError struct {
	Code int
	Err  error
}

func (e *ExitError) Error() string { return e.Err.Error() }
func (e *ExitError) Unwrap() error { return e.Err }

// exitf returns an *ExitError.
func exitf(code int, format string, args ...any) error {
	return &ExitError{Code: code, Err: fmt.Errorf(format, args...)}
}

// CodeOf returns the exit code for err.
func CodeOf(err error) int {
	if err == nil {
		return ExitOK
	}
	var ee *ExitError
	if errors.As(err, &ee) {
		return ee.Code
	}
	return ExitFailure
}
