// Package doctor runs the real `jingle doctor` against real Prosody and
// jingled's relay, configured right and then broken on purpose one way
// at a time (issue 15): each fault must be named in the report, by its
// finding id, and make the doctor exit 1; the right setup exits 0.
//
// The relay must look like a host on the internet for the clean run to
// be clean without --lan-ok: TestMain runs the test binary again inside a
// network namespace of its own that has loopback and one veth pair
// holding relayIP, a documentation address the doctor counts as public.
// Prosody listens on 127.0.0.1, the relay on relayIP; nothing routes out
// of the namespace. It needs root and iproute2/iptables (`make test`
// runs as root); -short skips the package.
package doctor

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// nsEnv names the namespace the re-executed test binary runs in.
const nsEnv = "JINGLED_DOCTOR_NETNS"

// Addresses of the namespace's veth: relayIP plays a public address,
// lanIP a LAN one (for --lan-ok).
const (
	relayIP = "203.0.113.10"
	lanIP   = "192.168.77.10"
)

// binDir holds the built jingled and jingle.
var binDir string

// setupErr says why the package cannot run here (not root, no ip).
var setupErr error

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		os.Exit(m.Run())
	}
	if os.Getenv(nsEnv) == "" {
		if err := available(); err != nil {
			setupErr = err
			os.Exit(m.Run()) // each test fails with the reason
		}
		os.Exit(inNamespace())
	}
	dir, err := os.MkdirTemp("", "jingled-doctor-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	binDir = dir
	build := exec.Command("go", "build", "-o", dir+string(filepath.Separator),
		"github.com/jingled/jingled/cmd/jingled", "github.com/jingled/jingled/cmd/jingle")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	code := 1
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "building the binaries:", err)
	} else {
		code = m.Run()
	}
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// available says why namespaces cannot be made here.
func available() error {
	if os.Geteuid() != 0 {
		return fmt.Errorf("tests/doctor needs root for its network namespace (run `make test` as root, or pass -short)")
	}
	for _, bin := range []string{"ip", "iptables"} {
		if _, err := exec.LookPath(bin); err != nil {
			return fmt.Errorf("tests/doctor needs %s: install iproute2 and iptables (`make deps`)", bin)
		}
	}
	return nil
}

// inNamespace makes the namespace, runs this test binary again inside it
// with the same arguments, deletes the namespace and returns the exit
// code.
func inNamespace() int {
	ns := "jingled-doctor-" + strconv.Itoa(os.Getpid())
	cleanup := func() {
		if out, err := exec.Command("ip", "netns", "pids", ns).Output(); err == nil {
			for _, pid := range strings.Fields(string(out)) {
				if p, err := strconv.Atoi(pid); err == nil {
					if proc, err := os.FindProcess(p); err == nil {
						_ = proc.Kill()
					}
				}
			}
		}
		_ = exec.Command("ip", "netns", "del", ns).Run()
	}
	defer cleanup()
	for _, args := range [][]string{
		{"netns", "add", ns},
		{"-n", ns, "link", "set", "lo", "up"},
		// A veth pair with both ends here: an interface that holds the
		// relay's address and leads nowhere.
		{"-n", ns, "link", "add", "pub0", "type", "veth", "peer", "name", "pub1"},
		{"-n", ns, "addr", "add", relayIP + "/24", "dev", "pub0"},
		{"-n", ns, "addr", "add", lanIP + "/24", "dev", "pub0"},
		{"-n", ns, "link", "set", "pub0", "up"},
		{"-n", ns, "link", "set", "pub1", "up"},
	} {
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			fmt.Fprintf(os.Stderr, "ip %v: %v: %s\n", args, err, out)
			return 1
		}
	}
	exe, err := os.Executable()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	cmd := exec.Command("ip", append([]string{"netns", "exec", ns, exe}, os.Args[1:]...)...)
	cmd.Env = append(os.Environ(), nsEnv+"="+ns)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}
