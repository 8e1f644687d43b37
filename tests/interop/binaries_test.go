package interop

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

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

// syncBuffer collects a process's output for failure messages.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// jingledProc is a running jingled.
type jingledProc struct {
	cmd  *exec.Cmd
	log  *syncBuffer
	http string
	done chan error
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// startJingled runs jingled with config (an [http] listener is added) and
// waits until /healthz says every part is up.
func startJingled(t *testing.T, config string) *jingledProc {
	t.Helper()
	port := freePort(t)
	dir := t.TempDir()
	path := filepath.Join(dir, "jingled.toml")
	config = fmt.Sprintf("[http]\nlisten = \"127.0.0.1:%d\"\n%s", port, config)
	if err := os.WriteFile(path, []byte(config), 0o600); err != nil {
		t.Fatal(err)
	}
	d := &jingledProc{log: &syncBuffer{}, done: make(chan error, 1), http: fmt.Sprintf("http://127.0.0.1:%d", port)}
	d.cmd = exec.Command(bin(t, "jingled"), "--config", path)
	d.cmd.Stdout, d.cmd.Stderr = d.log, d.log
	if err := d.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { d.done <- d.cmd.Wait() }()
	t.Cleanup(func() {
		_ = d.cmd.Process.Kill()
		<-d.done
		if t.Failed() {
			t.Logf("jingled log:\n%s", d.log.String())
		}
	})
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(d.http + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				return d
			}
		}
		select {
		case err := <-d.done:
			t.Fatalf("jingled exited: %v\n%s", err, d.log.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("jingled not healthy after 30s:\n%s", d.log.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// metrics scrapes jingled's /metrics.
func (d *jingledProc) metrics(t *testing.T) string {
	t.Helper()
	resp, err := http.Get(d.http + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var b bytes.Buffer
	_, _ = b.ReadFrom(resp.Body)
	return b.String()
}

// metricValue sums the samples of name whose labels contain every of want.
func metricValue(text, name string, want ...string) float64 {
	var sum float64
	re := regexp.MustCompile(`^` + regexp.QuoteMeta(name) + `(\{[^}]*\})? ([0-9.e+-]+)$`)
	for _, line := range strings.Split(text, "\n") {
		m := re.FindStringSubmatch(line)
		if m == nil {
			continue
		}
		ok := true
		for _, w := range want {
			if !strings.Contains(m[1], w) {
				ok = false
			}
		}
		if ok {
			v, _ := strconv.ParseFloat(m[2], 64)
			sum += v
		}
	}
	return sum
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
func (r *cliRun) summary() map[string]any {
	if len(r.lines) == 0 {
		return map[string]any{}
	}
	return r.lines[len(r.lines)-1]
}

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
	cmd := exec.CommandContext(ctx, bin(t, "jingle"), args...)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	_ = cmd.Run()
	r := &cliRun{stderr: errb.String(), code: cmd.ProcessState.ExitCode()}
	sc := bufio.NewScanner(&out)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var m map[string]any
		if json.Unmarshal(sc.Bytes(), &m) == nil {
			r.lines = append(r.lines, m)
		}
	}
	return r
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
