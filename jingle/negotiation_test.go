package jingle

import (
	"encoding/xml"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"slices"
	"strings"
	"testing"
)

// Helpers to write negotiations tersely: a content is "name" or
// "name@transport" (the transport's namespace), a description namespace
// is "app" unless a test says otherwise.

func tcontent(spec string) Content {
	name, tr, _ := strings.Cut(spec, "@")
	c := Content{Creator: CreatorInitiator, Name: name, Description: &Element{XMLName: xmlName("app", "description")}}
	if tr != "" {
		c.Transport = &Element{XMLName: xmlName(tr, "transport")}
	}
	return c
}

func tcontents(specs ...string) []Content {
	out := make([]Content, 0, len(specs))
	for _, s := range specs {
		out = append(out, tcontent(s))
	}
	return out
}

func tadds(specs ...string) map[string]Content {
	m := map[string]Content{}
	for _, s := range specs {
		c := tcontent(s)
		m[c.Name] = c
	}
	return m
}

func treplaces(specs ...string) map[string]Element {
	m := map[string]Element{}
	for _, s := range specs {
		c := tcontent(s)
		m[c.Name] = *c.Transport
	}
	return m
}

// summary prints what a negotiation holds, names and transports, in a
// stable order.
func (n negotiation) summary() string {
	var b strings.Builder
	cs := make([]string, 0, len(n.contents))
	for _, c := range n.contents {
		s := c.Name + "@" + c.TransportNS()
		if c.Senders != "" {
			s += "/" + string(c.Senders)
		}
		cs = append(cs, s)
	}
	fmt.Fprintf(&b, "contents=%s", strings.Join(cs, ","))
	keys := func(label string, ks []string) {
		slices.Sort(ks)
		fmt.Fprintf(&b, " %s=%s", label, strings.Join(ks, ","))
	}
	keys("ourAdds", slices.Collect(maps.Keys(n.ourAdds)))
	keys("theirAdds", slices.Collect(maps.Keys(n.theirAdds)))
	var or, tr []string
	for k, e := range n.ourReplaces {
		or = append(or, k+"@"+e.XMLName.Space)
	}
	for k, e := range n.theirReplaces {
		tr = append(tr, k+"@"+e.XMLName.Space)
	}
	keys("ourReplaces", or)
	keys("theirReplaces", tr)
	return b.String()
}

func jingleOf(a Action, specs ...string) *Jingle {
	return &Jingle{Action: a, Contents: tcontents(specs...)}
}

// TestNegotiationApply: what each negotiation action of XEP-0166 §7.2
// makes of the contents and of what is pending, ours and the peer's.
// Case names read "before --action(by)--> after".
func TestNegotiationApply(t *testing.T) {
	const (
		ours   = true
		theirs = false
	)
	active := negotiation{contents: tcontents("a@ice", "b@ice")}
	modified := tcontent("a")
	modified.Senders = SendersInitiator
	type tc struct {
		from  negotiation
		j     *Jingle
		local bool
		want  string
	}
	cases := map[string]tc{
		"new --session-initiate--> its contents": {
			negotiation{}, jingleOf(ActionSessionInitiate, "a@ice", "b@ice"), ours,
			"contents=a@ice,b@ice ourAdds= theirAdds= ourReplaces= theirReplaces="},
		"offered --session-accept--> the accepted ones, the others dropped": {
			active, jingleOf(ActionSessionAccept, "b@ice2"), theirs,
			"contents=b@ice2 ourAdds= theirAdds= ourReplaces= theirReplaces="},
		"active --content-add(ours)--> pending in ourAdds": {
			active, jingleOf(ActionContentAdd, "v@ice"), ours,
			"contents=a@ice,b@ice ourAdds=v theirAdds= ourReplaces= theirReplaces="},
		"active --content-add(theirs)--> pending in theirAdds": {
			active, jingleOf(ActionContentAdd, "v@ice"), theirs,
			"contents=a@ice,b@ice ourAdds= theirAdds=v ourReplaces= theirReplaces="},
		"ourAdds --content-accept(theirs)--> content enters": {
			negotiation{contents: tcontents("a@ice"), ourAdds: tadds("v@ice")}, jingleOf(ActionContentAccept, "v"), theirs,
			"contents=a@ice,v@ice ourAdds= theirAdds= ourReplaces= theirReplaces="},
		"theirAdds --content-accept(ours)--> content enters, our transport kept": {
			negotiation{contents: tcontents("a@ice"), theirAdds: tadds("v@ice")}, jingleOf(ActionContentAccept, "v@ice2"), ours,
			"contents=a@ice,v@ice2 ourAdds= theirAdds= ourReplaces= theirReplaces="},
		"ourAdds --content-reject(theirs)--> dropped": {
			negotiation{contents: tcontents("a@ice"), ourAdds: tadds("v@ice")}, jingleOf(ActionContentReject, "v"), theirs,
			"contents=a@ice ourAdds= theirAdds= ourReplaces= theirReplaces="},
		"theirAdds --content-reject(ours)--> dropped": {
			negotiation{contents: tcontents("a@ice"), theirAdds: tadds("v@ice")}, jingleOf(ActionContentReject, "v"), ours,
			"contents=a@ice ourAdds= theirAdds= ourReplaces= theirReplaces="},
		"active --content-remove--> gone, with what was pending for it": {
			negotiation{contents: tcontents("a@ice", "b@ice"), ourReplaces: treplaces("a@ibb"), theirAdds: tadds("v@ice")},
			jingleOf(ActionContentRemove, "a", "v"), theirs,
			"contents=b@ice ourAdds= theirAdds= ourReplaces= theirReplaces="},
		"active --content-modify--> senders changed, rest kept": {
			active, &Jingle{Action: ActionContentModify, Contents: []Content{modified}}, theirs,
			"contents=a@ice/initiator,b@ice ourAdds= theirAdds= ourReplaces= theirReplaces="},
		"active --transport-replace(ours)--> pending in ourReplaces": {
			active, jingleOf(ActionTransportReplace, "a@ibb"), ours,
			"contents=a@ice,b@ice ourAdds= theirAdds= ourReplaces=a@ibb theirReplaces="},
		"active --transport-replace(theirs)--> pending in theirReplaces": {
			active, jingleOf(ActionTransportReplace, "a@ibb"), theirs,
			"contents=a@ice,b@ice ourAdds= theirAdds= ourReplaces= theirReplaces=a@ibb"},
		"ourReplaces --transport-accept(theirs)--> their transport element": {
			negotiation{contents: tcontents("a@ice"), ourReplaces: treplaces("a@ibb")}, jingleOf(ActionTransportAccept, "a@ibb2"), theirs,
			"contents=a@ibb2 ourAdds= theirAdds= ourReplaces= theirReplaces="},
		"ourReplaces --transport-accept without transport(theirs)--> ours": {
			negotiation{contents: tcontents("a@ice"), ourReplaces: treplaces("a@ibb")}, jingleOf(ActionTransportAccept, "a"), theirs,
			"contents=a@ibb ourAdds= theirAdds= ourReplaces= theirReplaces="},
		"theirReplaces --transport-accept(ours)--> switched": {
			negotiation{contents: tcontents("a@ice"), theirReplaces: treplaces("a@ibb")}, jingleOf(ActionTransportAccept, "a@ibb"), ours,
			"contents=a@ibb ourAdds= theirAdds= ourReplaces= theirReplaces="},
		"ourReplaces --transport-reject(theirs)--> old transport kept": {
			negotiation{contents: tcontents("a@ice"), ourReplaces: treplaces("a@ibb")}, jingleOf(ActionTransportReject, "a"), theirs,
			"contents=a@ice ourAdds= theirAdds= ourReplaces= theirReplaces="},
		"active --transport-info--> unchanged": {
			active, jingleOf(ActionTransportInfo, "a@ice"), theirs,
			"contents=a@ice,b@ice ourAdds= theirAdds= ourReplaces= theirReplaces="},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			before := c.from.summary()
			got := c.from.apply(c.j, c.local)
			if s := got.summary(); s != c.want {
				t.Errorf("got  %s\nwant %s", s, c.want)
			}
			// Pure: the value the action started from is intact, so
			// the loop can put it back when the handler refuses.
			if after := c.from.summary(); after != before {
				t.Errorf("apply changed its input: %s, was %s", after, before)
			}
		})
	}
}

// TestNegotiationApplyKeepsContentsOfTheInput: the contents slice given to
// apply is not written (content-accept, -modify and transport-accept
// rewrite entries of their own copy).
func TestNegotiationApplyKeepsContentsOfTheInput(t *testing.T) {
	from := negotiation{contents: tcontents("a@ice", "b@ice"), ourReplaces: treplaces("a@ibb")}
	keep := cloneContents(from.contents)
	_ = from.apply(jingleOf(ActionTransportAccept, "a@ibb"), false)
	_ = from.apply(jingleOf(ActionContentModify, "b@ice2"), false)
	if !reflect.DeepEqual(from.contents, keep) {
		t.Fatalf("input contents changed: %+v", from.contents)
	}
}

// TestNegotiationCheck: which negotiation actions are out of order, refer
// to unknown contents or lose the tie-break of XEP-0166 §7.2.16, from
// the peer (checkRemote) and from us (checkLocal).
func TestNegotiationCheck(t *testing.T) {
	const (
		weInitiated = true
		weResponded = false
	)
	active := negotiation{contents: tcontents("a@ice")}
	withOurAdd := negotiation{contents: tcontents("a@ice"), ourAdds: tadds("v@ice")}
	withTheirAdd := negotiation{contents: tcontents("a@ice"), theirAdds: tadds("v@ice")}
	withOurReplace := negotiation{contents: tcontents("a@ice"), ourReplaces: treplaces("a@ibb")}
	withTheirReplace := negotiation{contents: tcontents("a@ice"), theirReplaces: treplaces("a@ibb")}
	type tc struct {
		n   negotiation
		j   *Jingle
		we  bool
		err error
	}
	remote := map[string]tc{
		"content-add of a new content":                         {active, jingleOf(ActionContentAdd, "v"), weInitiated, nil},
		"content-add of an existing content: bad-request":      {active, jingleOf(ActionContentAdd, "a"), weResponded, ErrBadRequest},
		"content-add twice: bad-request":                       {withTheirAdd, jingleOf(ActionContentAdd, "v"), weResponded, ErrBadRequest},
		"content-add crossing ours, we initiated: tie-break":   {withOurAdd, jingleOf(ActionContentAdd, "w"), weInitiated, ErrTieBreak},
		"content-add crossing ours, peer initiated: it wins":   {withOurAdd, jingleOf(ActionContentAdd, "w"), weResponded, nil},
		"content-accept of our content-add":                    {withOurAdd, jingleOf(ActionContentAccept, "v"), weInitiated, nil},
		"content-accept without our content-add: out-of-order": {active, jingleOf(ActionContentAccept, "v"), weInitiated, ErrOutOfOrder},
		"content-reject without our content-add: out-of-order": {withTheirAdd, jingleOf(ActionContentReject, "v"), weInitiated, ErrOutOfOrder},
		"content-modify of an unknown content: bad-request":    {active, jingleOf(ActionContentModify, "x"), weInitiated, ErrBadRequest},
		"content-modify of a known content":                    {active, jingleOf(ActionContentModify, "a"), weInitiated, nil},
		"transport-replace of an unknown content: bad-request": {active, jingleOf(ActionTransportReplace, "x@ibb"), weInitiated, ErrBadRequest},
		"transport-replace crossing ours, we initiated: tie-break": {
			withOurReplace, jingleOf(ActionTransportReplace, "a@s5b"), weInitiated, ErrTieBreak},
		"transport-replace crossing ours, peer initiated: it wins": {
			withOurReplace, jingleOf(ActionTransportReplace, "a@s5b"), weResponded, nil},
		"transport-accept of our transport-replace":                    {withOurReplace, jingleOf(ActionTransportAccept, "a@ibb"), weResponded, nil},
		"transport-accept without our transport-replace: out-of-order": {withTheirReplace, jingleOf(ActionTransportAccept, "a@ibb"), weResponded, ErrOutOfOrder},
		"transport-reject without our transport-replace: out-of-order": {active, jingleOf(ActionTransportReject, "a"), weResponded, ErrOutOfOrder},
		"transport-info is not checked here":                           {active, jingleOf(ActionTransportInfo, "x@ice"), weResponded, nil},
	}
	local := map[string]tc{
		"content-add of a new content":                                   {active, jingleOf(ActionContentAdd, "v"), weInitiated, nil},
		"content-add of an existing content":                             {active, jingleOf(ActionContentAdd, "a"), weInitiated, errContentExists},
		"content-add of one the peer proposed":                           {withTheirAdd, jingleOf(ActionContentAdd, "v"), weInitiated, errContentExists},
		"content-add twice":                                              {withOurAdd, jingleOf(ActionContentAdd, "v"), weInitiated, errContentExists},
		"content-accept of the peer's content-add":                       {withTheirAdd, jingleOf(ActionContentAccept, "v"), weInitiated, nil},
		"content-accept of our own content-add: out-of-order":            {withOurAdd, jingleOf(ActionContentAccept, "v"), weInitiated, ErrOutOfOrder},
		"content-reject without the peer's content-add: out-of-order":    {active, jingleOf(ActionContentReject, "v"), weInitiated, ErrOutOfOrder},
		"content-modify of an unknown content":                           {active, jingleOf(ActionContentModify, "x"), weInitiated, errUnknownContent},
		"transport-replace of an unknown content":                        {active, jingleOf(ActionTransportReplace, "x@ibb"), weInitiated, errUnknownContent},
		"transport-replace of a known content":                           {active, jingleOf(ActionTransportReplace, "a@ibb"), weInitiated, nil},
		"transport-accept of the peer's transport-replace":               {withTheirReplace, jingleOf(ActionTransportAccept, "a@ibb"), weInitiated, nil},
		"transport-accept of our own transport-replace: out-of-order":    {withOurReplace, jingleOf(ActionTransportAccept, "a@ibb"), weInitiated, ErrOutOfOrder},
		"transport-reject without the peer's transport-replace: invalid": {active, jingleOf(ActionTransportReject, "a"), weInitiated, ErrOutOfOrder},
	}
	run := func(t *testing.T, cases map[string]tc, check func(tc) error) {
		for name, c := range cases {
			t.Run(name, func(t *testing.T) {
				err := check(c)
				if (c.err == nil) != (err == nil) || (c.err != nil && !errors.Is(err, c.err)) {
					t.Fatalf("err %v, want %v", err, c.err)
				}
			})
		}
	}
	t.Run("remote", func(t *testing.T) {
		run(t, remote, func(c tc) error { return c.n.checkRemote(c.j, c.we) })
	})
	t.Run("local", func(t *testing.T) {
		run(t, local, func(c tc) error { return c.n.checkLocal(c.j) })
	})
}

// TestNegotiationRefused: a refused content-add or transport-replace of
// ours is no longer pending; nothing else changes.
func TestNegotiationRefused(t *testing.T) {
	from := negotiation{contents: tcontents("a@ice"), ourAdds: tadds("v@ice", "w@ice"), ourReplaces: treplaces("a@ibb")}
	cases := map[string]struct {
		j    *Jingle
		want string
	}{
		"content-add refused":       {jingleOf(ActionContentAdd, "v@ice"), "contents=a@ice ourAdds=w theirAdds= ourReplaces=a@ibb theirReplaces="},
		"transport-replace refused": {jingleOf(ActionTransportReplace, "a@ibb"), "contents=a@ice ourAdds=v,w theirAdds= ourReplaces= theirReplaces="},
		"session-info refused":      {jingleOf(ActionSessionInfo), "contents=a@ice ourAdds=v,w theirAdds= ourReplaces=a@ibb theirReplaces="},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			before := from.summary()
			if got := from.refused(c.j).summary(); got != c.want {
				t.Errorf("got  %s\nwant %s", got, c.want)
			}
			if from.summary() != before {
				t.Errorf("refused changed its input")
			}
		})
	}
}

// TestNegotiationVoid: XEP-0166 §7.2.4, a session with no content agreed
// or proposed is void.
func TestNegotiationVoid(t *testing.T) {
	cases := map[string]struct {
		n    negotiation
		void bool
	}{
		"nothing":                       {negotiation{}, true},
		"a content":                     {negotiation{contents: tcontents("a")}, false},
		"only our content-add":          {negotiation{ourAdds: tadds("v")}, false},
		"only the peer's content-add":   {negotiation{theirAdds: tadds("v")}, false},
		"only a transport-replace left": {negotiation{ourReplaces: treplaces("a@ibb")}, true},
	}
	for name, c := range cases {
		if got := c.n.void(); got != c.void {
			t.Errorf("%s: void %v, want %v", name, got, c.void)
		}
	}
}

func xmlName(space, local string) xml.Name { return xml.Name{Space: space, Local: local} }
