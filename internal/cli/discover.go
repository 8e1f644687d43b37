package cli

import (
	"context"
	"strings"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/xmpp"
	"github.com/jingled/jingled/xmpp/extdisco"
)

// discoverICE asks the account's server for STUN/TURN servers (XEP-0215).
// A CLI run is short, so one query is enough: credentials outlive it.
func discoverICE(ctx context.Context, c *xmpp.Client) ([]webrtc.ICEServer, error) {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	res, err := extdisco.Discover(ctx, c, c.Domain(), nil)
	if err != nil {
		return nil, err
	}
	return extdisco.ToWebRTC(res.Servers), nil
}

// allowFunc matches peers against --from entries: bare JIDs or domains.
// No entries allow everyone.
func allowFunc(entries []string) func(string) bool {
	return func(peer string) bool {
		if len(entries) == 0 {
			return true
		}
		bare, _, _ := strings.Cut(peer, "/")
		_, domain, _ := strings.Cut(bare, "@")
		for _, e := range entries {
			if strings.EqualFold(e, bare) || (!strings.Contains(e, "@") && strings.EqualFold(e, domain)) {
				return true
			}
		}
		return false
	}
}
