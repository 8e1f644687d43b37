package jingle

import (
	"errors"
	"testing"
)

func TestNextState(t *testing.T) {
	const (
		initiator = true
		responder = false
	)
	type tc struct {
		cur  State
		a    Action
		by   bool
		want State
		err  error
	}
	cases := map[string]tc{
		// The arrows of XEP-0166 §6.1.
		"new --session-initiate--> pending":               {stateNew, ActionSessionInitiate, initiator, StatePending, nil},
		"pending --session-accept--> active":              {StatePending, ActionSessionAccept, responder, StateActive, nil},
		"pending --session-terminate--> ended":            {StatePending, ActionSessionTerminate, initiator, StateEnded, nil},
		"pending --session-terminate(responder)--> ended": {StatePending, ActionSessionTerminate, responder, StateEnded, nil},
		"active --session-terminate--> ended":             {StateActive, ActionSessionTerminate, responder, StateEnded, nil},
		"pending --session-info--> pending":               {StatePending, ActionSessionInfo, responder, StatePending, nil},
		"pending --transport-info--> pending":             {StatePending, ActionTransportInfo, initiator, StatePending, nil},
		"pending --content-add--> pending":                {StatePending, ActionContentAdd, responder, StatePending, nil},
		"pending --security-info--> pending":              {StatePending, ActionSecurityInfo, initiator, StatePending, nil},
		"active --content-add--> active":                  {StateActive, ActionContentAdd, initiator, StateActive, nil},
		"active --content-accept--> active":               {StateActive, ActionContentAccept, responder, StateActive, nil},
		"active --content-modify--> active":               {StateActive, ActionContentModify, responder, StateActive, nil},
		"active --content-reject--> active":               {StateActive, ActionContentReject, responder, StateActive, nil},
		"active --content-remove--> active":               {StateActive, ActionContentRemove, initiator, StateActive, nil},
		"active --description-info--> active":             {StateActive, ActionDescriptionInfo, initiator, StateActive, nil},
		"active --transport-replace--> active":            {StateActive, ActionTransportReplace, responder, StateActive, nil},
		"active --transport-accept--> active":             {StateActive, ActionTransportAccept, initiator, StateActive, nil},
		"active --transport-reject--> active":             {StateActive, ActionTransportReject, initiator, StateActive, nil},
		"active --session-info--> active":                 {StateActive, ActionSessionInfo, initiator, StateActive, nil},
		// Out of order.
		"new --session-initiate(responder)--> out-of-order":   {stateNew, ActionSessionInitiate, responder, stateNew, ErrOutOfOrder},
		"new --transport-info--> out-of-order":                {stateNew, ActionTransportInfo, initiator, stateNew, ErrOutOfOrder},
		"new --session-terminate--> out-of-order":             {stateNew, ActionSessionTerminate, initiator, stateNew, ErrOutOfOrder},
		"pending --session-initiate--> out-of-order":          {StatePending, ActionSessionInitiate, initiator, StatePending, ErrOutOfOrder},
		"pending --session-accept(initiator)--> out-of-order": {StatePending, ActionSessionAccept, initiator, StatePending, ErrOutOfOrder},
		"active --session-accept--> out-of-order":             {StateActive, ActionSessionAccept, responder, StateActive, ErrOutOfOrder},
		"active --session-initiate--> out-of-order":           {StateActive, ActionSessionInitiate, initiator, StateActive, ErrOutOfOrder},
		"ended --session-terminate--> out-of-order":           {StateEnded, ActionSessionTerminate, initiator, StateEnded, ErrOutOfOrder},
		"ended --transport-info--> out-of-order":              {StateEnded, ActionTransportInfo, responder, StateEnded, ErrOutOfOrder},
		// Not an action at all.
		"pending --bogus--> bad-request": {StatePending, Action("bogus"), initiator, StatePending, ErrBadRequest},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			got, err := next(c.cur, c.a, c.by)
			if got != c.want {
				t.Errorf("state %v, want %v", got, c.want)
			}
			if (c.err == nil) != (err == nil) || (c.err != nil && !errors.Is(err, c.err)) {
				t.Errorf("err %v, want %v", err, c.err)
			}
		})
	}
}

// TestNextStateTotal checks that every action in every state has an
// answer and that only session-terminate reaches ended.
func TestNextStateTotal(t *testing.T) {
	for _, cur := range []State{stateNew, StatePending, StateActive, StateEnded} {
		for _, a := range Actions {
			for _, by := range []bool{true, false} {
				got, err := next(cur, a, by)
				if err != nil && got != cur {
					t.Errorf("%v %s: state changed to %v on error", cur, a, got)
				}
				if got == StateEnded && cur != StateEnded && a != ActionSessionTerminate {
					t.Errorf("%v %s reached ended", cur, a)
				}
			}
		}
	}
}

func TestStateString(t *testing.T) {
	for s, want := range map[State]string{stateNew: "new", StatePending: "pending", StateActive: "active", StateEnded: "ended", State(9): "State(9)"} {
		if s.String() != want {
			t.Errorf("%d: %q, want %q", int(s), s.String(), want)
		}
	}
}
