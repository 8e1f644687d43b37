package jingle

import (
	"slices"
	"testing"
)

func TestChooseRoute(t *testing.T) {
	const rtp = "urn:xmpp:jingle:apps:rtp:1"
	const bare = "bob@example.org"
	jmi := []string{NS, NSMessage, rtp}
	noJMI := []string{NS, rtp}
	files := []string{NS, NSMessage, "urn:xmpp:jingle:apps:file-transfer:5"}
	res := func(jid string, prio int, f []string) Resource {
		return Resource{JID: bare + "/" + jid, Priority: prio, Features: f, Known: true}
	}
	for _, c := range []struct {
		name string
		in   []Resource
		want Route
	}{
		{"no presence: propose blind", nil, Route{Kind: RoutePropose, To: bare}},
		{"a JMI phone: propose, it rings", []Resource{res("phone", 0, jmi)},
			Route{Kind: RoutePropose, To: bare, Ringers: []string{bare + "/phone"}}},
		{"StanzaJS alone: initiate to it", []Resource{res("stanzajs", 0, noJMI)},
			Route{Kind: RouteInitiate, To: bare + "/stanzajs"}},
		{"JMI and StanzaJS: propose, only the JMI one rings",
			[]Resource{res("stanzajs", 5, noJMI), res("phone", 0, jmi)},
			Route{Kind: RoutePropose, To: bare, Ringers: []string{bare + "/phone"}}},
		{"two without JMI: the highest priority",
			[]Resource{res("a", 1, noJMI), res("b", 10, noJMI), res("c", 10, noJMI)},
			Route{Kind: RouteInitiate, To: bare + "/b"}},
		{"negative priority is not called directly", []Resource{res("bot", -1, noJMI)},
			Route{Kind: RouteNone, To: bare}},
		{"a file receiver with JMI but no RTP, and StanzaJS: StanzaJS",
			[]Resource{res("rx", 9, files), res("stanzajs", 0, noJMI)},
			Route{Kind: RouteInitiate, To: bare + "/stanzajs"}},
		{"online, nothing takes calls", []Resource{res("rx", 0, files)}, Route{Kind: RouteNone, To: bare}},
		{"features unknown: propose blind",
			[]Resource{{JID: bare + "/x", Known: false}, res("rx", 0, files)},
			Route{Kind: RoutePropose, To: bare}},
	} {
		t.Run(c.name, func(t *testing.T) {
			got := ChooseRoute(bare, c.in, rtp)
			if got.Kind != c.want.Kind || got.To != c.want.To || !slices.Equal(got.Ringers, c.want.Ringers) {
				t.Fatalf("got %+v, want %+v", got, c.want)
			}
		})
	}
}
