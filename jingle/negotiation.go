package jingle

import (
	"encoding/xml"
	"fmt"
	"maps"
	"slices"
)

// negotiation is a session's content negotiation (XEP-0166 §7.2) as a
// value: the contents both sides agreed on, and the content-adds and
// transport-replaces each side proposed that the other has not answered
// yet. The functions over it are pure (they return a new value and never
// change the one they were given), so the session loop keeps the value
// an action started from and puts it back when the handler refuses the
// action, and the rules are table-tested without a session
// (negotiation_test.go), like next in state.go.
//
// Elements are treated as immutable once sent or received, so copies
// share their Inner bytes.
type negotiation struct {
	// contents are those of session-initiate, replaced by those of
	// session-accept, then with content-accept, content-remove,
	// content-modify and transport-accept applied as diffs.
	contents []Content
	// ourAdds and theirAdds are content-adds waiting for the other
	// side's content-accept or content-reject, by content name.
	ourAdds, theirAdds map[string]Content
	// ourReplaces and theirReplaces are transport-replaces waiting for
	// transport-accept or transport-reject, by content name.
	ourReplaces, theirReplaces map[string]Element
}

// has reports whether name is an agreed content.
func (n negotiation) has(name string) bool {
	return slices.ContainsFunc(n.contents, func(c Content) bool { return c.Name == name })
}

// void reports whether nothing is left to negotiate about: no content
// agreed or proposed. XEP-0166 §7.2.4: such a session ends.
func (n negotiation) void() bool {
	return len(n.contents) == 0 && len(n.ourAdds) == 0 && len(n.theirAdds) == 0
}

// checkRemote checks the peer's content and transport negotiation
// against ours, including the tie-break of XEP-0166 §7.2.16 "existing
// session": the initiator's action wins, so when both sides sent
// content-add or transport-replace (for the same content) the initiator
// (weInitiated) answers the responder's with conflict + tie-break.
func (n negotiation) checkRemote(j *Jingle, weInitiated bool) error {
	switch j.Action {
	case ActionContentAdd:
		for i := range j.Contents {
			name := j.Contents[i].Name
			if n.has(name) || hasKey(n.theirAdds, name) {
				return withText(ErrBadRequest, "content %q exists", name)
			}
		}
		if len(n.ourAdds) > 0 && weInitiated {
			return withText(ErrTieBreak, "content-add crossed ours")
		}
	case ActionContentAccept, ActionContentReject:
		for i := range j.Contents {
			if !hasKey(n.ourAdds, j.Contents[i].Name) {
				return withText(ErrOutOfOrder, "no content-add pending for %q", j.Contents[i].Name)
			}
		}
	case ActionContentModify:
		for i := range j.Contents {
			if !n.has(j.Contents[i].Name) {
				return withText(ErrBadRequest, "unknown content %q", j.Contents[i].Name)
			}
		}
	case ActionTransportReplace:
		for i := range j.Contents {
			name := j.Contents[i].Name
			if !n.has(name) {
				return withText(ErrBadRequest, "unknown content %q", name)
			}
			if hasKey(n.ourReplaces, name) && weInitiated {
				return withText(ErrTieBreak, "transport-replace for %q crossed ours", name)
			}
		}
	case ActionTransportAccept, ActionTransportReject:
		for i := range j.Contents {
			if !hasKey(n.ourReplaces, j.Contents[i].Name) {
				return withText(ErrOutOfOrder, "no transport-replace pending for %q", j.Contents[i].Name)
			}
		}
	}
	return nil
}

// checkLocal checks our own negotiation actions before they go out.
func (n negotiation) checkLocal(j *Jingle) error {
	switch j.Action {
	case ActionContentAdd:
		for i := range j.Contents {
			name := j.Contents[i].Name
			if n.has(name) || hasKey(n.ourAdds, name) || hasKey(n.theirAdds, name) {
				return fmt.Errorf("content %q: %w", name, errContentExists)
			}
		}
	case ActionContentAccept, ActionContentReject:
		for i := range j.Contents {
			if !hasKey(n.theirAdds, j.Contents[i].Name) {
				return withText(ErrOutOfOrder, "no content-add of the peer pending for %q", j.Contents[i].Name)
			}
		}
	case ActionContentModify, ActionTransportReplace:
		for i := range j.Contents {
			if !n.has(j.Contents[i].Name) {
				return fmt.Errorf("content %q: %w", j.Contents[i].Name, errUnknownContent)
			}
		}
	case ActionTransportAccept, ActionTransportReject:
		for i := range j.Contents {
			if !hasKey(n.theirReplaces, j.Contents[i].Name) {
				return withText(ErrOutOfOrder, "no transport-replace of the peer pending for %q", j.Contents[i].Name)
			}
		}
	}
	return nil
}

// apply returns the negotiation after an accepted action, ours (local)
// or the peer's. A content-add or transport-replace waits in its author's
// map until the other side accepts or rejects it. Actions that carry no
// negotiation (session-info, transport-info, ...) return n itself.
func (n negotiation) apply(j *Jingle, local bool) negotiation {
	switch j.Action {
	case ActionSessionInitiate:
		n.contents = cloneContents(j.Contents)
	case ActionSessionAccept:
		n.contents = acceptContents(n.contents, j.Contents)
	case ActionContentAdd:
		adds := side(local, true, &n.ourAdds, &n.theirAdds)
		for _, c := range j.Contents {
			adds[c.Name] = cloneContent(c)
		}
	case ActionContentAccept:
		adds := side(local, false, &n.ourAdds, &n.theirAdds)
		n.contents = slices.Clone(n.contents)
		for _, c := range j.Contents {
			base := adds[c.Name]
			delete(adds, c.Name)
			n.contents = putContent(n.contents, mergeContent(base, c))
		}
	case ActionContentReject:
		drop(side(local, false, &n.ourAdds, &n.theirAdds), j.Contents)
	case ActionContentRemove:
		n = n.remove(j.Contents)
	case ActionContentModify:
		n.contents = slices.Clone(n.contents)
		for _, c := range j.Contents {
			for i := range n.contents {
				if n.contents[i].Name == c.Name {
					n.contents[i] = mergeContent(n.contents[i], c)
				}
			}
		}
	case ActionTransportReplace:
		replaces := side(local, true, &n.ourReplaces, &n.theirReplaces)
		for _, c := range j.Contents {
			replaces[c.Name] = cloneElement(*c.Transport)
		}
	case ActionTransportAccept:
		replaces := side(local, false, &n.ourReplaces, &n.theirReplaces)
		n.contents = slices.Clone(n.contents)
		for _, c := range j.Contents {
			t := replaces[c.Name]
			delete(replaces, c.Name)
			if c.Transport != nil {
				t = *c.Transport
			}
			for i := range n.contents {
				if n.contents[i].Name == c.Name {
					e := cloneElement(t)
					n.contents[i].Transport = &e
				}
			}
		}
	case ActionTransportReject:
		drop(side(local, false, &n.ourReplaces, &n.theirReplaces), j.Contents)
	}
	return n
}

// refused returns the negotiation after the peer answered our action j
// with an error: our content-add or transport-replace is no longer
// pending. (A refused session-initiate ends the session instead.)
func (n negotiation) refused(j *Jingle) negotiation {
	switch j.Action {
	case ActionContentAdd:
		drop(side(true, true, &n.ourAdds, &n.theirAdds), j.Contents)
	case ActionTransportReplace:
		drop(side(true, true, &n.ourReplaces, &n.theirReplaces), j.Contents)
	}
	return n
}

// side returns its own copy of one side's pending map, stored back in
// place, for an apply to change. For an action by us (local) or by the
// peer, author picks the map of whoever sent the action (a content-add or
// transport-replace is recorded there), !author that of the other side
// (whose proposal an accept or reject settles).
func side[V any](local, author bool, ours, theirs *map[string]V) map[string]V {
	p := theirs
	if local == author {
		p = ours
	}
	*p = cloneMap(*p)
	return *p
}

// remove drops the contents cs, agreed or pending.
func (n negotiation) remove(cs []Content) negotiation {
	n.ourAdds, n.theirAdds = cloneMap(n.ourAdds), cloneMap(n.theirAdds)
	n.ourReplaces, n.theirReplaces = cloneMap(n.ourReplaces), cloneMap(n.theirReplaces)
	drop(n.ourAdds, cs)
	drop(n.theirAdds, cs)
	drop(n.ourReplaces, cs)
	drop(n.theirReplaces, cs)
	n.contents = slices.DeleteFunc(slices.Clone(n.contents), func(c Content) bool {
		return slices.ContainsFunc(cs, func(r Content) bool { return r.Name == c.Name })
	})
	return n
}

// putContent replaces the content named like c in cs, or appends c.
func putContent(cs []Content, c Content) []Content {
	for i := range cs {
		if cs[i].Name == c.Name {
			cs[i] = c
			return cs
		}
	}
	return append(cs, c)
}

// drop deletes the entries of the contents cs from m.
func drop[V any](m map[string]V, cs []Content) {
	for _, c := range cs {
		delete(m, c.Name)
	}
}

func hasKey[V any](m map[string]V, k string) bool {
	_, ok := m[k]
	return ok
}

// cloneMap copies m into a map that can be written (also for a nil m).
func cloneMap[V any](m map[string]V) map[string]V {
	c := make(map[string]V, len(m))
	maps.Copy(c, m)
	return c
}

func cloneElement(e Element) Element {
	e.Attr = append([]xml.Attr(nil), e.Attr...)
	return e
}

func cloneContent(c Content) Content {
	for _, p := range []**Element{&c.Description, &c.Transport, &c.Security} {
		if *p != nil {
			e := cloneElement(**p)
			*p = &e
		}
	}
	c.Extra = append([]Element(nil), c.Extra...)
	return c
}

func cloneContents(cs []Content) []Content {
	if cs == nil {
		return nil
	}
	out := make([]Content, len(cs))
	for i := range cs {
		out[i] = cloneContent(cs[i])
	}
	return out
}

// mergeContent applies upd over base: what upd carries replaces base's.
func mergeContent(base, upd Content) Content {
	upd = cloneContent(upd)
	r := base
	r.Name = upd.Name
	if r.Creator == "" {
		r.Creator = upd.Creator
	}
	if upd.Senders != "" {
		r.Senders = upd.Senders
	}
	if upd.Disposition != "" {
		r.Disposition = upd.Disposition
	}
	if upd.Description != nil {
		r.Description = upd.Description
	}
	if upd.Transport != nil {
		r.Transport = upd.Transport
	}
	if upd.Security != nil {
		r.Security = upd.Security
	}
	if len(upd.Extra) > 0 {
		r.Extra = upd.Extra
	}
	return r
}

// acceptContents is the content set after session-accept: the accepted
// contents, merged over the offered ones; offered contents left out of
// the accept are dropped.
func acceptContents(offered, accepted []Content) []Content {
	out := make([]Content, 0, len(accepted))
	for _, a := range accepted {
		var base Content
		for _, o := range offered {
			if o.Name == a.Name {
				base = o
				break
			}
		}
		out = append(out, mergeContent(base, a))
	}
	return out
}
