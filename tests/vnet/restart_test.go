package vnet

import (
	"context"
	"fmt"
	"math"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/jingle/jingletest"
	"github.com/jingled/jingled/rtp"
	"github.com/jingled/jingled/turnserver"
)

// Automatic ICE restart (issue 17) on the symmetric-NAT world, where the
// only path is the relay: the relay restarts mid-call (every allocation
// lost, and it hands out new credentials, as a relay whose XEP-0215
// secret rotated would) and the call must recover by restarting ICE with
// the credentials its ICEServerSource hands out then; or the relay goes
// for good and the call must end with connectivity-error after the
// bounded attempts.

// rotatedUsers are the restarted relay's credentials.
var rotatedUsers = map[string]string{"alice": "alice-rotated", "bob": "bob-rotated"}

// credentials is what an XEP-0215 refresher would hold: the current
// relay passwords, swapped when the relay rotates them, and how often
// calls asked.
type credentials struct {
	users atomic.Pointer[map[string]string]
	asked atomic.Int64
}

func newCredentials() *credentials {
	c := &credentials{}
	c.users.Store(&users)
	return c
}

// source is user's PeerOptions.ICEServerSource.
func (c *credentials) source(user string) func() []webrtc.ICEServer {
	return func() []webrtc.ICEServer {
		c.asked.Add(1)
		return []webrtc.ICEServer{{
			URLs:     []string{fmt.Sprintf("turn:%s:%d?transport=udp", relayIP, turnPort)},
			Username: user, Credential: (*c.users.Load())[user],
		}}
	}
}

// restartRelay replaces the world's relay by a new one on the same
// address and port, knowing only the given users: the old allocations
// are gone.
func (w *world) restartRelay(t *testing.T, users map[string]string) {
	t.Helper()
	if err := w.relay.Close(); err != nil {
		t.Fatalf("stopping the relay: %v", err)
	}
	relay, err := turnserver.New(turnserver.Config{
		Address: relayIP, RelayBindAddress: relayIP, Port: turnPort, Realm: realm, Users: users,
		AllowPeers: []string{wanCIDR},
	}, turnserver.WithNet(w.pub), turnserver.WithLogger(testLogger(t).With("component", "turn")))
	if err != nil {
		t.Fatalf("restarting the relay: %v", err)
	}
	w.relay = relay
}

// eventLog records a call's events (with the packets received at
// EventPathRestored) until the call's event channel closes.
type eventLog struct {
	mu     sync.Mutex
	events []loggedEvent
	done   chan struct{}
}

type loggedEvent struct {
	rtp.Event
	received uint64
}

func logEvents(t *testing.T, c *rtp.Call) *eventLog {
	l := &eventLog{done: make(chan struct{})}
	go func() {
		defer close(l.done)
		for ev := range c.Events() {
			var received uint64
			if ev.Type == rtp.EventPathRestored {
				// Only once connected: pion's GetSelectedCandidatePair
				// races its own transport start (seen under -race).
				received = c.Stats().PacketsReceived
			}
			l.mu.Lock()
			l.events = append(l.events, loggedEvent{ev, received})
			l.mu.Unlock()
		}
	}()
	t.Cleanup(func() { <-l.done })
	return l
}

// first returns the first event of type typ, if any.
func (l *eventLog) first(typ rtp.EventType) (loggedEvent, bool) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for _, e := range l.events {
		if e.Type == typ {
			return e, true
		}
	}
	return loggedEvent{}, false
}

// waitFor waits until an event of type typ was logged.
func (l *eventLog) waitFor(t *testing.T, typ rtp.EventType, timeout time.Duration) loggedEvent {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if e, ok := l.first(typ); ok {
			return e
		}
		select {
		case <-l.done:
			if e, ok := l.first(typ); ok {
				return e
			}
			t.Fatalf("the call ended without %s: %s", typ, l)
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("no %s within %v: %s", typ, timeout, l)
	return loggedEvent{}
}

func (l *eventLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	var b strings.Builder
	for _, e := range l.events {
		fmt.Fprintf(&b, "\n  %s %s %s %s %s", e.Time.Format("15:04:05.000"), e.Type, e.Content, e.Reason, e.Text)
	}
	return b.String()
}

// longSine is a tone of length d.
func longSine(t *testing.T, freq float64, d time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), fmt.Sprintf("sine%g.ogg", freq))
	if err := mediatest.SineOpus(ctx, path, freq, d); err != nil {
		t.Fatal(err)
	}
	return path
}

// restartCall is a call across the symmetric world with both sides'
// ICE servers from creds.
type restartCall struct {
	w              *world
	caller, callee *rtp.Call
	ce, ee         *eventLog
	dir            string
}

// bundling says which side leaves BUNDLE out.
type bundling int

const (
	// bundled: one transport for the call.
	bundled bundling = iota
	// callerSplits: the caller offers one transport per content.
	callerSplits
	// calleeSplits: the caller offers BUNDLE and the callee answers
	// with one transport per content, as Dino does; the caller splits
	// its bundle (rtp/unbundle.go).
	calleeSplits
)

func (b bundling) String() string {
	return [...]string{"bundle", "no-bundle", "answer-splits-bundle"}[b]
}

func placeRestartCall(t *testing.T, creds *credentials, policy rtp.RestartPolicy, b bundling, d time.Duration) *restartCall {
	t.Helper()
	rc := &restartCall{w: buildWorld(t, symmetric), dir: t.TempDir()}
	r := jingletest.NewRouter()
	t.Cleanup(r.Close)
	peer := func(i int, user string) rtp.PeerOptions {
		return rtp.PeerOptions{ICEServerSource: creds.source(user), RelayOnly: true, Restart: policy, Logger: testLogger(t), Configure: rc.w.configure(i)}
	}
	a440, a880 := longSine(t, 440, d+5*time.Second), longSine(t, 880, d+5*time.Second)
	var video string
	if b == calleeSplits {
		// A bundle is split only when it carries more than one content.
		video = smallVideo(t, d+5*time.Second)
	}
	in := make(chan *rtp.Call, 1)
	bobApp := rtp.NewApplication(rtp.ApplicationOptions{
		Peer:       peer(1, "bob"),
		AutoAnswer: &rtp.MediaOptions{Audio: a880, Record: filepath.Join(rc.dir, "bob")},
		OnIncoming: func(c *rtp.Call) { in <- c },
		NoBundle:   b == calleeSplits,
	})
	alice := manager(t, r, aliceJID, jingle.WithTransport(rtp.ICEUDP{}))
	manager(t, r, bobJID, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var err error
	rc.caller, err = rtp.Dial(ctx, alice, bobJID, rtp.CallOptions{
		MediaOptions: rtp.MediaOptions{Audio: a440, Video: video, Record: filepath.Join(rc.dir, "alice"), Duration: d},
		Peer:         peer(0, "alice"), NoBundle: b == callerSplits,
	})
	if err != nil {
		t.Fatal(err)
	}
	rc.ce = logEvents(t, rc.caller)
	t.Cleanup(func() {
		hctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = rc.caller.Hangup(hctx)
	})
	select {
	case rc.callee = <-in:
	case <-ctx.Done():
		t.Fatal("the call did not arrive")
	}
	rc.ee = logEvents(t, rc.callee)
	return rc
}

func waitEnd(t *testing.T, c *rtp.Call, timeout time.Duration) *jingle.Reason {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	r, err := c.Wait(ctx)
	if err != nil {
		t.Fatalf("the call did not end: %v", err)
	}
	return r
}

// TestICERestartAfterRelayRestartVNet: the relay restarts mid-call with
// rotated credentials; each side's ICE goes disconnected, the initiator
// restarts ICE (new ufrag/pwd, new allocation with the new credentials),
// media flows again and the tone is heard after the recovery. With BUNDLE
// (one transport) and without (one per content), offered so or split by
// the answer (as Dino answers a BUNDLE offer). The recovery times are
// logged, not asserted.
func TestICERestartAfterRelayRestartVNet(t *testing.T) {
	const callLength = 20 * time.Second
	for _, b := range []bundling{bundled, callerSplits, calleeSplits} {
		t.Run(b.String(), func(t *testing.T) {
			creds := newCredentials()
			rc := placeRestartCall(t, creds, rtp.RestartPolicy{}, b, callLength)
			rc.ce.waitFor(t, rtp.EventMedia, 20*time.Second)
			rc.ee.waitFor(t, rtp.EventMedia, 20*time.Second)
			time.Sleep(4 * time.Second) // some tone before the break
			asked := creds.asked.Load()
			broke := time.Now()
			rc.w.restartRelay(t, rotatedUsers)
			creds.users.Store(&rotatedUsers)
			back := time.Now()

			restored := rc.ce.waitFor(t, rtp.EventPathRestored, callLength)
			broken, _ := rc.ce.first(rtp.EventPathBroken)
			t.Logf("relay restarted in %v; caller's ICE broke %v after, restored %v after the relay came back (%s)",
				back.Sub(broke).Round(time.Millisecond), broken.Time.Sub(back).Round(time.Millisecond),
				restored.Time.Sub(back).Round(time.Millisecond), restored.Text)
			if _, ok := rc.ce.first(rtp.EventRestarting); !ok {
				t.Errorf("the caller (initiator) did not restart ICE itself: %s", rc.ce)
			}
			if _, ok := rc.ee.first(rtp.EventRestarting); ok {
				t.Logf("the callee restarted too (the initiator's restart did not come within its grace): %s", rc.ee)
			}
			if n := creds.asked.Load(); n <= asked {
				t.Errorf("the restart did not ask ICEServerSource for fresh credentials (%d calls before, %d after)", asked, n)
			}
			if r := waitEnd(t, rc.caller, time.Minute); r.Condition != jingle.ReasonSuccess {
				t.Fatalf("caller: the call ended with %s: %s", r, rc.ce)
			}
			if r := waitEnd(t, rc.callee, 10*time.Second); r.Condition != jingle.ReasonSuccess {
				t.Errorf("callee: the call ended with %s", r)
			}
			// Media resumed before the call ended: packets after the
			// restoration (50 a second), and the tone in what was
			// recorded last.
			after := rc.caller.Stats().PacketsReceived - restored.received
			t.Logf("caller received %d packets after the path was restored; final pair %+v", after, rc.caller.Stats().Pair)
			if after < 100 {
				t.Errorf("only %d packets after the restoration: media did not resume", after)
			}
			if !rc.caller.Stats().Pair.Relayed() {
				t.Errorf("the recovered pair %+v is not relayed", rc.caller.Stats().Pair)
			}
			checkToneTail(t, filepath.Join(rc.dir, "alice.ogg"), 880, time.Second)
			checkToneTail(t, filepath.Join(rc.dir, "bob.ogg"), 440, time.Second)
			// One recording across the restart: all the call but the
			// outage, the audio from before the break and after the
			// recovery in the same file (a recording that started over
			// would lack the 4 s before the break).
			for _, who := range []string{"alice", "bob"} {
				checkRecordedLength(t, filepath.Join(rc.dir, who+".ogg"), callLength-restored.Time.Sub(broke)-1500*time.Millisecond)
			}
		})
	}
}

// smallVideo is a VP8 test picture of length d, small and slow: a
// second content for the call, not a video test.
func smallVideo(t *testing.T, d time.Duration) string {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	path := filepath.Join(t.TempDir(), "video.ivf")
	const fps = 5
	if err := mediatest.TestsrcVP8(ctx, path, int(d.Seconds())*fps, fps, 160, 120); err != nil {
		t.Fatal(err)
	}
	return path
}

// checkRecordedLength checks that the recording at path decodes to at
// least min of audio.
func checkRecordedLength(t *testing.T, path string, min time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	a, err := mediatest.AnalyzeAudio(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: %v of audio", filepath.Base(path), a.Duration.Round(10*time.Millisecond))
	if a.Duration < min {
		t.Errorf("%s holds %v of audio, want at least %v: the recording lost what came before or after the restart", filepath.Base(path), a.Duration.Round(10*time.Millisecond), min)
	}
}

// checkToneTail checks that the last d of a recording is the tone freq.
func checkToneTail(t *testing.T, path string, freq float64, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	tail, err := mediatest.TailTone(ctx, path, freq, d)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("%s: last %v: %.1f Hz at %.1f dBFS", filepath.Base(path), d, tail.Frequency, tail.Level)
	if math.Abs(tail.Frequency-freq) > 5 || tail.Level < -30 {
		t.Errorf("%s: the last %v is %.1f Hz at %.1f dBFS, want the %g Hz tone", filepath.Base(path), d, tail.Frequency, tail.Level, freq)
	}
}

// TestICERestartGivesUpVNet: the relay goes for good mid-call; the
// restarts cannot bring the path back and the call ends with
// connectivity-error after the bounded attempts, with the reason's text
// saying so, on both sides.
func TestICERestartGivesUpVNet(t *testing.T) {
	creds := newCredentials()
	policy := rtp.RestartPolicy{Attempts: 2, AttemptTimeout: 3 * time.Second}
	rc := placeRestartCall(t, creds, policy, bundled, time.Minute)
	rc.ce.waitFor(t, rtp.EventMedia, 20*time.Second)
	broke := time.Now()
	if err := rc.w.relay.Close(); err != nil {
		t.Fatal(err)
	}
	r := waitEnd(t, rc.caller, time.Minute)
	t.Logf("the call ended %v after the relay went: %s", time.Since(broke).Round(100*time.Millisecond), r)
	rr := waitEnd(t, rc.callee, 10*time.Second)
	for _, side := range []struct {
		name string
		r    *jingle.Reason
		l    *eventLog
	}{{"caller", r, rc.ce}, {"callee", rr, rc.ee}} {
		if side.r.Condition != jingle.ReasonConnectivityError {
			t.Errorf("%s: ended with %s, want connectivity-error", side.name, side.r)
		}
		if !strings.Contains(side.r.Text, "ICE restarts did not restore the path") || !strings.Contains(side.r.Text, "2 restart(s)") {
			t.Errorf("%s: reason text %q does not say the 2 restarts failed", side.name, side.r.Text)
		}
		if !strings.Contains(side.r.Text, "the TURN server is unreachable") {
			t.Errorf("%s: reason text %q does not name the relay as the cause", side.name, side.r.Text)
		}
	}
	var restarts int
	rc.ce.mu.Lock()
	for _, e := range rc.ce.events {
		if e.Type == rtp.EventRestarting {
			restarts++
		}
	}
	rc.ce.mu.Unlock()
	if restarts != 2 {
		t.Errorf("the caller started %d restarts, want 2: %s", restarts, rc.ce)
	}
}
