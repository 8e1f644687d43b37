package rtp

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/jingled/jingled/jingle"
)

// TestRestartPolicyStep walks the arrows of RestartPolicy.step (see its
// comment), named after them, with the defaults.
func TestRestartPolicyStep(t *testing.T) {
	p := RestartPolicy{}.withDefaults()
	const att = 10 * time.Second
	up := restartState{phase: phaseUp}
	cases := []struct {
		name      string
		s         restartState
		in        restartInput
		initiator bool
		want      restartStep
	}{
		{"up--broken-->restarting (initiator restarts at once)", up, inBroken, true,
			restartStep{next: restartState{phaseRestarting, 1, true}, restart: true, timer: att}},
		{"up--broken-->waiting (responder gives the initiator its grace)", up, inBroken, false,
			restartStep{next: restartState{phase: phaseWaiting}, timer: 2 * time.Second}},
		{"up--peer-restart-->restarting (counted, watched)", up, inPeerRestart, false,
			restartStep{next: restartState{phaseRestarting, 1, false}, timer: att}},
		{"up--connected-->up", up, inConnected, true,
			restartStep{next: up}},
		{"waiting--timer-->restarting (responder restarts itself)", restartState{phase: phaseWaiting}, inTimer, false,
			restartStep{next: restartState{phaseRestarting, 1, true}, restart: true, timer: att}},
		{"waiting--timer-->gave-up (attempts spent)", restartState{phaseWaiting, 3, false}, inTimer, true,
			restartStep{next: restartState{phase: phaseGaveUp, attempts: 3}, giveUp: true}},
		{"waiting--peer-restart-->restarting (the initiator's restart came in the grace)", restartState{phase: phaseWaiting}, inPeerRestart, false,
			restartStep{next: restartState{phaseRestarting, 1, false}, timer: att}},
		{"waiting--broken-->waiting (failed after disconnected)", restartState{phaseWaiting, 1, false}, inBroken, false,
			restartStep{next: restartState{phaseWaiting, 1, false}, timer: -1}},
		{"waiting--connected-->up (the path healed)", restartState{phaseWaiting, 2, false}, inConnected, false,
			restartStep{next: up}},
		{"restarting--timer-->waiting (initiator backs off 1 s)", restartState{phaseRestarting, 1, true}, inTimer, true,
			restartStep{next: restartState{phaseWaiting, 1, false}, timer: time.Second}},
		{"restarting--timer-->waiting (backoff doubles)", restartState{phaseRestarting, 2, true}, inTimer, true,
			restartStep{next: restartState{phaseWaiting, 2, false}, timer: 2 * time.Second}},
		{"restarting--timer-->waiting (responder adds its grace)", restartState{phaseRestarting, 1, false}, inTimer, false,
			restartStep{next: restartState{phaseWaiting, 1, false}, timer: 3 * time.Second}},
		{"restarting--timer-->gave-up (last attempt timed out)", restartState{phaseRestarting, 3, true}, inTimer, true,
			restartStep{next: restartState{phase: phaseGaveUp, attempts: 3}, giveUp: true}},
		{"restarting--timer-->gave-up (responder counts the peer's attempts)", restartState{phaseRestarting, 3, false}, inTimer, false,
			restartStep{next: restartState{phase: phaseGaveUp, attempts: 3}, giveUp: true}},
		{"restarting--peer-restart-->restarting (glare with ours: same attempt)", restartState{phaseRestarting, 1, true}, inPeerRestart, true,
			restartStep{next: restartState{phaseRestarting, 1, true}, timer: att}},
		{"restarting--peer-restart-->restarting (the peer's next attempt)", restartState{phaseRestarting, 1, false}, inPeerRestart, false,
			restartStep{next: restartState{phaseRestarting, 2, false}, timer: att}},
		{"restarting--broken-->restarting (checking again)", restartState{phaseRestarting, 1, true}, inBroken, true,
			restartStep{next: restartState{phaseRestarting, 1, true}, timer: -1}},
		{"restarting--connected-->up (recovered, attempts reset)", restartState{phaseRestarting, 2, true}, inConnected, true,
			restartStep{next: up}},
		{"gave-up--connected-->gave-up (absorbing)", restartState{phase: phaseGaveUp, attempts: 3}, inConnected, true,
			restartStep{next: restartState{phase: phaseGaveUp, attempts: 3}}},
		{"gave-up--timer-->gave-up (absorbing)", restartState{phase: phaseGaveUp, attempts: 3}, inTimer, false,
			restartStep{next: restartState{phase: phaseGaveUp, attempts: 3}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := p.step(tc.s, tc.in, tc.initiator); got != tc.want {
				t.Errorf("step(%+v, %s, initiator=%v) = %+v, want %+v", tc.s, tc.in, tc.initiator, got, tc.want)
			}
		})
	}
}

// TestRestartPolicyBounded drives the policy as a path that never comes
// back would: whatever the side, it gives up after Attempts restarts
// and never restarts more.
func TestRestartPolicyBounded(t *testing.T) {
	for _, initiator := range []bool{true, false} {
		for attempts := 1; attempts <= 4; attempts++ {
			p := RestartPolicy{Attempts: attempts}.withDefaults()
			s, ours, steps := restartState{}, 0, 0
			st := p.step(s, inBroken, initiator)
			for !st.giveUp {
				if st.restart {
					ours++
				}
				if steps++; steps > 100 {
					t.Fatalf("initiator=%v attempts=%d: no end after 100 steps", initiator, attempts)
				}
				st = p.step(st.next, inTimer, initiator)
			}
			if ours != attempts {
				t.Errorf("initiator=%v: %d restarts before giving up, want %d", initiator, ours, attempts)
			}
		}
	}
}

func TestPeerGone(t *testing.T) {
	for _, tc := range []struct {
		err  error
		gone bool
	}{
		{fmt.Errorf("rtp: ICE restart transport-info: %w", &jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondServiceUnavailable}), true},
		{&jingle.Error{Type: jingle.ErrorTypeWait, Condition: jingle.CondRecipientUnavailable}, true},
		{&jingle.Error{Type: jingle.ErrorTypeCancel, Condition: jingle.CondRemoteServerNotFound}, true},
		{jingle.ErrUnknownSession, true},
		{jingle.ErrTieBreak, false},
		{jingle.ErrOutOfOrder, false},
		{&jingle.Error{Type: jingle.ErrorTypeWait, Condition: jingle.CondRemoteServerTimeout}, false},
		{context.DeadlineExceeded, false},
		{errors.New("rtp: no ICE credentials"), false},
	} {
		if got := peerGone(tc.err); got != tc.gone {
			t.Errorf("peerGone(%v) = %v, want %v", tc.err, got, tc.gone)
		}
	}
}
