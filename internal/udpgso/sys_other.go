//go:build !linux

package udpgso

import (
	"net"
	"net/netip"
)

// sysConn is empty where UDP segmentation is Linux's: Wrap returns the
// socket unchanged.
type sysConn struct{}

func newSys(*net.UDPConn) (*sysConn, bool)              { return nil, false }
func (*sysConn) oobSize() int                           { return 0 }
func (*sysConn) canSegment() bool                       { return false }
func (*sysConn) groSize([]byte) int                     { return 0 }
func (*sysConn) send([]byte, int, netip.AddrPort) error { return nil }
