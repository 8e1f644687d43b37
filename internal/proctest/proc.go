package proctest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os/exec"
	"syscall"
	"testing"
	"time"
)

// Proc is a long-running jingle subcommand (answer, receive) started
// with --json, whose events the test follows as they come.
type Proc struct {
	Cmd *exec.Cmd
	// Stderr collects its standard error (the exit message).
	Stderr *SyncBuffer
	// Lines are all stdout lines read so far, JSON or not.
	Lines *SyncBuffer
	// Stdin is the process's standard input (StartCLIInput only; else
	// it reads /dev/null).
	Stdin io.WriteCloser

	events chan map[string]any
	exited chan struct{}
	err    error // Cmd.Wait's, once exited is closed
}

// StartCLI starts bin with args (which should include --json). At
// cleanup the process is killed if it still runs, and its output is
// logged if t failed.
func StartCLI(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	return startCLI(t, false, bin, args...)
}

// StartCLIInput is StartCLI with a pipe as standard input (Proc.Stdin),
// for commands typed to a running call.
func StartCLIInput(t testing.TB, bin string, args ...string) *Proc {
	t.Helper()
	return startCLI(t, true, bin, args...)
}

func startCLI(t testing.TB, input bool, bin string, args ...string) *Proc {
	t.Helper()
	p := &Proc{Stderr: &SyncBuffer{}, Lines: &SyncBuffer{}, events: make(chan map[string]any, 4096), exited: make(chan struct{})}
	p.Cmd = exec.Command(bin, args...)
	p.Cmd.Stderr = p.Stderr
	if input {
		w, err := p.Cmd.StdinPipe()
		if err != nil {
			t.Fatal(err)
		}
		p.Stdin = w
	}
	stdout, err := p.Cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := p.Cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			_, _ = p.Lines.Write(append(sc.Bytes(), '\n'))
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				select {
				case p.events <- m:
				default: // nobody follows this many events; Lines has them
				}
			}
		}
		close(p.events)
		p.err = p.Cmd.Wait()
		close(p.exited)
	}()
	t.Cleanup(func() {
		_ = p.Cmd.Process.Kill()
		<-p.exited
		if t.Failed() {
			t.Logf("%s %v\nstdout:\n%s\nstderr:\n%s", bin, args, p.Lines.String(), p.Stderr.String())
		}
	})
	return p
}

// Event waits for the next event named name, skipping others; it fails
// t if the process ends or ctx expires first.
func (p *Proc) Event(ctx context.Context, t testing.TB, name string) map[string]any {
	t.Helper()
	return p.EventWhere(ctx, t, name, nil)
}

// EventWhere waits for the next event named name ("": any) for which
// match (nil: any) holds, skipping others, as Event does.
func (p *Proc) EventWhere(ctx context.Context, t testing.TB, name string, match func(map[string]any) bool) map[string]any {
	t.Helper()
	for {
		select {
		case m, ok := <-p.events:
			if !ok {
				t.Fatalf("%s ended before the %q event", p.Cmd.Args[0], name)
				return nil
			}
			if (name == "" || m["event"] == name) && (match == nil || match(m)) {
				return m
			}
		case <-ctx.Done():
			t.Fatalf("no %q event: %v", name, ctx.Err())
			return nil
		}
	}
}

// Wait waits for the process to exit and returns its exit code; it
// fails t if that takes longer than timeout (a generous bound, not a
// measurement).
func (p *Proc) Wait(t testing.TB, timeout time.Duration) int {
	t.Helper()
	select {
	case <-p.exited:
	case <-time.After(timeout):
		t.Fatalf("%s still runs after %v", p.Cmd.Args[0], timeout)
	}
	return p.Cmd.ProcessState.ExitCode()
}

// Exited is closed once the process has exited.
func (p *Proc) Exited() <-chan struct{} { return p.exited }

// Signal sends sig to the process (SIGKILL: a crash).
func (p *Proc) Signal(sig syscall.Signal) error { return p.Cmd.Process.Signal(sig) }
