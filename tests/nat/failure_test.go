package nat

import (
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/netnstest"
)

// TestCallFailsWithoutRelay is issue 7's negative test: behind the
// symmetric NATs no direct path exists, so without a working relay the
// call must end with connectivity-error because ICE failed (within
// pion's ICE timeouts, not by hanging or a later call timeout), and the
// reason the CLI prints must carry the diagnostics an operator needs: the
// candidate types each side gathered, the pairs tried, and the cause,
// which tells a dead or firewalled relay from one refusing the
// credentials.
func TestCallFailsWithoutRelay(t *testing.T) {
	cases := []struct {
		name string
		// stop ends the relay before the call; else the peers use wrong
		// TURN passwords.
		stop  bool
		cause string
	}{
		{"relay-stopped", true, "no relay candidate: the TURN server is unreachable"},
		{"bad-credentials", false, "no relay candidate: the TURN server answered STUN but refused the allocation (credentials or quota)"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// The cases mostly wait for ICE's timeouts: run them side by
			// side, each in its own topology.
			t.Parallel()
			topo := netnstest.New(t, netnstest.Symmetric)
			pub := startPublic(t, topo, []string{"alice", "bob"}, false)
			passwords := turnUsers
			if tc.stop {
				pub.send(t, "stop-turn")
				var stopped string
				pub.next(t, &stopped, 10*time.Second)
			} else {
				passwords = map[string]string{"alice": "not-alice-pass", "bob": "not-bob-pass"}
			}
			// pion fails ICE 25 s after checks began (its failed
			// timeout); gathering towards the relay comes first.
			r := placeCallWith(t, topo, pub, callCases[0], 90*time.Second, passwords)
			for _, side := range []struct {
				name string
				s    callSummary
			}{{"caller", r.caller}, {"callee", r.callee}} {
				if got := condition(side.s.Reason); got != "connectivity-error" {
					t.Errorf("%s: call ended with %q, want connectivity-error", side.name, side.s.Reason)
				}
				if side.s.Stats.PacketsReceived != 0 {
					t.Errorf("%s received %d packets through a network with no path", side.name, side.s.Stats.PacketsReceived)
				}
			}
			// Whichever side's ICE failed first sent the reason; both
			// carry it.
			text := r.caller.Reason + " | " + r.callee.Reason
			if !strings.Contains(text, "ICE failed") {
				t.Fatalf("reasons %q do not say ICE failed", text)
			}
			for _, want := range []string{"gathered local host×", "pairs tried", tc.cause} {
				if !strings.Contains(text, want) {
					t.Errorf("reasons %q lack %q", text, want)
				}
			}
		})
	}
}
