package nat

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/netnstest"
)

// relayOnly is the topology of the relay-restart tests: symmetric NATs
// (no direct path) and both sides forced to relay candidates, learning
// the relay from Prosody (XEP-0215), so each ICE restart discovers the
// relay again with fresh time-limited credentials.
var relayOnly = callCase{
	name: "relay-only", variant: netnstest.Symmetric,
	discover: [2]bool{true, true}, flags: [2][]string{{"--relay"}, {"--relay"}},
}

// timedEvent is a --json event line with its time and text.
type timedEvent struct {
	Time   time.Time `json:"time"`
	Text   string    `json:"text"`
	Reason string    `json:"reason"`
}

// TestCallSurvivesRelayRestart is issue 17's acceptance on real programs:
// Prosody and jingled's relay on the public host, the jingle CLI in two
// LANs behind symmetric NATs, forced to relay. The relay is killed and
// started again mid-call (every allocation lost): the call recovers by
// an automatic ICE restart (new ufrag/pwd, a new allocation with newly
// discovered credentials) and the other side's tone is heard after the
// recovery; the recovery time is logged, not asserted. With the relay
// gone for good the call ends with connectivity-error after the bounded
// restarts, and the reason says so.
func TestCallSurvivesRelayRestart(t *testing.T) {
	t.Run("restarted", func(t *testing.T) {
		t.Parallel()
		topo := netnstest.New(t, netnstest.Symmetric)
		pub := startPublic(t, topo, []string{"alice", "bob"}, false)
		const callLength = 25 * time.Second
		dir := t.TempDir()
		a440, a880 := longTone(t, 440, callLength+10*time.Second), longTone(t, 880, callLength+10*time.Second)
		bob := cli(t, topo, pub, relayOnly, 1, "bob", "answer", "--count", "1", "--audio", a880, "--record", filepath.Join(dir, "bob"))
		var ready readyEvent
		bob.until(t, "ready", &ready, 60*time.Second)
		alice := cli(t, topo, pub, relayOnly, 0, "alice", "call", fullJID(pub, "bob"),
			"--audio", a440, "--record", filepath.Join(dir, "alice"), "--duration", callLength.String())
		var aliceMedia, bobMedia timedEvent
		alice.until(t, "media", &aliceMedia, 60*time.Second)
		bob.until(t, "media", &bobMedia, 30*time.Second)
		time.Sleep(2 * time.Second) // tone before the break

		killed := time.Now()
		pub.send(t, "restart-turn")
		var restarted string
		pub.next(t, &restarted, 30*time.Second)
		back := time.Now()
		t.Logf("relay killed and listening again after %v", back.Sub(killed).Round(time.Millisecond))

		var broken, aliceBack, bobBack timedEvent
		alice.until(t, "ice-broken", &broken, 30*time.Second)
		alice.until(t, "ice-restored", &aliceBack, 40*time.Second)
		bob.until(t, "ice-restored", &bobBack, 40*time.Second)
		t.Logf("caller: ICE broke %v after the kill; restored %v after the relay listened again, %v after it broke (%s); callee restored %v after the relay listened again",
			broken.Time.Sub(killed).Round(time.Millisecond), aliceBack.Time.Sub(back).Round(time.Millisecond),
			aliceBack.Time.Sub(broken.Time).Round(time.Millisecond), aliceBack.Text, bobBack.Time.Sub(back).Round(time.Millisecond))

		var caller, callee callSummary
		alice.until(t, "summary", &caller, callLength+30*time.Second)
		bob.until(t, "summary", &callee, 30*time.Second)
		t.Logf("caller: %s, %s", caller.Reason, caller.Stats)
		t.Logf("callee: %s, %s", callee.Reason, callee.Stats)
		for _, s := range []struct {
			name string
			sum  callSummary
		}{{"caller", caller}, {"callee", callee}} {
			if condition(s.sum.Reason) != "success" {
				t.Errorf("%s: the call ended with %q, want success", s.name, s.sum.Reason)
			}
			if s.sum.Stats.Pair.LocalType != "relay" {
				t.Errorf("%s: final pair %+v, want it on the relay", s.name, s.sum.Stats.Pair)
			}
		}
		// Media resumed before the call ended: each recording holds more
		// tone than could have arrived before the kill, and ends with it.
		checkToneAfter(t, filepath.Join(dir, "bob.ogg"), 440, killed.Sub(bobMedia.Time))
		checkToneAfter(t, filepath.Join(dir, "alice.ogg"), 880, killed.Sub(aliceMedia.Time))
	})

	t.Run("gone", func(t *testing.T) {
		t.Parallel()
		topo := netnstest.New(t, netnstest.Symmetric)
		pub := startPublic(t, topo, []string{"alice", "bob"}, false)
		dir := t.TempDir()
		a440, a880 := longTone(t, 440, 3*time.Minute), longTone(t, 880, 3*time.Minute)
		bob := cli(t, topo, pub, relayOnly, 1, "bob", "answer", "--count", "1", "--audio", a880)
		var ready readyEvent
		bob.until(t, "ready", &ready, 60*time.Second)
		alice := cli(t, topo, pub, relayOnly, 0, "alice", "call", fullJID(pub, "bob"),
			"--audio", a440, "--record", filepath.Join(dir, "alice"), "--duration", "3m")
		var media timedEvent
		alice.until(t, "media", &media, 60*time.Second)
		killed := time.Now()
		pub.send(t, "stop-turn")
		var stopped string
		pub.next(t, &stopped, 10*time.Second)

		var caller, callee callSummary
		alice.until(t, "summary", &caller, 2*time.Minute)
		t.Logf("the call ended %v after the relay was killed", time.Since(killed).Round(100*time.Millisecond))
		bob.until(t, "summary", &callee, 30*time.Second)
		t.Logf("caller: %s", caller.Reason)
		t.Logf("callee: %s", callee.Reason)
		restarts := strings.Count(alice.stdout.String(), `"event":"ice-restarting"`)
		if restarts != 3 {
			t.Errorf("the caller started %d ICE restarts, want the default bound, 3", restarts)
		}
		for _, s := range []struct {
			name string
			sum  callSummary
		}{{"caller", caller}, {"callee", callee}} {
			if condition(s.sum.Reason) != "connectivity-error" {
				t.Errorf("%s: the call ended with %q, want connectivity-error", s.name, s.sum.Reason)
			}
			if !strings.Contains(s.sum.Reason, "ICE restarts did not restore the path") || !strings.Contains(s.sum.Reason, "3 restart(s)") {
				t.Errorf("%s: reason %q does not say that 3 ICE restarts failed", s.name, s.sum.Reason)
			}
			if !strings.Contains(s.sum.Reason, "the TURN server is unreachable") {
				t.Errorf("%s: reason %q does not name the relay as the cause", s.name, s.sum.Reason)
			}
		}
	})
}

// longTone makes a tone of length d at freq in an Ogg/Opus file.
func longTone(t *testing.T, freq float64, d time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("tone%g.ogg", freq))
	if err := mediatest.SineOpus(ctx, path, freq, d); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkToneAfter checks that a recording holds at least 2 s more audio
// than it could have received before the break, and that its last second
// is the tone freq: media came back after the recovery.
func checkToneAfter(t *testing.T, path string, freq float64, before time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tail, err := mediatest.TailTone(ctx, path, freq, time.Second)
	if err != nil {
		t.Fatal(err)
	}
	after := tail.Total - before
	t.Logf("%s: %v recorded, at most %v of it before the break, so at least %v after; last second %.1f Hz at %.1f dBFS",
		filepath.Base(path), tail.Total.Round(10*time.Millisecond), before.Round(10*time.Millisecond), after.Round(10*time.Millisecond), tail.Frequency, tail.Level)
	if after < 2*time.Second {
		t.Errorf("%s: at least %v of audio after the break, want 2 s or more", filepath.Base(path), after)
	}
	if math.Abs(tail.Frequency-freq) > 5 || tail.Level < -30 {
		t.Errorf("%s: the last second is %.1f Hz at %.1f dBFS, want the %g Hz tone", filepath.Base(path), tail.Frequency, tail.Level, freq)
	}
}
