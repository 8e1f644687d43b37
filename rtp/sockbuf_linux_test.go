package rtp

import (
	"bytes"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
)

// TestUDPMuxSocketBuffer: the shared port's sockets get muxSocketBuffer
// when the process may force it (root here, as in CI), and otherwise as
// much as net.core.rmem_max allows, with a warning that names the
// sysctl to raise.
func TestUDPMuxSocketBuffer(t *testing.T) {
	var logs bytes.Buffer
	m, err := ListenUDPMux(0, true, slog.New(slog.NewTextHandler(&logs, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	rc, err := m.conns[0].conn.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var got int
	if err := rc.Control(func(fd uintptr) { got = socketBuffer(int(fd), syscall.SO_RCVBUF) }); err != nil {
		t.Fatal(err)
	}
	warned := strings.Contains(logs.String(), "net.core.rmem_max")
	if os.Geteuid() == 0 {
		if got < 2*muxSocketBuffer || warned {
			t.Errorf("as root: receive buffer %d, want %d; warned: %v", got, 2*muxSocketBuffer, warned)
		}
		return
	}
	b, err := os.ReadFile("/proc/sys/net/core/rmem_max")
	if err != nil {
		t.Skip(err)
	}
	limit, _ := strconv.Atoi(strings.TrimSpace(string(b)))
	if limit < muxSocketBuffer && !warned {
		t.Errorf("receive buffer %d under net.core.rmem_max %d and no warning: %s", got, limit, logs.String())
	}
}
