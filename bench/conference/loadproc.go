package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"time"

	"github.com/jingled/jingled/bench/conference/internal/loadwire"
	"github.com/jingled/jingled/bench/internal/benchproc"
)

// loadProc is one running confload process and the line protocol with
// it (bench/conference/internal/loadwire). A run has one, or two when
// the probes' rooms get a process of their own (-probe-process).
type loadProc struct {
	name   string // for messages: "confload" or "confload (probes)"
	cmd    *exec.Cmd
	in     io.WriteCloser
	lines  chan string
	exited chan error
}

// startLoad starts confload with args, pinned to CPU 1 with pin, at
// nice value nice (nice -n, which every thread inherits) unless 0.
func startLoad(name, bin string, pin bool, nice int, args []string) (*loadProc, error) {
	if nice != 0 {
		args = append([]string{"-n", strconv.Itoa(nice), bin}, args...)
		bin = "nice"
	}
	cmd := benchproc.Command(pin, "1", bin, args...)
	cmd.Stderr = os.Stderr
	in, err := cmd.StdinPipe()
	if err != nil {
		return nil, err
	}
	outp, err := cmd.StdoutPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	p := &loadProc{name: name, cmd: cmd, in: in, lines: make(chan string), exited: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(outp)
		sc.Buffer(make([]byte, 1<<20), 16<<20)
		for sc.Scan() {
			p.lines <- sc.Text()
		}
		close(p.lines)
		p.exited <- cmd.Wait()
	}()
	return p, nil
}

// expect waits for a line starting with want, passing other lines on to
// stderr as the load's log.
func (p *loadProc) expect(want string, timeout time.Duration) (string, error) {
	t := time.After(timeout)
	for {
		select {
		case l, ok := <-p.lines:
			if !ok {
				return "", fmt.Errorf("%s exited before %s", p.name, strings.TrimSpace(want))
			}
			if strings.HasPrefix(l, want) {
				return l, nil
			}
			fmt.Fprintf(os.Stderr, "%s: %s\n", p.name, l)
		case <-t:
			return "", fmt.Errorf("no %s from %s within %v", strings.TrimSpace(want), p.name, timeout)
		}
	}
}

// send writes one protocol line.
func (p *loadProc) send(line string) { fmt.Fprintln(p.in, line) }

// result reads the RESULT line after Stop.
func (p *loadProc) result() (loadwire.Result, error) {
	var r loadwire.Result
	l, err := p.expect(loadwire.ResultPrefix, time.Minute)
	if err != nil {
		return r, err
	}
	if err := json.Unmarshal([]byte(strings.TrimPrefix(l, loadwire.ResultPrefix)), &r); err != nil {
		return r, fmt.Errorf("%s result: %w", p.name, err)
	}
	return r, nil
}

// stopLoads closes every load's stdin (each hangs up its calls, all at
// once) and then waits up to 30 s for each to exit before killing it.
func stopLoads(loads []*loadProc) {
	for _, p := range loads {
		_ = p.in.Close()
		go func() {
			// Drain what the load still logs while it hangs up.
			for l := range p.lines {
				fmt.Fprintf(os.Stderr, "%s: %s\n", p.name, l)
			}
		}()
	}
	deadline := time.After(30 * time.Second)
	for _, p := range loads {
		select {
		case <-p.exited:
		case <-deadline:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
	}
}
