package xmpp

import (
	"context"
	"slices"

	"github.com/jingled/jingled/jingle"
)

// PeerResources returns the available resources of bare with their
// presence priority and features (caps or disco#info, see PeerInfo); a
// resource whose features could not be learnt has Known false.
func (c *Client) PeerResources(ctx context.Context, bare string) []jingle.Resource {
	var out []jingle.Resource
	for _, full := range c.Resources(bare) {
		p, _ := c.PresenceOf(full)
		r := jingle.Resource{JID: full, Priority: p.Priority}
		if info, err := c.PeerInfo(ctx, full); err == nil {
			r.Features, r.Known = info.Features, true
		} else {
			c.log.Debug("xmpp: features of a resource unknown", "jid", full, "err", err)
		}
		out = append(out, r)
	}
	return out
}

// Route chooses how to reach bare with the application of feature: ring
// its JMI devices, or send the session-initiate to its best resource
// without JMI (jingle.ChooseRoute), from the presence we have.
func (c *Client) Route(ctx context.Context, bare, feature string) jingle.Route {
	return jingle.ChooseRoute(bare, c.PeerResources(ctx, bare), feature)
}

// RingsThroughJMI reports whether full advertises Jingle Message
// Initiation (XEP-0353): only then does the receipt of a <propose/> from
// it mean that it rings (jingle.RingingReceipts). known are devices
// already found to (Route's Ringers), answered without a query.
func (c *Client) RingsThroughJMI(known []string) func(ctx context.Context, full string) bool {
	return func(ctx context.Context, full string) bool {
		if slices.Contains(known, full) {
			return true
		}
		info, err := c.PeerInfo(ctx, full)
		return err == nil && slices.Contains(info.Features, jingle.NSMessage)
	}
}
