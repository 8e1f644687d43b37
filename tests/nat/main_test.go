package nat

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/netnstest"
	"github.com/jingled/jingled/internal/proctest"
)

// The test binary doubles as the programs that run inside the
// namespaces: started again under `ip netns exec` with roleEnv naming
// what to be, it reads its input (JSON) from inputEnv, takes commands
// as lines on stdin, writes JSON lines to stdout and logs to stderr, and
// stops when stdin closes.
const (
	roleEnv  = "JINGLED_NAT_ROLE"
	inputEnv = "JINGLED_NAT_INPUT"
)

// role is one program: in is its input, cmds the lines written to its
// stdin, ctx ends when stdin closes.
type role func(ctx context.Context, in []byte, cmds <-chan string, out *json.Encoder) error

var roles = map[string]role{}

func TestMain(m *testing.M) {
	if role := os.Getenv(roleEnv); role != "" {
		os.Exit(runRole(role))
	}
	code := m.Run()
	removeBinaries()
	os.Exit(code)
}

func runRole(role string) int {
	f, ok := roles[role]
	if !ok {
		fmt.Fprintf(os.Stderr, "unknown role %q\n", role)
		return 2
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The parent closes stdin to stop us.
	cmds := make(chan string, 16)
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			select {
			case cmds <- sc.Text():
			default:
			}
		}
		cancel()
	}()
	if err := f(ctx, []byte(os.Getenv(inputEnv)), cmds, json.NewEncoder(os.Stdout)); err != nil {
		fmt.Fprintf(os.Stderr, "role %s: %v\n", role, err)
		return 1
	}
	return 0
}

// proc is a role running in a namespace.
type proc struct {
	name   string
	cmd    *exec.Cmd
	stdin  io.WriteCloser
	lines  chan []byte
	stdout *proctest.SyncBuffer
	stderr *proctest.SyncBuffer
	done   chan struct{}
	err    error
}

// startRole runs role in ns with input and registers its stop (and its
// stderr in the log of a failed test) with t.Cleanup.
func startRole(t *testing.T, topo *netnstest.Topology, ns, role string, input any, env ...string) *proc {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	in, err := json.Marshal(input)
	if err != nil {
		t.Fatal(err)
	}
	env = append([]string{roleEnv + "=" + role, inputEnv + "=" + string(in)}, env...)
	return startProgram(t, topo, ns, role, []string{exe, "-test.run=^$"}, env)
}

// startProgram runs argv in ns with env added to ours, reading its
// stdout as JSON lines, and registers its stop (and its output in the
// log of a failed test) with t.Cleanup.
func startProgram(t *testing.T, topo *netnstest.Topology, ns, name string, argv, env []string) *proc {
	t.Helper()
	cmd := topo.Command(context.Background(), ns, argv[0], argv[1:]...)
	cmd.Env = append(os.Environ(), env...)
	p := &proc{name: name + "@" + ns, cmd: cmd, lines: make(chan []byte, 1024), stderr: &proctest.SyncBuffer{}, stdout: &proctest.SyncBuffer{}, done: make(chan struct{})}
	cmd.Stderr = p.stderr
	var err error
	if p.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting %s: %v", p.name, err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			line := append([]byte(nil), sc.Bytes()...)
			_, _ = p.stdout.Write(append(append([]byte(nil), line...), '\n'))
			select {
			case p.lines <- line:
			default: // nobody reads this many answers; keep draining
			}
		}
		close(p.lines)
		p.err = cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		p.stop()
		if t.Failed() {
			t.Logf("--- %s stdout:\n%s\n--- %s stderr:\n%s", p.name, p.stdout.String(), p.name, p.stderr.String())
		}
	})
	return p
}

// until reads JSON lines until one whose "event" is event, and decodes
// that one into v.
func (p *proc) until(t *testing.T, event string, v any, timeout time.Duration) {
	t.Helper()
	deadline := time.After(timeout)
	for {
		select {
		case line, ok := <-p.lines:
			if !ok {
				<-p.done
				t.Fatalf("%s exited (%v) before %q:\n%s\n%s", p.name, p.err, event, p.stdout.String(), p.stderr.String())
			}
			var head struct {
				Event string `json:"event"`
			}
			if json.Unmarshal(line, &head) != nil || head.Event != event {
				continue
			}
			if err := json.Unmarshal(line, v); err != nil {
				t.Fatalf("%s wrote %q: %v", p.name, line, err)
			}
			return
		case <-deadline:
			t.Fatalf("%s: no %q within %v:\n%s\n%s", p.name, event, timeout, p.stdout.String(), p.stderr.String())
		}
	}
}

// send writes a command line to the role.
func (p *proc) send(t *testing.T, cmd string) {
	t.Helper()
	if _, err := io.WriteString(p.stdin, cmd+"\n"); err != nil {
		t.Fatalf("%s: sending %q: %v", p.name, cmd, err)
	}
}

// next decodes the next JSON line into v.
func (p *proc) next(t *testing.T, v any, timeout time.Duration) {
	t.Helper()
	select {
	case line, ok := <-p.lines:
		if !ok {
			<-p.done
			t.Fatalf("%s exited (%v) before answering:\n%s", p.name, p.err, p.stderr.String())
		}
		if err := json.Unmarshal(line, v); err != nil {
			t.Fatalf("%s wrote %q: %v", p.name, line, err)
		}
	case <-time.After(timeout):
		t.Fatalf("%s did not answer within %v:\n%s", p.name, timeout, p.stderr.String())
	}
}

// stop closes stdin (the role's signal to end) and waits, killing the
// process if it does not go.
func (p *proc) stop() {
	_ = p.stdin.Close()
	select {
	case <-p.done:
		return
	case <-time.After(10 * time.Second):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}
