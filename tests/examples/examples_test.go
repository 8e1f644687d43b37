// Package examples runs the programs under examples/ against a real
// Prosody, with the jingle CLI on the other end, and builds a program
// outside the module that embeds the library: what an embedder copies
// must work, not only compile.
package examples

import (
	"bufio"
	"context"
	"fmt"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/mediatest"
	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/internal/prosodytest"
)

func TestMain(m *testing.M) {
	os.Exit(proctest.MainWith(m, func(m *testing.M) int { return prosodytest.Run(m) },
		"github.com/jingled/jingled/examples/echobot", "github.com/jingled/jingled/examples/filebot",
		"github.com/jingled/jingled/examples/callrecord"))
}

// env is a Prosody and a scratch directory.
type env struct {
	srv *prosodytest.Server
	dir string
}

// newEnv is the test's env and a context that bounds it (a generous
// bound against a hang, not a measurement).
func newEnv(t *testing.T, limit time.Duration) (*env, context.Context) {
	t.Helper()
	proctest.Bin(t, "jingle") // skips under -short
	ctx, cancel := context.WithTimeout(t.Context(), limit)
	t.Cleanup(cancel)
	return &env{srv: prosodytest.Shared(t), dir: t.TempDir()}, ctx
}

// account makes an account and its password file.
func (e *env) account(t *testing.T, name string) (prosodytest.Account, string) {
	t.Helper()
	a := e.srv.NewAccount(t, name)
	pw := filepath.Join(e.dir, a.Local+".pw")
	if err := os.WriteFile(pw, []byte(a.Password), 0o600); err != nil {
		t.Fatal(err)
	}
	return a, pw
}

// cli is the jingle CLI's arguments for account a.
func (e *env) cli(a prosodytest.Account, pw string, args ...string) []string {
	return append(args, "--jid", a.JID, "--password-file", pw, "--server", e.srv.Addr, "--ca", e.srv.CAFile,
		"--loopback", "--no-discover", "--json")
}

// tone writes a 440 Hz Opus tone of d.
func (e *env) tone(t *testing.T, ctx context.Context, d time.Duration) string {
	t.Helper()
	p := filepath.Join(e.dir, "tone.ogg")
	if err := mediatest.SineOpus(ctx, p, 440, d); err != nil {
		t.Fatal(err)
	}
	return p
}

// example is a running example program; its log lines (slog's text
// format on stderr) come to the test one by one.
type example struct {
	cmd    *exec.Cmd
	lines  chan string
	log    *proctest.SyncBuffer
	exited chan struct{}
}

// start runs example name as account a (password in $JINGLE_PASSWORD)
// with args, on the test's Prosody, ICE on loopback.
func (e *env) start(t *testing.T, name string, a prosodytest.Account, args ...string) *example {
	t.Helper()
	x := &example{lines: make(chan string, 1024), log: &proctest.SyncBuffer{}, exited: make(chan struct{})}
	x.cmd = exec.Command(proctest.Bin(t, name), append([]string{"-jid", a.JID, "-server", e.srv.Addr, "-ca", e.srv.CAFile, "-local"}, args...)...)
	x.cmd.Env = append(os.Environ(), "JINGLE_PASSWORD="+a.Password)
	stderr, err := x.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := x.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		defer close(x.exited)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			_, _ = x.log.Write(append(sc.Bytes(), '\n'))
			select {
			case x.lines <- sc.Text():
			default: // nobody waits for this many lines; log has them
			}
		}
		close(x.lines)
		_ = x.cmd.Wait()
	}()
	t.Cleanup(func() {
		_ = x.cmd.Process.Kill()
		<-x.exited
		if t.Failed() {
			t.Logf("%s %v:\n%s", name, x.cmd.Args[1:], x.log.String())
		}
	})
	return x
}

// waitLog waits for a log line with msg=msg and returns it.
func (x *example) waitLog(t *testing.T, ctx context.Context, msg string) string {
	t.Helper()
	for {
		select {
		case l, ok := <-x.lines:
			if !ok {
				t.Fatalf("%s exited before logging %q", x.cmd.Args[0], msg)
			}
			if strings.Contains(l, " msg="+msg+" ") || strings.HasSuffix(l, " msg="+msg) {
				return l
			}
		case <-ctx.Done():
			t.Fatalf("%s did not log %q: %v", x.cmd.Args[0], msg, ctx.Err())
		}
	}
}

// exitCode waits for the program to end.
func (x *example) exitCode(t *testing.T, ctx context.Context) int {
	t.Helper()
	select {
	case <-x.exited:
	case <-ctx.Done():
		t.Fatalf("%s still runs: %v", x.cmd.Args[0], ctx.Err())
	}
	return x.cmd.ProcessState.ExitCode()
}

// logValue is the value of key in a slog text line (unquoted).
func logValue(line, key string) string {
	_, v, ok := strings.Cut(line, " "+key+"=")
	if !ok {
		return ""
	}
	if strings.HasPrefix(v, `"`) {
		v, _, _ = strings.Cut(v[1:], `"`)
		return v
	}
	v, _, _ = strings.Cut(v, " ")
	return v
}

// checkTone fails t unless the recording at path holds the 440 Hz tone
// for at least min.
func checkTone(t *testing.T, ctx context.Context, path string, min time.Duration) {
	t.Helper()
	a, err := mediatest.AnalyzeAudio(ctx, path)
	if err != nil {
		t.Fatal(err)
	}
	if math.Abs(a.Frequency-440) > 5 {
		t.Fatalf("%s: tone at %.1f Hz, want 440 ± 5", path, a.Frequency)
	}
	if a.Duration < min {
		t.Fatalf("%s: only %v of audio, want %v", path, a.Duration, min)
	}
}

// echoBot starts the echo bot with its echo held back delay and waits
// until it is online; it answers at its account's full JID ".../echobot".
func (e *env) echoBot(t *testing.T, ctx context.Context, delay string) (bot *example, full string) {
	t.Helper()
	acct, _ := e.account(t, "echo")
	bot = e.start(t, "echobot", acct, "-delay", delay)
	bot.waitLog(t, ctx, "ready")
	return bot, acct.JID + "/echobot"
}

// TestEchobotEchoesTheCLI: `jingle call` to the echo bot hears its own
// tone back.
func TestEchobotEchoesTheCLI(t *testing.T) {
	e, ctx := newEnv(t, 90*time.Second)
	alice, pw := e.account(t, "alice")
	bot, echo := e.echoBot(t, ctx, "200ms")

	back := filepath.Join(e.dir, "back")
	out, stderr, code, err := proctest.RunCLI(ctx, proctest.Bin(t, "jingle"), e.cli(alice, pw, "call", echo,
		"--audio", e.tone(t, ctx, 4*time.Second), "--record", back, "--duration", "4s")...)
	if err != nil || code != 0 {
		t.Fatalf("jingle call: exit %d, %v: %s\n%s", code, err, stderr, strings.Join(out, "\n"))
	}
	if sum := proctest.Last(proctest.JSONLines(out, false)); sum["reason"] != "success" {
		t.Fatalf("the call ended with %v", sum["reason"])
	}
	bot.waitLog(t, ctx, "call")
	checkTone(t, ctx, back+".ogg", 2*time.Second)
}

// fileBot starts the file bot receiving into a new directory, accepting
// files from allowed only, and waits until it is online.
func (e *env) fileBot(t *testing.T, ctx context.Context, allowed prosodytest.Account) (bot *example, acct prosodytest.Account, inbox string) {
	t.Helper()
	acct, _ = e.account(t, "files")
	inbox = filepath.Join(e.dir, "inbox")
	bot = e.start(t, "filebot", acct, "-dir", inbox, "-allow", allowed.JID)
	bot.waitLog(t, ctx, "ready")
	return bot, acct, inbox
}

// send is `jingle send` of a new random file name of size bytes from
// account from (password file pw) to to; it returns the file's sha-256,
// the CLI's JSON lines and its exit code.
func (e *env) send(t *testing.T, ctx context.Context, from prosodytest.Account, pw, to, name string, size int) (sum string, lines []map[string]any, code int) {
	t.Helper()
	src := filepath.Join(e.dir, name)
	sum = proctest.RandomFile(t, src, size)
	out, stderr, code, err := proctest.RunCLI(ctx, proctest.Bin(t, "jingle"), e.cli(from, pw, "send", to, src)...)
	if err != nil && code < 0 {
		t.Fatalf("jingle send: %v", err)
	}
	if code != 0 {
		t.Logf("jingle send: exit %d: %s\n%s", code, stderr, strings.Join(out, "\n"))
	}
	return sum, proctest.JSONLines(out, false), code
}

// TestFilebotReceivesFromTheCLI: `jingle send` to the file bot; the file
// lands in its directory, whole.
func TestFilebotReceivesFromTheCLI(t *testing.T) {
	e, ctx := newEnv(t, 90*time.Second)
	alice, pw := e.account(t, "alice")
	bot, files, inbox := e.fileBot(t, ctx, alice)

	sum, _, code := e.send(t, ctx, alice, pw, files.JID+"/filebot", "report.bin", 3<<20)
	if code != 0 {
		t.Fatalf("jingle send exited %d", code)
	}
	got := bot.waitLog(t, ctx, "received")
	path := logValue(got, "path")
	if path != filepath.Join(inbox, "report.bin") {
		t.Fatalf("received at %q, want %s: %s", path, filepath.Join(inbox, "report.bin"), got)
	}
	if h := proctest.FileSHA256(t, path); h != sum {
		t.Fatalf("received sha-256 %s, sent %s", h, sum)
	}
}

// TestFilebotDeclinesOthers: with -allow, a file from anyone else is
// declined and nothing reaches the directory.
func TestFilebotDeclinesOthers(t *testing.T) {
	e, ctx := newEnv(t, 90*time.Second)
	friend, _ := e.account(t, "friend")
	mallory, pw := e.account(t, "mallory")
	_, files, inbox := e.fileBot(t, ctx, friend)

	_, lines, code := e.send(t, ctx, mallory, pw, files.JID+"/filebot", "spam.bin", 1<<10)
	if code == 0 {
		t.Fatal("jingle send from a JID not in -allow exited 0")
	}
	if sum := proctest.Last(lines); !strings.HasPrefix(fmt.Sprint(sum["reason"]), "decline") {
		t.Fatalf("the send ended with %v, want decline", sum["reason"])
	}
	if names, err := os.ReadDir(inbox); err != nil || len(names) != 0 {
		t.Fatalf("the directory holds %v (%v), want nothing", names, err)
	}
}

// TestFilebotSendsToTheCLI: the file bot's -send reaches `jingle
// receive`, verified, and the bot exits 0.
func TestFilebotSendsToTheCLI(t *testing.T) {
	e, ctx := newEnv(t, 90*time.Second)
	files, _ := e.account(t, "files")
	bob, pw := e.account(t, "bob")
	inbox := filepath.Join(e.dir, "inbox")
	recv := proctest.StartCLI(t, proctest.Bin(t, "jingle"), e.cli(bob, pw, "receive", "--resource", "rx", "--dir", inbox, "--count", "1")...)
	recv.Event(ctx, t, "ready")

	src := filepath.Join(e.dir, "notes.bin")
	sum := proctest.RandomFile(t, src, 2<<20)
	bot := e.start(t, "filebot", files, "-dir", filepath.Join(e.dir, "unused"), "-send", src, "-to", bob.JID+"/rx")
	sent := bot.waitLog(t, ctx, "sent")
	if code := bot.exitCode(t, ctx); code != 0 {
		t.Fatalf("filebot -send exited %d after %s", code, sent)
	}
	if code := recv.Wait(t, 30*time.Second); code != 0 {
		t.Fatalf("jingle receive exited %d: %s", code, recv.Stderr.String())
	}
	if h := proctest.FileSHA256(t, filepath.Join(inbox, "notes.bin")); h != sum {
		t.Fatalf("received sha-256 %s, sent %s", h, sum)
	}
}

// TestCallrecordRecordsTheEchobot: one example calls the other and
// records the tone it played, echoed.
func TestCallrecordRecordsTheEchobot(t *testing.T) {
	e, ctx := newEnv(t, 90*time.Second)
	alice, _ := e.account(t, "alice")
	_, echo := e.echoBot(t, ctx, "0s")

	rec := filepath.Join(e.dir, "call.ogg")
	caller := e.start(t, "callrecord", alice, "-to", echo, "-play", e.tone(t, ctx, 4*time.Second), "-out", rec, "-for", "4s")
	if code := caller.exitCode(t, ctx); code != 0 {
		t.Fatalf("callrecord exited %d", code)
	}
	checkTone(t, ctx, rec, 2*time.Second)
}
