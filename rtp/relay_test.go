package rtp

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/pion/stun/v4"
	"github.com/pion/webrtc/v4"

	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/jingle"
	"github.com/jingled/jingled/turnserver"
)

// startTURN runs our relay on loopback. Loopback peers are denied by
// default (they are how relays get abused); the test allows them.
func startTURN(t *testing.T) []webrtc.ICEServer {
	t.Helper()
	s, err := turnserver.New(turnserver.Config{
		Address:          "127.0.0.1",
		RelayBindAddress: "127.0.0.1",
		Realm:            "jingled.test",
		Users:            map[string]string{"caller": "relay-pass"},
		UDPSockets:       1,
		DisableTCP:       true,
		AllowPeers:       []string{"127.0.0.0/8"},
	}, turnserver.WithEphemeralPorts(), turnserver.WithLogger(testLogger(t)))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = s.Close() })
	return []webrtc.ICEServer{{
		URLs:       []string{fmt.Sprintf("turn:%s?transport=udp", s.Addrs().UDP)},
		Username:   "caller",
		Credential: "relay-pass",
	}}
}

// TestCallThroughRelay is the audio acceptance test with ICE policy
// relay on both sides: media can only flow through the TURN server, and
// the stats must show a relay pair.
func TestCallThroughRelay(t *testing.T) {
	testRelayCall(t, startTURN(t), false)
}

// TestCallThroughRelayDirectAudio is the same call with both ends set
// for the direct audio paths (as jingled's accounts are): a relayed pair
// never goes direct, so pion carries the audio, and the direct send must
// not look the selected pair up for each packet to find that out (it
// did: 50 lookups a second per stream, each about 20 µs).
func TestCallThroughRelayDirectAudio(t *testing.T) {
	testRelayCall(t, startTURN(t), true)
}

func testRelayCall(t *testing.T, servers []webrtc.ICEServer, direct bool) {
	const d = 2 * time.Second
	dir := t.TempDir()
	a440, a880 := sine(t, 440, d), sine(t, 880, d)
	relay := func() PeerOptions {
		o := loopback(t)
		o.ICEServers, o.RelayOnly = servers, true
		o.DirectAudio = direct
		return o
	}
	l := newLink()
	bobOpts := ApplicationOptions{Peer: relay(), AutoAnswer: &MediaOptions{Audio: a880, Record: filepath.Join(dir, "bob")}}
	in := incomingCalls(&bobOpts)
	bobApp := NewApplication(bobOpts)
	aliceMgr := l.manager(t, alice, jingle.WithTransport(ICEUDP{}))
	l.manager(t, bob, bobApp.Options()...)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	call, err := Dial(ctx, aliceMgr, bob, CallOptions{
		MediaOptions: MediaOptions{Audio: a440, Record: filepath.Join(dir, "alice"), Duration: d + 1500*time.Millisecond},
		Peer:         relay(),
	})
	if err != nil {
		t.Fatal(err)
	}
	bobCall := <-in
	var live Stats
	for e := range call.Events() {
		if e.Type == EventMedia {
			live = call.Stats()
		}
	}
	if r := call.Reason(); r.Condition != jingle.ReasonSuccess {
		t.Fatalf("call ended with %s", r)
	}
	waitEnd(t, bobCall, 10*time.Second)
	st := call.Stats()
	t.Logf("caller stats: %s (pair %+v)", st, st.Pair)
	if !st.Pair.Relayed() || st.Pair.LocalType != "relay" {
		t.Errorf("selected pair %+v, want a relay pair", st.Pair)
	}
	if !live.Pair.Relayed() {
		t.Errorf("live stats pair %+v, want relay", live.Pair)
	}
	if bs := bobCall.Stats(); bs.Pair.LocalType != "relay" {
		t.Errorf("callee pair %+v, want relay", bs.Pair)
	}
	checkTone(t, filepath.Join(dir, "bob.ogg"), 440, d)
	checkTone(t, filepath.Join(dir, "alice.ogg"), 880, d)
	if direct {
		checkRelayedTx(t, "caller", call)
		checkRelayedTx(t, "callee", bobCall)
	}
}

// checkRelayedTx fails unless c's direct send, on a relayed call, sent
// nothing itself and looked the selected pair up once ICE selected it
// and every few seconds after (the call lasts 3.5 s; per packet it
// would be about 175 times).
func checkRelayedTx(t *testing.T, who string, c *Call) {
	t.Helper()
	for _, p := range c.peers {
		tx := p.stats.directTx
		if tx == nil {
			t.Fatalf("%s: no direct send with DirectAudio", who)
		}
		tx.mu.Lock()
		lookups, sent := tx.lookups, uint64(0)
		for _, s := range tx.streams {
			sent += s.packets
		}
		tx.mu.Unlock()
		t.Logf("%s: %d selected-pair lookups, %d packets sent directly", who, lookups, sent)
		if sent != 0 {
			t.Errorf("%s: %d packets sent directly on a relayed pair", who, sent)
		}
		if lookups == 0 || lookups > 10 {
			t.Errorf("%s: %d selected-pair lookups, want 1-10", who, lookups)
		}
	}
}

// startCoturn runs Debian's coturn on loopback (a third-party TURN server,
// to show calls relay through any standard server, not only ours).
func startCoturn(t *testing.T) []webrtc.ICEServer {
	t.Helper()
	bin, err := exec.LookPath("turnserver")
	if err != nil {
		t.Fatal("coturn's turnserver not found (Debian package coturn)")
	}
	l, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.LocalAddr().(*net.UDPAddr).Port
	l.Close()
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	// UDP only (--no-tcp): the port was free for UDP, and a TCP listener
	// on the same number found it taken once in CI.
	cmd := exec.CommandContext(ctx, bin, "-n", "--no-cli", "--no-tls", "--no-dtls", "--no-tcp",
		"--listening-ip=127.0.0.1", "--relay-ip=127.0.0.1", fmt.Sprintf("--listening-port=%d", port),
		"--min-port=50000", "--max-port=50999", "--allow-loopback-peers",
		"--lt-cred-mech", "--user=caller:relay-pass", "--realm=jingled.test",
		"--pidfile="+filepath.Join(dir, "pid"), "--log-file=stdout", "--simple-log")
	// Written by exec's copier while the readiness loop may read it.
	out := &proctest.SyncBuffer{}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		cancel()
		t.Fatal(err)
	}
	t.Cleanup(func() {
		cancel()
		_ = cmd.Wait()
		if t.Failed() {
			t.Logf("coturn log:\n%s", out.String())
		}
	})
	// Ready when it answers a STUN binding request.
	ready := false
	for deadline := time.Now().Add(10 * time.Second); time.Now().Before(deadline) && !ready; time.Sleep(100 * time.Millisecond) {
		ready = stunAnswers(fmt.Sprintf("127.0.0.1:%d", port))
	}
	if !ready {
		t.Fatalf("coturn did not start:\n%s", out.String())
	}
	return []webrtc.ICEServer{{
		URLs:       []string{fmt.Sprintf("turn:127.0.0.1:%d?transport=udp", port)},
		Username:   "caller",
		Credential: "relay-pass",
	}}
}

func stunAnswers(addr string) bool {
	c, err := net.Dial("udp", addr)
	if err != nil {
		return false
	}
	defer c.Close()
	m := stun.MustBuild(stun.TransactionID, stun.BindingRequest)
	if _, err := c.Write(m.Raw); err != nil {
		return false
	}
	_ = c.SetReadDeadline(time.Now().Add(200 * time.Millisecond))
	buf := make([]byte, 1500)
	n, err := c.Read(buf)
	return err == nil && stun.IsMessage(buf[:n])
}

// TestCallThroughCoturn is the relay-only audio test through coturn.
func TestCallThroughCoturn(t *testing.T) {
	if testing.Short() {
		t.Skip("starts coturn")
	}
	testRelayCall(t, startCoturn(t), false)
}
