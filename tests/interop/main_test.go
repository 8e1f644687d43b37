package interop

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"testing"

	"github.com/jingled/jingled/internal/prosodytest"
)

// envInNetns marks a test binary already re-executed inside its own
// network namespace, so it never recurses.
const envInNetns = "JINGLED_INTEROP_NETNS"

func TestMain(m *testing.M) {
	if !onlyLoopback() && os.Getenv(envInNetns) == "" && os.Geteuid() == 0 {
		os.Exit(reexecInNetns())
	}
	code := prosodytest.Run(m, prosodytest.WithComponent(confSubdomain, confSecret))
	removeBinaries()
	os.Exit(code)
}

// onlyLoopback reports whether every interface that is up is a loopback
// one: then nothing libwebrtc gathers can leave the machine.
func onlyLoopback() bool {
	ifaces, err := net.Interfaces()
	if err != nil {
		return false
	}
	for _, ifc := range ifaces {
		if ifc.Flags&net.FlagUp != 0 && ifc.Flags&net.FlagLoopback == 0 {
			return false
		}
	}
	return true
}

// reexecInNetns runs this test binary again, with the same arguments, in a
// new network namespace whose only interface is lo (unshare(1) and ip(8),
// Debian packages util-linux and iproute2), and returns its exit code.
func reexecInNetns() int {
	self, err := os.Executable()
	if err != nil {
		fmt.Fprintf(os.Stderr, "interop: cannot find the test binary to re-run it in a network namespace: %v\n", err)
		return 1
	}
	args := append([]string{"--net", "--", "sh", "-c", `ip link set lo up && exec "$@"`, "sh", self}, os.Args[1:]...)
	cmd := exec.Command("unshare", args...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), envInNetns+"=1")
	if err := cmd.Run(); err != nil {
		if ee, ok := err.(*exec.ExitError); ok {
			return ee.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "interop: re-running in a network namespace: %v\n", err)
		return 1
	}
	return 0
}

// requireIsolated fails the test when libwebrtc could reach a
// non-loopback interface (not root, so no namespace could be made).
func requireIsolated(t *testing.T) {
	t.Helper()
	if !onlyLoopback() {
		t.Fatal("interop: this network namespace has non-loopback interfaces and libwebrtc would gather candidates on them; " +
			"run as root (TestMain then re-runs the tests in a namespace with only lo) or via `make interop-test`")
	}
}

// sharedServer is the Prosody of this test binary (prosodytest.Run in
// TestMain), after checking the namespace is isolated.
func sharedServer(t *testing.T) *prosodytest.Server {
	t.Helper()
	if testing.Short() {
		t.Skip("needs Prosody, node and a network namespace; make test-unit (-short) runs without them")
	}
	requireIsolated(t)
	return prosodytest.Shared(t)
}
