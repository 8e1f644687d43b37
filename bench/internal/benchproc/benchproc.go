// Package benchproc runs the processes of the project's benchmarks: the
// real jingled binary under test, built from this checkout, optionally
// pinned to one CPU, read through its own metrics and pprof endpoints,
// and Prosody's CPU time. Benchmarks measure jingled as its own process,
// apart from the load that drives it (bench/calls, bench/conference), so
// what they report is what an operator's machine would see.
package benchproc

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jingled/jingled/internal/prosodytest"
)

// Build compiles the main package pkg (e.g. "./cmd/jingled") of this
// module into dir and returns the binary's path.
func Build(ctx context.Context, dir, pkg string) (string, error) {
	out := filepath.Join(dir, filepath.Base(pkg))
	cmd := exec.CommandContext(ctx, "go", "build", "-o", out, pkg)
	cmd.Dir = ModuleRoot()
	if msg, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("go build %s: %w\n%s", pkg, err, msg)
	}
	return out, nil
}

// ModuleRoot is the repository root (where go.mod is), from the working
// directory up.
func ModuleRoot() string {
	d, _ := os.Getwd()
	for p := d; ; p = filepath.Dir(p) {
		if _, err := os.Stat(filepath.Join(p, "go.mod")); err == nil {
			return p
		}
		if filepath.Dir(p) == p {
			return d
		}
	}
}

// CheckPin reports whether pinning can work here (taskset is installed).
func CheckPin() error {
	if _, err := exec.LookPath("taskset"); err != nil {
		return errors.New("-pin needs taskset (util-linux)")
	}
	return nil
}

// Command runs name, pinned to cpu with taskset when pin is set.
func Command(pin bool, cpu, name string, args ...string) *exec.Cmd {
	if pin {
		return exec.Command("taskset", append([]string{"-c", cpu, name}, args...)...)
	}
	return exec.Command(name, args...)
}

// Jingled is a running jingled.
type Jingled struct {
	cmd *exec.Cmd
	// URL is its [http] listener: /metrics, /healthz, /debug/pprof.
	URL     string
	logFile string
	exited  chan struct{}
}

// StartJingled writes conf (which must set [http] listen to httpAddr)
// into dir, starts bin with it (on CPU 0 when pin is set) and waits until
// /healthz answers 200.
func StartJingled(ctx context.Context, bin, dir, httpAddr, conf string, pin bool) (*Jingled, error) {
	path := filepath.Join(dir, "jingled.toml")
	if err := os.WriteFile(path, []byte(conf), 0o600); err != nil {
		return nil, err
	}
	j := &Jingled{URL: "http://" + httpAddr, logFile: filepath.Join(dir, "jingled.log"), exited: make(chan struct{})}
	logf, err := os.Create(j.logFile)
	if err != nil {
		return nil, err
	}
	j.cmd = Command(pin, "0", bin, "--config", path)
	j.cmd.Stdout, j.cmd.Stderr = logf, logf
	if err := j.cmd.Start(); err != nil {
		logf.Close()
		return nil, err
	}
	go func() { _ = j.cmd.Wait(); logf.Close(); close(j.exited) }()
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(j.URL + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return j, nil
			}
		}
		select {
		case <-j.exited:
			return nil, fmt.Errorf("jingled exited at start: %s", j.LogTail())
		case <-ctx.Done():
			j.Stop()
			return nil, ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			j.Stop()
			return nil, fmt.Errorf("jingled not healthy after 30s: %s", j.LogTail())
		}
	}
}

// Pid is jingled's process id (taskset execs it, so the same process).
func (j *Jingled) Pid() int { return j.cmd.Process.Pid }

// Stop ends jingled with SIGTERM, then SIGKILL after 15 s.
func (j *Jingled) Stop() {
	_ = j.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-j.exited:
	case <-time.After(15 * time.Second):
		_ = j.cmd.Process.Kill()
		<-j.exited
	}
}

// LogTail is the end of jingled's log, for error messages.
func (j *Jingled) LogTail() string {
	b, _ := os.ReadFile(j.logFile)
	if len(b) > 3000 {
		b = b[len(b)-3000:]
	}
	return string(b)
}

// Scrape reads jingled's metrics: "name" or "name{labels}" -> value.
func (j *Jingled) Scrape() (map[string]float64, error) {
	resp, err := http.Get(j.URL + "/metrics")
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	out := map[string]float64{}
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		l := sc.Text()
		if l == "" || l[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(l, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(l[i+1:], 64)
		if err != nil {
			continue
		}
		out[l[:i]] = v
	}
	return out, sc.Err()
}

// SaveProfile fetches a CPU profile of jingled lasting d into path (best
// effort: a failure is printed, the run goes on). jingled needs
// [http] pprof = true.
func (j *Jingled) SaveProfile(path string, d time.Duration) {
	j.saveProfile("profile", path, d)
}

// SaveTrace is SaveProfile for an execution trace over d (go tool trace).
func (j *Jingled) SaveTrace(path string, d time.Duration) {
	j.saveProfile("trace", path, d)
}

// SaveAllocs is SaveProfile for the allocations made during d (go tool
// pprof -sample_index=alloc_space).
func (j *Jingled) SaveAllocs(path string, d time.Duration) {
	j.saveProfile("allocs", path, d)
}

// SaveHeap saves the heap profile as it is now (go tool pprof
// -sample_index=inuse_space: what is live).
func (j *Jingled) SaveHeap(path string) {
	j.saveProfile("heap", path, 0)
}

// saveProfile saves /debug/pprof/KIND over d, or as it is now when d is 0.
func (j *Jingled) saveProfile(kind, path string, d time.Duration) {
	url := fmt.Sprintf("%s/debug/pprof/%s", j.URL, kind)
	if d > 0 {
		url += fmt.Sprintf("?seconds=%d", int(d.Seconds()))
	}
	resp, err := http.Get(url)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		return
	}
	defer resp.Body.Close()
	f, err := os.Create(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
		return
	}
	defer f.Close()
	if _, err := io.Copy(f, resp.Body); err != nil {
		fmt.Fprintln(os.Stderr, "cpuprofile:", err)
	}
}

// ProsodyCPU is Prosody's CPU time so far, seconds (from its pid file).
func ProsodyCPU(srv *prosodytest.Server) float64 {
	b, err := os.ReadFile(filepath.Join(srv.Dir, "prosody.pid"))
	if err != nil {
		return 0
	}
	return ProcCPU(strings.TrimSpace(string(b)))
}

// ProcCPU is the CPU time (user + system) of process pid so far, seconds,
// from /proc; 0 when it cannot be read.
func ProcCPU(pid string) float64 {
	st, err := os.ReadFile("/proc/" + pid + "/stat")
	if err != nil {
		return 0
	}
	s := string(st)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
	if len(f) < 13 {
		return 0
	}
	ut, _ := strconv.ParseFloat(f[11], 64)
	stt, _ := strconv.ParseFloat(f[12], 64)
	return (ut + stt) / 100 // USER_HZ
}

// FreePort is a TCP port on 127.0.0.1 free at the time of the call.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// FreeUDPPort is a UDP port free on 127.0.0.1 and ::1 at the time of
// the call.
func FreeUDPPort() (int, error) {
	for range 20 {
		c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
		if err != nil {
			return 0, err
		}
		p := c.LocalAddr().(*net.UDPAddr).Port
		c6, err := net.ListenUDP("udp6", &net.UDPAddr{IP: net.IPv6loopback, Port: p})
		c.Close()
		if err == nil {
			c6.Close()
			return p, nil
		}
	}
	return 0, errors.New("no UDP port free on both loopback addresses")
}

// ParseCounts reads a comma-separated list of positive counts, the
// benchmarks' sizes flags (-concurrency, -participants).
func ParseCounts(s string) ([]int, error) {
	var out []int
	for _, f := range strings.Split(s, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n <= 0 {
			return nil, fmt.Errorf("bad count %q", f)
		}
		out = append(out, n)
	}
	return out, nil
}

// LoadAverage is /proc/loadavg, for the header of a run.
func LoadAverage() string {
	b, _ := os.ReadFile("/proc/loadavg")
	return strings.TrimSpace(string(b))
}
