package interop

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/internal/prosodytest"
)

// The conference tests run the built jingled (the focus) and jingle (CLI
// participants) beside StanzaJS: what a self-hoster runs and what a user
// of another client sees.
var (
	buildOnce sync.Once
	binDir    string
	buildErr  error
)

// bin builds jingled and jingle once per test binary and returns the path
// of name.
func bin(t *testing.T, name string) string {
	t.Helper()
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "jingled-interop-bin-")
		if buildErr != nil {
			return
		}
		cmd := exec.Command("go", "build", "-o", binDir+"/", "github.com/jingled/jingled/cmd/jingled", "github.com/jingled/jingled/cmd/jingle")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Run(); err != nil {
			buildErr = fmt.Errorf("go build: %v\n%s", err, out.String())
		}
	})
	if buildErr != nil {
		t.Fatal(buildErr)
	}
	return filepath.Join(binDir, name)
}

// removeBinaries is called by TestMain after the run.
func removeBinaries() {
	if binDir != "" {
		os.RemoveAll(binDir)
	}
}

// startJingled runs jingled with config (an [http] listener is added) and
// waits until /healthz says every part is up.
func startJingled(t *testing.T, config string) *proctest.Jingled {
	t.Helper()
	port := proctest.FreePort(t)
	path := filepath.Join(t.TempDir(), "jingled.toml")
	config = fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"\n%s", port, config)
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	return proctest.StartJingled(t, bin(t, "jingled"), path, port)
}

// cliRun is a finished `jingle` command: its JSON lines and exit code.
type cliRun struct {
	lines  []map[string]any
	stderr string
	code   int
}

// event returns the time of the first JSON event of type typ, or zero.
func (r *cliRun) event(typ string) time.Time {
	for _, l := range r.lines {
		if l["type"] == typ {
			if s, ok := l["time"].(string); ok {
				if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
					return tm
				}
			}
		}
	}
	return time.Time{}
}

// summary is the final JSON object.
func (r *cliRun) summary() map[string]any { return proctest.Last(r.lines) }

func (r *cliRun) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "exit %d\n", r.code)
	for _, l := range r.lines {
		j, _ := json.Marshal(l)
		b.Write(j)
		b.WriteByte('\n')
	}
	b.WriteString(r.stderr)
	return b.String()
}

// runCLI runs `jingle` as acc against srv with args (subcommand first);
// --json, the account flags and --loopback are added.
func runCLI(t *testing.T, ctx context.Context, srv *prosodytest.Server, acc prosodytest.Account, args ...string) *cliRun {
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(acc.Password), 0o600); err != nil {
		return &cliRun{code: -1, stderr: err.Error()}
	}
	args = append(args, "--jid", acc.JID, "--password-file", pw, "--server", srv.Addr, "--ca", srv.CAFile, "--loopback", "--no-discover", "--json")
	out, stderr, code, _ := proctest.RunCLI(ctx, bin(t, "jingle"), args...)
	return &cliRun{lines: proctest.JSONLines(out, false), stderr: stderr, code: code}
}

func writePassword(t *testing.T, path, pw string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(pw), 0o600); err != nil {
		t.Fatal(err)
	}
}

// eventFor is event for one content ("media" of "video").
func (r *cliRun) eventFor(typ, content string) time.Time {
	for _, l := range r.lines {
		if l["type"] == typ && l["content"] == content {
			if s, ok := l["time"].(string); ok {
				if tm, err := time.Parse(time.RFC3339Nano, s); err == nil {
					return tm
				}
			}
		}
	}
	return time.Time{}
}

// cliGroup runs `jingle` commands side by side, as the participants of a
// conference test, and collects their runs by name.
type cliGroup struct {
	t    *testing.T
	ctx  context.Context
	srv  *prosodytest.Server
	wg   sync.WaitGroup
	mu   sync.Mutex
	runs map[string]*cliRun
}

func newCLIGroup(t *testing.T, ctx context.Context, srv *prosodytest.Server) *cliGroup {
	return &cliGroup{t: t, ctx: ctx, srv: srv, runs: map[string]*cliRun{}}
}

// start runs `jingle args...` as acc in the background, under name.
func (g *cliGroup) start(name string, acc prosodytest.Account, args ...string) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		r := runCLI(g.t, g.ctx, g.srv, acc, args...)
		g.mu.Lock()
		g.runs[name] = r
		g.mu.Unlock()
	}()
}

// wait waits for every command and returns the runs by name.
func (g *cliGroup) wait() map[string]*cliRun {
	g.wg.Wait()
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.runs
}
