package cli

import (
	"context"
	"fmt"
	"slices"
	"strings"

	"github.com/jingled/jingled/internal/doctor"
)

// Features a resource needs to take a call from the jingle CLI or any
// client: Jingle RTP (XEP-0167) over ICE-UDP (XEP-0176).
const (
	nsRTP    = "urn:xmpp:jingle:apps:rtp:1"
	nsICEUDP = "urn:xmpp:jingle:transports:ice-udp:1"
)

// checkPeer reports what the contact's online resources support (what
// `jingle probe` shows) and whether a call to it depends on the relay.
func (d *doctorRun) checkPeer(ctx context.Context, peer string) {
	results, err := probeJID(ctx, d.ep, peer)
	if err != nil {
		d.report.Add(doctor.New(doctor.IDPeerOffline, doctor.Warning, peer, err.Error()))
		return
	}
	if !strings.Contains(peer, "/") && len(d.ep.client.Resources(peer)) == 0 {
		d.report.Add(doctor.New(doctor.IDPeerOffline, doctor.Warning, peer,
			"no online resource of the contact is visible (offline, or no presence subscription)"))
		return
	}
	callable := 0
	for _, r := range results {
		d.report.Add(doctor.New(doctor.IDPeerFeatures, doctor.Info, r.JID, fmt.Sprintf(
			"jingle: %s; transports: %s", orNone(r.Jingle), orNone(r.Transports))))
		if slices.Contains(r.Features, nsRTP) && slices.Contains(r.Features, nsICEUDP) {
			callable++
		}
	}
	if callable == 0 {
		d.report.Add(doctor.New(doctor.IDPeerNoCalls, doctor.Error, peer,
			"no online resource supports Jingle RTP calls over ICE-UDP (XEP-0167, XEP-0176)"))
		return
	}
	d.report.Add(d.callPath(peer))
}

// callPath says whether a call to peer depends on the relay, from what
// the STUN binding showed about this side (the peer's NAT is unknown
// until a call's ICE checks run).
func (d *doctorRun) callPath(peer string) doctor.Finding {
	relayOK := d.report.Has(doctor.IDTURNRoundTrip)
	self := d.self
	switch {
	case !self.known:
		return doctor.New(doctor.IDCallPath, doctor.Warning, peer,
			"no STUN answer, so nothing is known about this side's NAT: a call works only on the same network")
	case self.local == self.reflexive:
		return doctor.New(doctor.IDCallPath, doctor.Info, peer, fmt.Sprintf(
			"this machine is not behind NAT (the relay sees its own address %s): the peer can reach it directly unless the peer's NAT is symmetric, where the relay carries the call (relay %s)",
			self.local, workingWord(relayOK)))
	case relayOK:
		return doctor.New(doctor.IDCallPath, doctor.Info, peer, fmt.Sprintf(
			"this machine is behind NAT (%s, seen as %s): a direct path needs both NATs to allow hole punching; otherwise the call goes through the relay, which works",
			self.local, self.reflexive))
	}
	return doctor.New(doctor.IDCallPath, doctor.Warning, peer, fmt.Sprintf(
		"this machine is behind NAT (%s, seen as %s) and the relay does not work: a call to %s connects only if both NATs allow hole punching",
		self.local, self.reflexive, peer))
}

func workingWord(ok bool) string {
	if ok {
		return "working"
	}
	return "NOT working"
}
