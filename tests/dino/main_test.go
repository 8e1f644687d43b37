package dino

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"testing"
)

// envInNetns marks a test binary already re-executed inside its own
// network and mount namespaces, so it never recurses.
const envInNetns = "JINGLED_DINO_NETNS"

// errNotIsolated is why every test fails when the binary could not run in
// namespaces of its own.
var errNotIsolated error

func TestMain(m *testing.M) {
	flag.Parse()
	if testing.Short() {
		// make test-unit: nothing is started, every test skips.
		os.Exit(m.Run())
	}
	if os.Getenv(envInNetns) == "" {
		if os.Geteuid() != 0 {
			errNotIsolated = errors.New("dino: these tests need root: they run Prosody on 127.0.0.1:5222, veth interfaces " +
				"and a bind-mounted CA bundle in network and mount namespaces of their own (run `make test` as root, or use -short)")
			os.Exit(m.Run())
		}
		os.Exit(reexecInNamespaces())
	}
	code := m.Run()
	closeLab()
	os.Exit(code)
}

// reexecInNamespaces runs this test binary again, with the same arguments,
// in new network and mount namespaces (unshare(1), util-linux; ip(8),
// iproute2) and returns its exit code. Mount propagation is private, so the
// CA bundle mounted inside is seen by nothing outside.
func reexecInNamespaces() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "dino: cannot find the test binary to re-run it in a namespace: %v\n", err)
		return 1
	}
	args := append([]string{"--net", "--mount", "--propagation", "private", "--",
		"sh", "-c", `ip link set lo up && exec "$@"`, "sh", self}, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envInNetns+"=1")
	if err := cmd.Run(); err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "dino: re-running in network and mount namespaces (unshare, iproute2): %v\n", err)
		return 1
	}
	return 0
}
