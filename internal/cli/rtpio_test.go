package cli

import (
	"strings"
	"testing"
)

// TestRTPFlagsRefuse: what --rtp-out/--rtp-in refuse before logging in,
// with the reason in the message.
func TestRTPFlagsRefuse(t *testing.T) {
	for _, tc := range []struct {
		name string
		args []string
		want string
	}{
		{"remote out", []string{"call", "bob@example.org", "--rtp-out", "192.0.2.7:5004"}, "not a loopback address: plain RTP is neither encrypted"},
		{"remote in", []string{"answer", "--rtp-in", "[2001:db8::1]:5004"}, "--rtp-allow-remote"},
		{"in and audio", []string{"call", "bob@example.org", "--rtp-in", "127.0.0.1:5004", "--audio", "a.ogg"}, "pick one"},
		{"sdp alone", []string{"call", "bob@example.org", "--rtp-sdp", "x.sdp"}, "pass --rtp-out"},
		{"not host:port", []string{"call", "bob@example.org", "--rtp-out", "127.0.0.1"}, "--rtp-out"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("JINGLE_JID", "")
			_, stderr, code := run(t, tc.args...)
			if code != ExitUsage || !strings.Contains(stderr, tc.want) {
				t.Fatalf("exit %d, stderr %q; want %d and %q", code, stderr, ExitUsage, tc.want)
			}
		})
	}
}
