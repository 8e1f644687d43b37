package turnserver

import "errors"

var (
	// ErrInvalidConfig is returned by Config.Validate (and New) for a config
	// that cannot run; the wrapped message names the field.
	ErrInvalidConfig = errors.New("turnserver: invalid config")
	// ErrWideOpenPolicy is returned when allow_peers would expose the
	// metadata service, the unspecified address or most of the address
	// space, and allow_wide_open_peers is not set.
	ErrWideOpenPolicy = errors.New("turnserver: peer policy is wide open (set allow_wide_open_peers to accept)")
	// ErrBadUsername is returned by ParseRESTUsername for a username that is
	// not EXPIRY[:USER].
	ErrBadUsername = errors.New("turnserver: not a time-limited username")
	// ErrClosed is returned by Shutdown on a server already closed.
	ErrClosed = errors.New("turnserver: server closed")

	// errNoSecret is returned by GenerateCredentials without a secret.
	errNoSecret = errors.New("turnserver: empty shared secret")
)
