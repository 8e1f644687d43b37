// Package e2e runs the built jingled and jingle binaries against a real
// Prosody: what a self-hoster and a script author actually run.
package e2e

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/pion/turn/v5"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/internal/prosodytest"
	"github.com/jingled/jingled/turnserver"
)

var binDir string

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// make test-unit: no Prosody, nothing to run the binaries against.
		os.Exit(m.Run())
	}
	dir, err := os.MkdirTemp("", "jingled-e2e-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", dir+"/", "github.com/jingled/jingled/cmd/jingled", "github.com/jingled/jingled/cmd/jingle")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binaries:", err)
		os.Exit(1)
	}
	code := prosodytest.Run(m)
	os.RemoveAll(dir)
	os.Exit(code)
}

func bin(name string) string { return filepath.Join(binDir, name) }

// needBinaries skips under -short (make test-unit), where TestMain builds
// nothing: these tests are about the binaries.
func needBinaries(t *testing.T) {
	t.Helper()
	if binDir == "" {
		t.Skip("e2e tests run the built binaries; not in -short")
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// startDaemon runs jingled with config and waits until /healthz is 200.
func startDaemon(t *testing.T, dir, config string, httpPort int) *proctest.Jingled {
	t.Helper()
	return proctest.StartJingled(t, bin("jingled"), writeFile(t, dir, "jingled.toml", config), httpPort)
}

// env holds one Prosody account set and the daemon config around it.
type env struct {
	srv   *prosodytest.Server
	dir   string
	alice prosodytest.Account
	pw    string // alice's password file
}

func newEnv(t *testing.T) *env {
	t.Helper()
	needBinaries(t)
	srv := prosodytest.Shared(t)
	e := &env{srv: srv, dir: t.TempDir(), alice: srv.NewAccount(t, "alice")}
	e.pw = writeFile(t, e.dir, "alice.pw", e.alice.Password)
	return e
}

func (e *env) account(t *testing.T, role, extra string) (prosodytest.Account, string) {
	a := e.srv.NewAccount(t, role)
	pw := writeFile(t, e.dir, a.Local+".pw", a.Password)
	return a, fmt.Sprintf(`
[[account]]
jid = %q
password_file = %q
server = %q
ca_file = %q
role = %q
allow = ["*"]
%s
`, a.JID, pw, e.srv.Addr, e.srv.CAFile, role, extra)
}

func (e *env) cli(args ...string) []string {
	return append(args, "--jid", e.alice.JID, "--password-file", e.pw, "--server", e.srv.Addr, "--ca", e.srv.CAFile)
}

// jingle runs the CLI and returns stdout's JSON lines and the exit code.
func jingle(t *testing.T, ctx context.Context, args ...string) (lines []map[string]any, stderr string, code int) {
	t.Helper()
	out, stderr, code, err := proctest.RunCLI(ctx, bin("jingle"), args...)
	if err != nil && code < 0 {
		t.Fatalf("jingle %v: %v", args, err)
	}
	return proctest.JSONLines(out, true), stderr, code
}

// TestEchoCallThroughBinaries: jingled's echo account sends back the tone
// that `jingle call` sends; the recording's dominant frequency proves it.
// The metrics endpoint shows the call counters move.
func TestEchoCallThroughBinaries(t *testing.T) {
	e := newEnv(t)
	echo, acct := e.account(t, "echo", `max_duration = "60s"`)
	httpPort := proctest.FreePort(t)
	d := startDaemon(t, e.dir, fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"\n[ice]\nloopback_only = true\ndiscover = false\n%s", httpPort, acct), httpPort)
	before := d.Scrape(t)
	if v := proctest.MetricValue(before, "jingled_xmpp_connected", `role="echo"`); v != 1 {
		t.Fatalf("jingled_xmpp_connected{role=echo} = %v before the call", v)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tone := filepath.Join(e.dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 440, 4*time.Second); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(e.dir, "back")

	// Scrape while the call runs: an active session must show up, and the
	// RTP counters must grow between two scrapes of the same call.
	var during string
	var grew bool
	var scrapeErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		deadline := time.Now().Add(20 * time.Second)
		first := 0.0
		for time.Now().Before(deadline) {
			s, err := d.Metrics()
			if err != nil {
				scrapeErr = err
				return
			}
			if proctest.MetricValue(s, "jingled_sessions", `state="active"`) < 1 {
				if during != "" {
					return // the call is over
				}
				time.Sleep(100 * time.Millisecond)
				continue
			}
			during = s
			in := proctest.MetricValue(s, "jingled_call_rtp_packets_total", `direction="in"`)
			if first <= 0 {
				first = in // the baseline: the first scrape that saw packets
			} else if in > first {
				grew = true
				return
			}
			time.Sleep(300 * time.Millisecond)
		}
	}()
	lines, stderr, code := jingle(t, ctx, e.cli("call", echo.JID, "--audio", tone, "--record", back, "--duration", "4s", "--loopback", "--no-discover", "--json")...)
	wg.Wait()
	if code != 0 {
		t.Fatalf("jingle call exit %d: %s\n%v", code, stderr, lines)
	}
	sum := proctest.Last(lines)
	if sum["reason"] != "success" {
		t.Fatalf("call ended with %v", sum["reason"])
	}
	a, err := mediatest.AnalyzeAudio(ctx, back+".ogg")
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a.Frequency-440) > 5 {
		t.Fatalf("echoed tone at %.1f Hz, want 440 ± 5", a.Frequency)
	}
	if a.Duration < 2*time.Second {
		t.Fatalf("echoed audio only %v long", a.Duration)
	}
	if scrapeErr != nil {
		t.Fatalf("scraping during the call: %v", scrapeErr)
	}
	if during == "" {
		t.Fatal("the metrics never showed an active session during the call")
	}
	if !grew {
		t.Fatal("jingled_call_rtp_packets_total{direction=in} did not grow between two scrapes during the call")
	}
	// Counters are updated when the call ends on the daemon's side.
	var after string
	for i := 0; i < 50; i++ {
		after = d.Scrape(t)
		if proctest.MetricValue(after, "jingled_calls_total", `role="echo"`, `outcome="success"`) >= 1 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if got := proctest.MetricValue(after, "jingled_calls_total", `role="echo"`, `outcome="success"`); got < 1 {
		t.Fatalf("jingled_calls_total{role=echo,outcome=success} = %v after the call", got)
	}
	if in := proctest.MetricValue(after, "jingled_call_rtp_packets_total", `direction="in"`); in <= proctest.MetricValue(before, "jingled_call_rtp_packets_total", `direction="in"`) {
		t.Fatalf("jingled_call_rtp_packets_total{direction=in} did not move: %v", in)
	}
	if strings.Contains(after, e.alice.JID) {
		t.Fatal("a peer JID appears in the metrics")
	}
}

// TestProbeListsFeatures: `jingle probe` reports what the echo account
// registered.
func TestProbeListsFeatures(t *testing.T) {
	e := newEnv(t)
	echo, acct := e.account(t, "echo", "")
	httpPort := proctest.FreePort(t)
	startDaemon(t, e.dir, fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"\n[ice]\nloopback_only = true\ndiscover = false\n%s", httpPort, acct), httpPort)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	lines, stderr, code := jingle(t, ctx, e.cli("probe", echo.JID+"/jingled", "--json")...)
	if code != 0 {
		t.Fatalf("probe exit %d: %s", code, stderr)
	}
	r := proctest.Last(lines)
	features := fmt.Sprint(r["features"])
	for _, f := range []string{"urn:xmpp:jingle:1", "urn:xmpp:jingle-message:0", "urn:xmpp:jingle:apps:rtp:1", "urn:xmpp:jingle:apps:rtp:audio", "urn:xmpp:jingle:transports:ice-udp:1", "urn:xmpp:jingle:apps:dtls:0"} {
		if !strings.Contains(features, f) {
			t.Errorf("probe lacks %s: %s", f, features)
		}
	}
	jingleList := fmt.Sprint(r["jingle"])
	if !strings.Contains(jingleList, "RTP sessions (XEP-0167)") {
		t.Errorf("human summary lacks RTP: %s", jingleList)
	}
	// A peer that is not online: a clear error and the no-answer code.
	_, stderr, code = jingle(t, ctx, e.cli("probe", echo.JID+"/nobody")...)
	if code != 6 || !strings.Contains(stderr, "did not answer") {
		t.Fatalf("probe of an absent resource: code %d, %q", code, stderr)
	}
}

// TestSIGTERMEndsSessions: a running call is ended by jingled's SIGTERM
// with a session-terminate the caller receives (the CLI reports it and
// exits), and jingled exits 0.
func TestSIGTERMEndsSessions(t *testing.T) {
	e := newEnv(t)
	echo, acct := e.account(t, "echo", "")
	httpPort := proctest.FreePort(t)
	d := startDaemon(t, e.dir, fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"\n[ice]\nloopback_only = true\ndiscover = false\n%s", httpPort, acct), httpPort)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tone := filepath.Join(e.dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 440, 30*time.Second); err != nil {
		t.Fatal(err)
	}
	cmd := exec.CommandContext(ctx, bin("jingle"), e.cli("call", echo.JID, "--audio", tone, "--loopback", "--no-discover", "--json")...)
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	var seen []string
	media := false
	for sc.Scan() {
		seen = append(seen, sc.Text())
		if strings.Contains(sc.Text(), `"event":"media"`) {
			media = true
			break
		}
	}
	if !media {
		t.Fatalf("no media before SIGTERM: %v %s", seen, stderr.String())
	}
	if err := d.Cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	for sc.Scan() {
		seen = append(seen, sc.Text())
	}
	_ = cmd.Wait()
	var sum map[string]any
	if err := json.Unmarshal([]byte(seen[len(seen)-1]), &sum); err != nil {
		t.Fatalf("no summary: %v", seen)
	}
	if sum["reason"] == nil || !strings.HasPrefix(fmt.Sprint(sum["reason"]), "success") {
		t.Fatalf("the caller saw the call end with %v, want success from the daemon's session-terminate (lines %v)", sum["reason"], seen)
	}
	select {
	case err := <-d.Done:
		d.Done <- err // for the cleanup
		if err != nil {
			t.Fatalf("jingled exited with %v after SIGTERM:\n%s", err, d.Log.String())
		}
	case <-time.After(30 * time.Second):
		t.Fatal("jingled did not exit after SIGTERM")
	}
}

// TestInvalidConfigFailsFast: each bad config makes jingled exit 2 at
// once with a message naming the problem.
func TestInvalidConfigFailsFast(t *testing.T) {
	needBinaries(t)
	dir := t.TempDir()
	pw := writeFile(t, dir, "pw", "secret")
	cases := []struct{ name, config, want string }{
		{"unknown key", "[turn]\nenabled = true\nsecrets = [\"x\"]\nportt = 1\n", `unknown key "turn.portt"`},
		{"bad port", "[turn]\nenabled = true\nsecrets = [\"x\"]\nport = 99999\n", "port"},
		{"missing secret", "[turn]\nenabled = true\n", "secrets"},
		{"unreadable cert", "[turn]\nenabled = true\nsecrets = [\"x\"]\ntls_cert = \"/nonexistent/cert.pem\"\ntls_key = \"/nonexistent/key.pem\"\n", "turn.tls_cert"},
		{"bad role", "[[account]]\njid = \"a@b\"\npassword_file = \"" + pw + "\"\nrole = \"karaoke\"\n", "account[0].role"},
		{"syntax", "[turn\n", "line 2"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := writeFile(t, dir, strings.ReplaceAll(tc.name, " ", "_")+".toml", tc.config)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			out, err := exec.CommandContext(ctx, bin("jingled"), "--config", cfg).CombinedOutput()
			if code := exitCode(err); code != 2 {
				t.Fatalf("exit %d (%v), want 2: %s", code, err, out)
			}
			if !strings.Contains(string(out), tc.want) {
				t.Fatalf("message %q does not name %q", out, tc.want)
			}
		})
	}
}

// TestWrongPasswordAndUnreachable: the CLI reports a refused password with
// exit code 3 and an unreachable server with 4; jingled keeps retrying an
// unreachable server with backoff and reports it in its log and /healthz.
func TestWrongPasswordAndUnreachable(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	bad := writeFile(t, e.dir, "bad.pw", "wrong-password")
	_, stderr, code := jingle(t, ctx, "probe", e.alice.JID, "--jid", e.alice.JID, "--password-file", bad, "--server", e.srv.Addr, "--ca", e.srv.CAFile)
	if code != 3 || !strings.Contains(stderr, "refused the credentials") {
		t.Fatalf("wrong password: code %d, %q", code, stderr)
	}
	dead := fmt.Sprintf("127.0.0.1:%d", proctest.QuietPorts(t, 1))
	_, stderr, code = jingle(t, ctx, "probe", e.alice.JID, "--jid", e.alice.JID, "--password-file", e.pw, "--server", dead)
	if code != 4 || !strings.Contains(stderr, "cannot reach") {
		t.Fatalf("unreachable: code %d, %q", code, stderr)
	}

	httpPort := proctest.FreePort(t)
	cfg := writeFile(t, e.dir, "unreach.toml", fmt.Sprintf(`
[http]
listen = "127.0.0.1:%d"
[[account]]
jid = %q
password_file = %q
server = %q
role = "echo"
`, httpPort, e.alice.JID, e.pw, dead))
	log := &proctest.SyncBuffer{}
	cmd := exec.Command(bin("jingled"), "--config", cfg)
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	deadline := time.Now().Add(20 * time.Second)
	for strings.Count(log.String(), "cannot reach the XMPP server") < 2 && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if n := strings.Count(log.String(), "cannot reach the XMPP server"); n < 2 {
		t.Fatalf("expected repeated connection attempts, saw %d:\n%s", n, log.String())
	}
	if !strings.Contains(log.String(), "retrying") {
		t.Fatalf("no retry with backoff logged:\n%s", log.String())
	}
	resp, err := http.Get(fmt.Sprintf("http://127.0.0.1:%d/healthz", httpPort))
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 503 || !strings.Contains(string(body), "connect attempt") {
		t.Fatalf("/healthz = %d %q, want 503 naming the failed connection", resp.StatusCode, body)
	}
	// A wrong password in the daemon is reported as such and not retried.
	cfg2 := writeFile(t, e.dir, "badpw.toml", fmt.Sprintf(`
[[account]]
jid = %q
password_file = %q
server = %q
ca_file = %q
role = "echo"
`, e.alice.JID, bad, e.srv.Addr, e.srv.CAFile))
	log2 := &proctest.SyncBuffer{}
	cmd2 := exec.Command(bin("jingled"), "--config", cfg2)
	cmd2.Stdout, cmd2.Stderr = log2, log2
	if err := cmd2.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd2.Process.Kill(); _ = cmd2.Wait() }()
	deadline = time.Now().Add(20 * time.Second)
	for !strings.Contains(log2.String(), "refused the password") && time.Now().Before(deadline) {
		time.Sleep(100 * time.Millisecond)
	}
	if !strings.Contains(log2.String(), "refused the password") {
		t.Fatalf("wrong password not reported:\n%s", log2.String())
	}
}

func exitCode(err error) int {
	if err == nil {
		return 0
	}
	if ee, ok := err.(*exec.ExitError); ok {
		return ee.ExitCode()
	}
	return -1
}

// TestRecordAndPlayRoles: the record account plays its greeting (880 Hz)
// to the caller and records the caller's 440 Hz tone into a file named by
// caller and time; the play account plays its file (660 Hz).
func TestRecordAndPlayRoles(t *testing.T) {
	e := newEnv(t)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	greeting := filepath.Join(e.dir, "greeting.ogg")
	music := filepath.Join(e.dir, "music.ogg")
	tone := filepath.Join(e.dir, "tone.ogg")
	for _, f := range []struct {
		path string
		hz   float64
	}{{greeting, 880}, {music, 660}, {tone, 440}} {
		if err := mediatest.SineOpus(ctx, f.path, f.hz, 4*time.Second); err != nil {
			t.Fatal(err)
		}
	}
	recDir := filepath.Join(e.dir, "recordings")
	rec, recAcct := e.account(t, "record", fmt.Sprintf("dir = %q\ngreeting = %q\nmax_duration = \"60s\"", recDir, greeting))
	play, playAcct := e.account(t, "play", fmt.Sprintf("file = %q", music))
	httpPort := proctest.FreePort(t)
	startDaemon(t, e.dir, fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"\n[ice]\nloopback_only = true\ndiscover = false\n%s%s", httpPort, recAcct, playAcct), httpPort)

	heard := filepath.Join(e.dir, "heard-greeting")
	lines, stderr, code := jingle(t, ctx, e.cli("call", rec.JID, "--audio", tone, "--record", heard, "--duration", "4s", "--loopback", "--no-discover", "--json")...)
	if code != 0 {
		t.Fatalf("call to record: exit %d: %s %v", code, stderr, lines)
	}
	if a, err := mediatest.AnalyzeAudio(ctx, heard+".ogg"); err != nil || math.Abs(a.Frequency-880) > 5 {
		t.Fatalf("greeting heard at %v Hz (err %v), want 880", a.Frequency, err)
	}
	// The recording appears once the daemon's side of the call ended.
	var files []string
	for i := 0; i < 100 && len(files) == 0; i++ {
		files, _ = filepath.Glob(filepath.Join(recDir, "*.ogg"))
		time.Sleep(100 * time.Millisecond)
	}
	if len(files) != 1 {
		t.Fatalf("recordings: %v", files)
	}
	name := filepath.Base(files[0])
	if !regexp.MustCompile(`^` + regexp.QuoteMeta(e.alice.JID) + `-\d{8}T\d{6}\.\d{3}Z\.ogg$`).MatchString(name) {
		t.Fatalf("recording name %q is not CALLER-TIME.ogg", name)
	}
	if a, err := mediatest.AnalyzeAudio(ctx, files[0]); err != nil || math.Abs(a.Frequency-440) > 5 {
		t.Fatalf("recorded tone at %v Hz (err %v), want 440", a.Frequency, err)
	}

	heardMusic := filepath.Join(e.dir, "heard-music")
	_, stderr, code = jingle(t, ctx, e.cli("call", play.JID, "--record", heardMusic, "--duration", "3s", "--loopback", "--no-discover", "--json")...)
	if code != 0 {
		t.Fatalf("call to play: exit %d: %s", code, stderr)
	}
	if a, err := mediatest.AnalyzeAudio(ctx, heardMusic+".ogg"); err != nil || math.Abs(a.Frequency-660) > 5 {
		t.Fatalf("played file heard at %v Hz (err %v), want 660", a.Frequency, err)
	}
}

// TestSIGHUPReloadsAllowList: narrowing the allow-list in the file and
// sending SIGHUP makes the next call from alice be declined, without a
// restart (the account stays connected).
func TestSIGHUPReloadsAllowList(t *testing.T) {
	e := newEnv(t)
	echo, acct := e.account(t, "echo", "")
	httpPort := proctest.FreePort(t)
	config := fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"\n[ice]\nloopback_only = true\ndiscover = false\n%s", httpPort, acct)
	d := startDaemon(t, e.dir, config, httpPort)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	tone := filepath.Join(e.dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 440, 2*time.Second); err != nil {
		t.Fatal(err)
	}
	call := e.cli("call", echo.JID, "--audio", tone, "--duration", "1s", "--loopback", "--no-discover", "--ring-timeout", "10s", "--json")
	if _, stderr, code := jingle(t, ctx, call...); code != 0 {
		t.Fatalf("allowed call: exit %d: %s", code, stderr)
	}
	narrowed := strings.Replace(config, `allow = ["*"]`, `allow = ["someone-else@example.org"]`, 1)
	writeFile(t, e.dir, "jingled.toml", narrowed)
	if err := d.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.Log.String(), "reloaded") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(d.Log.String(), "reloaded") {
		t.Fatalf("jingled did not log a reload after SIGHUP:\n%s", d.Log.String())
	}
	_, stderr, code := jingle(t, ctx, call...)
	if code != 5 || !strings.Contains(stderr, "decline") {
		t.Fatalf("call after narrowing the allow-list: exit %d, %q; want 5 (declined)", code, stderr)
	}
}

func randomFile(t *testing.T, path string, n int) string {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// TestSendToFiledrop: `jingle send` to jingled's filedrop account; the
// file appears in the drop directory with the same sha-256, the summary
// names the transport, and the metrics count the bytes. A sender that is
// not on the allow-list is declined (exit 5) and nothing is written.
func TestSendToFiledrop(t *testing.T) {
	e := newEnv(t)
	dropDir := filepath.Join(e.dir, "drop")
	drop, acct := e.account(t, "filedrop", fmt.Sprintf("dir = %q", dropDir))
	acct = strings.Replace(acct, `allow = ["*"]`, fmt.Sprintf(`allow = [%q]`, e.alice.JID), 1)
	httpPort := proctest.FreePort(t)
	d := startDaemon(t, e.dir, fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"\n[ice]\nloopback_only = true\ndiscover = false\n%s", httpPort, acct), httpPort)
	ctx, cancel := context.WithTimeout(context.Background(), 120*time.Second)
	defer cancel()
	src := filepath.Join(e.dir, "report.bin")
	sum := randomFile(t, src, 8<<20)
	lines, stderr, code := jingle(t, ctx, e.cli("send", drop.JID, src, "--loopback", "--no-discover", "--json")...)
	if code != 0 {
		t.Fatalf("send: exit %d: %s %v", code, stderr, lines)
	}
	s := proctest.Last(lines)
	if s["sha256"] != sum || s["transport"] == "" || s["size"] != float64(8<<20) {
		t.Fatalf("summary %v, want sha256 %s", s, sum)
	}
	got, err := os.ReadFile(filepath.Join(dropDir, "report.bin"))
	if err != nil {
		t.Fatalf("file not in the drop directory: %v", err)
	}
	if g := sha256.Sum256(got); hex.EncodeToString(g[:]) != sum {
		t.Fatal("received file differs")
	}
	// jingled counts a transfer when its session has ended on its side,
	// after its PeerConnection closed: under -race on a busy CI machine
	// that once took more than the 5 s this loop used to wait (the
	// fresh-clone run of 2026-12-06 22:59, the file already in place).
	var m string
	for i := 0; i < 300; i++ {
		m = d.Scrape(t)
		if proctest.MetricValue(m, "jingled_file_bytes_total", `direction="in"`) >= 8<<20 {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if v := proctest.MetricValue(m, "jingled_file_bytes_total", `direction="in"`); v < 8<<20 {
		t.Fatalf("jingled_file_bytes_total{direction=in} = %v", v)
	}

	// Each transport forced in turn reaches the drop directory too.
	for _, tr := range []string{"s5b", "ibb"} {
		p := filepath.Join(e.dir, "via-"+tr+".bin")
		want := randomFile(t, p, 256<<10)
		lines, stderr, code := jingle(t, ctx, e.cli("send", drop.JID, p, "--transport", tr, "--loopback", "--no-discover", "--json")...)
		if code != 0 || proctest.Last(lines)["sha256"] != want || proctest.Last(lines)["transport"] != tr {
			t.Fatalf("send over %s: exit %d %s %v", tr, code, stderr, proctest.Last(lines))
		}
	}

	// Someone not on the allow-list.
	mallory := e.srv.NewAccount(t, "mallory")
	mpw := writeFile(t, e.dir, "mallory.pw", mallory.Password)
	evil := filepath.Join(e.dir, "evil.bin")
	randomFile(t, evil, 1024)
	_, stderr, code = jingle(t, ctx, "send", drop.JID+"/jingled", evil, "--loopback", "--no-discover",
		"--jid", mallory.JID, "--password-file", mpw, "--server", e.srv.Addr, "--ca", e.srv.CAFile)
	if code != 5 {
		t.Fatalf("send from a stranger: exit %d (%s), want 5 (declined)", code, stderr)
	}
	if _, err := os.Stat(filepath.Join(dropDir, "evil.bin")); !os.IsNotExist(err) {
		t.Fatalf("a declined file was written: %v", err)
	}
}

// TestReceiveCLI: `jingle receive` takes a file from `jingle send` (both
// CLIs), sanitizing a hostile name.
func TestReceiveCLI(t *testing.T) {
	e := newEnv(t)
	bob := e.srv.NewAccount(t, "bob")
	bpw := writeFile(t, e.dir, "bob.pw", bob.Password)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	inbox := filepath.Join(e.dir, "inbox")
	recv := exec.CommandContext(ctx, bin("jingle"), "receive", "--jid", bob.JID, "--password-file", bpw, "--server", e.srv.Addr,
		"--ca", e.srv.CAFile, "--resource", "rx", "--dir", inbox, "--count", "1", "--loopback", "--no-discover", "--json")
	stdout, err := recv.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var rerr bytes.Buffer
	recv.Stderr = &rerr
	if err := recv.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || !strings.Contains(sc.Text(), `"event":"ready"`) {
		t.Fatalf("receive not ready: %q %s", sc.Text(), rerr.String())
	}
	src := filepath.Join(e.dir, "payload.bin")
	sum := randomFile(t, src, 1<<20)
	_, stderr, code := jingle(t, ctx, e.cli("send", bob.JID+"/rx", src, "--name", "../../etc/passwd", "--loopback", "--no-discover", "--json")...)
	if code != 0 {
		t.Fatalf("send: exit %d: %s", code, stderr)
	}
	var summary map[string]any
	for sc.Scan() {
		_ = json.Unmarshal(sc.Bytes(), &summary)
	}
	if err := recv.Wait(); err != nil {
		t.Fatalf("receive: %v %s", err, rerr.String())
	}
	path, _ := summary["path"].(string)
	if summary["sha256"] != sum || !strings.HasPrefix(path, inbox+string(os.PathSeparator)) {
		t.Fatalf("receive summary %v", summary)
	}
	if strings.Contains(filepath.Base(path), "/") || strings.Contains(path, "..") || filepath.Base(path) != "passwd" {
		t.Fatalf("hostile name saved as %q", path)
	}
}

// TestAnswerCLI: `jingle answer --echo --count 1` answers `jingle call`
// (CLI to CLI, rung through JMI) and exits after the call with a summary.
func TestAnswerCLI(t *testing.T) {
	e := newEnv(t)
	bob := e.srv.NewAccount(t, "bob")
	bpw := writeFile(t, e.dir, "bob.pw", bob.Password)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ans := exec.CommandContext(ctx, bin("jingle"), "answer", "--echo", "--count", "1", "--jid", bob.JID, "--password-file", bpw,
		"--server", e.srv.Addr, "--ca", e.srv.CAFile, "--loopback", "--no-discover", "--json")
	stdout, err := ans.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	var aerr bytes.Buffer
	ans.Stderr = &aerr
	if err := ans.Start(); err != nil {
		t.Fatal(err)
	}
	sc := bufio.NewScanner(stdout)
	if !sc.Scan() || !strings.Contains(sc.Text(), `"event":"ready"`) {
		t.Fatalf("answer not ready: %q %s", sc.Text(), aerr.String())
	}
	tone := filepath.Join(e.dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 523, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(e.dir, "back")
	_, stderr, code := jingle(t, ctx, e.cli("call", bob.JID, "--audio", tone, "--record", back, "--duration", "3s", "--loopback", "--no-discover", "--json")...)
	if code != 0 {
		t.Fatalf("call: exit %d: %s", code, stderr)
	}
	var summary map[string]any
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			summary = m
		}
	}
	if err := ans.Wait(); err != nil {
		t.Fatalf("answer exited with %v: %s", err, aerr.String())
	}
	if summary["event"] != "summary" || summary["reason"] != "success" {
		t.Fatalf("answer's summary: %v", summary)
	}
	if a, err := mediatest.AnalyzeAudio(ctx, back+".ogg"); err != nil || math.Abs(a.Frequency-523) > 5 {
		t.Fatalf("echo from jingle answer at %v Hz (err %v), want 523", a.Frequency, err)
	}
}

// TestRelayCallThroughJingledTURN: Prosody's mod_turn_external hands out
// credentials for jingled's own relay (XEP-0215); the echo account and
// `jingle call --relay` both discover it and use only relay candidates,
// and the tone still comes back. This is the deployment DEPLOY.md
// describes, end to end with the binaries.
func TestRelayCallThroughJingledTURN(t *testing.T) {
	needBinaries(t)
	turnPort := proctest.QuietPorts(t, 1)
	const secret = "e2e-turn-secret"
	srv := prosodytest.New(t, prosodytest.WithTURNExternal(prosodytest.TURNExternal{Secret: secret, Host: "127.0.0.1", Port: turnPort}))
	e := &env{srv: srv, dir: t.TempDir(), alice: srv.NewAccount(t, "alice")}
	e.pw = writeFile(t, e.dir, "alice.pw", e.alice.Password)
	echo, acct := e.account(t, "echo", "")
	httpPort := proctest.FreePort(t)
	startDaemon(t, e.dir, fmt.Sprintf(`
[http]
listen = "127.0.0.1:%d"
[turn]
enabled = true
address = "127.0.0.1"
port = %d
udp_sockets = 1
relay_port_min = 41000
relay_port_max = 41999
secrets = [%q]
allow_peers = ["127.0.0.0/8"]
[ice]
loopback_only = true
policy = "relay"
%s`, httpPort, turnPort, secret, acct), httpPort)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	tone := filepath.Join(e.dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, tone, 440, 3*time.Second); err != nil {
		t.Fatal(err)
	}
	back := filepath.Join(e.dir, "back")
	lines, stderr, code := jingle(t, ctx, e.cli("call", echo.JID, "--audio", tone, "--record", back, "--duration", "3s", "--loopback", "--relay", "--json")...)
	if code != 0 {
		t.Fatalf("relay call: exit %d: %s %v", code, stderr, lines)
	}
	stats, _ := proctest.Last(lines)["stats"].(map[string]any)
	pair, _ := stats["candidate_pair"].(map[string]any)
	if pair["local_type"] != "relay" || pair["remote_type"] != "relay" {
		t.Fatalf("selected pair %v, want relay on both sides", pair)
	}
	if a, err := mediatest.AnalyzeAudio(ctx, back+".ogg"); err != nil || math.Abs(a.Frequency-440) > 5 {
		t.Fatalf("tone through the relay at %v Hz (err %v)", a.Frequency, err)
	}
}

// turnAllocate allocates on the relay with a real TURN client and
// returns the error (nil on success).
func turnAllocate(t *testing.T, addr, user, pass string) error {
	t.Helper()
	conn, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	c, err := turn.NewClient(&turn.ClientConfig{STUNServerAddr: addr, TURNServerAddr: addr, Conn: conn, Username: user, Password: pass, Realm: "e2e"})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Listen(); err != nil {
		t.Fatal(err)
	}
	relay, err := c.Allocate()
	if err == nil {
		_ = relay.Close()
	}
	return err
}

// TestSIGHUPRotatesTURNSecret: the relay accepts credentials of every
// configured secret; after the old one is removed from the file and
// jingled gets SIGHUP, its credentials are refused and the new one's work,
// without a restart.
func TestSIGHUPRotatesTURNSecret(t *testing.T) {
	needBinaries(t)
	dir := t.TempDir()
	turnPort := proctest.QuietPorts(t, 1)
	httpPort := proctest.FreePort(t)
	config := func(secrets string) string {
		return fmt.Sprintf(`
[http]
listen = "127.0.0.1:%d"
[turn]
enabled = true
realm = "e2e"
address = "127.0.0.1"
port = %d
udp_sockets = 1
relay_port_min = 42000
relay_port_max = 42999
secrets = [%s]
`, httpPort, turnPort, secrets)
	}
	d := startDaemon(t, dir, config(`"old-secret", "new-secret"`), httpPort)
	addr := fmt.Sprintf("127.0.0.1:%d", turnPort)
	creds := func(secret string) (string, string) {
		u, p, err := turnserver.GenerateCredentials(secret, "alice", time.Hour, time.Now())
		if err != nil {
			t.Fatal(err)
		}
		return u, p
	}
	for _, s := range []string{"old-secret", "new-secret"} {
		u, p := creds(s)
		if err := turnAllocate(t, addr, u, p); err != nil {
			t.Fatalf("allocate with %s before the rotation: %v", s, err)
		}
	}
	writeFile(t, dir, "jingled.toml", config(`"new-secret"`))
	if err := d.Cmd.Process.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for !strings.Contains(d.Log.String(), "relay credentials reloaded") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.Contains(d.Log.String(), "relay credentials reloaded") {
		t.Fatalf("no credential reload logged:\n%s", d.Log.String())
	}
	u, p := creds("old-secret")
	if err := turnAllocate(t, addr, u, p); err == nil {
		t.Fatal("credentials of the removed secret still allocate after SIGHUP")
	}
	u, p = creds("new-secret")
	if err := turnAllocate(t, addr, u, p); err != nil {
		t.Fatalf("allocate with the new secret after SIGHUP: %v", err)
	}
	if strings.Contains(d.Log.String(), "old-secret") || strings.Contains(d.Log.String(), "new-secret") {
		t.Fatal("a secret appears in jingled's log")
	}
}

// TestPlayRTPInput: the play account answers with what an RTP/UDP input
// carries (here ffmpeg streaming a 660 Hz tone to rtp_listen, as a
// camera or GStreamer pipeline would), in Opus and, with rtp_codec, in
// G.711 and G.722 (issue 18: the input was hard-coded to Opus).
func TestPlayRTPInput(t *testing.T) {
	for _, c := range []struct {
		codec  string // rtp_codec ("": the default, Opus)
		ffmpeg []string
		ext    string // of the caller's recording
	}{
		{"", []string{"-c:a", "libopus", "-ar", "48000", "-ac", "2"}, ".ogg"},
		{"PCMU", []string{"-c:a", "pcm_mulaw", "-ar", "8000", "-ac", "1"}, ".wav"},
		{"G722", []string{"-c:a", "g722", "-ar", "16000", "-ac", "1"}, ".wav"},
	} {
		name := c.codec
		if name == "" {
			name = "opus"
		}
		t.Run(name, func(t *testing.T) { playRTPInput(t, c.codec, c.ffmpeg, c.ext) })
	}
}

func playRTPInput(t *testing.T, codec string, encode []string, ext string) {
	e := newEnv(t)
	rtpAddr := fmt.Sprintf("127.0.0.1:%d", proctest.QuietPorts(t, 2))
	extra := fmt.Sprintf("rtp_listen = %q", rtpAddr)
	if codec != "" {
		extra += fmt.Sprintf("\nrtp_codec = %q", codec)
	}
	play, acct := e.account(t, "play", extra)
	httpPort := proctest.FreePort(t)
	startDaemon(t, e.dir, fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"\n[ice]\nloopback_only = true\ndiscover = false\n%s", httpPort, acct), httpPort)
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	ffmpeg, err := mediatest.FFmpeg()
	if err != nil {
		t.Fatal(err)
	}
	// The stream runs for longer than the call; it is stopped with the test.
	args := append([]string{"-hide_banner", "-loglevel", "error", "-re",
		"-f", "lavfi", "-i", "sine=frequency=660:sample_rate=48000:duration=20"}, encode...)
	feed := exec.CommandContext(ctx, ffmpeg, append(args, "-f", "rtp", "rtp://"+rtpAddr)...)
	var ferr bytes.Buffer
	feed.Stderr = &ferr
	if err := feed.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = feed.Process.Kill(); _ = feed.Wait() }()
	heard := filepath.Join(e.dir, "heard")
	lines, stderr, code := jingle(t, ctx, e.cli("call", play.JID, "--record", heard, "--duration", "3s", "--loopback", "--no-discover", "--json")...)
	if code != 0 {
		t.Fatalf("call to play (rtp input): exit %d: %s (ffmpeg: %s)", code, stderr, ferr.String())
	}
	want := "audio/opus"
	if codec != "" {
		want = "audio/" + codec
	}
	st, _ := proctest.Last(lines)["stats"].(map[string]any)
	streams, _ := st["streams"].([]any)
	var got any
	if len(streams) == 1 {
		got = streams[0].(map[string]any)["codec"]
	}
	a, err := mediatest.AnalyzeAudio(ctx, heard+ext)
	t.Logf("rtp_codec %q: the call carried %v; %s holds %.1f Hz (err %v)", codec, got, filepath.Base(heard+ext), a.Frequency, err)
	if got != want {
		t.Errorf("the call's stream is %v, want %s", got, want)
	}
	if err != nil || math.Abs(a.Frequency-660) > 5 {
		t.Fatalf("RTP input heard at %v Hz (err %v), want 660", a.Frequency, err)
	}
}
