package datachannel

import (
	"fmt"
	"net"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/pion/transport/v4/stdnet"

	"github.com/jingled/jingled/internal/udpgso"
)

// TestBufferedNetSizesSockets: the sockets ICE opens through bufferedNet
// get a receive buffer above the kernel's default.
func TestBufferedNetSizesSockets(t *testing.T) {
	def := sysctlInt(t, "/proc/sys/net/core/rmem_default")
	if sysctlInt(t, "/proc/sys/net/core/rmem_max") <= def {
		t.Skip("net.core.rmem_max does not allow more than the default")
	}
	n, err := stdnet.NewNet()
	if err != nil {
		t.Fatal(err)
	}
	bn := bufferedNet{Net: n, size: socketBuffer}
	u, err := bn.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	defer u.Close()
	p, err := bn.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	// Host candidates' sockets move datagrams in batches where the
	// kernel can (internal/udpgso).
	probe, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	want := udpgso.Wrap(probe)
	defer want.Close()
	if got, want := fmt.Sprintf("%T", u), fmt.Sprintf("%T", want); got != want {
		t.Errorf("ListenUDP gave a %s, want a %s", got, want)
	}
	for name, c := range map[string]any{"ListenUDP": u, "ListenPacket": p} {
		if got := rcvbuf(t, c.(syscall.Conn)); got <= def {
			t.Errorf("%s: SO_RCVBUF %d, not above the default %d", name, got, def)
		}
	}
}

func sysctlInt(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Skipf("no %s: %v", path, err)
	}
	v, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil {
		t.Fatal(err)
	}
	return v
}

func rcvbuf(t *testing.T, c syscall.Conn) int {
	t.Helper()
	rc, err := c.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var v int
	var gerr error
	if err := rc.Control(func(fd uintptr) { v, gerr = syscall.GetsockoptInt(int(fd), syscall.SOL_SOCKET, syscall.SO_RCVBUF) }); err != nil {
		t.Fatal(err)
	}
	if gerr != nil {
		t.Fatal(gerr)
	}
	return v
}
