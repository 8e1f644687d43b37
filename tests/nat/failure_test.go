package nat

import (
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/netnstest"
)

// iceFailTimeout is the ICE failed timeout of the negative test's peers
// (pion's default is 25 s; the call's no-answer timeouts are longer).
const iceFailTimeout = 8 * time.Second

// TestCallFailsWithoutRelay is issue 7's negative test: behind the
// symmetric NATs, with the relay stopped, no path exists. The call must
// end with connectivity-error because ICE failed (not hang, not end by
// some later timeout), and the reason must carry the diagnostics an
// operator needs: the candidate types each side gathered, the pairs
// tried, and the cause, here the unreachable TURN server.
func TestCallFailsWithoutRelay(t *testing.T) {
	topo := netnstest.New(t, netnstest.Symmetric)
	pub := startPublic(t, topo, []string{"alice", "bob"}, false)
	pub.send(t, "stop-turn")
	var stopped string
	pub.next(t, &stopped, 10*time.Second)
	c := callCases[0]
	r := placeCall(t, topo, pub, c, iceFailTimeout)
	for _, side := range []struct {
		name string
		ev   peerEvent
	}{{"caller", r.caller}, {"callee", r.callee}} {
		if side.ev.Reason != "connectivity-error" {
			t.Errorf("%s: call ended with %q (%s), want connectivity-error", side.name, side.ev.Reason, side.ev.Text)
		}
		t.Logf("%s: ended %v after it was accepted", side.name, side.ev.Ended.Sub(side.ev.Accepted).Round(100*time.Millisecond))
	}
	// Whichever side's ICE failed first sent the reason; both carry it.
	text := r.caller.Text + " | " + r.callee.Text
	if !strings.Contains(text, "ICE failed") {
		t.Fatalf("reason text %q does not say ICE failed", text)
	}
	for _, want := range []string{"gathered local host×", "pairs tried", "no relay candidate: the TURN server is unreachable"} {
		if !strings.Contains(text, want) {
			t.Errorf("reason text %q lacks %q: the call engine must end ICE failures with rtp's diagnostics (rtp/diagnostics.go: Call.watchICE in newPeer, Call.iceFailure in iceState)", text, want)
		}
	}
}
