package nat

import (
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/netnstest"
)

// TestCallFailsWithoutRelay is issue 7's negative test: behind the
// symmetric NATs, with the relay stopped, no path exists. The call must
// end with connectivity-error because ICE failed (within pion's ICE
// timeouts, not by hanging or a later call timeout), and the reason the
// CLI prints must carry the diagnostics an operator needs: the candidate
// types each side gathered, the pairs tried, and the cause, here the
// unreachable TURN server.
func TestCallFailsWithoutRelay(t *testing.T) {
	topo := netnstest.New(t, netnstest.Symmetric)
	pub := startPublic(t, topo, []string{"alice", "bob"}, false)
	pub.send(t, "stop-turn")
	var stopped string
	pub.next(t, &stopped, 10*time.Second)
	// pion fails ICE 25 s after checks began (its failed timeout);
	// gathering towards the dead relay comes first.
	r := placeCall(t, topo, pub, callCases[0], 90*time.Second)
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
	// Whichever side's ICE failed first sent the reason; both carry it.
	text := r.caller.Reason + " | " + r.callee.Reason
	if !strings.Contains(text, "ICE failed") {
		t.Fatalf("reasons %q do not say ICE failed", text)
	}
	for _, want := range []string{"gathered local host×", "pairs tried", "no relay candidate: the TURN server is unreachable"} {
		if !strings.Contains(text, want) {
			t.Errorf("reasons %q lack %q: the call engine must end ICE failures with rtp's diagnostics (rtp/diagnostics.go: Call.watchICE in newPeer, Call.iceFailure in iceState)", text, want)
		}
	}
}
