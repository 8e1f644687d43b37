package dino

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/jingled/jingled/internal/proctest"
	"github.com/jingled/jingled/internal/prosodytest"
)

// The namespace's veth pair: both ends stay in the test's own network
// namespace, so ICE has non-loopback addresses that reach nothing else.
const (
	vethA    = "jdino0"
	vethB    = "jdino1"
	addrA    = "10.250.0.2"
	addrB    = "10.250.0.3"
	vethMask = "/24"
)

// The conference component of the lab's Prosody (the stretch scenario).
const (
	confSubdomain = "call"
	confSecret    = "dino-conference-secret"
	confDomain    = confSubdomain + "." + prosodytest.Domain
	confRoom      = "dinoroom@" + confDomain
)

// caBundle is the system trust store GLib's TLS (GnuTLS) reads.
const caBundle = "/etc/ssl/certs/ca-certificates.crt"

// The accounts: Dino's and the CLI peers'. mod_groups puts them all (and
// the conference room) in each other's rosters, subscribed both ways, so
// Dino auto-accepts files and sees presence and caps.
var accountNames = []string{"dino", "alice", "bob", "carol"}

// lab is what every test of the package shares: one Prosody, one Dino.
type lab struct {
	dir      string
	srv      *prosodytest.Server
	accounts map[string]prosodytest.Account
	proxy    net.Listener
	binDir   string
	jingled  *proctest.Jingled // the conference component (TestConferenceWithDino)
	dino     *dinoProc
}

var (
	labOnce sync.Once
	theLab  *lab
	labErr  error
)

// getLab returns the shared lab, starting it on first use; it fails t
// (never skips, except under -short) when anything is missing.
func getLab(t *testing.T) *lab {
	t.Helper()
	if testing.Short() {
		t.Skip("dino: needs Dino, Xvfb, Prosody and root; make test-unit (-short) runs without them")
	}
	if errNotIsolated != nil {
		t.Fatal(errNotIsolated)
	}
	labOnce.Do(func() {
		start := time.Now()
		theLab, labErr = startLab()
		if labErr == nil {
			fmt.Printf("dino: lab up in %v: %s\n", time.Since(start).Round(time.Millisecond), theLab.dino.version)
		}
	})
	if labErr != nil {
		t.Fatal(labErr)
	}
	return theLab
}

func closeLab() {
	if theLab != nil {
		theLab.close()
	}
}

func (l *lab) close() {
	if l.dino != nil {
		l.dino.close()
	}
	l.stopJingled()
	if l.proxy != nil {
		l.proxy.Close()
	}
	if l.srv != nil {
		_ = l.srv.Close()
	}
	if os.Getenv("JINGLED_DINO_KEEP") == "" {
		os.RemoveAll(l.dir)
	} else {
		fmt.Printf("dino: kept %s\n", l.dir)
	}
}

func startLab() (_ *lab, err error) {
	l := &lab{accounts: map[string]prosodytest.Account{}}
	defer func() {
		if err != nil {
			l.close()
		}
	}()
	if err := requireTools(); err != nil {
		return nil, err
	}
	if l.dir, err = os.MkdirTemp("", "jingled-dino-"); err != nil {
		return nil, err
	}
	if err := setupVeth(); err != nil {
		return nil, err
	}
	groups := filepath.Join(l.dir, "groups.txt")
	var g strings.Builder
	g.WriteString("[Testers]\n")
	for _, n := range accountNames {
		g.WriteString(n + "@" + prosodytest.Domain + "\n")
	}
	g.WriteString(confRoom + "=Room\n")
	if err := os.WriteFile(groups, []byte(g.String()), 0o644); err != nil {
		return nil, err
	}
	// Prosody, four prosodyctl account creations, jingled and Dino: 35 s
	// on an idle 2-core machine, over a minute when it is busy.
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	if err := os.MkdirAll(filepath.Join(l.dir, "prosody"), 0o700); err != nil {
		return nil, err
	}
	l.srv, err = prosodytest.Start(ctx, filepath.Join(l.dir, "prosody"),
		prosodytest.WithModules("groups"),
		prosodytest.WithGlobalConfig(fmt.Sprintf("groups_file = %q", groups)),
		prosodytest.WithComponent(confSubdomain, confSecret))
	if err != nil {
		return nil, err
	}
	for _, n := range accountNames {
		acc, err := l.srv.CreateAccount(ctx, n, n+"-password")
		if err != nil {
			return nil, err
		}
		l.accounts[n] = acc
	}
	// Dino connects to the domain's port 5222 and nowhere else.
	if l.proxy, err = forwardPort("127.0.0.1:5222", l.srv.Addr); err != nil {
		return nil, fmt.Errorf("dino: listening on 127.0.0.1:5222 for Dino: %w", err)
	}
	if err := trustCA(l.dir, l.srv.CAFile); err != nil {
		return nil, err
	}
	if err := l.buildBinaries(); err != nil {
		return nil, err
	}
	// Before Dino: its first presence makes Prosody probe the room.
	if err := l.startJingled(ctx); err != nil {
		return nil, err
	}
	l.dino, err = startDino(ctx, filepath.Join(l.dir, "dino"), l.accounts["dino"], l.srv)
	if err != nil {
		return nil, err
	}
	return l, nil
}

// requireTools names every missing program at once, with its package.
func requireTools() error {
	need := []struct{ bin, pkg string }{
		{"dino-im", "dino-im"},
		{"Xvfb", "xvfb"},
		{"xdotool", "xdotool"},
		{"xset", "x11-xserver-utils"},
		{"dbus-daemon", "dbus-x11 (dbus-daemon)"},
		{"gdbus", "libglib2.0-bin"},
		{"sqlite3", "sqlite3"},
		{"gcc", "gcc"},
		{"pkg-config", "pkg-config"},
		{"ffmpeg", "ffmpeg"},
		{"ip", "iproute2"},
		{"iptables", "iptables"},
		{"unshare", "util-linux"},
		{"prosody", "prosody"},
	}
	var missing []string
	for _, n := range need {
		if _, err := exec.LookPath(n.bin); err != nil {
			missing = append(missing, fmt.Sprintf("%s (Debian package %s)", n.bin, n.pkg))
		}
	}
	if err := exec.Command("pkg-config", "--exists", "gstreamer-1.0").Run(); err != nil {
		missing = append(missing, "pkg-config gstreamer-1.0 (Debian package libgstreamer1.0-dev)")
	}
	for _, p := range []struct{ file, pkg string }{
		{"libgstaudiotestsrc.so", "gstreamer1.0-plugins-base"},
		{"libgstvideotestsrc.so", "gstreamer1.0-plugins-base"},
		{"libgstopus.so", "gstreamer1.0-plugins-base"},
		{"libgstvpx.so", "gstreamer1.0-plugins-good"},
		{"libgstrtpmanager.so", "gstreamer1.0-plugins-good"},
		{"libgstgtk.so", "gstreamer1.0-gtk3 (Dino offers video only with gtksink)"},
	} {
		if m, _ := filepath.Glob("/usr/lib/*/gstreamer-1.0/" + p.file); len(m) == 0 {
			missing = append(missing, fmt.Sprintf("GStreamer plugin %s (Debian package %s)", p.file, p.pkg))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("dino: cannot run Dino as a test peer, missing: %s; install them with `make deps` "+
			"(scripts/deps.txt lists the packages)", strings.Join(missing, "; "))
	}
	return nil
}

// setupVeth adds the veth pair to the test's own namespace and checks that
// nothing but it and lo is up there.
func setupVeth() error {
	ifaces, err := net.Interfaces()
	if err != nil {
		return err
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagLoopback == 0 && ifc.Name != vethA && ifc.Name != vethB {
			return fmt.Errorf("dino: interface %s in the test's network namespace: TestMain should have re-run the tests in a fresh one", ifc.Name)
		}
	}
	cmds := [][]string{
		{"link", "add", vethA, "type", "veth", "peer", "name", vethB},
		{"addr", "add", addrA + vethMask, "dev", vethA},
		{"addr", "add", addrB + vethMask, "dev", vethB},
		{"link", "set", vethA, "up"},
		{"link", "set", vethB, "up"},
	}
	for _, c := range cmds {
		if out, err := exec.Command("ip", c...).CombinedOutput(); err != nil {
			return fmt.Errorf("dino: ip %s: %v: %s (libnice gathers no candidates on loopback, so Dino needs a veth pair)",
				strings.Join(c, " "), err, out)
		}
	}
	return nil
}

// trustCA bind-mounts, over the system CA bundle, a copy that also holds
// the test Prosody's certificate: Dino 0.4.2 has no way to accept an
// unverified one. The mount namespace is the test's own (TestMain).
func trustCA(dir, caFile string) error {
	if os.Getenv(envInNetns) == "" {
		return fmt.Errorf("dino: refusing to mount over %s outside the test's own mount namespace", caBundle)
	}
	sys, err := os.ReadFile(caBundle)
	if err != nil {
		return fmt.Errorf("dino: %v (Debian package ca-certificates)", err)
	}
	ours, err := os.ReadFile(caFile)
	if err != nil {
		return err
	}
	bundle := filepath.Join(dir, "ca-certificates.crt")
	if err := os.WriteFile(bundle, append(append(sys, '\n'), ours...), 0o644); err != nil {
		return err
	}
	if err := syscall.Mount(bundle, caBundle, "", syscall.MS_BIND, ""); err != nil {
		return fmt.Errorf("dino: bind-mounting the test CA bundle over %s: %w", caBundle, err)
	}
	return nil
}

// forwardPort accepts on listen and pipes each connection to target.
func forwardPort(listen, target string) (net.Listener, error) {
	ln, err := net.Listen("tcp", listen)
	if err != nil {
		return nil, err
	}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				u, err := net.Dial("tcp", target)
				if err != nil {
					return
				}
				defer u.Close()
				done := make(chan struct{}, 2)
				go func() { _, _ = io.Copy(u, c); u.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				go func() { _, _ = io.Copy(c, u); c.(*net.TCPConn).CloseWrite(); done <- struct{}{} }()
				<-done
				<-done
			}()
		}
	}()
	return ln, nil
}

// buildBinaries builds jingle and jingled into the lab directory.
func (l *lab) buildBinaries() error {
	l.binDir = filepath.Join(l.dir, "bin")
	cmd := exec.Command("go", "build", "-o", l.binDir+"/", "github.com/jingled/jingled/cmd/jingled", "github.com/jingled/jingled/cmd/jingle")
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("dino: go build: %v\n%s", err, out)
	}
	return nil
}

// cliRun is a finished `jingle` command: its JSON lines and exit code.
type cliRun struct {
	lines  []map[string]any
	stderr string
	code   int
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

// cli is a `jingle` command started in the background.
type cli struct {
	cmd    *exec.Cmd
	out    *syncBuffer
	errb   *syncBuffer
	done   chan struct{}
	result *cliRun
}

// startCLI runs `jingle` as account who with args (subcommand first); the
// account flags and --json are added. ICE gathers on the veth addresses
// (no --loopback: Dino's libnice has none there).
func (l *lab) startCLI(t *testing.T, ctx context.Context, who string, args ...string) *cli {
	t.Helper()
	acc := l.accounts[who]
	pw := filepath.Join(t.TempDir(), "pw")
	if err := os.WriteFile(pw, []byte(acc.Password), 0o600); err != nil {
		t.Fatal(err)
	}
	args = append(args, "--jid", acc.JID, "--password-file", pw, "--server", l.srv.Addr, "--ca", l.srv.CAFile, "--no-discover", "--json")
	c := &cli{out: &syncBuffer{}, errb: &syncBuffer{}, done: make(chan struct{})}
	c.cmd = exec.CommandContext(ctx, filepath.Join(l.binDir, "jingle"), args...)
	c.cmd.Stdout, c.cmd.Stderr = c.out, c.errb
	c.cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		_ = c.cmd.Wait()
		r := &cliRun{stderr: c.errb.String(), code: c.cmd.ProcessState.ExitCode()}
		sc := bufio.NewScanner(strings.NewReader(c.out.String()))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil {
				r.lines = append(r.lines, m)
			}
		}
		c.result = r
		close(c.done)
	}()
	t.Cleanup(func() {
		_ = c.cmd.Process.Kill()
		<-c.done
	})
	return c
}

// wait returns the finished run, failing t after timeout.
func (c *cli) wait(t *testing.T, timeout time.Duration) *cliRun {
	t.Helper()
	select {
	case <-c.done:
		return c.result
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		<-c.done
		t.Fatalf("jingle %s did not finish within %v:\n%s", c.cmd.Args[1], timeout, c.result)
		return nil
	}
}

// waitEvent waits until the command printed a JSON line with "type" typ
// (or "event" typ), or ended.
func (c *cli) waitEvent(t *testing.T, typ string, timeout time.Duration) bool {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		for _, line := range strings.Split(c.out.String(), "\n") {
			var m map[string]any
			if json.Unmarshal([]byte(line), &m) == nil && (m["type"] == typ || m["event"] == typ) {
				return true
			}
		}
		select {
		case <-c.done:
			return false
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}

// syncBuffer collects a process's output.
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

// startPeerFor starts `jingle` as who with args, waits for its "ready"
// event, and checks with seen (Dino's chat with who shows a button that
// needs the peer's features) that Dino took the new resource's features.
// The CLI sends its first presence before its Jingle features are
// registered; Dino asks that resource for disco#info at once and keeps an
// answer made too early, so it then offers no call or file to it. Such a
// resource is replaced by a new one (up to three tries).
func (l *lab) startPeerFor(t *testing.T, ctx context.Context, who string, seen func() bool, args ...string) *cli {
	t.Helper()
	for try := 1; ; try++ {
		c := l.startCLI(t, ctx, who, args...)
		if !c.waitEvent(t, "ready", 20*time.Second) {
			t.Fatalf("jingle %s not ready: %s", args[0], c.wait(t, 5*time.Second))
		}
		if seen() {
			return c
		}
		if try == 3 {
			t.Fatalf("Dino never offered the action for %s's resource (three resources tried)", who)
		}
		t.Logf("Dino shows no button for %s's new resource (it kept a disco#info answered before the CLI registered its features); starting another", who)
		_ = c.cmd.Process.Kill()
		<-c.done
		time.Sleep(500 * time.Millisecond)
	}
}
