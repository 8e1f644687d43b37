package jingle

import (
	"slices"
	"sort"
)

// Resource is one available resource of a contact as a caller sees it:
// its full JID and presence priority (RFC 6121 §4.7.2.3), and its
// XEP-0030 features from caps or disco#info, with Known false when they
// could not be learnt.
type Resource struct {
	JID      string
	Priority int
	Features []string
	Known    bool
}

// RouteKind says how a bare JID is reached.
type RouteKind int

const (
	// RouteNone: resources are online, none takes the application.
	RouteNone RouteKind = iota
	// RoutePropose: ring through JMI (XEP-0353) at the bare JID.
	RoutePropose
	// RouteInitiate: send the session-initiate to one full JID.
	RouteInitiate
)

func (k RouteKind) String() string {
	switch k {
	case RoutePropose:
		return "propose"
	case RouteInitiate:
		return "initiate"
	}
	return "none"
}

// Route is how to reach a bare JID for an application (ChooseRoute).
type Route struct {
	Kind RouteKind
	// To is the bare JID to propose to, or the full JID to initiate to.
	To string
	// Ringers are the resources that advertise JMI and the application:
	// their receipts of the <propose/> mean ringing (RingingReceipts).
	Ringers []string
}

// ChooseRoute decides how to call bare, whose available resources are
// resources, with the application whose feature is feature (for calls
// urn:xmpp:jingle:apps:rtp:1). XEP-0353 §3 allows both ways:
//   - any resource advertises JMI (urn:xmpp:jingle-message:0) and the
//     application: propose to the bare JID, which rings them all;
//   - else the resource with the application and the highest priority
//     (then the lexically first JID) gets the session-initiate directly:
//     this is how clients without JMI (StanzaJS) are called;
//   - with no resource known, or one whose features could not be learnt,
//     propose to the bare JID: it reaches devices whose presence we do
//     not see (no subscription);
//   - otherwise no device takes the application: RouteNone.
func ChooseRoute(bare string, resources []Resource, feature string) Route {
	rs := slices.Clone(resources)
	sort.SliceStable(rs, func(i, j int) bool {
		if rs[i].Priority != rs[j].Priority {
			return rs[i].Priority > rs[j].Priority
		}
		return rs[i].JID < rs[j].JID
	})
	var ringers []string
	direct := ""
	unknown := false
	for _, r := range rs {
		if !r.Known {
			unknown = true
			continue
		}
		if !slices.Contains(r.Features, feature) {
			continue
		}
		if slices.Contains(r.Features, NSMessage) {
			ringers = append(ringers, r.JID)
		} else if direct == "" && r.Priority >= 0 {
			direct = r.JID
		}
	}
	switch {
	case len(ringers) > 0:
		return Route{Kind: RoutePropose, To: bare, Ringers: ringers}
	case direct != "":
		return Route{Kind: RouteInitiate, To: direct}
	case len(rs) == 0 || unknown:
		return Route{Kind: RoutePropose, To: bare}
	}
	return Route{Kind: RouteNone, To: bare}
}
