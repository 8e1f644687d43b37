//go:build !linux

package turnserver

import (
	"net/netip"
)

// udpLoop exists on Linux only; elsewhere each UDP socket has its own
// reading goroutine (Config.DisableUDPLoop is implied).
type udpLoop struct{}

const loopSupported = false

// sendQueue batches the event loop's sends on Linux (sendq_linux.go).
type sendQueue struct{}

func (*sendQueue) add(*loopConn, []byte, netip.AddrPort) bool { return false }

func newUDPLoop(*metrics) (*udpLoop, error) { return nil, errLoopUnsupported }

func (*udpLoop) listen(netip.AddrPort, bool, int, int, int, loopHandler) (*loopConn, error) {
	return nil, errLoopUnsupported
}

func (*udpLoop) join(*loopConn) error { return errLoopUnsupported }

func (*udpLoop) remove(*loopConn) {}
func (*udpLoop) start()           {}
func (*udpLoop) close()           {}

func sendTo(int, []byte, netip.AddrPort, bool) (int, error) { return 0, errLoopUnsupported }
