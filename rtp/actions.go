// The Jingle actions of a running call (XEP-0166 §7): HandleAction checks
// each action of the peer in the session loop, so malformed input gets its
// IQ error, and hands the work to the call's loop; Terminated ends the
// call; the limits on what a peer may make us hold.

package rtp

import (
	"context"
	"errors"
	"fmt"

	"github.com/jingled/jingled/ice"
	"github.com/jingled/jingled/jingle"
)

// validateOffer checks an offer (session-initiate or content-add)
// before anything is allocated: malformed descriptions or candidates are
// bad-request (the IQ error), no DTLS fingerprint is security-error and
// no payload type in common is failed-application (session-terminate,
// XEP-0167 §5).
func validateOffer(contents []jingle.Content) error {
	common := 0
	for i := range contents {
		ct := &contents[i]
		if ct.DescriptionNS() != NS {
			continue
		}
		kind, d, err := contentKind(ct)
		if err != nil {
			return jingle.BadRequest(fmt.Sprintf("content %q: %v", ct.Name, err))
		}
		t, err := validTransport(ct)
		if err != nil {
			return err
		}
		if t.Ufrag == "" || t.Pwd == "" {
			return jingle.BadRequest(fmt.Sprintf("content %q: ICE transport without ufrag/pwd", ct.Name))
		}
		if len(t.Fingerprints) == 0 {
			return &jingle.TerminateError{Reason: jingle.NewReason(jingle.ReasonSecurityError, "DTLS-SRTP fingerprint required (XEP-0320)")}
		}
		if len(commonCodecs(kind, d)) > 0 {
			common++
		}
	}
	if common == 0 {
		return &jingle.TerminateError{Reason: jingle.NewReason(jingle.ReasonFailedApplication, ErrNoCommonCodec.Error())}
	}
	return nil
}

// validTransport decodes a content's ICE-UDP transport: a malformed
// transport or candidate is bad-request (the IQ error).
func validTransport(ct *jingle.Content) (*ice.Transport, error) {
	t, _, err := ice.Decode(ct.Transport)
	if err != nil {
		return nil, jingle.BadRequest(fmt.Sprintf("content %q: %v", ct.Name, err))
	}
	for i := range t.Candidates {
		if err := t.Candidates[i].Validate(); err != nil {
			return nil, jingle.BadRequest(fmt.Sprintf("content %q: %v", ct.Name, err))
		}
	}
	return t, nil
}

// HandleAction implements jingle.SessionHandler. It validates in the
// session loop (so malformed input gets its IQ error) and hands the work
// to the call's loop.
func (c *Call) HandleAction(ctx context.Context, s *jingle.Session, j *jingle.Jingle) error {
	c.mu.Lock()
	if c.sess == nil {
		c.sess = s
	}
	c.mu.Unlock()
	// A peer must not grow our memory at will: its actions queue work on
	// the call's loop, and its candidates become pion remote candidates
	// with their own checks, so both are bounded.
	if c.q.len() > maxPeerBacklog {
		return &jingle.Error{Type: jingle.ErrorTypeWait, Condition: jingle.CondResourceConstraint, Text: "call busy: too many pending actions"}
	}
	if err := c.admitCandidates(j); err != nil {
		return err
	}
	switch j.Action {
	case jingle.ActionSessionAccept:
		for i := range j.Contents {
			ct := &j.Contents[i]
			if _, _, err := contentKind(ct); err != nil {
				return jingle.BadRequest(fmt.Sprintf("content %q: %v", ct.Name, err))
			}
			if _, err := validTransport(ct); err != nil {
				return err
			}
		}
		jj := *j
		c.q.post(func() { c.onSessionAccept(&jj) })
	case jingle.ActionTransportInfo:
		for i := range j.Contents {
			ct := &j.Contents[i]
			if _, err := validTransport(ct); err != nil {
				return err
			}
		}
		jj := *j
		c.q.post(func() { c.transportInfo(&jj) })
	case jingle.ActionSessionInfo:
		return c.sessionInfo(j)
	case jingle.ActionContentAdd:
		if err := validateOffer(j.Contents); err != nil {
			var te *jingle.TerminateError
			if errors.As(err, &te) {
				// Not fatal for the session: reject the content
				// (XEP-0167 §8 says content-reject + failed-application).
				jj := *j
				c.q.post(func() { c.rejectContents(&jj, te.Reason) })
				return nil
			}
			return err
		}
		jj := *j
		c.q.post(func() { c.onContentAdd(&jj) })
	case jingle.ActionContentAccept:
		jj := *j
		c.q.post(func() { c.onContentAccept(&jj) })
	case jingle.ActionContentReject, jingle.ActionContentRemove:
		jj := *j
		c.q.post(func() { c.onContentRemove(&jj) })
	case jingle.ActionContentModify:
		// A change of senders (XEP-0166 §6.7): we stop or resume what we
		// send on the content; what the peer sends needs no change on our
		// side, pion receives whatever comes.
		jj := *j
		c.q.post(func() { c.onContentModify(&jj) })
	case jingle.ActionDescriptionInfo, jingle.ActionSecurityInfo:
		// Informational; nothing in them changes the media we send.
	default:
		return &jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondFeatureNotImplemented,
			Text: fmt.Sprintf("%s is not supported in RTP sessions", j.Action)}
	}
	return nil
}

// Terminated implements jingle.SessionHandler.
func (c *Call) Terminated(_ *jingle.Session, r *jingle.Reason) {
	if r == nil {
		r = jingle.NewReason(jingle.ReasonSuccess, "")
	}
	if !c.q.post(func() { c.finish(r, false) }) {
		return
	}
}

// Limits on what a peer may make us hold (see HandleAction).
const (
	// maxRemoteCandidates caps the remote candidates of one call: real
	// peers send a few dozen (host, srflx and relay per interface and
	// family, per content, across restarts).
	maxRemoteCandidates = 256
	// maxPeerBacklog caps the tasks waiting on the call's loop before the
	// peer's actions are refused with resource-constraint.
	maxPeerBacklog = 1024
)
