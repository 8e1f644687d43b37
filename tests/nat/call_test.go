package nat

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"testing"
	"time"

	"github.com/jingled/jingled/ice"
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
	// discover: the side asks Prosody for the relay (XEP-0215) instead
	// of using kinds.
	discover [2]bool
	// flags are more CLI flags per side.
	flags [2][]string
	// stream is how side B must reach its relay ("tcp", "tls"): the
	// relay protocol of its selected pair, the relay's stream connection
	// counter, and router B's count of its traffic with the relay's port
	// 443 all say it.
	stream string
}

var callCases = []callCase{
	{name: "symmetric", variant: netnstest.Symmetric, kinds: [2][]string{{"stun", "udp"}, {"stun", "udp"}}},
	{name: "cone", variant: netnstest.Cone, kinds: [2][]string{{"stun", "udp"}, {"stun", "udp"}}},
	// Only 443 gets out of LAN B. Told the relay's URLs, forced to relay
	// (--relay), B reaches it with plain TURN over TCP on the TLS port.
	{name: "udp-blocked-tcp", variant: netnstest.UDPBlocked, stream: "tcp",
		kinds: [2][]string{{"stun", "udp"}, {"stun", "udp", "tcp", "tcp443"}}, flags: [2][]string{nil, {"--relay"}}},
	// Issue 15's acceptance: B asks Prosody, which announces the relay as
	// jingled --xmpp-config printed it (UDP and TCP on 3478, TLS on 443);
	// ICE alone finds that only TURN over TLS on 443 gets through.
	{name: "udp-blocked-tls", variant: netnstest.UDPBlocked, stream: "tls",
		kinds: [2][]string{{"stun", "udp"}, nil}, discover: [2]bool{false, true}},
	// Both LANs let only 443 out: both discover, and the media goes from
	// one TLS-reached allocation to the other.
	{name: "only-443-tls", variant: netnstest.Only443, stream: "tls", discover: [2]bool{true, true}},
}

// accountTURNStreams counts, on the router of every side that lets only
// 443 out, its traffic with the relay's TCP ports: 443 ("turn-443", TLS
// and plain TCP) and turnPort ("turn-3478", which the router rejects).
func accountTURNStreams(ctx context.Context, t *testing.T, topo *netnstest.Topology) {
	t.Helper()
	for i, side := range topo.Sides {
		if !side.UDPBlocked {
			continue
		}
		for _, port := range []int{turnTLSPort, turnPort} {
			if err := topo.Account(ctx, i, fmt.Sprintf("turn-%d", port), "tcp", port); err != nil {
				t.Fatal(err)
			}
		}
	}
}

// checkBlocked asserts, for every side that lets only 443 out, that its
// selected pair (pairs[side]) is on its own relay reached over
// TURN-c.stream on 443, carrying at least atLeast bytes (checkStream).
func checkBlocked(ctx context.Context, t *testing.T, topo *netnstest.Topology, pub *publicHost, c callCase, pairs [2]ice.Pair, atLeast uint64) {
	t.Helper()
	for i, side := range topo.Sides {
		if !side.UDPBlocked {
			continue
		}
		if pairs[i].LocalType != "relay" || pairs[1-i].RemoteType != "relay" {
			t.Errorf("side %c: pair %s/%s (other side %s/%s): want it on its relay", 'A'+i,
				pairs[i].LocalType, pairs[i].RemoteType, pairs[1-i].LocalType, pairs[1-i].RemoteType)
		}
		checkStream(ctx, t, topo, pub, c, i, pairs[i], atLeast)
	}
}

// checkStream asserts that side's relay path of a call or transfer
// whose selected pair is p went over TURN-c.stream on 443, carrying at
// least atLeast bytes: the pair's relay protocol, the relay's count of
// stream connections by what they carried, and the side's router's
// counters.
func checkStream(ctx context.Context, t *testing.T, topo *netnstest.Topology, pub *publicHost, c callCase, side int, p ice.Pair, atLeast uint64) {
	t.Helper()
	if p.RelayProtocol != c.stream {
		t.Errorf("side %c's selected pair %+v reaches its relay over %q, want %q", 'A'+side, p, p.RelayProtocol, c.stream)
	}
	m := pub.metrics(t)
	streams := m[fmt.Sprintf(`jingled_turn_stream_connections_total{transport=%q}`, c.stream)]
	t.Logf("the relay accepted %.0f TURN-%s connections", streams, c.stream)
	if streams < 1 {
		t.Errorf("the relay accepted no TURN-%s connection", c.stream)
	}
	_, n, err := topo.Counter(ctx, side, fmt.Sprintf("turn-%d", turnTLSPort))
	if err != nil {
		t.Fatal(err)
	}
	_, blocked, _ := topo.Counter(ctx, side, fmt.Sprintf("turn-%d", turnPort))
	t.Logf("router %c exchanged %d bytes with the relay's port %d (%d with port %d, rejected)", 'A'+side, n, turnTLSPort, blocked, turnPort)
	if n < atLeast {
		t.Errorf("only %d bytes crossed router %c to and from the relay's port %d, want at least %d", n, 'A'+side, turnTLSPort, atLeast)
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
	case netnstest.UDPBlocked, netnstest.Only443:
		// Media both ways went through each blocked side's router inside
		// the TURN stream on 443: at least the recorded tone's worth.
		checkBlocked(ctx, t, topo, pub, c, [2]ice.Pair{a, b}, 20_000)
		if relayed == 0 {
			t.Errorf("%s: the relay carried nothing", c.variant)
		}
	}
}

// sine makes a tone of toneLength at freq in an Ogg/Opus file.
func sine(t *testing.T, freq float64) string {
	t.Helper()
	return longTone(t, freq, toneLength)
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
