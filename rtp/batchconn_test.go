package rtp

import (
	"net"
	"net/netip"
	"testing"
)

// TestSetUDPAddr: the reused address batchConn.send hands to sendmmsg is
// what net.UDPAddrFromAddrPort would allocate, whatever the slot held
// before (a v6 address then a v4 one, and back).
func TestSetUDPAddr(t *testing.T) {
	u := net.UDPAddr{IP: make(net.IP, 0, net.IPv6len)}
	for _, s := range []string{
		"127.0.0.1:5000",
		"[2001:db8::1]:3478",
		"10.0.0.2:1",
		"[::ffff:192.0.2.1]:9",
		"[fe80::1%eth0]:40000",
		"192.0.2.7:65535",
	} {
		a := netip.MustParseAddrPort(s)
		got, want := setUDPAddr(&u, a), net.UDPAddrFromAddrPort(a)
		if got.String() != want.String() || !got.IP.Equal(want.IP) || len(got.IP) != len(want.IP) || got.Port != want.Port || got.Zone != want.Zone {
			t.Errorf("%s: %v (IP %d bytes), want %v (%d bytes)", s, got, len(got.IP), want, len(want.IP))
		}
	}
}
