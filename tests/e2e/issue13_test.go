package e2e

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/proctest"
)

// envOwnNetns names the test a re-executed test binary runs inside its
// own network namespace (see inOwnNetns).
const envOwnNetns = "JINGLED_E2E_OWN_NETNS"

// inOwnNetns runs the calling test again in a fresh network namespace
// made by unshare(1), after the shell commands setup (run there as root),
// and reports whether the caller is that inner run and should do the
// test. The outer run only waits for the inner one and relays its
// result. The inner run starts its own Prosody (TestMain) and builds the
// binaries again, so nothing it does touches the namespace of the other
// tests running in parallel.
func inOwnNetns(t *testing.T, setup string) bool {
	t.Helper()
	needBinaries(t)
	if os.Getenv(envOwnNetns) == t.Name() {
		return true
	}
	if os.Geteuid() != 0 {
		t.Skip("needs root for a network namespace of its own")
	}
	if _, err := exec.LookPath("unshare"); err != nil {
		t.Skip("needs unshare(1) (util-linux)")
	}
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	script := "ip link set lo up && " + setup + ` && exec "$@"`
	cmd := exec.CommandContext(ctx, "unshare", "--net", "--", "sh", "-c", script, "sh", self,
		"-test.run", "^"+t.Name()+"$", "-test.v", "-test.count=1")
	cmd.Env = append(os.Environ(), envOwnNetns+"="+t.Name())
	out, err := cmd.CombinedOutput()
	t.Logf("inside its own network namespace (%s):\n%s", setup, out)
	if err != nil {
		t.Fatalf("the test failed in its namespace: %v", err)
	}
	if !bytes.Contains(out, []byte("--- PASS: "+t.Name())) {
		t.Fatal("the test did not pass in its namespace")
	}
	return false
}

// startCLI starts a long-running jingle subcommand (answer, receive) as
// account acc with password file pw and waits for its ready event.
func (e *env) startCLI(t *testing.T, ctx context.Context, jid, pw string, extraEnv []string, args ...string) (*exec.Cmd, *bufio.Scanner, *proctest.SyncBuffer) {
	t.Helper()
	args = append(args, "--jid", jid, "--password-file", pw, "--server", e.srv.Addr, "--ca", e.srv.CAFile, "--json")
	cmd := exec.CommandContext(ctx, bin("jingle"), args...)
	cmd.Env = append(os.Environ(), extraEnv...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr := &proctest.SyncBuffer{}
	cmd.Stderr = stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	sc := bufio.NewScanner(stdout)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	if !sc.Scan() || !strings.Contains(sc.Text(), `"event":"ready"`) {
		t.Fatalf("jingle %s not ready: %q %s", args[0], sc.Text(), stderr.String())
	}
	return cmd, sc, stderr
}

// TestReceiveLeavesCallsToOtherDevices (issue 13): with `jingle receive`
// and `jingle answer` online on one account, a call from the CLI (rung
// through JMI at the bare JID) is answered by the answer resource; the
// receive resource, which takes no calls, advertises no JMI and sends
// nothing (it used to reject with <busy/>, which ends the call on every
// device).
func TestReceiveLeavesCallsToOtherDevices(t *testing.T) {
	e := newEnv(t)
	bob := e.srv.NewAccount(t, "bob")
	bpw := writeFile(t, e.dir, "bob.pw", bob.Password)
	// Contacts: the caller sees both of bob's resources and their
	// features, and rings only the one that advertises JMI.
	if err := e.srv.Befriend(e.alice, bob); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	_, _, rxLog := e.startCLI(t, ctx, bob.JID, bpw, []string{"JINGLE_DEBUG=1"},
		"receive", "--resource", "rx", "--dir", filepath.Join(e.dir, "inbox"), "--loopback", "--no-discover")
	ans, ansOut, ansErr := e.startCLI(t, ctx, bob.JID, bpw, nil,
		"answer", "--resource", "ans", "--echo", "--count", "1", "--loopback", "--no-discover")
	tone := filepath.Join(e.dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 660, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	lines, stderr, code := jingle(t, ctx, e.cli("call", bob.JID, "--audio", tone, "--duration", "2s", "--loopback", "--no-discover", "--json")...)
	if code != 0 {
		t.Fatalf("call: exit %d: %s\n%v\nanswer: %s\nreceive: %s", code, stderr, lines, ansErr.String(), rxLog.String())
	}
	var proposed, rang, proceeded bool
	for _, l := range lines {
		switch l["event"] {
		case "proposed":
			devs, _ := l["jmi_devices"].([]any)
			proposed = len(devs) == 1 && devs[0] == bob.JID+"/ans"
		case "ringing":
			rang = rang || l["sid"] != nil
		case "proceed":
			proceeded = l["peer"] == bob.JID+"/ans"
		}
	}
	if !proposed || !rang || !proceeded {
		t.Fatalf("want a JMI proposal to %s/ans alone, ringing, answered by it: %v", bob.JID, lines)
	}
	for ansOut.Scan() {
	}
	if err := ans.Wait(); err != nil {
		t.Fatalf("answer: %v %s", err, ansErr.String())
	}
	// The receive resource saw the proposal and left it alone.
	deadline := time.Now().Add(5 * time.Second)
	for !strings.Contains(rxLog.String(), "leaving a proposal to other devices") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	log := rxLog.String()
	if !strings.Contains(log, "leaving a proposal to other devices") {
		t.Errorf("the receive resource did not log leaving the proposal alone:\n%s", log)
	}
	for _, bad := range []string{"<reject", "rejecting", "<received xmlns=\"urn:xmpp:receipts\""} {
		if strings.Contains(log, bad) {
			t.Errorf("the receive resource logged %q:\n%s", bad, log)
		}
	}
}

// TestCallWithoutAddressFailsFast (issue 13): on a host whose only
// address is lo's, `jingle call` without --loopback gathers nothing; it
// says so at once, naming --loopback, with exit code 7, instead of a bare
// timeout 30 s later.
func TestCallWithoutAddressFailsFast(t *testing.T) {
	if !inOwnNetns(t, "true") {
		return
	}
	e := newEnv(t)
	bob := e.srv.NewAccount(t, "bob")
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	start := time.Now()
	_, stderr, code := jingle(t, ctx, e.cli("call", bob.JID, "--no-discover", "--json")...)
	took := time.Since(start)
	t.Logf("exit %d after %v: %s", code, took, stderr)
	if code != 7 {
		t.Errorf("exit code %d, want 7", code)
	}
	if took > 5*time.Second {
		t.Errorf("took %v, want under 5 s", took)
	}
	for _, want := range []string{"no usable network address", "only loopback", "--loopback"} {
		if !strings.Contains(stderr, want) {
			t.Errorf("message %q does not say %q", stderr, want)
		}
	}
}

// TestLoopbackOnDummyInterface (issue 13): 127.0.0.2 on another
// interface (a veth) is offered in --loopback mode (it used to gather lo's
// 127.0.0.1 only), and without --loopback the call still fails at once
// (exit 7): both addresses are loopback ones.
func TestLoopbackOnDummyInterface(t *testing.T) {
	// A veth pair, as dummy interfaces need a kernel module containers
	// often lack; no IPv6 link-local address on it (addrgenmode none), so
	// its only address is 127.0.0.2.
	if !inOwnNetns(t, "ip link add d0 type veth peer name d1 && ip link set d0 addrgenmode none && ip link set d1 addrgenmode none && "+
		"ip addr add 127.0.0.2/32 dev d0 && ip link set d1 up && ip link set d0 up") {
		return
	}
	e := newEnv(t)
	bob := e.srv.NewAccount(t, "bob")
	bpw := writeFile(t, e.dir, "bob.pw", bob.Password)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	if _, stderr, code := jingle(t, ctx, e.cli("call", bob.JID, "--no-discover")...); code != 7 || !strings.Contains(stderr, "--loopback") {
		t.Errorf("without --loopback: exit %d: %s", code, stderr)
	}
	e.startCLI(t, ctx, bob.JID, bpw, nil, "answer", "--echo", "--count", "1", "--loopback", "--no-discover")
	tone := filepath.Join(e.dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 440, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	lines, stderr, code := jingle(t, ctx, e.cli("call", bob.JID, "--audio", tone, "--duration", "2s", "--loopback", "--no-discover", "--json")...)
	if code != 0 {
		t.Fatalf("call: exit %d: %s\n%v", code, stderr, lines)
	}
	var cands []string
	for _, l := range lines {
		if l["event"] == "local-candidates" {
			for _, c := range l["candidates"].([]any) {
				cands = append(cands, fmt.Sprint(c))
			}
		}
	}
	t.Logf("offered: %q", cands)
	found := false
	for _, c := range cands {
		found = found || strings.Contains(c, " 127.0.0.2 ")
	}
	if !found {
		t.Fatalf("127.0.0.2 (on d0) was not offered: %q", cands)
	}
}
