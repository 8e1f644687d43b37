package xmpp

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sort"
)

// ErrNoResource means no available resource of the contact announces the
// wanted feature.
var ErrNoResource = errors.New("xmpp: no available resource with the feature")

// maxCapsCache bounds the verified caps cache (distinct ver strings).
const maxCapsCache = 1024

// PeerInfo returns the disco#info of an available full JID: from the
// XEP-0115 cache when its presence carried caps already verified for
// another entity (§6.3: same ver, same software), else by asking it
// (verifying and caching the caps, or plainly when it announced none).
func (c *Client) PeerInfo(ctx context.Context, full string) (DiscoInfo, error) {
	p, ok := c.PresenceOf(full)
	if ok && p.Caps != nil && p.Caps.Hash == "sha-1" {
		c.mu.Lock()
		info, hit := c.capsCache[p.Caps.Ver]
		c.mu.Unlock()
		if hit {
			return info, nil
		}
		info, err := c.VerifyPeerCaps(ctx, full)
		if err == nil {
			c.mu.Lock()
			if c.capsCache == nil || len(c.capsCache) >= maxCapsCache {
				c.capsCache = map[string]DiscoInfo{}
			}
			c.capsCache[p.Caps.Ver] = info
			c.mu.Unlock()
			return info, nil
		}
		if !errors.Is(err, ErrCapsMismatch) && !errors.Is(err, ErrMalformedDisco) {
			return DiscoInfo{}, err
		}
		// A wrong hash is not cached; fall through to a plain query.
	}
	return c.DiscoInfo(ctx, full)
}

// FindResource picks the available resource of bare that announces
// feature, preferring higher presence priority (RFC 6121 §4.7.2.3), then
// the lexically first JID. This is how a session-initiate finds its full
// JID for peers without Jingle Message Initiation (XEP-0353), such as
// StanzaJS: presence for the resources, disco#info (through caps) for
// their features.
func (c *Client) FindResource(ctx context.Context, bare, feature string) (string, error) {
	type cand struct {
		jid  string
		prio int
	}
	var cands []cand
	for _, full := range c.Resources(bare) {
		p, _ := c.PresenceOf(full)
		cands = append(cands, cand{full, p.Priority})
	}
	sort.SliceStable(cands, func(i, j int) bool { return cands[i].prio > cands[j].prio })
	var lastErr error
	for _, cd := range cands {
		info, err := c.PeerInfo(ctx, cd.jid)
		if err != nil {
			if ctx.Err() != nil {
				return "", fmt.Errorf("xmpp: finding %s at %s: %w", feature, bare, err)
			}
			lastErr = err
			continue
		}
		if slices.Contains(info.Features, feature) {
			return cd.jid, nil
		}
	}
	if lastErr != nil {
		return "", fmt.Errorf("%w: %s at %s (last error: %w)", ErrNoResource, feature, bare, lastErr)
	}
	return "", fmt.Errorf("%w: %s at %s (%d resources online)", ErrNoResource, feature, bare, len(cands))
}
