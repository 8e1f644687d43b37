package nat

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/netnstest"
)

// toneLength is the length of the tones each side sends.
const toneLength = 2 * time.Second

// callCase is one NAT scenario: the topology and the ICE server kinds of
// each side (see iceURLs; A calls or sends, B answers or receives).
type callCase struct {
	name    string
	variant netnstest.Variant
	kinds   [2][]string
	// stream is the TURN stream transport side B must use ("tcp", "tls"),
	// counted on router B.
	stream string
}

var callCases = []callCase{
	{name: "symmetric", variant: netnstest.Symmetric, kinds: [2][]string{{"stun", "udp"}, {"stun", "udp"}}},
	{name: "cone", variant: netnstest.Cone, kinds: [2][]string{{"stun", "udp"}, {"stun", "udp"}}},
	{name: "udp-blocked-tcp", variant: netnstest.UDPBlocked, stream: "tcp",
		kinds: [2][]string{{"stun", "udp"}, {"stun", "udp", "tcp"}}},
	{name: "udp-blocked-tls", variant: netnstest.UDPBlocked, stream: "tls",
		kinds: [2][]string{{"stun", "udp"}, {"stun", "udp", "tls"}}},
}

// accountTURNStreams counts router B's traffic with the relay's TCP and
// TLS ports ("turn-tcp", "turn-tls").
func accountTURNStreams(ctx context.Context, t *testing.T, topo *netnstest.Topology) {
	t.Helper()
	for _, a := range []struct {
		name string
		port int
	}{{"tcp", turnPort}, {"tls", turnTLSPort}} {
		if err := topo.Account(ctx, 1, "turn-"+a.name, "tcp", a.port); err != nil {
			t.Fatal(err)
		}
	}
}

// TestCallAcrossNAT is issue 7's call acceptance: in each NAT variant a
// call between the two LANs, signalled through Prosody on the public
// host, carries a tone each way (checked by ffmpeg) over the path the
// variant allows, and the stats name that path.
func TestCallAcrossNAT(t *testing.T) {
	for _, c := range callCases {
		t.Run(c.name, func(t *testing.T) {
			topo := netnstest.New(t, c.variant)
			ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
			defer cancel()
			if c.stream != "" {
				accountTURNStreams(ctx, t, topo)
			}
			pub := startPublic(t, topo, []string{"alice", "bob"}, false)
			r := placeCall(t, topo, pub, c, time.Minute)
			if r.caller.Reason != "success" || r.callee.Reason != "success" {
				t.Fatalf("call ended with %s / %s", r.caller.Reason, r.callee.Reason)
			}
			checkTone(t, filepath.Join(r.dir, "bob.ogg"), 440)
			checkTone(t, filepath.Join(r.dir, "alice.ogg"), 880)
			checkPath(ctx, t, topo, pub, c, r)
		})
	}
}

// checkPath asserts the selected candidate pairs (and, where it tells
// more, the relay's and the routers' counters) against the variant.
func checkPath(ctx context.Context, t *testing.T, topo *netnstest.Topology, pub *publicHost, c callCase, r callResult) {
	t.Helper()
	a, b := r.caller.Stats.Pair, r.callee.Stats.Pair
	relayed := pub.relayedBytes(t)
	t.Logf("the relay carried %.0f bytes (both directions)", relayed)
	switch c.variant {
	case netnstest.Symmetric:
		// One relay suffices: TURN permissions are per IP address (RFC
		// 8656 section 9), so the other peer may reach the relay from any
		// port its symmetric NAT picks; what must never happen is a pair
		// without the relay.
		if !a.Relayed() || !b.Relayed() {
			t.Errorf("symmetric: pairs %s/%s and %s/%s, want a relay on each pair", a.LocalType, a.RemoteType, b.LocalType, b.RemoteType)
		}
		if relayed == 0 {
			t.Error("symmetric: the relay carried nothing")
		}
	case netnstest.Cone:
		if a.LocalType == "" || a.Relayed() || b.Relayed() {
			t.Errorf("cone: pairs %s/%s and %s/%s, want no relay", a.LocalType, a.RemoteType, b.LocalType, b.RemoteType)
		}
	case netnstest.UDPBlocked:
		if b.LocalType != "relay" || a.RemoteType != "relay" {
			t.Errorf("udp-blocked: callee pair %s/%s, caller %s/%s: want the callee on its relay", b.LocalType, b.RemoteType, a.LocalType, a.RemoteType)
		}
		// Media both ways went through router B inside the TURN stream:
		// at least the recorded tone's worth of bytes.
		_, n, err := topo.Counter(ctx, 1, "turn-"+c.stream)
		if err != nil {
			t.Fatal(err)
		}
		_, other, _ := topo.Counter(ctx, 1, map[string]string{"tcp": "turn-tls", "tls": "turn-tcp"}[c.stream])
		t.Logf("router B forwarded %d bytes to the relay over TURN-%s (%d over the other stream)", n, c.stream, other)
		if n < 20_000 {
			t.Errorf("only %d bytes went to the relay over TURN-%s", n, c.stream)
		}
		if relayed == 0 {
			t.Error("udp-blocked: the relay carried nothing")
		}
	}
}

// sine makes a tone of toneLength at freq in an Ogg/Opus file.
func sine(t *testing.T, freq float64) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("sine%g.ogg", freq))
	if err := mediatest.SineOpus(ctx, path, freq, toneLength); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkTone decodes a recording with ffmpeg and checks its dominant
// frequency and length.
func checkTone(t *testing.T, path string, freq float64) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := mediatest.AnalyzeAudio(ctx, path)
	if err != nil {
		t.Fatalf("analysing %s: %v", filepath.Base(path), err)
	}
	t.Logf("%s: %v, %.1f Hz, rms %.3f", filepath.Base(path), a.Duration, a.Frequency, a.RMS)
	if math.Abs(a.Frequency-freq) > 5 {
		t.Errorf("%s: dominant frequency %.1f Hz, want %g +/- 5", filepath.Base(path), a.Frequency, freq)
	}
	if d := math.Abs(float64(a.Duration - toneLength)); d > 0.1*float64(toneLength) {
		t.Errorf("%s: duration %v, want %v +/- 10%%", filepath.Base(path), a.Duration, toneLength)
	}
}
