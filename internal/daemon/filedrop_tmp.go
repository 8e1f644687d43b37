package daemon

import (
	"errors"

	"github.com/jingled/jingled/internal/xmpp"
	"github.com/jingled/jingled/rtp"
)

// errNoFiledrop: the file transfer application is not wired in yet.
var errNoFiledrop = errors.New("the filedrop role is not available in this build yet")

func newFiledropRole(*account, rtp.PeerOptions, *xmpp.Client) (roleHandler, error) {
	return nil, errNoFiledrop
}
